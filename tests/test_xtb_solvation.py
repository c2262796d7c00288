"""Implicit solvation in the xtb engine (issue 11, item 3, xtb part).

tblite offers ALPB/GBSA for parametrised solvents and ddX CPCM/COSMO for any
permittivity.  DME (ε = 7.2) is not parametrised; THF (ε = 7.43, also an ether)
is the closest parametrised solvent, and CPCM takes ε = 7.2 directly.
"""

import pytest
from ase import Atoms
from ase.build import bulk, surface
from xtb_helpers import engine_energy

from atomistics.engines.xtb import DME_PERMITTIVITY, XtbEngine, parse_solvation
from atomistics.errors import AtomisticsError
from atomistics.structures.molecules import build_molecule

pytest.importorskip("tblite")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


_energy = engine_energy


def _li_ion():
    li = Atoms("Li")
    li.info.update(charge=1, spin_multiplicity=1)
    return li


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, None),
        ("alpb:thf", ("alpb", "thf")),
        ("GBSA:THF", ("gbsa", "thf")),
        ("cpcm:7.2", ("ddX", 7.2, "cpcm")),
        ("cosmo:thf", ("ddX", "thf", "cosmo")),
    ],
)
def test_parse_solvation(spec, expected):
    assert parse_solvation(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("thf", "write MODEL:SOLVENT"),
        ("smd:thf", "unknown"),
        ("alpb:7.2", "parametrised solvent name"),
        ("cpcm:0.5", "permittivity must be a finite number > 1"),
        ("cpcm:1", "1 is vacuum"),
    ],
)
def test_bad_solvation_refused_at_construction(spec, message):
    with pytest.raises(AtomisticsError, match=message):
        XtbEngine(solvation=spec)


def test_cpcm_follows_born_dielectric_scaling(tmp_path):
    """A point charge in a spherical cavity: ΔG = −f(ε) q²/(2R) (Born 1920).

    CPCM screens with f(ε) = (ε−1)/ε, COSMO with (ε−1)/(ε+1/2) (Klamt &
    Schüürmann 1993).  Li⁺ has no valence electrons in GFN2-xTB, so its charge
    is a point charge and the cavity radius R cancels in the ratios.
    """
    gas = _energy(XtbEngine(), _li_ion(), tmp_path, "gas")
    dg = {}
    for spec in (f"cpcm:{DME_PERMITTIVITY}", "cpcm:80", f"cosmo:{DME_PERMITTIVITY}"):
        dg[spec] = _energy(XtbEngine(solvation=spec), _li_ion(), tmp_path, spec) - gas
    eps = DME_PERMITTIVITY
    assert dg[f"cpcm:{eps}"] < -1.0  # a bare cation is strongly solvated
    assert dg["cpcm:80"] / dg[f"cpcm:{eps}"] == pytest.approx((1 - 1 / 80) / (1 - 1 / eps), 1e-3)
    cosmo_over_cpcm = ((eps - 1) / (eps + 0.5)) / ((eps - 1) / eps)
    assert dg[f"cosmo:{eps}"] / dg[f"cpcm:{eps}"] == pytest.approx(cosmo_over_cpcm, 1e-3)


def test_alpb_thf_solvates_the_anion(tmp_path):
    fsi = build_molecule("FSI-")
    gas = _energy(XtbEngine(), fsi, tmp_path, "gas")
    solv = _energy(XtbEngine(solvation="alpb:thf"), fsi, tmp_path, "alpb")
    assert -3.0 < solv - gas < -0.5  # eV: an anion in a medium-polarity ether


def _nacl_bilayer():
    s = surface(bulk("NaCl", "rocksalt", a=5.64, cubic=True), (0, 0, 1), 2, vacuum=12)
    s.pbc = (True, True, False)
    s.info.update(charge=0, spin_multiplicity=1)
    return s


def test_periodic_solvation_refused_unless_cluster_is_accepted(tmp_path):
    with pytest.raises(AtomisticsError, match="ignores periodic boundaries"):
        _energy(XtbEngine(solvation="alpb:thf"), _nacl_bilayer(), tmp_path, "refused")


def test_cluster_solvation_of_a_cell_is_not_extensive(tmp_path):
    """Why periodic solvation is refused: tblite solvates one cell as an isolated
    cluster, so the solvation energy per atom of a slab depends on the supercell
    (a periodic model would give the same value for 1×1 and 2×1)."""
    engine_gas = XtbEngine()
    engine_solv = XtbEngine(solvation="alpb:thf", periodic_solvation="cluster")
    per_atom = []
    for rep in ((1, 1, 1), (2, 1, 1)):
        slab = _nacl_bilayer().repeat(rep)
        tag = f"{rep[0]}x{rep[1]}"
        dg = _energy(engine_solv, slab, tmp_path, "s" + tag) - _energy(
            engine_gas, slab, tmp_path, "g" + tag
        )
        per_atom.append(dg / len(slab))
    assert per_atom[0] < 0 and per_atom[1] < 0
    assert abs(per_atom[1] - per_atom[0]) > 0.2 * abs(per_atom[0])


@pytest.mark.parametrize("eps", [1.0, 0.5, float("nan"), float("inf")])
def test_one_permittivity_rule_for_every_model(eps):
    """ε must be finite and > 1 for tblite's CPCM, CP2K's SCCS and bridge.solvation alike
    (atomistics.solvents); ε = 1 (vacuum) was accepted by SCCS before."""
    from atomistics.cp2k.protocol import sccs_overrides
    from atomistics.reactions.solvation import resolve_method

    with pytest.raises(AtomisticsError, match="finite number > 1"):
        parse_solvation(f"cpcm:{eps}")
    with pytest.raises(AtomisticsError, match="finite number > 1"):
        sccs_overrides(eps)
    with pytest.raises(AtomisticsError, match="finite number > 1"):
        resolve_method({"model": f"sccs:{eps}"}, "cp2k")
