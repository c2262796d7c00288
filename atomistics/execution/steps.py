"""One calculation as four small steps: plan → prepare → execute → parse → store.

Each step takes plain values (a :class:`Calculation`, a directory, an engine, a
database) and keeps no global state, so the runner and FireWorks Firetasks can
call them in different processes:

* :func:`plan_calculation` resolves the engine settings and the content hash;
* :func:`prepare` writes ``calculation.json`` and the engine's inputs into a
  fresh directory (created atomically; an unfinished older attempt is kept
  under ``<dir>.attempt<N>``, never deleted);
* :func:`execute` runs the engine and, only when it returns, writes ``DONE``;
* :func:`parse` turns the outputs into a :class:`CalcResult`, refusing
  unconverged SCF energies (:class:`CalculationFailed`);
* :func:`store` writes one database row (see :mod:`atomistics.db`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io.jsonio import decode, encode

from atomistics.engines.base import CalculationFailed, Engine
from atomistics.execution.hashing import calculation_hash

CALC_FILE = "calculation.json"
DONE_FILE = "DONE"


@dataclass
class Calculation:
    """Everything needed to run one calculation and to recognise it again."""

    study: str
    name: str  # system name, or "<complex>~<fragment>" for counterpoise terms
    stage: str
    atoms: Atoms
    engine: str
    engine_version: str
    protocol: str
    settings: dict[str, Any]
    calc_hash: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dirname(self) -> str:
        return f"{self.stage}-{self.calc_hash[:12]}"


@dataclass
class CalcResult:
    """A finished, converged calculation, ready for the database."""

    calc_hash: str
    study: str
    name: str
    stage: str
    engine: str
    engine_version: str
    protocol: str
    energy_ev: float
    atoms: Atoms
    forces: np.ndarray | None
    scf_converged: bool
    geo_converged: bool | None
    n_steps: int
    wall_time_s: float | None
    warnings: list[str]
    timings: dict[str, float]
    settings: dict[str, Any]
    metadata: dict[str, Any]
    directory: str = ""
    cached: bool = False


def plan_calculation(
    study: str, name: str, stage: str, atoms: Atoms, engine: Engine, meta: dict | None = None
) -> Calculation:
    """Resolve settings and the content hash of ``name`` at ``stage`` (no I/O)."""
    settings = engine.settings(atoms, stage)
    version = engine.version()
    return Calculation(
        study=study,
        name=name,
        stage=stage,
        atoms=atoms.copy(),
        engine=engine.name,
        engine_version=version,
        protocol=str(getattr(engine, "protocol", engine.name)),
        settings=settings,
        calc_hash=calculation_hash(atoms, stage, engine.name, version, settings),
        meta=dict(meta or {}),
    )


def calc_directory(calc: Calculation, workdir: str | Path) -> Path:
    return Path(workdir) / calc.study / calc.name / calc.dirname


def is_complete(directory: Path) -> bool:
    return (directory / DONE_FILE).is_file()


def _keep_attempt(directory: Path) -> Path:
    """Move an unfinished attempt aside (never deleted: it may hold a checkpoint)."""
    n = 1
    while (target := directory.with_name(f"{directory.name}.attempt{n}")).exists():
        n += 1
    directory.rename(target)
    return target


def prepare(calc: Calculation, workdir: str | Path, engine: Engine) -> Path:
    """Write the inputs of ``calc`` under ``workdir``; return its directory.

    A directory that already holds a finished run (``DONE``) is reused as is.
    """
    directory = calc_directory(calc, workdir)
    if directory.is_dir() and is_complete(directory):
        return directory
    previous = _keep_attempt(directory) if directory.exists() else None
    staging = directory.with_name(directory.name + ".preparing")
    if staging.exists():
        shutil.rmtree(staging)  # our own half-written staging area, never results
    staging.mkdir(parents=True)
    # An interrupted attempt (walltime kill, Ctrl-C) may leave a checkpoint: engines
    # that can restart (CP2K: last relaxation geometry, wavefunction) start from it.
    atoms, restart_files, restart_note = calc.atoms, [], None
    restart_state = getattr(engine, "restart_state", None)
    if previous is not None and restart_state is not None:
        atoms, restart_files, restart_note = restart_state(previous, calc.atoms, calc.stage)
    metadata = engine.write_inputs(staging, atoms, calc.stage, calc.settings)
    for path in restart_files:
        shutil.copy2(path, staging / Path(path).name)
    record = {
        "calc_hash": calc.calc_hash,
        "study": calc.study,
        "name": calc.name,
        "stage": calc.stage,
        "engine": calc.engine,
        "engine_version": calc.engine_version,
        "protocol": calc.protocol,
        "settings": calc.settings,
        "metadata": metadata,
        "meta": calc.meta,
        "restarted_from": None if previous is None else str(previous),
        "restart": restart_note,
        "atoms": json.loads(encode(calc.atoms)),
    }
    (staging / CALC_FILE).write_text(json.dumps(record, indent=1, default=str))
    os.replace(staging, directory)
    return directory


def load_calculation(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / CALC_FILE).read_text())


def execute(directory: Path, engine: Engine) -> None:
    """Run the engine in ``directory``; ``DONE`` is written only if it returns."""
    directory = Path(directory)
    if is_complete(directory):
        return
    start = time.time()
    engine.execute(directory)
    (directory / DONE_FILE).write_text(
        json.dumps({"started": start, "finished": time.time(), "engine": engine.name})
    )


def parse(directory: Path, engine: Engine) -> CalcResult:
    """Read a finished calculation; unconverged SCF raises :class:`CalculationFailed`."""
    directory = Path(directory)
    record = load_calculation(directory)
    if not is_complete(directory):
        raise CalculationFailed(f"{directory}: the calculation has not finished (no {DONE_FILE}).")
    out = engine.read_result(directory)
    if not out.scf_converged:
        raise CalculationFailed(
            f"{directory}: SCF not converged, the energy is not a result and is not stored "
            "(raise the SCF step limit or loosen mixing; custodian's handlers could not fix it)."
        )
    initial: Atoms = decode(json.dumps(record["atoms"]))
    final = initial.copy()
    final.set_constraint()
    if len(out.atoms) == len(final):
        final.positions = out.atoms.positions
        if any(out.atoms.pbc):
            final.cell = out.atoms.cell
    return CalcResult(
        calc_hash=record["calc_hash"],
        study=record["study"],
        name=record["name"],
        stage=record["stage"],
        engine=record["engine"],
        engine_version=out.code_version or record["engine_version"],
        protocol=record["protocol"],
        energy_ev=float(out.energy_ev),
        atoms=final,
        forces=out.forces,
        scf_converged=out.scf_converged,
        geo_converged=out.geo_converged,
        n_steps=out.n_steps,
        wall_time_s=out.wall_time_s,
        warnings=list(out.warnings),
        timings=dict(out.timings),
        settings=record["settings"],
        metadata={**record.get("metadata", {}), **record.get("meta", {}), **out.extra},
        directory=str(directory),
    )


def store(db, result: CalcResult) -> int:
    """Write ``result`` to the database unless its hash is already there; return the row id."""
    from atomistics.db import write_calculation

    return write_calculation(db, result)
