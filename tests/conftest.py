import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli(tmp_path):
    """Run the real console entry point in a subprocess: (returncode, stdout, stderr)."""

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        proc = subprocess.run(
            [sys.executable, "-m", "atomistics", *args],
            cwd=cwd or tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        return proc.returncode, proc.stdout, proc.stderr

    return _run


@pytest.fixture
def study_file() -> Path:
    return REPO / "workflows" / "limmt_fsi.yaml"


def pytest_sessionstart(session):
    """In CI (ATOMISTICS_REQUIRE_CP2K=1) a missing CP2K is an error, not a silent skip."""
    import shutil

    if os.environ.get("ATOMISTICS_REQUIRE_CP2K") == "1" and not (
        os.environ.get("CP2K_COMMAND") or shutil.which("cp2k") or shutil.which("cp2k.psmp")
    ):
        pytest.exit("ATOMISTICS_REQUIRE_CP2K=1 but no CP2K binary found (apt-get install cp2k)", 2)
