"""Brillouin-zone sampling of the xtb single point through an in-plane supercell.

tblite samples the Γ point only. ``sp_supercell=(n, m)`` runs a periodic cell's single
point on the cell repeated n×m (the Γ-centred n×m k-mesh of the cell) and reports the
energy per cell. Checked against tblite's own ASE calculator on the repeated cell, done
here independently of the engine.
"""

import numpy as np
import pytest
from xtb_helpers import engine_energy, nacl_bilayer

from atomistics.engines import get_engine
from atomistics.engines.xtb import XtbEngine
from atomistics.errors import AtomisticsError
from atomistics.structures.molecules import build_ion_pair

pytest.importorskip("tblite")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_supercell_single_point_is_the_energy_per_cell_of_the_repeated_cell(tmp_path):
    from tblite.ase import TBLite

    slab = nacl_bilayer()
    engine = XtbEngine(method="GFN2-xTB", sp_supercell=[2, 1])
    per_cell = engine_energy(engine, slab, tmp_path, "sc")
    big = slab.repeat((2, 1, 1))
    big.calc = TBLite(method="GFN2-xTB", verbosity=0)
    assert per_cell == pytest.approx(big.get_potential_energy() / 2, abs=1e-6)
    # and it is not the Γ-only energy of the small cell (that is what it corrects)
    gamma = engine_energy(XtbEngine(method="GFN2-xTB"), slab, tmp_path, "gamma")
    assert abs(per_cell - gamma) > 0.05
    # the result keeps the original cell and says what was done
    d = tmp_path / "sc"
    result = engine.read_result(d)
    assert len(result.atoms) == len(slab)
    assert np.allclose(result.atoms.cell.array, slab.cell.array)
    assert any("repeated 2×1" in n for n in result.extra.get("notes", []) or [])


def test_supercell_applies_to_periodic_single_points_only():
    engine = get_engine("xtb", {"method": "GFN2-xTB", "sp_supercell": [2, 2]})
    slab = nacl_bilayer()
    assert engine.settings(slab, "single_point")["sp_supercell"] == [2, 2]
    assert "sp_supercell" not in engine.settings(slab, "relax")  # relaxations: the cell itself
    assert "sp_supercell" not in engine.settings(build_ion_pair(), "single_point")  # molecule
    plain = get_engine("xtb", {"method": "GFN2-xTB"})
    assert engine.settings(slab, "single_point") != plain.settings(slab, "single_point")
    assert get_engine("xtb", {"sp_supercell": [1, 1]}).sp_supercell is None


@pytest.mark.parametrize("bad", [[0, 2], [7, 1], [2], "2x2", [1.5, 2], [2, 2, 1]])
def test_bad_supercell_is_refused(bad):
    with pytest.raises(AtomisticsError, match="sp_supercell"):
        XtbEngine(sp_supercell=bad)
