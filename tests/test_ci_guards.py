"""CI's guards: a missing tblite fails the run under ATOMISTICS_REQUIRE_XTB=1, not a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _pytest_with_tblite_blocked(tmp_path: Path, require: str) -> subprocess.CompletedProcess:
    blocker = tmp_path / "block" / "tblite"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("tblite blocked by the test")\n')
    env = {**os.environ, "PYTHONPATH": str(blocker.parent), "ATOMISTICS_REQUIRE_XTB": require}
    env.pop("ATOMISTICS_REQUIRE_CP2K", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_jsonable.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_require_xtb_fails_the_session_when_tblite_is_missing(tmp_path):
    proc = _pytest_with_tblite_blocked(tmp_path, "1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ATOMISTICS_REQUIRE_XTB=1 but tblite cannot be imported" in proc.stdout + proc.stderr


def test_without_the_guard_the_same_session_runs(tmp_path):
    proc = _pytest_with_tblite_blocked(tmp_path, "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
