"""Running the project's console tools in a subprocess, as a user would (shared by the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: FireWorks reads FW_CONFIG_FILE: a developer's own would point the tools at their LaunchPad.
DROP = ("FW_CONFIG_FILE",)


def run_tool(
    command: list[str],
    cwd: Path,
    env: dict | None = None,
    timeout: float = 120,
    drop: tuple[str, ...] = DROP,
) -> tuple[int, str, str]:
    """(returncode, stdout, stderr) of ``command``; the environment without ``drop``, plus ``env``."""
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update(env or {})
    proc = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full
    )
    return proc.returncode, proc.stdout, proc.stderr


def atomistics(*args: str, cwd: Path, **options) -> tuple[int, str, str]:
    """``python -m atomistics ARGS`` (see :func:`run_tool` for the options)."""
    return run_tool([sys.executable, "-m", "atomistics", *args], cwd, **options)


def venv_script(name: str, *args: str, cwd: Path, **options) -> tuple[int, str, str]:
    """A console script installed beside this Python (rlaunch, lpad, ...)."""
    return run_tool([str(Path(sys.executable).parent / name), *args], cwd, **options)
