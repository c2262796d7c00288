"""Engine.variant: the one way a derived step (the implicit-solvent correction) makes its
gas-phase and solvated engines from the study's engine."""

from __future__ import annotations

import pytest
from ase import Atoms

from atomistics.engines.composite import GEOMETRY_KEY, CompositeEngine
from atomistics.engines.cp2k import Cp2kEngine
from atomistics.reactions.solvation import gas_engine, solvated_engine

pytest.importorskip("tblite")
from atomistics.engines.xtb import XtbEngine  # noqa: E402

SLAB = Atoms("H2", positions=[[0, 0, 5], [0, 0, 5.74]], cell=[6, 6, 20], pbc=[True, True, False])


def _cp2k(data_dir="/data", **kw):
    return Cp2kEngine(protocol="quick", command=["cp2k.test"], data_dir=data_dir, **kw)


def test_cp2k_variant_merges_overrides_and_keeps_the_machine():
    eng = _cp2k(overrides={"cutoff": 400, "single_point": {"kpoints": [3, 3, 1]}}, omp_threads=3)
    gas = gas_engine(eng)
    assert gas.overrides == {"cutoff": 400, "single_point": {"kpoints": "gamma"}}
    assert eng.overrides["single_point"] == {"kpoints": [3, 3, 1]}  # the study's is untouched
    assert (gas.command, gas.omp_threads, gas.data_dir, gas.protocol) == (
        ["cp2k.test"],
        3,
        "/data",
        "quick",
    )
    solv = solvated_engine(eng, "sccs:7.2", "none")
    sccs = solv.overrides["single_point"]["cp2k"]["FORCE_EVAL"]["DFT"]["SCCS"]
    assert sccs == {"DIELECTRIC_CONSTANT": 7.2} and solv.overrides["cutoff"] == 400


def test_xtb_variant_keeps_the_calculator_and_is_one_cell_at_gamma():
    eng = XtbEngine(method="GFN1-xTB", electronic_temperature=500.0, sp_supercell=[2, 2])
    gas = gas_engine(eng)
    assert gas is not eng and gas.sp_supercell is None
    assert gas.calculator_settings == eng.calculator_settings
    assert "sp_supercell" in eng.settings(SLAB, "single_point")
    assert "sp_supercell" not in gas.settings(SLAB, "single_point")
    solv = solvated_engine(eng, "cpcm:7.2", "cluster")
    assert solv.calculator_settings == {
        **eng.calculator_settings,
        "solvation": "cpcm:7.2",
        "periodic_solvation": "cluster",
    }
    plain = XtbEngine(method="GFN1-xTB")
    assert gas_engine(plain) is plain  # nothing to change: the study's own engine


def test_composite_variant_keeps_the_label_and_the_geometry_origin():
    from atomistics.cp2k.locate import find_cp2k_data_dir

    data = find_cp2k_data_dir(required=False)
    if data is None:
        pytest.skip("no CP2K data directory (basis sets) on this machine")
    comp = CompositeEngine(_cp2k(data_dir=data), XtbEngine(method="GFN1-xTB"))
    solv = solvated_engine(comp, "sccs:7.2", "none")
    assert isinstance(solv, CompositeEngine) and solv.protocol == "quick//GFN1-xTB"
    settings = solv.settings(SLAB, "single_point")
    assert settings[GEOMETRY_KEY]["protocol"] == "GFN1-xTB"
    assert "SCCS" in str(settings)
    assert isinstance(gas_engine(comp), CompositeEngine)
