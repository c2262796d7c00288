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
