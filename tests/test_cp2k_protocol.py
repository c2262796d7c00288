"""Settings resolution: basis per element from CP2K's data files, charge/spin, k-points, Poisson.

Needs CP2K's data directory (Debian: /usr/share/cp2k, or CP2K_DATA_DIR) but not the binary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from atomistics.cp2k import STAGES, resolve_settings
from atomistics.cp2k.protocol import molecule_box
from atomistics.errors import AtomisticsError
from atomistics.structures.molecules import build_ion_pair, build_molecule

# No skip: without an installed CP2K, conftest points CP2K_DATA_DIR at tests/data/cp2k_data.


def slab(charge: int = 0, vacuum: float = 10.0) -> Atoms:
    a = 2.9
    atoms = Atoms(
        "LiH",
        positions=[[0, 0, 5], [a / 2, a / 2, 5]],
        cell=[a, a, vacuum],
        pbc=(True, True, False),
    )
    atoms.info.update(name="lih_slab", charge=charge)
    return atoms


def test_stages_and_paper_protocol():
    assert STAGES == ("relax", "single_point")
    fsi = build_molecule("FSI-")
    relax = resolve_settings(fsi, "relax")
    assert relax.run_type == "GEO_OPT"
    assert (relax.cutoff, relax.rel_cutoff) == (600.0, 60.0)
    assert relax.dispersion == "D3" and relax.dispersion_parameter_file == "dftd3.dat"
    assert set(relax.basis_per_element.values()) == {"DZVP-MOLOPT-SR-GTH"}
    assert relax.kpoints is None and relax.scf_method == "OT"
    sp = resolve_settings(fsi, "single_point")
    assert sp.run_type == "ENERGY" and sp.kpoints is None
    meta = sp.as_metadata()
    assert meta["basis_per_element"]["S"] == "TZVP-MOLOPT-GTH"


def test_tzvp_resolution_uzh_for_li_mg_al_molopt_for_o_si_h():
    atoms = Atoms("LiMgAlOSiH", positions=np.arange(18, dtype=float).reshape(6, 3) * 1.5)
    s = resolve_settings(atoms, "single_point", overrides={"charge": 0, "multiplicity": 2})
    for el, q in (("Li", 3), ("Mg", 10), ("Al", 3)):
        assert s.basis_per_element[el] == f"TZVP-MOLOPT-PBE-GTH-q{q}"
        assert s.basis_file_per_element[el] == "BASIS_MOLOPT_UZH"
        assert s.potential_per_element[el] == f"GTH-PBE-q{q}"
        assert s.potential_file_per_element[el] == "POTENTIAL_UZH"
    for el in ("O", "Si", "H"):
        assert s.basis_per_element[el] == "TZVP-MOLOPT-GTH"
        assert s.basis_file_per_element[el] == "BASIS_MOLOPT"
        assert s.potential_file_per_element[el] == "GTH_POTENTIALS"
    assert s.valence_per_element == {"Al": 3, "H": 1, "Li": 3, "Mg": 10, "O": 6, "Si": 4}


def test_charge_spin_from_structure():
    li = resolve_settings(build_molecule("Li+"), "single_point")
    assert (li.charge, li.n_electrons, li.multiplicity, li.uks) == (1, 2, 1, False)
    fsi = resolve_settings(build_molecule("FSI-"), "relax")
    assert (fsi.charge, fsi.multiplicity, fsi.uks) == (-1, 1, False)
    pair = resolve_settings(build_ion_pair("Li+", "FSI-"), "relax")
    assert pair.charge == 0 and pair.n_electrons % 2 == 0
    radical = Atoms("H", positions=[[0, 0, 0]])
    r = resolve_settings(radical, "relax")
    assert (r.n_electrons, r.multiplicity, r.uks) == (1, 2, True)
    triplet = resolve_settings(
        Atoms("O2", positions=[[0, 0, 0], [0, 0, 1.21]]), "relax", overrides={"multiplicity": 3}
    )
    assert triplet.uks is True


def test_molecule_box_follows_wavelet_and_mt_rules():
    fsi = build_molecule("FSI-")
    span = np.ptp(fsi.positions, axis=0).max()
    w = resolve_settings(fsi, "relax")  # WAVELET is the default for isolated systems
    assert w.periodic == "NONE" and w.poisson_solver == "WAVELET"
    extent = span + 2 * w.density_radius
    assert extent + 2.0 <= w.cell[0][0] < extent + 2.5  # encloses the density, 0.5 Å rounding
    s = resolve_settings(fsi, "relax", overrides={"poisson_solver": "MT"})
    assert s.poisson_solver == "MT" and s.cell[0][0] >= 2 * extent
    assert w.cell[0][0] ** 3 < 0.25 * s.cell[0][0] ** 3  # a quarter of the MT box's volume
    assert molecule_box(np.zeros((1, 3)), "MT", 3.0) == [12.0, 12.0, 12.0]
    assert molecule_box(np.zeros((1, 3)), "WAVELET", 3.0) == [8.0, 8.0, 8.0]


def test_slab_kpoints_diagonalisation_and_charged_slab():
    s = resolve_settings(slab(), "single_point")
    assert s.kpoints == [3, 3, 1] and s.scf_method == "DIAG"
    assert s.smearing_temperature == 300.0 and s.added_mos >= 1
    assert s.periodic == "XYZ" and s.poisson_solver == "PERIODIC"
    assert s.surface_dipole_correction is False
    r = resolve_settings(slab(), "relax")
    assert r.kpoints is None and r.scf_method == "OT"
    charged = resolve_settings(slab(-1), "relax")
    assert charged.charged_slab == "background" and not charged.surface_dipole_correction
    assert any("neutralising background" in n for n in charged.notes)
    dip = resolve_settings(slab(-1, 20.0), "relax", overrides={"charged_slab": "background+dipole"})
    assert dip.surface_dipole_correction is True


def test_stage_specific_override():
    s = resolve_settings(
        slab(), "single_point", overrides={"single_point": {"kpoints": [2, 2, 1]}, "cutoff": 500}
    )
    assert s.kpoints == [2, 2, 1] and s.cutoff == 500.0
    r = resolve_settings(slab(), "relax", overrides={"single_point": {"kpoints": [2, 2, 1]}})
    assert r.kpoints is None


BAD = [
    (build_molecule("Li+"), "relax", {"cutof": 400}, "cutof is not a setting (did you mean cutoff"),
    (build_molecule("Li+"), "relax", {"cutoff": -5}, "must be a positive, finite number"),
    (build_molecule("Li+"), "relax", {"rel_cutoff": 900}, "must not exceed cutoff"),
    (build_molecule("Li+"), "relax", {"dispersion": "D4"}, "choose one of D3, D3(BJ), D2, none"),
    (slab(), "single_point", {"scf_method": "OT"}, "OT not possible with kpoint calculations"),
    (build_molecule("Li+"), "relax", {"kpoints": [3, 3, 1]}, "isolated molecule/ion"),
    (slab(), "single_point", {"kpoints": [3, 3, 3]}, "use n3 = 1"),
    (
        build_molecule("Li+"),
        "relax",
        {"multiplicity": 2},
        "multiplicity 2 is impossible with 2 electrons",
    ),
    (Atoms("H", positions=[[0, 0, 0]]), "relax", {"uks": False}, "need spin-unrestricted (UKS)"),
    (
        build_molecule("FSI-"),
        "relax",
        {"box": 12.0, "poisson_solver": "MT"},
        "too small for the MT Poisson solver",
    ),
    (build_molecule("FSI-"), "relax", {"box": 6.0}, "too small for the WAVELET Poisson solver"),
    (build_molecule("Li+"), "relax", {"box": float("nan")}, "give an edge in Å"),
    (build_molecule("FSI-"), "relax", {"poisson_solver": "PERIODIC"}, "use WAVELET or MT"),
    (build_molecule("Li+"), "relax", {"cutoff": float("inf")}, "positive, finite number"),
    (slab(), "relax", {"poisson_solver": "MT"}, "does not match a slab cell"),
    (slab(-1), "relax", {"charged_slab": "reject"}, "neutral counter-ion variant"),
    (slab(vacuum=3.0), "relax", {}, "of vacuum along z"),
    (
        build_molecule("Li+"),
        "relax",
        {"basis_families": ["TZVP-MOLOPT-GTH"]},
        "no basis set/potential pair for Li",
    ),
    (build_molecule("Li+"), "relax", {"basis_families": ["cc-pVTZ"]}, "basis_families"),
    (build_molecule("Li+"), "relax", {"added_mos": 5}, "no effect with OT"),
    (slab(), "single_point", {"added_mos": 500}, "exceeds the"),
    (build_molecule("Li+"), "relax", {"relax": {"single_point": {}}}, "cannot be nested"),
]


@pytest.mark.parametrize("atoms,stage,overrides,message", BAD, ids=[b[3][:40] for b in BAD])
def test_bad_settings_rejected(atoms, stage, overrides, message):
    with pytest.raises(AtomisticsError) as exc:
        resolve_settings(atoms, stage, "paper", overrides)
    assert message in str(exc.value)


def test_unknown_protocol_and_stage():
    with pytest.raises(AtomisticsError, match="unknown protocol 'papr'.*did you mean paper"):
        resolve_settings(build_molecule("Li+"), "relax", "papr")
    with pytest.raises(AtomisticsError, match="unknown stage"):
        resolve_settings(build_molecule("Li+"), "md")


def test_bulk_periodicity_rejected():
    bulk = Atoms("Li", cell=[3, 3, 3], pbc=True)
    with pytest.raises(AtomisticsError, match="periodicity"):
        resolve_settings(bulk, "relax")


def test_non_finite_coordinates_rejected():
    li = build_molecule("Li+")
    li.positions[0, 1] = np.nan
    with pytest.raises(AtomisticsError, match="non-finite"):
        resolve_settings(li, "relax")


def test_machine_keys_are_not_settings():
    """node_memory / mpi_ranks describe the machine: accepted, and not in the settings."""
    li = build_molecule("Li+")
    plain = resolve_settings(li, "relax").as_metadata()
    with_machine = resolve_settings(
        li, "relax", overrides={"node_memory": "24GB", "mpi_ranks": 2}
    ).as_metadata()
    assert plain == with_machine


def test_pymatgen_data_file_readers_with_the_cp2k_placeholder_workaround(tmp_path):
    """pymatgen's readers fail on two things CP2K's own files contain (BASIS_MOLOPT_UZH:
    "NA" for Na; POTENTIAL_UZH: a placeholder entry whose body is the line "NA"); the
    workaround in atomistics.cp2k.basis reads the real entries and skips the placeholders."""
    import shutil

    from pymatgen.io.cp2k.inputs import BasisFile, PotentialFile

    from atomistics.cp2k.basis import basis_function_counts, basis_names, potential_valences

    shipped = Path(__file__).parent / "data" / "cp2k_data"
    shutil.copy(shipped / "BASIS_MOLOPT_UZH", tmp_path / "BASIS_MOLOPT_UZH")
    pot = (shipped / "POTENTIAL_UZH").read_text()
    (tmp_path / "POTENTIAL_UZH").write_text("La GTH-PBE-q3 GTH-GGA-q3\n NA\n\n" + pot)
    with pytest.raises(ValueError, match="'NA' is not a valid Element"):
        BasisFile.from_file(str(tmp_path / "BASIS_MOLOPT_UZH"))
    with pytest.raises(IndexError):
        PotentialFile.from_file(str(tmp_path / "POTENTIAL_UZH"))
    names = basis_names(tmp_path, "BASIS_MOLOPT_UZH")
    assert "DZVP-MOLOPT-PBE-GTH-q1" in names["Na"]  # written "NA" in CP2K's file
    valences = potential_valences(tmp_path, "POTENTIAL_UZH")
    assert valences[("Li", "GTH-PBE-q3")] == 3 and valences[("Mg", "GTH-PBE-q10")] == 10
    assert not any(el == "La" for el, _ in valences)  # the placeholder is skipped
    # spherical functions, from the set header "2 0 1 5 4 1" (l = 0..1, 4 s and 1 p shells)
    # of Li TZVP-MOLOPT-PBE-GTH-q3: 4·1 + 1·3
    counts = basis_function_counts(tmp_path, "BASIS_MOLOPT_UZH")
    assert counts[("Li", "TZVP-MOLOPT-PBE-GTH-q3")] == 7


def test_shipped_data_subset_resolves_like_the_installed_cp2k():
    """tests/data/cp2k_data (cut by make_subset.py) covers every system of the study in both
    presets and stages; where a CP2K data directory is installed, identically."""
    from atomistics.cp2k.locate import find_cp2k_data_dir
    from atomistics.study import build_study_structures, load_study

    shipped = Path(__file__).parent / "data" / "cp2k_data"
    installed = find_cp2k_data_dir(required=False)
    study = load_study(Path(__file__).parents[1] / "workflows" / "limmt_fsi.yaml")
    for name, atoms in build_study_structures(study).items():
        for stage in STAGES:
            for protocol in ("paper", "quick"):
                ours = resolve_settings(atoms, stage, protocol, data_dir=shipped).as_metadata()
                assert ours["basis_per_element"], name
                if installed is not None and installed != shipped:
                    real = resolve_settings(atoms, stage, protocol, data_dir=installed)
                    real = real.as_metadata()
                    assert {**ours, "data_dir": ""} == {**real, "data_dir": ""}, (name, stage)
