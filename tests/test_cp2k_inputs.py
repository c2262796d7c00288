"""Generated inputs: the paper preset for every system of the study validates, survives
pymatgen's Cp2kInput round trip (custodian's path), and bad inputs are rejected with lines."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from atomistics.cp2k import (
    STAGES,
    find_cp2k_command,
    find_cp2k_data_dir,
    validate_input,
    write_cp2k_input,
)
from atomistics.cp2k.validate import parse_input, schema_for
from atomistics.errors import AtomisticsError
from atomistics.study import build_study_structures, load_study

REPO = Path(__file__).resolve().parents[1]
# No skip: without an installed CP2K, conftest points CP2K_DATA_DIR at tests/data/cp2k_data.
HAVE_CP2K = find_cp2k_command(required=False) is not None


@pytest.fixture(scope="module")
def study_inputs(tmp_path_factory) -> dict[tuple[str, str], tuple[Path, dict]]:
    """Paper-preset inputs of both stages for every system of the study (validated on write)."""
    study = load_study(REPO / "workflows" / "limmt_fsi.yaml")
    out = tmp_path_factory.mktemp("paper")
    written = {}
    for name, atoms in build_study_structures(study).items():
        for stage in STAGES:
            written[name, stage] = write_cp2k_input(
                atoms,
                stage,
                out / name,
                study.calculation.protocol,
                study.calculation.overrides,
                project=stage,
            )
    return written


def test_paper_inputs_for_all_systems_validate(study_inputs):
    # the paper's five systems and the same-cell FSI⁻ reference
    names = {name for name, _ in study_inputs}
    assert names >= {"limmt", "fsi", "li", "li_fsi", "limmt_fsi", "fsi_slabcell"}
    # the same-cell reference gets the slab's treatment: periodic, 3x3x1 single point
    sp = study_inputs["fsi_slabcell", "single_point"][1]["settings"]
    assert sp["kpoints"] == [3, 3, 1] and sp["periodic"] == "XYZ" and sp["charge"] == -1
    for (name, stage), (path, meta) in study_inputs.items():
        assert path.is_file() and meta["validation"]["validated"]
        validate_input(path)  # again, from the file alone
        s = meta["settings"]
        assert s["stage"] == stage and s["protocol"] == "paper"
        json.dumps(meta)
        if HAVE_CP2K:
            assert meta["provenance"]["cp2k_version"]
            assert meta["provenance"]["schema_source"].endswith("--xml")
        assert (s["system_type"] == "slab") == (name not in ("fsi", "li", "li_fsi"))
        if s["system_type"] == "slab":
            assert s["kpoints"] == ([3, 3, 1] if stage == "single_point" else None)
            assert s["scf_method"] == ("DIAG" if stage == "single_point" else "OT")
        else:
            assert s["kpoints"] is None and s["periodic"] == "NONE"
    fsi = study_inputs["fsi", "single_point"][1]["settings"]
    assert fsi["charge"] == -1
    assert study_inputs["li", "relax"][1]["settings"]["charge"] == 1
    assert study_inputs["limmt_fsi", "relax"][1]["settings"]["charge"] == -1
    sp = study_inputs["limmt", "single_point"][1]["settings"]["basis_per_element"]
    assert sp["Li"].startswith("TZVP-MOLOPT-PBE-GTH") and sp["O"] == "TZVP-MOLOPT-GTH"


def _essentials(path: Path) -> dict:
    """What must not change in a round trip, read through cp2k-input-tools' schema parser."""
    schema, _ = schema_for(find_cp2k_command(required=False))
    tree = parse_input(path, schema)
    fe = tree["+force_eval"][0]
    dft, subsys = fe["+dft"], fe["+subsys"]
    kinds = {
        k["_"]: (
            k["element"],
            tuple(map(tuple, k["basis_set"])),
            k["potential"],
            k["potential_file_name"],
        )
        for k in subsys["+kind"]
    }
    coords = [row.split() for row in subsys["+coord"]["*"]]
    return {
        "global": {k: str(v).upper() for k, v in tree["+global"].items()},
        "dft": {
            k: dft.get(k) for k in ("charge", "multiplicity", "uks", "surface_dipole_correction")
        },
        "mgrid": dft["+mgrid"],
        "kpoints": [str(x).upper() for x in dft.get("+kpoints", {}).get("scheme", [])],
        "poisson": {k: str(v).upper() for k, v in dft["+poisson"].items()},
        "scf_sections": sorted(k for k in dft["+scf"] if k.startswith("+")),
        "kinds": kinds,
        "labels": [c[0] for c in coords],
        "positions": np.array([[float(x) for x in c[1:4]] for c in coords]),
        "cell": [[float(x) for x in subsys["+cell"][v]] for v in "abc"],
        "vdw": dft["+xc"]["+vdw_potential"]["+pair_potential"],
        "motion": tree.get("+motion", {}).get("+geo_opt"),
    }


def test_pymatgen_round_trip_for_every_system(study_inputs, tmp_path):
    from pymatgen.io.cp2k.inputs import Cp2kInput

    for (name, stage), (path, _) in study_inputs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = Cp2kInput.from_file(str(path)).get_str()
        again = tmp_path / f"{name}-{stage}.inp"
        again.write_text(text)
        validate_input(again)
        a, b = _essentials(path), _essentials(again)
        # pymatgen regroups the COORD lines by kind: compare the atoms as a set
        atoms_a = sorted(
            zip(a.pop("labels"), map(tuple, np.round(a.pop("positions"), 8)), strict=True)
        )
        atoms_b = sorted(
            zip(b.pop("labels"), map(tuple, np.round(b.pop("positions"), 8)), strict=True)
        )
        assert atoms_a == atoms_b, f"{name}/{stage}: atoms changed in the pymatgen round trip"
        assert a == b, f"{name}/{stage} changed in the pymatgen round trip"
        # explicit ELEMENT keeps F a fluorine (a bare F kind label would come back as False)
        assert all(label[-1].isdigit() for label, _ in atoms_a)
        assert {k: v[0] for k, v in a["kinds"].items()} == {
            f"{el}1": el for el in {v[0] for v in a["kinds"].values()}
        }


def test_raw_cp2k_override_is_checked_and_merged(tmp_path):
    from atomistics.structures.molecules import build_molecule

    li = build_molecule("Li+")
    path, meta = write_cp2k_input(
        li,
        "single_point",
        tmp_path,
        "quick",
        {
            "cp2k": {
                "force_eval": {
                    "dft": {"scf": {"max_scf": 77}, "+print": {"+mo": {"eigenvalues": True}}}
                }
            }
        },
    )
    text = path.read_text()
    assert "MAX_SCF 77" in text and "&MO" in text and "EIGENVALUES .TRUE." in text
    with pytest.raises(AtomisticsError, match=r"FORCE_EVAL/DFT/SCF/MAXSCF.*did you mean MAX_SCF"):
        write_cp2k_input(
            li,
            "relax",
            tmp_path,
            "quick",
            {"cp2k": {"force_eval": {"dft": {"scf": {"maxscf": 5}}}}},
        )
    # a raw override that sneaks OT into a k-point stage is caught by the semantic check
    from ase import Atoms

    slab = Atoms("LiH", positions=[[0, 0, 5], [1.45, 1.45, 5]], cell=[2.9, 2.9, 12], pbc=(1, 1, 0))
    with pytest.raises(AtomisticsError, match="OT not possible with kpoint"):
        write_cp2k_input(
            slab,
            "single_point",
            tmp_path / "s",
            "quick",
            {"cp2k": {"force_eval": {"dft": {"scf": {"ot": {"minimizer": "DIIS"}}}}}},
        )


def _edit(src: Path, dst: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text
    dst.write_text(text.replace(old, new, 1))
    return dst


def test_validation_errors_name_keyword_section_and_line(study_inputs, tmp_path):
    li = study_inputs["li", "single_point"][0]
    bad = _edit(li, tmp_path / "typo.inp", "MAX_SCF 50", "MAXSCF 50")
    line = bad.read_text().splitlines().index("         MAXSCF 50") + 1
    with pytest.raises(AtomisticsError) as exc:
        validate_input(bad)
    msg = str(exc.value)
    assert f"typo.inp:{line}" in msg and "FORCE_EVAL/DFT/SCF" in msg and "MAXSCF" in msg

    mismatch = _edit(
        li,
        tmp_path / "periodic.inp",
        "PERIODIC NONE\n         PSOLVER WAVELET",
        "PERIODIC XYZ\n         PSOLVER WAVELET",
    )
    with pytest.raises(
        AtomisticsError, match=r"POISSON/PERIODIC XYZ does not match .*CELL/PERIODIC NONE"
    ):
        validate_input(mismatch)

    # the paper preset's WAVELET box (9 Å for Li⁺) is too small for MT
    box = _edit(li, tmp_path / "box.inp", "PSOLVER WAVELET", "PSOLVER MT")
    with pytest.raises(AtomisticsError, match="too small for PSOLVER MT"):
        validate_input(box)

    kp_text = (
        study_inputs["limmt", "relax"][0]
        .read_text()
        .replace(
            "   &END DFT",
            "      &KPOINTS\n         SCHEME MONKHORST-PACK 3 3 1\n      &END KPOINTS\n   &END DFT",
            1,
        )
    )
    ot_kp = tmp_path / "ot_kp.inp"
    ot_kp.write_text(kp_text)
    with pytest.raises(
        AtomisticsError, match=r"ot_kp.inp:\d+: FORCE_EVAL/DFT/SCF/OT with .*KPOINTS"
    ):
        validate_input(ot_kp)

    spin = _edit(li, tmp_path / "spin.inp", "MULTIPLICITY 1", "MULTIPLICITY 2")
    with pytest.raises(
        AtomisticsError,
        match=r"spin.inp:\d+: FORCE_EVAL/DFT/MULTIPLICITY: multiplicity 2 is impossible with 2 electrons",
    ):
        validate_input(spin)


@pytest.mark.skipif(not HAVE_CP2K, reason="no cp2k binary: `cp2k --check` not available")
def test_cp2k_check_catches_kind_without_name(study_inputs, tmp_path):
    li = study_inputs["li", "relax"][0]
    bad = _edit(li, tmp_path / "kind.inp", "&KIND Li1", "&KIND")
    with pytest.raises(AtomisticsError, match=r"cp2k --check: .*Line: \d+.*KIND"):
        validate_input(bad)


def test_bundled_schema_fallback_warns(study_inputs, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no cp2k on PATH
    monkeypatch.delenv("CP2K_COMMAND", raising=False)
    warns = validate_input(study_inputs["fsi", "relax"][0])
    assert any("bundled with cp2k-input-tools" in w for w in warns)


def test_cp2k_command_env_is_split_without_shell(monkeypatch):
    monkeypatch.setenv("CP2K_COMMAND", "env OMP_NUM_THREADS=1 cp2k.psmp")
    cmd = find_cp2k_command()
    assert cmd == ["env", "OMP_NUM_THREADS=1", "cp2k.psmp"]
    from atomistics.cp2k.locate import cp2k_binary

    assert cp2k_binary(cmd) == ["cp2k.psmp"]
    monkeypatch.setenv("CP2K_COMMAND", "no-such-launcher -np 2 cp2k.psmp")
    with pytest.raises(AtomisticsError, match="CP2K_COMMAND"):
        find_cp2k_command()
    monkeypatch.setenv("CP2K_DATA_DIR", "/nonexistent")
    with pytest.raises(AtomisticsError, match="CP2K_DATA_DIR"):
        find_cp2k_data_dir()


def test_cli_inputs_and_validate(run_cli, tmp_path, study_file):
    rc, out, err = run_cli(
        "inputs", str(study_file), "-o", "out", "--system", "li", "--system", "fsi"
    )
    assert rc == 0, err
    folder = tmp_path / "out" / "li"
    assert {p.name for p in folder.iterdir()} >= {
        "relax.inp",
        "single_point.inp",
        "structure.extxyz",
        "calculation.json",
    }
    record = json.loads((folder / "calculation.json").read_text())
    assert set(record["stages"]) == set(STAGES)
    assert "stage-1 starting geometry" in record["note"]
    assert (
        record["stages"]["single_point"]["settings"]["basis_per_element"]["Li"]
        == "TZVP-MOLOPT-PBE-GTH-q3"
    )
    assert "li: 1 atoms, charge +1" in out
    rc, out, err = run_cli("validate", str(folder / "relax.inp"), str(folder / "single_point.inp"))
    assert rc == 0, err
    assert out.count(": valid (") == 2
    bad = _edit(
        folder / "relax.inp", tmp_path / "bad.inp", "RUN_TYPE GEO_OPT", "RUN_TYPE GEO_OPTIMISE"
    )
    rc, out, err = run_cli("validate", str(bad))
    assert rc == 2 and "bad.inp:" in err and "RUN_TYPE" in err and "Traceback" not in err
    rc, out, err = run_cli("inputs", str(study_file), "-o", "out2", "--system", "nope")
    assert rc == 2 and "unknown system" in err


COMPOSITE_STUDY = """\
name: composite_inputs
engine: cp2k
calculation:
  protocol: quick
  overrides: {cutoff: 400}
  relax_engine: xtb
systems:
  fsi: {kind: molecule, species: FSI-, conformer: C2}
"""


def test_composite_inputs_write_no_cp2k_relax_and_name_the_overrides(tmp_path, capsys):
    """With calculation.relax_engine: xtb the relaxation never runs in CP2K, so `inputs`
    writes no relax.inp (it would describe a step that does not happen), says who relaxes,
    and shows the protocol's overrides next to its name."""
    from atomistics.cli import main

    study = tmp_path / "c.yaml"
    study.write_text(COMPOSITE_STUDY)
    assert main(["inputs", str(study), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "out" / "fsi"
    assert (folder / "single_point.inp").is_file() and not (folder / "relax.inp").exists()
    record = json.loads((folder / "calculation.json").read_text())
    assert list(record["stages"]) == ["single_point"] and record["relax_engine"] == "xtb"
    assert "xtb-relaxed geometry" in record["note"]
    assert "relax: by the xtb engine at run time" in out
    assert "single_point only (xtb relaxes)" in out and "overrides: cutoff 400" in out
    # the study without relax_engine: both stages, as before
    study.write_text(COMPOSITE_STUDY.replace("  relax_engine: xtb\n", ""))
    assert main(["inputs", str(study), "-o", str(tmp_path / "both")]) == 0
    assert (tmp_path / "both" / "fsi" / "relax.inp").is_file()
    assert "relax + single_point" in capsys.readouterr().out
