"""FireWorks on the embedded LaunchPad: real `atomistics submit`, `rlaunch`, `lpad` processes.

A three-system study (li, fsi, li_fsi and one binding energy) with the xtb engine
keeps every run to seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mini_study import MINI_STUDY

BIN = Path(sys.executable).parent


def run(*cmd: str, cwd: Path, timeout: float = 180, env: dict | None = None):
    exe = (
        [sys.executable, "-m", "atomistics", *cmd[1:]]
        if cmd[0] == "atomistics"
        else [str(BIN / cmd[0]), *cmd[1:]]
    )
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FW_CONFIG_FILE", "MONGOMOCK_SERVERSTORE_FILE")
    }
    proc = subprocess.run(
        exe,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**environment, **(env or {})},
    )
    return proc.returncode, proc.stdout, proc.stderr


def fw_states(folder: Path) -> dict[int, str]:
    """fw_id -> state, read from the store file (what survives the process)."""
    data = json.loads((folder / "launchpad.json").read_text())
    docs = data["fireworks"]["fireworks"]["documents"]
    return {doc["fw_id"]: doc["state"] for _, doc in docs}


def calc_rows(folder: Path) -> list:
    import ase.db

    if not (folder / "results.db").exists():
        return []
    try:
        return list(ase.db.connect(str(folder / "results.db")).select(kind="calculation"))
    except Exception:  # the launcher is writing right now (SQLite busy): try again later
        return []


@pytest.fixture
def study_dir(tmp_path) -> Path:
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    return tmp_path


def test_submit_runs_to_completed_and_resubmit_adds_nothing(study_dir):
    rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=study_dir)
    assert rc == 0, err
    assert "7 Fireworks" in out
    for name in ("FW_config.yaml", "my_launchpad.yaml", "launchpad.json"):
        assert (study_dir / name).is_file()
    rc, out, _ = run("atomistics", "status", "mini.yaml", cwd=study_dir)
    assert "READY 3" in out and "WAITING 4" in out

    rc, out, err = run(
        "rlaunch", "rapidfire", "--nlaunches", "0", "--timeout", "150", cwd=study_dir
    )
    assert rc == 0, err[-2000:]
    assert set(fw_states(study_dir).values()) == {"COMPLETED"}
    rc, out, _ = run("atomistics", "status", "mini.yaml", cwd=study_dir)
    assert "COMPLETED 7" in out

    # plain lpad sees the same LaunchPad
    rc, out, err = run("lpad", "get_fws", "-s", "COMPLETED", "-d", "count", cwd=study_dir)
    assert rc == 0 and out.strip().endswith("7"), (out, err)

    rc, out, err = run("atomistics", "results", "--db", "results.db", "--json", cwd=study_dir)
    assert rc == 0, err
    results = json.loads(out)
    assert len(results["calculations"]) == 6
    (bind,) = results["binding_energies"]
    assert bind["name"] == "li_fsi" and bind["study"] == "mini"
    assert -12 < bind["e_bind_ev"] < -4  # bound, of the paper's order (xtb, not DFT)

    rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=study_dir)
    assert rc == 0, err
    assert "nothing to submit" in out
    assert len(fw_states(study_dir)) == 7


def test_resubmit_after_partial_run_adds_only_what_is_missing(study_dir):
    """Results from `atomistics run`-style storage count: stored calculations are skipped."""
    assert run("atomistics", "submit", "mini.yaml", cwd=study_dir)[0] == 0
    rc, _, err = run("rlaunch", "singleshot", cwd=study_dir)  # one relax
    assert rc == 0, err
    # start over with a fresh LaunchPad but the same results database
    for name in ("launchpad.json", "FW_config.yaml", "my_launchpad.yaml"):
        (study_dir / name).unlink()
    rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=study_dir)
    assert rc == 0, err
    assert "already in the results database" in out
    assert "6 Fireworks" in out  # the stored relax is not submitted again; its single point is


def test_second_launcher_is_refused(study_dir):
    assert run("atomistics", "submit", "mini.yaml", cwd=study_dir)[0] == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from fireworks import LaunchPad; lp = LaunchPad.auto_load(); "
            "print(lp.fireworks.count_documents({}), flush=True); import time; time.sleep(60)",
        ],
        cwd=study_dir,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "7"
        rc, out, err = run(
            "rlaunch", "rapidfire", "--nlaunches", "1", "--timeout", "30", cwd=study_dir
        )
        assert rc == 2
        assert "in use by pid" in err and "one process at a time" in err and "MongoDB" in err
        assert "Traceback" not in err
        rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=study_dir)
        assert rc == 2 and "in use by pid" in err
        rc, out, err = run("atomistics", "status", cwd=study_dir)  # reads a snapshot, no lock
        assert rc == 0 and "READY 3" in out
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel released the dead holder's lock
    rc, out, err = run("rlaunch", "singleshot", cwd=study_dir)
    assert rc == 0, err
    assert sorted(fw_states(study_dir).values()).count("COMPLETED") == 1


def test_killed_firework_is_detected_and_rerun_without_recomputing(study_dir):
    assert run("atomistics", "submit", "mini.yaml", cwd=study_dir)[0] == 0
    env = {k: v for k, v in os.environ.items() if k != "FW_CONFIG_FILE"}
    launcher = subprocess.Popen(
        [str(BIN / "rlaunch"), "rapidfire", "--nlaunches", "0", "--timeout", "120"],
        cwd=study_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.time() + 90
    try:
        while time.time() < deadline and launcher.poll() is None:
            if len(calc_rows(study_dir)) >= 2 and "RUNNING" in fw_states(study_dir).values():
                break
            time.sleep(0.05)
    finally:
        launcher.send_signal(signal.SIGKILL)  # no exit handler runs
        launcher.wait()
    states = fw_states(study_dir)  # the store survived the SIGKILL (written at task boundaries)
    running = [i for i, s in states.items() if s == "RUNNING"]
    assert len(running) == 1, states
    finished = {
        p: p.read_text() for p in (study_dir / "runs").rglob("DONE")
    }  # calculations done before the kill
    assert len(finished) >= 2

    rc, out, err = run("lpad", "detect_lostruns", "--time", "0", cwd=study_dir)
    assert rc == 0
    assert f"[{running[0]}]" in out + err or str(running[0]) in out + err
    rc, out, err = run("lpad", "detect_lostruns", "--time", "0", "--rerun", cwd=study_dir)
    assert rc == 0, err
    assert fw_states(study_dir)[running[0]] == "READY"

    rc, out, err = run(
        "rlaunch", "rapidfire", "--nlaunches", "0", "--timeout", "150", cwd=study_dir
    )
    assert rc == 0, err[-2000:]
    assert set(fw_states(study_dir).values()) == {"COMPLETED"}
    for path, text in finished.items():  # not executed again (DONE is rewritten by a run)
        assert path.read_text() == text
    rows = calc_rows(study_dir)
    assert len(rows) == 6 and len({r.calc_hash for r in rows}) == 6
    rc, out, _ = run("atomistics", "results", "--db", "results.db", "--json", cwd=study_dir)
    assert [b["name"] for b in json.loads(out)["binding_energies"]] == ["li_fsi"]


def test_fizzled_firework_carries_the_error_log(study_dir):
    """A failing calculation fizzles with its error details in the launch data."""
    # the database is left to each worker (a >>results_db<< placeholder) ...
    assert run("atomistics", "submit", "mini.yaml", "--db", ">>results_db<<", cwd=study_dir)[0] == 0
    # ... and this worker's is unusable: a file stands where its folder should be
    (study_dir / "notafolder").write_text("a file")
    (study_dir / "my_fworker.yaml").write_text(
        "name: broken\ncategory: ''\nquery: '{}'\nenv:\n"
        f"  results_db: {study_dir / 'notafolder' / 'results.db'}\n"
    )
    rc, out, err = run("rlaunch", "-w", "my_fworker.yaml", "singleshot", cwd=study_dir)
    assert rc == 0
    assert "FIZZLED" in fw_states(study_dir).values()
    rc, out, err = run("lpad", "get_fws", "-s", "FIZZLED", "-d", "all", cwd=study_dir)
    assert "notafolder" in out and "_exception" in out


def test_bridge_firework_runs_after_the_binding_energies(tmp_path):
    # the bridge needs a surface-anion and a cation-anion binding energy; the mini study
    # has one, used for both roles (dE = 0): enough to follow the data through FireWorks
    bridge = "bridge: {surface_anion: li_fsi, cation_anion: li_fsi, current_density: 1 mA/cm^2}\n"
    (tmp_path / "mini.yaml").write_text(MINI_STUDY + bridge)
    rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=tmp_path)
    assert rc == 0, err
    assert "8 Fireworks" in out
    rc, _, err = run("rlaunch", "rapidfire", "--nlaunches", "0", "--timeout", "150", cwd=tmp_path)
    assert rc == 0, err[-2000:]
    assert set(fw_states(tmp_path).values()) == {"COMPLETED"}
    record = json.loads((tmp_path / "runs" / "mini" / "bridge-xtb.json").read_text())
    assert record["status"] == "computed"
    e_bind = record["binding_energies_ev"]["li_fsi"]
    # (the bridge's result layout: dE in free_energy since the fixed-charge bridge)
    assert record["bridge"]["free_energy"]["delta_e_ev"] == pytest.approx(0.0, abs=1e-12)
    from atomistics.db import reaction_energies

    (stored,) = reaction_energies(tmp_path / "results.db", "mini", "xtb")
    assert stored.energy_ev == pytest.approx(e_bind) and record["protocol"] == stored.protocol
    # the same as the bridge run directly on that binding energy
    from atomistics.continuum.study_bridge import run_study_bridge

    section = {"surface_anion": "li_fsi", "cation_anion": "li_fsi", "current_density": "1 mA/cm^2"}
    direct = run_study_bridge(section, {"li_fsi": e_bind})
    got = record["bridge"]["transport"]["t_plus_coating"]
    assert got == pytest.approx(direct.transport.t_plus_coating, rel=1e-12)
    assert got > 0.32  # sites bind even at dG = 0 (Oriani trap ratio N_T/N_L)


# Fields that legitimately differ between two executions of the same calculation.
_VOLATILE = {"id", "unique_id", "ctime", "mtime", "user", "wall_time_s"}
_VOLATILE_DATA = {"directory", "timings"}


def _rows(db_path: Path) -> dict:
    import ase.db

    out = {}
    for row in ase.db.connect(str(db_path)).select():
        key = (row.get("kind"), row.get("name"), row.get("stage"))
        assert key not in out, f"duplicate row {key}"
        fields = {k: v for k, v in row.toatoms().todict().items()}
        fields.update({k: v for k, v in row.key_value_pairs.items() if k not in _VOLATILE})
        fields["calculator"] = row.get("calculator")
        fields["energy"] = row.get("energy")
        fields["forces"] = row.get("forces")
        fields["data"] = {k: v for k, v in row.data.items() if k not in _VOLATILE_DATA}
        out[key] = fields
    return out


def _same(a, b, where: str) -> None:
    import numpy as np

    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, sorted(set(a) ^ set(b)))
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray | list | tuple):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
    else:
        assert a == b, (where, a, b)


def store_both_ways(tmp_path: Path, study: str, timeout: int = 150) -> tuple[dict, dict]:
    """The study stored by `atomistics run` and by `submit` + `rlaunch`: (rows, rows)."""
    env = {"OMP_NUM_THREADS": "1"}
    by_run, by_fw = tmp_path / "run", tmp_path / "fw"
    for folder in (by_run, by_fw):
        folder.mkdir()
        (folder / "mini.yaml").write_text(study)
    rc, out, err = run(
        "atomistics", "run", "mini.yaml", "--no-progress", cwd=by_run, env=env, timeout=timeout
    )
    assert rc == 0, err
    rc, out, err = run("atomistics", "submit", "mini.yaml", cwd=by_fw, env=env)
    assert rc == 0, err
    rc, _, err = run(
        "rlaunch", "rapidfire", "--nlaunches", "0", "--timeout", str(timeout), cwd=by_fw, env=env
    )
    assert rc == 0, err[-2000:]
    return _rows(by_run / "results.db"), _rows(by_fw / "results.db")


def test_run_and_fireworks_store_identical_rows(tmp_path):
    """The same study through `atomistics run` and through FireWorks: field by field equal."""
    rows_run, rows_fw = store_both_ways(tmp_path, MINI_STUDY)
    assert set(rows_run) == set(rows_fw) and len(rows_run) == 7  # 6 calculations + 1 reaction
    for key in rows_run:
        _same(rows_run[key], rows_fw[key], str(key))
    reaction = rows_run[("reaction", "li_fsi", "reaction")]
    assert reaction["converged"] is True and reaction["e_reaction_ev"] < 0


# Every correction in one study: the vacuum series of a charged slab (tests/
# test_vacuum_series_study.py's tiny study) and the bridge's exchange reaction with its
# implicit-solvent ΔΔG_solv (tests/test_solvation_step.py's ion-pair conformer change).
ALL_CORRECTIONS = """\
name: mini
engine: xtb
calculation:
  # reuse_calculator: false: every SCF from scratch, so the two paths, which run the
  # calculations in another order, give bit-identical results
  xtb: {max_steps_periodic: 40, fmax: 0.5, reuse_calculator: false}
systems:
  slab: {kind: limmt-slab, supercell: [1, 1], vacuum: 10, mg: 0}
  li_ads: {kind: adsorbate, slab: slab, adsorbate: Li+, site: cavity, height: 1.8,
           orientation: Li-down}
  li_cell: {kind: molecule, species: Li+, cell_of: slab}
  li_fsi: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
  li_fsi_c1: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C1}
binding_energies:
  li_slab: {complex: li_ads, fragments: [slab, li_cell], vacuum_series: [10, 15, 20]}
reactions:
  pair: {reactants: [li_fsi], products: [li_fsi_c1]}
bridge:
  exchange: pair
  solvation: {model: cpcm:7.2}
  electrolyte: {c0: 6 mol/L, diffusivity: 3e-10 m^2/s, t_plus: 0.32, temperature: 298.15 K}
"""


def test_run_and_fireworks_store_every_correction_identically(tmp_path):
    """Counterpoise-free but with the vacuum series and ΔΔG_solv: both paths call the one
    reaction loop (atomistics.reactions.study), so the rows agree field by field."""
    rows_run, rows_fw = store_both_ways(tmp_path, ALL_CORRECTIONS, timeout=900)
    assert set(rows_run) == set(rows_fw)
    for key in rows_run:
        _same(rows_run[key], rows_fw[key], str(key))
    series = rows_run[("reaction", "li_slab", "reaction")]
    assert series["vacuum_series_status"] == "ok"
    assert (
        series["data"]["corrections"]["vacuum_series"]["value_ev"]
        == series["e_vacuum_extrapolated_ev"]
    )
    pair = rows_run[("reaction", "pair", "reaction")]
    solvation = pair["data"]["corrections"]["solvation"]
    assert solvation["model"] == "cpcm:7.2" and pair["ddg_solv_ev"] == solvation["ddg_ev"]
    # ΔΔG_solv = Σν ΔG_solv from the stored solvated and gas single points
    e = {
        (name, stage): rows_run[("calculation", name, stage)]["energy"]
        for name in ("li_fsi", "li_fsi_c1", "li_fsi~solv-cpcm7.2", "li_fsi_c1~solv-cpcm7.2")
        for stage in ("single_point",)
    }
    by_hand = (e[("li_fsi_c1~solv-cpcm7.2", "single_point")] - e[("li_fsi_c1", "single_point")]) - (
        e[("li_fsi~solv-cpcm7.2", "single_point")] - e[("li_fsi", "single_point")]
    )
    assert solvation["ddg_ev"] == pytest.approx(by_hand, abs=1e-9)
    # the bridge task read the stored value instead of computing it again
    record = json.loads((tmp_path / "fw" / "runs" / "mini" / "bridge-xtb.json").read_text())
    assert record["bridge"]["free_energy"]["solvation_correction_ev"] == solvation["ddg_ev"]
