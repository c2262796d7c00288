"""CP2K's implicit solvent (SCCS) through the study's overrides, with the real CP2K.

Independent check: a continuum solvent of permittivity ε stabilises an ion by a Born-like
ΔG = −(q²/2a)(1 − 1/ε) < 0 (Born, Z. Phys. 1, 45 (1920)); so ΔG(DME, ε = 7.2) must be
negative, of the order of the Born value for a small anion (a few eV), and larger in
magnitude than at ε = 2. Andreussi's smooth cavity follows the (1 − 1/ε) ratio (1.72 here)
only roughly, so the ratio is checked within a window.
"""

from __future__ import annotations

import pytest
from ase import Atoms

from atomistics.cp2k import find_cp2k_command
from atomistics.cp2k.protocol import DME_DIELECTRIC_CONSTANT, resolve_settings, sccs_overrides
from atomistics.errors import AtomisticsError

COMMAND = find_cp2k_command(required=False)
HARTREE_EV = 27.211386245988


def _fluoride() -> Atoms:
    f = Atoms("F", positions=[[0.0, 0.0, 0.0]])
    f.info.update(charge=-1, spin_multiplicity=1, name="f")
    return f


def test_sccs_overrides_reject_unphysical_permittivity_and_k_points():
    with pytest.raises(AtomisticsError, match="dielectric constant"):
        sccs_overrides(0.5)
    with pytest.raises(AtomisticsError, match="dielectric constant"):
        sccs_overrides(float("nan"))
    assert sccs_overrides()["cp2k"]["FORCE_EVAL"]["DFT"]["SCCS"] == {
        "DIELECTRIC_CONSTANT": DME_DIELECTRIC_CONSTANT
    }
    slab = Atoms(
        "H2", positions=[[0, 0, 5], [0, 0, 5.74]], cell=[6, 6, 20], pbc=(True, True, False)
    )
    slab.info.update(charge=0, spin_multiplicity=1, name="h2slab")
    with pytest.raises(AtomisticsError, match="SCCS.*k-points"):
        resolve_settings(slab, "single_point", "quick", sccs_overrides())


@pytest.mark.cp2k
@pytest.mark.slow
@pytest.mark.skipif(COMMAND is None, reason="no cp2k binary found (set CP2K_COMMAND)")
def test_sccs_solvation_energy_of_fluoride_is_born_like(tmp_path):
    from test_cp2k_run import run_cp2k

    from atomistics.cp2k import write_cp2k_input

    base = {"cutoff": 200, "rel_cutoff": 40}
    energies = {}
    for tag, eps in (("vacuum", None), ("dme", DME_DIELECTRIC_CONSTANT), ("eps2", 2.0)):
        overrides = dict(base, **(sccs_overrides(eps) if eps else {}))
        write_cp2k_input(_fluoride(), "single_point", tmp_path / tag, "quick", overrides)
        inp = tmp_path / tag / "single_point.inp"
        if not inp.exists():
            inp = next((tmp_path / tag).glob("*.inp"))
        energies[tag] = run_cp2k(inp)[0] * HARTREE_EV
    dg_dme = energies["dme"] - energies["vacuum"]
    dg_2 = energies["eps2"] - energies["vacuum"]
    # Born with a = 1.33 Å (Shannon's F⁻ radius) at ε = 7.2: −4.7 eV; accept a broad window
    assert -8.0 < dg_dme < -2.0
    assert dg_dme < dg_2 < 0.0
    assert 1.4 < dg_dme / dg_2 < 2.3
