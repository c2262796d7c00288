"""ΔΔG_solv of a reaction from solvated single points (atomistics.reactions.solvation).

Real tblite on tiny systems: a LiF(001) plane (8 atoms in an 8.06 × 4.03 Å cell) with HF
adsorbed, and the three-ion mini study. Every number the module computes is checked
against single points done by hand with tblite's own ASE calculator.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk, molecule, surface
from mini_study import MINI_STUDY

from atomistics import db as dbmod
from atomistics.errors import AtomisticsError
from atomistics.execution import plan_calculation, stage_input
from atomistics.execution.hashing import round_positions
from atomistics.reactions import solvation as solv

pytest.importorskip("tblite")
from tblite.ase import TBLite  # noqa: E402

from atomistics.calcstore import run_cached  # noqa: E402
from atomistics.engines.xtb import XtbEngine  # noqa: E402
from atomistics.runner import run_study  # noqa: E402
from atomistics.study import parse_study  # noqa: E402

CPCM = ("ddX", 7.2, "cpcm")
ALPB = ("alpb", "thf")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _info(atoms, name):
    atoms.info.update(charge=0, spin_multiplicity=1, name=name)
    return atoms


def lif_model():
    """slab + HF → slab·HF on one LiF(001) plane; all three in one periodic cell."""
    lif = bulk("LiF", "rocksalt", a=4.03, cubic=True)
    slab = surface(lif, (0, 0, 1), 1, vacuum=6.0).repeat((2, 1, 1))
    slab = slab[slab.positions[:, 2] > slab.positions[:, 2].max() - 0.5]  # one plane, 8 atoms
    slab.pbc = (True, True, False)
    hf = molecule("HF")
    hf.positions += [2.015, 2.015, slab.positions[:, 2].max() + 1.9 - hf.positions[:, 2].min()]
    cplx = slab.copy() + hf
    hf_cell = hf.copy()
    hf_cell.cell, hf_cell.pbc = slab.cell, slab.pbc
    return {
        "slab": _info(slab, "slab"),
        "hf": _info(hf_cell, "hf"),
        "cplx": _info(cplx, "cplx"),
    }


def by_hand(atoms, solvation=None):
    """One GFN2-xTB single point with tblite's ASE calculator, the engine's settings."""
    a = round_positions(atoms.copy())
    a.calc = TBLite(
        method="GFN2-xTB",
        accuracy=1.0,
        electronic_temperature=300.0,
        max_iterations=250,
        charge=0,
        multiplicity=1,
        verbosity=0,
        solvation=solvation,
    )
    return float(a.get_potential_energy())


def gas_single_points(structures, engine, workdir, db, study="t"):
    return {
        n: run_cached(
            plan_calculation(study, n, "single_point", stage_input(a), engine), workdir, engine, db
        )
        for n, a in structures.items()
    }


@pytest.fixture(scope="module")
def lif_run(tmp_path_factory):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tmp = tmp_path_factory.mktemp("lif")
    structures = lif_model()
    engine = XtbEngine()
    db = dbmod.connect(tmp / "r.db")
    finals = gas_single_points(structures, engine, tmp / "runs", db)
    calls = []

    def run_one(calc, eng):
        calls.append((calc.name, eng))
        return run_cached(calc, tmp / "runs", eng, db)

    planned = []
    result = solv.compute_solvation(
        "t",
        "ads",
        {"slab": 1, "hf": 1},
        {"cplx": 1},
        structures,
        finals,
        engine,
        {"model": "cpcm:7.2", "approximation": "cluster", "error": ["edge", "model"]},
        run_one,
        planned.append,
    )
    return {
        "structures": structures,
        "finals": finals,
        "result": result,
        "calls": calls,
        "planned": planned,
        "db": db,
        "tmp": tmp,
        "engine": engine,
    }


def test_reaction_arithmetic_with_coefficients():
    # ΔΔG = Σ ν ΔG_solv with signed coefficients: 2 A + B -> C
    dg = {"A": -0.25, "B": -1.5, "C": -2.0}
    assert solv.reaction_solvation({"A": -2, "B": -1, "C": 1}, dg) == pytest.approx(
        -2.0 + 1.5 + 0.5
    )
    with pytest.raises(AtomisticsError, match="no solvation energy"):
        solv.reaction_solvation({"A": -1, "D": 1}, dg)


def test_coefficient_two_against_hand_single_points(tmp_path):
    # 2 HF -> (HF)2, isolated molecules: ΔΔG = ΔG_solv(dimer) − 2 ΔG_solv(HF)
    hf = _info(molecule("HF"), "hf")
    dimer = hf.copy() + hf.copy()
    dimer.positions[2:] += [0.0, 0.0, 2.6]
    _info(dimer, "dimer")
    structures = {"hf": hf, "dimer": dimer}
    engine = XtbEngine()
    db = dbmod.connect(tmp_path / "r.db")
    finals = gas_single_points(structures, engine, tmp_path / "runs", db)
    res = solv.compute_solvation(
        "t",
        "dim",
        {"hf": 2},
        {"dimer": 1},
        structures,
        finals,
        engine,
        {"model": "cpcm:7.2"},
        lambda c, e: run_cached(c, tmp_path / "runs", e, db),
    )
    dg = {n: by_hand(a, CPCM) - by_hand(a) for n, a in structures.items()}
    assert res.ddg_ev == pytest.approx(dg["dimer"] - 2 * dg["hf"], abs=2e-4)
    assert {s.name: s.coefficient for s in res.systems} == {"hf": -2.0, "dimer": 1.0}
    # molecules only, xtb: the default error estimate is the model spread against ALPB(THF)
    dg_alt = {n: by_hand(a, ALPB) - by_hand(a) for n, a in structures.items()}
    ddg_alt = dg_alt["dimer"] - 2 * dg_alt["hf"]
    assert res.alternative == "alpb:thf"
    assert res.sigma_ev == pytest.approx(abs(res.ddg_ev - ddg_alt), abs=3e-4)
    assert res.sigma_ev > 0 and "model spread" in res.sigma_method


def test_cluster_correction_equals_hand_single_points(lif_run):
    res, structures = lif_run["result"], lif_run["structures"]
    hand = {n: (by_hand(a), by_hand(a, CPCM)) for n, a in structures.items()}
    for s in res.systems:
        gas, solvated = hand[s.name]
        assert s.e_gas_ev == pytest.approx(gas, abs=1e-4)
        assert s.e_solv_ev == pytest.approx(solvated, abs=1e-4)
        assert s.periodic
    dg = {n: e_s - e_g for n, (e_g, e_s) in hand.items()}
    assert res.ddg_ev == pytest.approx(dg["cplx"] - dg["slab"] - dg["hf"], abs=2e-4)
    assert res.label == "CPCM ε=7.2 (DME), xtb cluster approximation"
    assert res.converged and not res.unconverged


def test_uncertainty_is_the_documented_estimate(lif_run):
    res, structures = lif_run["result"], lif_run["structures"]
    # edge: every periodic cell doubled along its shorter in-plane axis (b, 4.03 Å), per cell
    doubled = {}
    for n, a in structures.items():
        big = round_positions(a.copy()).repeat((1, 2, 1))
        doubled[n] = (by_hand(big, CPCM) - by_hand(big)) / 2
    ddg2 = doubled["cplx"] - doubled["slab"] - doubled["hf"]
    factor = 2 + 2 * 4.03 / 8.06  # r1/(r1 - r2) for a patch doubled along b
    assert solv.edge_factor(structures["slab"]) == pytest.approx(factor)
    edge = abs(ddg2 - res.ddg_ev) * factor
    assert res.sigma_components_ev["edge"] == pytest.approx(edge, abs=1e-3)
    # model: the same ΔΔG with ALPB(THF)
    alt = {n: by_hand(a, ALPB) - by_hand(a) for n, a in structures.items()}
    model = abs(res.ddg_ev - (alt["cplx"] - alt["slab"] - alt["hf"]))
    assert res.sigma_components_ev["model"] == pytest.approx(model, abs=3e-4)
    assert res.sigma_ev == pytest.approx(math.hypot(edge, model), abs=1e-3)
    assert res.sigma_ev > 0 and res.sigma_components_ev["edge"] > 0
    assert "doubled along b" in res.sigma_method and "ALPB(THF)" in res.sigma_method
    # 3 solvated + 3 alternative + 3 × (gas + solvated) of the doubled cells, planned first
    assert lif_run["planned"] == [12] and len(lif_run["calls"]) == 12


def test_own_rows_and_gas_rows_untouched(lif_run):
    db, finals = lif_run["db"], lif_run["finals"]
    rows = dbmod.calculation_rows(db, "t")
    names = sorted(r.name for r in rows)
    assert "cplx~solv-cpcm7.2" in names and "slab~x2~solv-cpcm7.2" in names
    assert "hf~solv-alpbthf" in names and "cplx~x2~gas" in names
    gas = {r.name: r for r in rows if r.name in finals}
    assert len(gas) == 3 and len([r for r in rows if r.name == "slab"]) == 1
    for n, r in gas.items():  # the gas-phase rows are the ones written first, unchanged
        assert r.calc_hash == finals[n].calc_hash and r.energy == finals[n].energy_ev
    assert len({r.calc_hash for r in rows}) == len(rows) == 3 + 12
    solvated = next(r for r in rows if r.name == "cplx~solv-cpcm7.2")
    assert solvated.data["settings"]["calculator"]["solvation"] == "cpcm:7.2"
    assert solvated.data["settings"]["calculator"]["periodic_solvation"] == "cluster"
    # run again: everything comes from the database
    again = solv.compute_solvation(
        "t",
        "ads",
        {"slab": 1, "hf": 1},
        {"cplx": 1},
        lif_run["structures"],
        finals,
        lif_run["engine"],
        {"model": "cpcm:7.2", "approximation": "cluster", "error": ["edge", "model"]},
        lambda c, e: run_cached(c, lif_run["tmp"] / "runs", e, db),
    )
    assert again.ddg_ev == lif_run["result"].ddg_ev
    assert len(dbmod.calculation_rows(db, "t")) == 15


def test_periodic_cells_need_the_cluster_approximation(lif_run):
    with pytest.raises(AtomisticsError, match="approximation: cluster"):
        solv.check_solvation(
            {"model": "cpcm:7.2"}, XtbEngine(), lif_run["structures"], ["slab", "hf", "cplx"]
        )


@pytest.mark.parametrize(
    "section, message",
    [
        ({"model": "sccs:7.2"}, "not a tblite model"),
        ({"model": "alpb:7.2"}, "parametrised solvent name"),
        ({"model": "cpcm:7.2", "error": ["edge"]}, "needs approximation: cluster"),
        ({"model": "cpcm:7.2", "alternative": "cpcm:7.2"}, "is the model itself"),
    ],
)
def test_bad_methods_for_xtb(section, message):
    with pytest.raises(AtomisticsError, match=message):
        solv.resolve_method(section, "xtb")


def test_cp2k_runs_both_single_points_at_gamma_with_sccs():
    from atomistics.engines.cp2k import Cp2kEngine

    slab = lif_model()["slab"]
    engine = Cp2kEngine(protocol="quick")
    assert engine.settings(slab, "single_point")["kpoints"] == [3, 3, 1]
    gas = solv.gas_engine(engine).settings(slab, "single_point")
    wet = solv.solvated_engine(engine, "sccs:7.2", "none").settings(slab, "single_point")
    assert gas["kpoints"] is None and wet["kpoints"] is None
    sccs = wet["cp2k_overrides"]["FORCE_EVAL"]["DFT"]["SCCS"]
    assert sccs["DIELECTRIC_CONSTANT"] == 7.2
    assert [k for k in wet if wet[k] != gas[k]] == ["cp2k_overrides"]
    method = solv.resolve_method({"model": "sccs:7.2"}, "cp2k")
    assert method.error == () and method.label == "SCCS ε=7.2 (DME)"
    with pytest.raises(AtomisticsError, match="SCCS solvates periodic cells"):
        solv.resolve_method({"model": "sccs:7.2", "approximation": "cluster"}, "cp2k")


# ----------------------------------------------------------------- the study and the bridge

# a neutral reaction (the bridge refuses a charged one as its exchange): the ion pair's
# trans -> cis conformer change, cheap like the exchange reaction's stand-in should be
BRIDGE = """\
  li_fsi_c1: {{kind: ion-pair, cation: Li+, anion: FSI-, conformer: C1}}
reactions:
  pair: {{reactants: [li_fsi], products: [li_fsi_c1]}}
bridge:
  exchange: pair
  solvation: {solvation}
  electrolyte: {{c0: 6 mol/L, diffusivity: 3e-10 m^2/s, t_plus: 0.32, temperature: 298.15 K}}
"""


def _study_text(solvation="{model: cpcm:7.2}"):
    mini = MINI_STUDY.split("binding_energies:")[0]
    return mini + BRIDGE.format(solvation=solvation)


def test_run_computes_it_and_the_bridge_uses_it(tmp_path, capsys):
    from atomistics.cli import main
    from atomistics.continuum.study_bridge import run_study_bridge

    path = tmp_path / "s.yaml"
    path.write_text(_study_text())
    study = parse_study(path.read_text())
    db, work = tmp_path / "r.db", tmp_path / "runs"
    run = run_study(study, XtbEngine(), db, work, progress=False)
    res = run.solvation
    assert res is not None and res.reaction == "pair" and res.sigma_ev > 0
    assert (run.n_run, run.n_cached) == (4 + 4, 0)  # 2 × (relax, sp) + 2 × (CPCM, ALPB)
    (pair,) = run.reactions
    bridged = run_study_bridge(study.bridge, {}, {"pair": pair}, solvation=res)
    fe = bridged.free_energy
    assert fe.delta_g_ev == pytest.approx(pair.energy_ev + res.ddg_ev)
    assert fe.solvation_correction_ev == res.ddg_ev
    assert fe.spread_ev["solvation"] == pytest.approx(res.sigma_ev)
    assert fe.sigma_ev == pytest.approx(
        math.sqrt(sum(v * v for v in fe.spread_ev.values())), rel=1e-12
    )
    assert "CPCM ε=7.2 (DME)" in fe.solvation
    assert bridged.to_dict()["free_energy"]["spread_ev"]["solvation"] == res.sigma_ev
    # without the computed value the section is refused, not silently gas phase
    with pytest.raises(AtomisticsError, match="has not been computed"):
        run_study_bridge(study.bridge, {}, {"pair": pair})
    # the CLI: everything cached now, the bridge names the model and the source
    capsys.readouterr()
    png = tmp_path / "bands.png"
    args = ["run", str(path), "--db", str(db), "--workdir", str(work), "--no-progress"]
    assert main([*args, "--bridge-plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert f"95 % band written to {png}" in out
    # `bridge --db` reads the stored ddG_solv: the same dG as the run, nothing recomputed
    n_rows = len(dbmod.calculation_rows(dbmod.connect(db)))
    (stored,) = dbmod.reactions_from_db(dbmod.connect(db), study.name)
    assert solv.SolvationCorrection.from_record(stored.solvation) == res
    row = dbmod.reaction_rows(dbmod.connect(db), study.name)[0]
    assert row.ddg_solv_ev == res.ddg_ev and row.ddg_solv_sigma_ev == res.sigma_ev
    argv = ["bridge", "--db", str(db), "--study", study.name, "--exchange-name", "pair"]
    assert main([*argv, "--json"]) == 0
    import json

    by_db = json.loads(capsys.readouterr().out)["free_energy"]
    assert by_db["delta_g_ev"] == pytest.approx(fe.delta_g_ev, abs=1e-12)
    assert by_db["solvation_correction_ev"] == res.ddg_ev
    assert by_db["spread_ev"]["solvation"] == pytest.approx(res.sigma_ev)
    assert len(dbmod.calculation_rows(dbmod.connect(db))) == n_rows
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "NOTE" not in text and "stored with the reaction" in text
    assert "ddG_solv = sum nu dG_solv" in out and "Implicit solvent for 'pair'" in out
    assert "solvation: CPCM ε=7.2 (DME); 1 sigma" in out
    assert f"solvation {res.sigma_ev:.3g}" in out


def test_unconverged_solvation_is_refused_by_the_bridge():
    from atomistics.continuum.study_bridge import run_study_bridge

    study = parse_study(_study_text())
    res = solv.SolvationCorrection(
        reaction="pair",
        model="cpcm:7.2",
        label="CPCM ε=7.2 (DME)",
        ddg_ev=0.1,
        sigma_ev=0.05,
        sigma_components_ev={"model": 0.05},
        sigma_method="the model spread",
        engine="xtb",
        approximation="none",
        converged=False,
        unconverged=["li_fsi~solv-cpcm7.2:single_point (SCF not converged)"],
    )
    with pytest.raises(
        AtomisticsError, match="solvation correction of pair comes from unconverged"
    ):
        run_study_bridge(study.bridge, {}, {"pair": -0.5}, solvation=res)
    fe = run_study_bridge(
        study.bridge, {}, {"pair": -0.5}, solvation=res, allow_unconverged=True
    ).free_energy
    assert "UNCONVERGED solvation" in fe.solvation and fe.delta_g_ev == pytest.approx(-0.4)


@pytest.mark.parametrize(
    "solvation, message",
    [
        ("{model: foo:1}", "bridge.solvation.model: 'foo:1' is not MODEL:SOLVENT"),
        ("{model: cpcm:7.2, error: [bogus]}", "bridge.solvation.error.0"),
        ("cpcm", "bridge.solvation must be a mapping"),
        ("{model: cpcm:7.2}\n  solvation_correction: 0.1 eV", "both given"),
        ("{model: sccs:7.2}", "not a tblite model"),  # engine-level, before any job
    ],
)
def test_bad_solvation_key_exit_2(tmp_path, capsys, solvation, message):
    from atomistics.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(_study_text(solvation))
    db = tmp_path / "r.db"
    code = main(["run", str(path), "--db", str(db), "--workdir", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert [line for line in err.splitlines() if "bridge.solvation" in line or message in line]
    assert not db.exists() or not dbmod.calculation_rows(dbmod.connect(db), "mini")


def test_doubling_keeps_masks_and_doubles_charge():
    cplx = lif_model()["cplx"]
    cplx.arrays["adsorbate"] = np.arange(len(cplx)) >= 8
    cplx.info["charge"] = -1
    big = solv.doubled(cplx)
    assert len(big) == 20 and big.info["charge"] == -2
    assert big.arrays["adsorbate"].sum() == 4
    np.testing.assert_allclose(big.cell.lengths()[:2], [8.06, 8.06])


def test_positive_electrostatic_solvation_energy_is_flagged(tmp_path):
    # CPCM can only lower the SCF energy; a solvated single point above the gas one means the
    # two SCFs ended in different states. Simulated here by shifting one solvated energy.
    import dataclasses

    hf = _info(molecule("HF"), "hf")
    dimer = hf.copy() + hf.copy()
    dimer.positions[2:] += [0.0, 0.0, 2.6]
    structures = {"hf": hf, "dimer": _info(dimer, "dimer")}
    engine = XtbEngine()
    db = dbmod.connect(tmp_path / "r.db")
    finals = gas_single_points(structures, engine, tmp_path / "runs", db)

    def run_one(calc, eng):
        r = run_cached(calc, tmp_path / "runs", eng, db)
        if calc.name == "dimer~solv-cpcm7.2":
            return dataclasses.replace(r, energy_ev=finals["dimer"].energy_ev + 0.3)
        return r

    section = {"model": "cpcm:7.2", "error": []}
    res = solv.compute_solvation(
        "t", "dim", {"hf": 2}, {"dimer": 1}, structures, finals, engine, section, run_one
    )
    assert not res.converged
    assert res.unconverged == [
        "dimer: dG_solv +0.3 eV > 0 with the purely electrostatic CPCM ε=7.2 (DME), which "
        "lowers the energy of one electronic state: not a solvation energy (a different "
        "state, or the model inconsistent for this system)"
    ]
    assert res.sigma_ev == 0 and "no error estimate" in res.sigma_method


def test_fireworks_bridge_computes_the_same_correction(tmp_path):
    # `atomistics submit` + rlaunch: the bridge Firework computes ΔΔG_solv with the function
    # `atomistics run` calls; a later `atomistics run` finds every calculation stored
    import json
    import subprocess
    import sys

    pytest.importorskip("fireworks")
    (tmp_path / "s.yaml").write_text(_study_text())
    env = {k: v for k, v in os.environ.items() if k not in ("FW_CONFIG_FILE",)}
    env["OMP_NUM_THREADS"] = "1"
    for cmd in (
        [sys.executable, "-m", "atomistics", "submit", "s.yaml"],
        [
            str(Path(sys.executable).parent / "rlaunch"),
            "rapidfire",
            "--nlaunches",
            "0",
            "--timeout",
            "150",
        ],
    ):
        proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "runs" / "mini" / "bridge-xtb.json").read_text())
    assert record["status"] == "computed", record
    fe = record["bridge"]["free_energy"]
    assert fe["spread_ev"]["solvation"] > 0 and "CPCM ε=7.2 (DME)" in fe["solvation"]
    run = run_study(
        parse_study(_study_text()),
        XtbEngine(),
        tmp_path / "results.db",
        tmp_path / "runs",
        progress=False,
    )
    assert run.n_run == 0 and run.solvation is not None
    assert fe["solvation_correction_ev"] == pytest.approx(run.solvation.ddg_ev, abs=1e-12)
    assert fe["spread_ev"]["solvation"] == pytest.approx(run.solvation.sigma_ev, abs=1e-12)


def test_cp2k_plan_gamma_gas_and_sccs_and_says_so():
    # the CP2K path's plan, without running CP2K: the slab's study single point uses k-points,
    # so a Γ gas reference and a Γ SCCS single point are planned, and the result says so
    import dataclasses

    from atomistics.engines.cp2k import Cp2kEngine
    from atomistics.execution.record import CalcResult

    structures = lif_model()
    engine = Cp2kEngine(protocol="quick")

    def fake(calc, energy):
        return CalcResult(
            calc_hash=calc.calc_hash,
            study=calc.study,
            name=calc.name,
            stage=calc.stage,
            engine=calc.engine,
            engine_version=calc.engine_version,
            protocol=calc.protocol,
            energy_ev=energy,
            atoms=calc.atoms,
            forces=None,
            scf_converged=True,
            geo_converged=True,
            n_steps=0,
            wall_time_s=None,
            warnings=[],
            timings={},
            settings=calc.settings,
            metadata={},
        )

    finals = {
        n: fake(plan_calculation("t", n, "single_point", stage_input(a), engine), -100.0)
        for n, a in structures.items()
    }
    seen = {}

    def run_one(calc, eng):
        seen[calc.name] = calc.settings
        shift = -0.5 if "~solv" in calc.name else 0.0
        return dataclasses.replace(fake(calc, -101.0 + shift), geo_converged=True)

    res = solv.compute_solvation(
        "t",
        "ads",
        {"slab": 1, "hf": 1},
        {"cplx": 1},
        structures,
        finals,
        engine,
        {"model": "sccs:7.2"},
        run_one,
    )
    assert sorted(seen) == sorted(f"{n}~{k}" for n in structures for k in ("gas", "solv-sccs7.2"))
    for name, settings in seen.items():
        assert settings["kpoints"] is None, name
        assert ("SCCS" in str(settings["cp2k_overrides"])) == ("~solv" in name)
    # ΔG_solv = −0.5 eV for every system against its own Γ gas reference (not the k-point one)
    assert all(s.dg_solv_ev == pytest.approx(-0.5) for s in res.systems)
    assert res.ddg_ev == pytest.approx(0.5) and res.label == "SCCS ε=7.2 (DME)"
    assert res.sigma_ev == 0 and "no error estimate" in res.sigma_method
    (note,) = res.notes
    assert "at the Gamma point" in note and "use k-points" in note and "'slab'" in note
