"""Queue adapters: golden job scripts, and qlaunch end to end through a fake SLURM.

tests/fake_slurm holds `sbatch`/`squeue`/`scancel` that spool job scripts like a
scheduler's queue, and `fake_slurm_run` that then runs the pending jobs (in
their submit folder, with the submitting environment, output to --output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mini_study import MINI_STUDY

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FAKE_SLURM = REPO / "tests" / "fake_slurm"
GOLDEN = REPO / "tests" / "data" / "golden"
TEMPLATES = REPO / "workflows" / "fireworks"


def load_adapter(name: str, **override):
    from fireworks.utilities.fw_serializers import load_object

    spec = yaml.safe_load((TEMPLATES / name).read_text())
    spec["_fw_template_file"] = str(TEMPLATES / Path(spec["_fw_template_file"]).name)
    spec.update(override)
    return load_object(spec)


@pytest.mark.parametrize(
    ("adapter", "golden"),
    [("my_qadapter_slurm.yaml", "slurm_cp2k.sh"), ("my_qadapter_pbs.yaml", "pbs_cp2k.sh")],
)
def test_rendered_job_script_matches_golden(adapter, golden):
    script = load_adapter(adapter).get_script_str("/scratch/study/launcher_0001")
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script)
    assert script == path.read_text(), f"rendered {adapter} differs from {path} (UPDATE_GOLDEN=1)"


def test_launch_line_follows_ranks_and_threads():
    script = load_adapter(
        "my_qadapter_slurm.yaml", mpi_ranks=8, omp_threads=16, mpi_launcher="srun"
    ).get_script_str(".")
    assert "#SBATCH --ntasks=8" in script and "#SBATCH --cpus-per-task=16" in script
    assert "export OMP_NUM_THREADS=16" in script
    assert 'export CP2K_COMMAND="srun cp2k.psmp"' in script
    pbs = load_adapter("my_qadapter_pbs.yaml", omp_threads=2, ranks_per_node=64).get_script_str(".")
    assert "mpiprocs=64:ompthreads=2" in pbs and "export OMP_NUM_THREADS=2" in pbs


# ----------------------------------------------------------------- fake SLURM


@pytest.fixture
def cluster(tmp_path):
    """A study folder set up for qlaunch with the fake SLURM on PATH."""
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    (tmp_path / "FW_config.yaml").write_text(
        "MongoClient:\n"
        '  "@module": atomistics.fireworks.embedded\n'
        '  "@callable": EmbeddedMongoClient\n'
        f"LAUNCHPAD_LOC: {tmp_path / 'my_launchpad.yaml'}\n"
        "QUEUE_UPDATE_INTERVAL: 0\n"
        "RAPIDFIRE_SLEEP_SECS: 0.2\n"
    )
    qadapter = yaml.safe_load((TEMPLATES / "my_qadapter_slurm.yaml").read_text())
    qadapter.update(
        _fw_template_file=str(TEMPLATES / "SLURM_cp2k_template.txt"),
        rocket_launch="rlaunch singleshot",
        job_name="fwtest",
        mpi_ranks=1,
        omp_threads=1,
        walltime="00:10:00",
        queue="debug",
        account=None,
        pre_rocket=None,
        cp2k_data_dir=None,
        fw_config_file=str(tmp_path / "FW_config.yaml"),
    )
    (tmp_path / "my_qadapter.yaml").write_text(yaml.safe_dump(qadapter))
    env = {k: v for k, v in os.environ.items() if k not in ("FW_CONFIG_FILE",)}
    env["PATH"] = f"{FAKE_SLURM}{os.pathsep}{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_SLURM_SPOOL"] = str(tmp_path / "spool")

    def sh(*cmd, timeout=180, **extra):
        proc = subprocess.run(
            list(cmd),
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return proc.returncode, proc.stdout, proc.stderr

    return tmp_path, sh


def spooled(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "spool").glob("*.json"))]


def qlaunch_round(sh, folder: Path, n: int) -> int:
    """qlaunch up to n jobs; a failed submission (logged, exit 0) fails the test."""
    before = len(spooled(folder)) if (folder / "spool").is_dir() else 0
    rc, out, err = sh(
        "qlaunch",
        "-q",
        "my_qadapter.yaml",
        "rapidfire",
        "--nlaunches",
        str(n),
        "-m",
        "20",
        "--timeout",
        "60",
    )
    log = out + err
    assert rc == 0, log[-2000:]
    assert "ERROR" not in log and "Launch unsuccessful" not in log, log[-2000:]
    return len(spooled(folder)) - before


def test_qlaunch_drives_study_to_completed_through_fake_slurm(cluster):
    folder, sh = cluster
    rc, out, err = sh(sys.executable, "-m", "atomistics", "submit", "mini.yaml")
    assert rc == 0, err
    for _ in range(6):  # relax -> single point -> binding energy, plus slack
        rc, out, _ = sh(sys.executable, "-m", "atomistics", "status", "mini.yaml")
        if "COMPLETED 7" in out:
            break
        ready = out.split("READY ")[1].split()[0] if "READY " in out else "0"
        assert qlaunch_round(sh, folder, int(ready)) == int(ready)
        rc, out, _ = sh("squeue", "-u", spooled(folder)[0]["user"], "-h")
        assert len(out.splitlines()) == int(ready)  # queued, nothing ran yet
        rc, out, err = sh(str(FAKE_SLURM / "fake_slurm_run"), "--timeout", "120")
        assert rc == 0, err
    assert "COMPLETED 7" in out, out
    jobs = spooled(folder)
    assert jobs and all(j["state"] == "CD" for j in jobs)
    job_out = next(folder.rglob(f"fwtest-{jobs[0]['id']}.out")).read_text()
    assert "Rocket finished" in job_out
    rc, out, err = sh(sys.executable, "-m", "atomistics", "results", "--db", "results.db", "--json")
    assert [b["name"] for b in json.loads(out)["binding_energies"]] == ["li_fsi"]


def test_failed_sbatch_is_detected(cluster):
    folder, sh = cluster
    assert sh(sys.executable, "-m", "atomistics", "submit", "mini.yaml")[0] == 0
    rc, out, err = sh(
        "qlaunch",
        "-q",
        "my_qadapter.yaml",
        "rapidfire",
        "--nlaunches",
        "1",
        "--timeout",
        "20",
        FAKE_SLURM_FAIL="1",
    )
    assert rc == 0  # qlaunch itself does not fail...
    assert "ERROR" in out + err and "Launch unsuccessful" in out + err  # ...it only logs it
    assert not (folder / "spool").exists() or not spooled(folder)
    with pytest.raises(AssertionError):
        qlaunch_round(lambda *c, **k: sh(*c, FAKE_SLURM_FAIL="1", **k), folder, 1)


# ------------------------------------------- CP2K jobs' memory/wall-time request


def _expected_request(system: str, stage: str, ranks: int, mem_gb=0.0, wall_s=0.0):
    """The request from the estimate, recomputed here from the engine's settings."""
    import math

    from atomistics.cp2k.resources import estimate_resources
    from atomistics.engines import get_engine
    from atomistics.study import build_study_structures, parse_study

    study = parse_study(MINI_STUDY)
    built = build_study_structures(study)[system]
    engine = get_engine("cp2k", {"protocol": study.calculation.protocol, "overrides": {}})
    est = estimate_resources(engine.settings(built, stage), built.get_chemical_symbols(), ranks)
    gib = math.ceil(max(1.3 * est.memory_total_gb, mem_gb) / (2**30 / 1e9))
    wall = max(math.ceil(3 * est.wall_time_s / 300) * 300, wall_s)
    return est, f"{gib}G", f"{int(wall) // 3600:02d}:{int(wall) % 3600 // 60:02d}:00"


@pytest.mark.cp2k
def test_submit_puts_each_cp2k_jobs_estimate_into_its_queue_request(cluster):
    folder, sh = cluster
    (folder / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = sh(
        sys.executable, "-m", "atomistics", "submit", "mini.yaml", "--engine", "cp2k",
        "-q", "my_qadapter.yaml",
    )  # fmt: skip
    assert rc == 0, err
    assert "fsi:relax: estimated ~" in out and "queue request mem=" in out
    # reservation mode: FireWorks writes the reserved Firework's own request into the script
    rc, out, err = sh("qlaunch", "-r", "-q", "my_qadapter.yaml", "singleshot")
    assert rc == 0 and "ERROR" not in out + err, (out + err)[-2000:]
    from fireworks.utilities.fw_utilities import get_slug

    (job,) = spooled(folder)
    names = {
        get_slug(f"mini:{s}:{t}"): (s, t)
        for s in ("fsi", "li", "li_fsi")
        for t in ("relax", "single_point")
    }
    system, stage = names[job["name"]]
    est, mem, wall = _expected_request(system, stage, ranks=1, wall_s=600)
    assert job["directives"]["mem"] == mem, (job["directives"], est.summary())
    assert job["directives"]["time"] == wall
    assert est.memory_total_gb < 1.3 * est.memory_total_gb <= int(mem[:-1]) * 2**30 / 1e9


def test_request_never_below_the_adapters_and_in_the_schedulers_syntax():
    from atomistics.cp2k.resources import ResourceEstimate
    from atomistics.fireworks.queue import QueueRequest, queue_request, read_qadapter

    est = ResourceEstimate(
        grids=[[100, 100, 100]], poisson_grid=None, poisson_solver="WAVELET", n_basis=50,
        ranks=4, memory_per_rank_gb=2.0, memory_total_gb=8.0, wall_time_s=1000.0, scf_steps=25,
    )  # fmt: skip
    slurm = read_qadapter(TEMPLATES / "my_qadapter_slurm.yaml")
    assert (slurm.q_type, slurm.ranks, slurm.walltime_s, slurm.node_memory_gb) == (
        "SLURM", 32, 86400.0, 256.0)  # fmt: skip
    # 24 h asked by the user stays; memory 1.3 x 8 GB = 10.4 GB -> 10 GiB
    assert queue_request(est, slurm) == {"mem": "10G", "walltime": "24:00:00"}
    pbs = read_qadapter(TEMPLATES / "my_qadapter_pbs.yaml")
    assert queue_request(est, pbs)["mem"] == "10gb"
    big_user = QueueRequest(mem_gb=64 * 2**30 / 1e9, walltime_s=60.0, ranks=4, from_file=True)
    assert queue_request(est, big_user) == {"mem": "64G", "walltime": "00:50:00"}
    # the margin never asks for more than the declared node; the estimate itself above it: refused
    tight = QueueRequest(node_memory_gb=9.0, ranks=4, from_file=True)
    assert queue_request(est, tight)["mem"] == "8G"
    with pytest.raises(Exception, match="needs about 8.0 GB.*a node has 7 GB"):
        queue_request(est, QueueRequest(node_memory_gb=7.0, ranks=4, from_file=True))
    # rendered: the request replaces the adapter's values in the job script
    script = load_adapter("my_qadapter_slurm.yaml", **queue_request(est, slurm)).get_script_str(".")
    assert "#SBATCH --mem=10G" in script and "#SBATCH --time=24:00:00" in script


@pytest.mark.parametrize(
    ("text", "seconds"), [("24:00:00", 86400), ("1-12:00:00", 129600), ("90", 5400), ("5:30", 330)]
)
def test_walltime_syntax(text, seconds):
    from atomistics.fireworks.queue import parse_walltime

    assert parse_walltime(text) == seconds


@pytest.mark.cp2k
def test_submit_refuses_a_job_above_the_node_memory(run_cli, tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    rc, _, err = run_cli(
        "submit", "mini.yaml", "--engine", "cp2k", "--node-memory", "0.5GB", cwd=tmp_path
    )
    assert rc == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert "needs about" in line and "a node has 0.5 GB" in line
    assert not (tmp_path / "launchpad.json").exists()
