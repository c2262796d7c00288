"""A solvated xtb single point starts its SCF from the gas-phase SCF at the same geometry.

The workaround (``atomistics.engines.xtb._switch_on_solvation``) pushes the solvent onto
tblite's live API calculator; these tests compare it with a solvated calculator built
from scratch by tblite's own ASE interface, so a tblite release that changes the
restart behaviour fails here, not in a study.
"""

import pytest
from ase.build import molecule

from atomistics.engines.xtb import (
    SCF_RETRY_DAMPING,
    SOLVATED_SCF_GUESS,
    XtbEngine,
    parse_solvation,
)

pytest.importorskip("tblite")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _acetic_acid():
    a = molecule("CH3COOH")
    a.info.update(charge=0, spin_multiplicity=1)
    return a


def _tblite_from_scratch(atoms, solvation, method="GFN1-xTB"):
    """Energy and forces from tblite's ASE calculator, solvent on from the start."""
    from tblite.ase import TBLite

    work = atoms.copy()
    work.calc = TBLite(method=method, verbosity=0, solvation=parse_solvation(solvation))
    return work.get_potential_energy(), work.get_forces()


def _single_point(engine, atoms, tmp_path, tag):
    d = tmp_path / tag
    d.mkdir()
    settings = engine.settings(atoms, "single_point")
    engine.write_inputs(d, atoms, "single_point", settings)
    engine.execute(d)
    return engine.read_result(d)


@pytest.mark.parametrize("solvation", ["cpcm:7.2", "alpb:thf"])
def test_seeded_solvated_scf_reaches_the_same_state_as_a_fresh_one(tmp_path, solvation):
    atoms = _acetic_acid()
    engine = XtbEngine(method="GFN1-xTB", solvation=solvation)
    result = _single_point(engine, atoms, tmp_path, "seeded")
    e_ref, f_ref = _tblite_from_scratch(atoms, solvation)
    assert result.energy_ev == pytest.approx(e_ref, abs=1e-6)
    assert abs(result.forces - f_ref).max() < 1e-3  # SCF tolerance, eV/Å
    notes = result.extra["notes"]
    assert any(SOLVATED_SCF_GUESS in n for n in notes)
    # the gas energy the note reports is the gas-phase engine's own energy
    gas = _single_point(XtbEngine(method="GFN1-xTB"), atoms, tmp_path, "gas")
    e_gas_note = float(next(n for n in notes if "E_gas" in n).split("E_gas ")[1].split()[0])
    assert e_gas_note == pytest.approx(gas.energy_ev, abs=1e-5)
    assert result.energy_ev < gas.energy_ev  # a polar molecule is solvated


def test_seeding_is_part_of_the_hashed_settings_of_solvated_single_points_only():
    atoms = _acetic_acid()
    solvated = XtbEngine(method="GFN1-xTB", solvation="cpcm:7.2")
    assert solvated.settings(atoms, "single_point")["solvated_scf_guess"] == SOLVATED_SCF_GUESS
    assert "solvated_scf_guess" not in solvated.settings(atoms, "relax")
    assert "solvated_scf_guess" not in XtbEngine().settings(atoms, "single_point")


def test_a_failing_scf_is_retried_damped_and_the_retry_is_recorded(tmp_path):
    """8 cycles are too few for acetic acid (GFN1-xTB needs ~10); the damped retry with
    2x the cycles converges to the same state as a fresh solvated calculator."""
    atoms = _acetic_acid()
    engine = XtbEngine(method="GFN1-xTB", solvation="cpcm:7.2", max_iterations=8)
    result = _single_point(engine, atoms, tmp_path, "retry")
    e_ref, _ = _tblite_from_scratch(atoms, "cpcm:7.2")
    assert result.energy_ev == pytest.approx(e_ref, abs=1e-5)
    assert any(f"damping {SCF_RETRY_DAMPING}" in n for n in result.extra["notes"])
