"""Real CP2K through custodian (quick protocol, tiny ions, one thread)."""

import json
import os
import re
import shlex
import stat

import pytest

from atomistics import db as dbmod
from atomistics.calcstore import run_cached
from atomistics.cp2k import cp2k_version_info, find_cp2k_command
from atomistics.engines.cp2k import Cp2kEngine
from atomistics.execution.steps import plan_calculation
from atomistics.runner import run_study
from atomistics.structures.molecules import build_molecule
from atomistics.study import parse_study

pytestmark = pytest.mark.cp2k  # skipped by conftest when the code finds no CP2K

LI = """
name: cp2kmini
engine: cp2k
calculation: {protocol: quick}
systems:
  li: {kind: molecule, species: Li+}
"""


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _counting_cp2k(tmp_path):
    """A CP2K command that logs its arguments, then runs the real CP2K."""
    log = tmp_path / "cp2k_starts.log"
    script = tmp_path / "cp2k-counting"
    real = shlex.join(find_cp2k_command())  # the CP2K the code itself would run
    script.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return [str(script)], log


def _jobs(log):
    """CP2K runs started (``-i input``), not ``--version``/``--check`` queries."""
    return sum(" -i " in f" {line} " for line in log.read_text().splitlines())


def test_cp2k_run_stores_energy_and_reuses_hash(tmp_path):
    study = parse_study(LI)
    command, log = _counting_cp2k(tmp_path)
    engine = Cp2kEngine(protocol="quick", command=command, omp_threads=1)
    db_path = tmp_path / "r.db"
    first = run_study(study, engine, db_path, tmp_path / "runs", progress=False)
    assert first.n_run == 2 and _jobs(log) == 2
    rows = dbmod.calculation_rows(dbmod.connect(db_path), "cp2kmini")
    sp = next(r for r in rows if r.stage == "single_point")
    assert sp.energy == pytest.approx(-196.2, abs=0.5)  # Li⁺ (1s² core + 3 valence e⁻ - 1)
    assert sp.scf_converged and sp.engine == "cp2k" and sp.basis_Li.startswith("DZVP")
    version = cp2k_version_info(find_cp2k_command())["version"]  # e.g. 2023.1
    # the version of the CP2K that ran (as parsed from its output), revision optional
    assert re.fullmatch(rf"cp2k {re.escape(version)}( \(.*\))?", sp.engine_version)
    relax = next(r for r in rows if r.stage == "relax")
    assert relax.geo_converged
    again = run_study(
        study,
        Cp2kEngine(protocol="quick", command=command),
        db_path,
        tmp_path / "runs",
        progress=False,
    )
    assert (again.n_run, again.n_cached) == (0, 2)
    assert _jobs(log) == 2  # the second run started no CP2K


@pytest.mark.slow  # three corrected reruns of FSI⁻: ~1-2 min on 2 shared cores
def test_unconverged_scf_is_corrected_by_handler_on_fluorine_system(tmp_path):
    """FSI⁻ (contains F) with a 3-step SCF limit: custodian's corrections rewrite the input
    through pymatgen (F must survive) and the rerun converges."""
    fsi = build_molecule("FSI-", "C2")
    engine = Cp2kEngine(
        protocol="quick", overrides={"max_scf": 3, "max_outer_scf": 1}, omp_threads=1, max_errors=6
    )
    calc = plan_calculation("t", "fsi", "single_point", fsi, engine)
    db = dbmod.connect(tmp_path / "r.db")
    result = run_cached(calc, tmp_path / "runs", engine, db)
    assert result.scf_converged
    directory = tmp_path / "runs" / "t" / "fsi" / calc.dirname
    log = json.loads((directory / "custodian.json").read_text())
    corrections = [c for run in log for c in run["corrections"]]
    assert corrections and any("Non-converging Job" in str(c["errors"]) for c in corrections)
    text = (directory / "cp2k.inp").read_text().upper()
    assert "ELEMENT F" in text and "FALSE " not in text.split("&COORD")[1].split("&END COORD")[0]
    assert dbmod.find_calculation(db, calc.calc_hash) is not None
    assert os.path.exists(directory / "cp2k.inp.orig")
