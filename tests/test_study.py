"""The study file: typed loading, errors with key and line, building every system."""

import pytest

from atomistics.errors import StudySpecError
from atomistics.structures import check_structure
from atomistics.study import build_study_structures, load_study, parse_study


def test_paper_study_builds_all_five_systems(study_file):
    study = load_study(study_file)
    assert study.name == "limmt_fsi"
    structures = build_study_structures(study)
    # the paper's five systems, plus FSI⁻ and the bare slab alone in the adsorbate's cell
    # (same-cell references)
    assert list(structures)[:7] == [
        "limmt",
        "fsi",
        "li",
        "li_fsi",
        "limmt_fsi",
        "fsi_slabcell",
        "limmt_fsiref",
    ]
    # ... and the neutral exchange reaction's product and its references in the product's cell
    assert list(structures)[7:] == ["limmt_lifsi", "limmt_exref", "li_fsi_exref"]
    charges = {k: check_structure(v).charge for k, v in structures.items()}
    assert charges == {
        "limmt": 0,
        "fsi": -1,
        "li": 1,
        "li_fsi": 0,
        "limmt_fsi": -1,
        "fsi_slabcell": -1,
        "limmt_fsiref": 0,
        "limmt_lifsi": 0,
        "limmt_exref": 0,
        "li_fsi_exref": 0,
    }
    ref, slab_ref = structures["fsi_slabcell"], structures["limmt_fsiref"]
    assert (ref.cell.array == structures["limmt_fsi"].cell.array).all()
    assert (slab_ref.cell.array == structures["limmt_fsi"].cell.array).all()
    assert list(ref.pbc) == [True, True, False] and len(ref) == 9
    # 15 Å of clear vacuum above FSI⁻ on the slab, as the study asks for
    from atomistics.structures.exchange import clear_vacuum

    assert clear_vacuum(structures["limmt_fsi"]) == pytest.approx(15.0)
    assert len(structures["limmt"]) == 162 and len(structures["limmt_fsi"]) == 171
    assert study.binding_energies["li_fsi"].fragments == ["li", "fsi"]
    assert study.binding_energies["limmt_fsi"].fragments == ["limmt_fsiref", "fsi_slabcell"]
    assert study.binding_energies["limmt_fsi"].paper_value_ev == pytest.approx(-10.39)
    # the adsorbate system is the study's own slab plus FSI-
    slab, ads = structures["limmt_fsiref"], structures["limmt_fsi"]
    assert abs(ads.positions[: len(slab)] - slab.positions).max() < 1e-9


def test_exchange_reaction_is_neutral_in_one_cell_with_the_requested_vacuum(study_file):
    from atomistics.structures.exchange import clear_vacuum

    study = load_study(study_file)
    structures = build_study_structures(study)
    spec = study.all_reactions["limmt_exchange"]
    assert spec.coefficients == {"limmt_exref": -1.0, "li_fsi_exref": -1.0, "limmt_lifsi": 1.0}
    cells = [structures[n].cell.array for n in spec.coefficients]
    assert all((c == cells[0]).all() for c in cells)  # one cell for the whole reaction
    assert all(structures[n].info["charge"] == 0 for n in spec.coefficients)  # no background
    assert clear_vacuum(structures["limmt_lifsi"]) == pytest.approx(15.0)
    product, slab = structures["limmt_lifsi"], structures["limmt_exref"]
    assert abs(product.positions[: len(slab)] - slab.positions).max() < 1e-9


def _mutate(study_file, old, new):
    text = study_file.read_text()
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "vacuum: 15.0",
            "vacuum: -3",
            r"line 25: systems\.limmt\.vacuum: Input should be greater than 0",
        ),
        (
            "species: Li+",
            "species: Xe",
            r"line 33: systems\.li\.species: unknown molecule or ion 'Xe'",
        ),
        ("site: al-oh", "site: bridge", r"systems\.limmt_fsi\.site: Input should be"),
        (
            "supercell: [2, 2]",
            "supercell: [0, 2]",
            r"line 24: systems\.limmt\.supercell: supercell entries",
        ),
        (
            "kind: molecule\n    species: FSI-",
            "kind: molekule\n    species: FSI-",
            r"systems\.fsi: Input tag 'molekule'",
        ),
        ("engine: xtb", "engine: vasp", r"line 10: engine: Input should be 'cp2k' or 'xtb'"),
        (
            "    seed: 0 ",
            "    sed: 0 ",
            r"line 26: systems\.limmt\.sed: Extra inputs are not permitted",
        ),
        (
            "fragments: [li, fsi]",
            "fragments: [li, fsix]",
            r"binding_energies\.li_fsi refers to unknown system 'fsix'",
        ),
        (
            "slab: limmt",
            "slab: fsi",
            r"systems\.limmt_fsi\.slab = 'fsi' is not a limmt-slab system",
        ),
    ],
)
def test_errors_name_key_and_line(study_file, old, new, expected):
    with pytest.raises(StudySpecError, match=expected):
        parse_study(_mutate(study_file, old, new), "limmt_fsi.yaml")


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(StudySpecError, match="not valid YAML"):
        parse_study("name: [unclosed", "x.yaml")
    with pytest.raises(StudySpecError, match="must be a YAML mapping"):
        parse_study("- a\n- b\n", "x.yaml")
    with pytest.raises(StudySpecError, match="does not exist"):
        load_study(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("block", "key", "line"),
    [
        ("  overrides: {cutoff: .nan}\n", "calculation.overrides.cutoff", 4),
        ("  overrides:\n    box: 20\n    cp2k:\n      scf: {eps_scf: .inf}\n",
         "calculation.overrides.cp2k.scf.eps_scf", 7),
        ("  overrides: {kpoints: [1, -.inf, 1]}\n", "calculation.overrides.kpoints.1", 4),
        ("  xtb: {accuracy: .nan}\n", "calculation.xtb.accuracy", 4),
    ],
)  # fmt: skip
def test_non_finite_free_form_settings_are_refused_with_key_and_line(block, key, line):
    text = (
        "name: m\nengine: cp2k\ncalculation:\n" + block
        + "systems:\n  li: {kind: molecule, species: Li+}\n"
    )  # fmt: skip
    with pytest.raises(StudySpecError) as exc:
        parse_study(text, "s.yaml")
    assert f"s.yaml line {line}: {key}: " in str(exc.value)
    assert "is not a finite number" in str(exc.value)
    finite = text.replace(".nan", "1.5").replace("-.inf", "2").replace(".inf", "1e-6")
    assert parse_study(finite, "s.yaml").calculation
