"""The xtb engine end to end on small ions: run, store, hash reuse, resume after Ctrl-C, lock."""

import json
import os
import subprocess
import sys

import pytest
from mini_study import MINI_STUDY as MINI

from atomistics import db as dbmod
from atomistics.engines.xtb import XtbEngine
from atomistics.errors import AtomisticsError
from atomistics.runner import run_study, study_lock
from atomistics.study import parse_study

pytest.importorskip("tblite")

ENV = dict(os.environ, OMP_NUM_THREADS="1")


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def test_run_store_and_reuse(tmp_path):
    study = parse_study(MINI)
    db_path, work = tmp_path / "r.db", tmp_path / "runs"
    first = run_study(study, XtbEngine(), db_path, work, progress=False)
    assert (first.n_run, first.n_cached) == (6, 0)
    (b,) = first.reactions
    assert b.e_bind_ev < 0 and b.paper_value_ev == -8.35
    again = run_study(study, XtbEngine(), db_path, work, progress=False)
    assert (again.n_run, again.n_cached) == (0, 6)
    assert again.reactions[0].e_bind_ev == pytest.approx(b.e_bind_ev)
    db = dbmod.connect(db_path)
    rows = dbmod.calculation_rows(db, "mini")
    assert len(rows) == 6 and len({r.calc_hash for r in rows}) == 6
    relax = next(r for r in rows if r.name == "li_fsi" and r.stage == "relax")
    assert relax.geo_converged and relax.scf_converged and relax.engine == "xtb"
    assert relax.total_charge == 0 and relax.natoms == 10
    assert "tblite" in relax.engine_version
    assert len(dbmod.reaction_rows(db, "mini")) == 1  # identical binding rows not duplicated
    # one record, built from the folder (first run) or from the row (second run): the same
    for key, fresh in first.results.items():
        stored = again.results[key]
        assert stored.cached and not fresh.cached
        _same_record(fresh, stored)
    sp = first.results[("li_fsi", "single_point")]
    relax = first.results[("li_fsi", "relax")]
    assert sp.geometry_from == relax.calc_hash and sp.geo_converged is relax.geo_converged
    assert sp.geo_steps == relax.n_steps > 0 and 0 < relax.fmax_ev_a <= 0.05


def _same_record(a, b):
    import dataclasses

    import numpy as np

    skip = {"cached", "directory", "timings", "wall_time_s", "metadata", "atoms", "forces"}
    for f in dataclasses.fields(a):
        if f.name not in skip:
            assert getattr(a, f.name) == getattr(b, f.name), f.name
    np.testing.assert_array_equal(a.forces, b.forces)
    np.testing.assert_array_equal(a.atoms.positions, b.atoms.positions)
    np.testing.assert_array_equal(a.atoms.cell, b.atoms.cell)
    assert a.atoms.info["charge"] == b.atoms.info["charge"]
    assert set(a.atoms.arrays) == set(b.atoms.arrays)


class _InterruptAt(XtbEngine):
    """The real xtb engine, with Ctrl-C arriving during the n-th calculation."""

    def __init__(self, n):
        super().__init__()
        self.n, self.calls = n, 0

    def execute(self, directory):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        super().execute(directory)


def test_interrupted_run_resumes_without_recomputing(tmp_path):
    study = parse_study(MINI)
    db_path, work = tmp_path / "r.db", tmp_path / "runs"
    with pytest.raises(KeyboardInterrupt):
        run_study(study, _InterruptAt(3), db_path, work, progress=False)
    db = dbmod.connect(db_path)
    done = {(r.name, r.stage): r.id for r in dbmod.calculation_rows(db)}
    assert set(done) == {("fsi", "relax"), ("fsi", "single_point")}  # nothing half-written
    resumed = run_study(study, XtbEngine(), db_path, work, progress=False)
    assert (resumed.n_run, resumed.n_cached) == (4, 2)
    after = {(r.name, r.stage): r.id for r in dbmod.calculation_rows(db)}
    assert all(after[k] == v for k, v in done.items()) and len(after) == 6
    # the interrupted attempt's folder is kept, not deleted
    assert list((work / "mini" / "li").glob("relax-*.attempt1"))


def test_second_run_is_refused_while_one_holds_the_lock(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI)
    with study_lock(tmp_path / "runs", tmp_path / "r.db"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "atomistics",
                "run",
                "mini.yaml",
                "--db",
                "r.db",
                "--workdir",
                "runs",
                "--no-progress",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
        )
    assert proc.returncode == 2
    assert "another `atomistics run`" in proc.stderr and "lock" in proc.stderr
    assert not (tmp_path / "r.db").exists() or not dbmod.calculation_rows(
        dbmod.connect(tmp_path / "r.db")
    )


def test_counterpoise_with_xtb_is_refused_before_running(tmp_path):
    study = parse_study(
        MINI.replace("paper_value_ev: -8.35}", "paper_value_ev: -8.35, counterpoise: true}")
    )
    with pytest.raises(AtomisticsError, match="ghost"):
        run_study(study, XtbEngine(), tmp_path / "r.db", tmp_path / "runs", progress=False)
    assert not (tmp_path / "runs" / "mini").exists()


def test_run_refuses_settings_the_engine_does_not_use(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI)
    proc = subprocess.run(
        [sys.executable, "-m", "atomistics", "run", "mini.yaml", "--cp2k-command", "cp2k.psmp"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert proc.returncode == 2 and "do not apply to the xtb engine" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "runs").exists()


def test_cli_run_results_and_ase_db(tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI)
    cli = [sys.executable, "-m", "atomistics"]
    run = subprocess.run(
        [*cli, "run", "mini.yaml", "--no-progress", "--plot", "be.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "li_fsi" in run.stdout and "8.35" in run.stdout and (tmp_path / "be.png").exists()
    assert (tmp_path / "results.db").exists() and (tmp_path / "runs" / "mini").is_dir()
    res = subprocess.run(
        [*cli, "results", "--json"], cwd=tmp_path, capture_output=True, text=True, env=ENV
    )
    data = json.loads(res.stdout)
    assert len(data["calculations"]) == 6 and data["binding_energies"][0]["name"] == "li_fsi"
    csv = subprocess.run(
        [*cli, "results", "--csv"], cwd=tmp_path, capture_output=True, text=True, env=ENV
    )
    assert csv.stdout.splitlines()[0].startswith("kind,")
    ase = subprocess.run(
        [
            sys.executable,
            "-m",
            "ase",
            "db",
            "results.db",
            "study=mini,kind=calculation,stage=single_point",
            "-c",
            "name,stage,engine,energy,scf_converged",
            "--csv",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert ase.returncode == 0, ase.stderr
    lines = [ln for ln in ase.stdout.splitlines() if ln.strip()]
    assert len(lines) == 4 and {ln.split(",")[0].strip() for ln in lines[1:]} == {
        "fsi",
        "li",
        "li_fsi",
    }
    bind = subprocess.run(
        [
            sys.executable,
            "-m",
            "ase",
            "db",
            "results.db",
            "kind=reaction",
            "-c",
            "name,e_reaction_ev",
            "--csv",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert "li_fsi" in bind.stdout


EXCHANGE = """\
name: exch
engine: xtb
calculation: {xtb: {max_steps_periodic: 0}}   # no relaxation on the slab: flagged unconverged
systems:
  slab: {kind: limmt-slab, supercell: [2, 1], vacuum: 10.0}
  pair: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
  product: {kind: adsorbate, slab: slab, adsorbate: FSI-, conformer: C2, counter_ion: Li+, vacuum: 10.0}
  slab_ref: {kind: in-cell, system: slab, cell_of: product}
  pair_ref: {kind: in-cell, system: pair, cell_of: product}
reactions:
  exchange: {reactants: [slab_ref, pair_ref], products: [product]}
"""


def test_neutral_exchange_reaction_end_to_end_with_honest_flags(tmp_path):
    """slab + [Li⁺–FSI⁻] → slab·(FSI⁻ + Li⁺) on a small slab: neutral, one cell, flagged."""
    study = parse_study(EXCHANGE)
    run = run_study(
        study, XtbEngine(max_steps_periodic=0), tmp_path / "r.db", tmp_path / "w", progress=False
    )
    (ex,) = run.reactions
    finals = {n: run.results[(n, "single_point")] for n in ("slab_ref", "pair_ref", "product")}
    assert ex.energy_ev == pytest.approx(
        finals["product"].energy_ev - finals["slab_ref"].energy_ev - finals["pair_ref"].energy_ev
    )
    assert not ex.charged and ex.label == "neutral"
    assert all(r.charge == 0 for r in finals.values())
    cells = [r.atoms.cell.array for r in finals.values()]
    assert all((c == cells[0]).all() for c in cells)
    # the product's adsorbates did not relax (0 steps): the reaction says so, everywhere
    assert not ex.converged and any("product:single_point" in u for u in ex.unconverged)
    (row,) = dbmod.reaction_rows(dbmod.connect(tmp_path / "r.db"), "exch")
    assert row.converged is False and row.label == "neutral"


def test_folders_recovered_into_a_deleted_database_are_not_reported_as_run(tmp_path):
    study = parse_study(MINI)
    db_path, work = tmp_path / "r.db", tmp_path / "runs"
    first = run_study(study, XtbEngine(), db_path, work, progress=False)
    assert (first.n_run, first.n_cached, first.n_recovered) == (6, 0, 0)
    done = {p: p.stat().st_mtime_ns for p in work.rglob("DONE")}
    db_path.unlink()
    messages = []
    again = run_study(study, XtbEngine(), db_path, work, progress=False, log=messages.append)
    assert (again.n_run, again.n_cached, again.n_recovered) == (0, 0, 6)
    assert "0 calculation(s) run" in messages[0] and "6 recovered from finished" in messages[0]
    assert all(r.recovered and not r.cached for r in again.results.values())
    assert {p: p.stat().st_mtime_ns for p in work.rglob("DONE")} == done  # nothing executed
    assert len(dbmod.calculation_rows(dbmod.connect(db_path), "mini")) == 6
    assert again.reactions[0].e_bind_ev == pytest.approx(first.reactions[0].e_bind_ev)
