"""A calculation that runs and fails (tblite's SCF not converged) ends `atomistics run`
with one line naming the calculation's folder, exit 1 and no traceback; the folder is
kept, and a rerun with a working setting finishes the study (nothing computed is lost)."""

import os
import subprocess
import sys

import pytest
from mini_study import MINI_STUDY

pytest.importorskip("tblite")

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def _run(study, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "atomistics", "run", str(study), "--engine", "xtb"]
        + ["--db", str(tmp_path / "r.db"), "--workdir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )


def test_scf_failure_is_one_line_and_the_rerun_finishes(tmp_path):
    bad = tmp_path / "mini.yaml"
    # two SCF cycles cannot converge FSI⁻: tblite raises ASE's CalculationFailed
    bad.write_text(
        MINI_STUDY.replace(
            "engine: xtb\n", "engine: xtb\ncalculation:\n  xtb: {max_iterations: 2}\n"
        )
    )
    out = _run(bad, tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "calculation failed" in errors[0], out.stderr
    assert str(tmp_path / "runs") in errors[0] and "relax failed" in errors[0]
    failed_folder = errors[0].split("calculation failed: ")[1].split(":")[0]
    assert os.path.isdir(failed_folder)  # kept for inspection

    good = tmp_path / "mini_ok.yaml"
    good.write_text(MINI_STUDY)
    out = _run(good, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "li_fsi" in out.stdout and "Traceback" not in out.stderr
