"""Counterpoise with CP2K ghost kinds on charged fragments (real CP2K, quick protocol)."""

import numpy as np
import pytest
from ase import Atoms

from atomistics import db as dbmod
from atomistics import reactions as bind
from atomistics.calcstore import run_cached
from atomistics.cp2k import find_cp2k_command, write_cp2k_input
from atomistics.engines.cp2k import Cp2kEngine
from atomistics.execution.steps import plan_calculation

# the same discovery the engine uses (CP2K_COMMAND, cp2k, cp2k.psmp, ...)
CP2K = find_cp2k_command(required=False)
pytestmark = [pytest.mark.cp2k, pytest.mark.skipif(CP2K is None, reason="no CP2K")]


def _ion(symbol, charge, position=(0.0, 0.0, 0.0)):
    atoms = Atoms(symbol, positions=[position])
    atoms.info.update(charge=charge, spin_multiplicity=1, name=f"{symbol}{charge:+d}")
    return atoms


def test_ghost_kinds_are_written_without_electrons(tmp_path):
    complex_ = _ion("Li", 1) + _ion("F", -1, (0.0, 0.0, 1.6))
    complex_.info.update(charge=0, spin_multiplicity=1, name="LiF")
    (own, ghost), _ = bind.counterpoise_structures(complex_, [_ion("Li", 1), _ion("F", -1)])
    path, meta = write_cp2k_input(ghost, "single_point", tmp_path, protocol="quick")
    text = path.read_text()
    assert "F_ghost" in text and "GHOST .TRUE." in text
    # Li⁺ with a ghost F: 3 valence electrons (q3) − charge 1; the ghost adds none
    assert meta["settings"]["n_electrons"] == 2 and meta["settings"]["ghost_atoms"] == [1]
    assert "CHARGE 1" in text


def test_counterpoise_with_charged_fragments(tmp_path, monkeypatch):
    """Li⁺ and F⁻ at 1.6 Å: each fragment in its own basis and with the partner's ghost basis.

    The larger (own + ghost) basis can only lower a fragment's variational energy, so
    each term E_own − E_ghost is ≥ 0 and the corrected binding energy is less negative.
    """
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    li, f = _ion("Li", 1), _ion("F", -1)
    complex_ = _ion("Li", 1) + _ion("F", -1, (0.0, 0.0, 1.6))
    complex_.info.update(charge=0, spin_multiplicity=1, name="LiF")
    engine = Cp2kEngine(protocol="quick", omp_threads=1)
    db = dbmod.connect(tmp_path / "cp.db")
    own_e, ghost_e = [], []
    pairs = bind.counterpoise_structures(complex_, [li, f])
    for label, (own, ghost) in zip(("li", "f"), pairs, strict=True):
        for stage, atoms, out in (("cp_own", own, own_e), ("cp_ghost", ghost, ghost_e)):
            calc = plan_calculation("cp", label, stage, atoms, engine)
            result = run_cached(calc, tmp_path / "runs", engine, db)
            assert result.scf_converged
            out.append(result.energy_ev)
    terms = np.array(own_e) - np.array(ghost_e)
    assert (terms > 0).all()
    assert (terms < 0.5).all()  # BSSE of an ion with a DZVP basis: tenths of an eV at most
    energies = {"LiF": -300.0, "li": own_e[0], "f": own_e[1]}
    result = bind.compute("LiF", "LiF", ["li", "f"], energies, cp_own_ev=own_e, cp_ghost_ev=ghost_e)
    assert result.bsse_ev == pytest.approx(terms.sum())
    assert result.e_bind_ev == pytest.approx(result.e_bind_raw_ev + terms.sum())
