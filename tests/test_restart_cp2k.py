"""A CP2K relaxation interrupted mid-run restarts from its last geometry and wavefunction."""

import subprocess

import ase.io
import numpy as np
import pytest
from ase import Atoms

from atomistics import db as dbmod
from atomistics.calcstore import run_cached
from atomistics.cp2k import find_cp2k_command
from atomistics.engines.cp2k import INPUT, OUTPUT, PROJECT, Cp2kEngine
from atomistics.execution.steps import is_complete, load_calculation, plan_calculation, prepare

# the same discovery the engine uses (CP2K_COMMAND, cp2k, cp2k.psmp, ...)
CP2K = find_cp2k_command(required=False)
pytestmark = [pytest.mark.cp2k, pytest.mark.skipif(CP2K is None, reason="no CP2K")]


def test_interrupted_relaxation_restarts_from_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    h2 = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.95]])  # stretched: the relaxation moves it
    h2.info.update(charge=0, spin_multiplicity=1, name="h2")
    engine = Cp2kEngine(protocol="quick", omp_threads=1)
    calc = plan_calculation("restart", "h2", "relax", h2, engine)
    first = prepare(calc, tmp_path / "runs", engine)
    # An attempt that dies after two geometry steps (as a walltime kill would leave it):
    # CP2K itself, run without our driver so that no DONE marker is written.
    text = (first / INPUT).read_text().replace("MAX_ITER 10", "MAX_ITER 2")
    assert "MAX_ITER 2" in text
    (first / INPUT).write_text(text)
    subprocess.run([*CP2K, "-i", INPUT, "-o", OUTPUT], cwd=first, check=True, timeout=300)
    frames = ase.io.read(first / f"{PROJECT}-pos-1.xyz", index=":")
    assert len(frames) >= 2 and not is_complete(first)
    last_bond = frames[-1].get_distance(0, 1)
    assert abs(last_bond - 0.95) > 0.02

    again = prepare(calc, tmp_path / "runs", engine)
    assert again == first
    record = load_calculation(again)
    assert record["restarted_from"].endswith(".attempt1")
    assert "geometry: last frame" in record["restart"] and "wavefunction" in record["restart"]
    assert (again / f"{PROJECT}-RESTART.wfn").is_file()
    coords = [
        line.split()[1:]
        for line in (again / INPUT).read_text().splitlines()
        if line.strip().startswith("H1 ")
    ]
    restarted_bond = np.linalg.norm(np.array(coords[1], float) - np.array(coords[0], float))
    assert restarted_bond == pytest.approx(last_bond, abs=1e-6)

    # finishing the calculation from there converges and stores one row
    db = dbmod.connect(tmp_path / "r.db")
    result = run_cached(calc, tmp_path / "runs", engine, db)
    assert result.geo_converged and is_complete(again)
    # the first attempt had no wavefunction to read (CP2K fell back to the atomic guess);
    # the restarted one read the checkpoint, so it did not
    attempt = next((tmp_path / "runs" / "restart" / "h2").glob("*.attempt1"))
    assert "using ATOMIC GUESS" in (attempt / OUTPUT).read_text()
    assert "using ATOMIC GUESS" not in (again / OUTPUT).read_text()
