"""SIGTERM on `atomistics run` (kill, a queue's scancel) stops its CP2K child too.

Python's default SIGTERM action ends the interpreter at once, leaving a running CP2K
orphaned and computing; the console script turns SIGTERM into an unwinding exception
so the engine's cleanup terminates its own CP2K process.
"""

import os
import shlex
import signal
import stat
import subprocess
import sys
import time

import pytest

from atomistics import db as dbmod
from atomistics.cp2k import find_cp2k_command

pytestmark = pytest.mark.cp2k

# FSI⁻ at the paper's settings: minutes of CP2K, so it is surely running when killed.
STUDY = """
name: sigterm
engine: cp2k
calculation: {protocol: paper}
systems:
  fsi: {kind: molecule, species: FSI-}
"""


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has stopped computing (only its exit status is left)


def _pid_recording_cp2k(tmp_path):
    """A launcher (like mpirun) that records the PID, then becomes the real CP2K."""
    pid_file = tmp_path / "cp2k.pid"
    script = tmp_path / "launch"
    real = shlex.join(find_cp2k_command())
    script.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{script} {real}", pid_file


def test_sigterm_stops_the_running_cp2k_and_keeps_its_folder(tmp_path):
    (tmp_path / "s.yaml").write_text(STUDY)
    command, pid_file = _pid_recording_cp2k(tmp_path)
    env = dict(os.environ, CP2K_COMMAND=command, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "atomistics", "run", "s.yaml", "--db", "r.db"]
        + ["--workdir", "runs", "--no-progress"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert pid_file.exists(), proc.communicate()
    cp2k_pid = int(pid_file.read_text())
    time.sleep(2)  # CP2K is computing
    assert _alive(cp2k_pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    deadline = time.monotonic() + 30
    while _alive(cp2k_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(cp2k_pid), "CP2K left running after SIGTERM"
    # nothing half-stored, and the interrupted folder is kept for inspection
    rows = dbmod.calculation_rows(dbmod.connect(tmp_path / "r.db"))
    assert not [r for r in rows if r.stage == "relax"]
    assert list((tmp_path / "runs" / "sigterm" / "fsi").glob("relax-*/cp2k.inp"))
