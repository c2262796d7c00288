"""One calculation as four small steps: plan → prepare → execute → parse → store.

Each step takes plain values (a :class:`Calculation`, a directory, an engine, a
database) and keeps no global state, so the runner and FireWorks Firetasks can
call them in different processes:

* :func:`plan_calculation` resolves the engine settings and the content hash;
* :func:`prepare` writes ``calculation.json`` and the engine's inputs into a
  fresh directory (created atomically; an unfinished older attempt is kept
  under ``<dir>.attempt<N>``, never deleted);
* :func:`execute` runs the engine and, only when it returns, writes ``DONE``;
* :func:`parse` turns the outputs into a :class:`~atomistics.execution.record.CalcResult`
  (:meth:`CalcResult.from_directory`), refusing unconverged SCF energies.

Storing the record is :func:`atomistics.db.write_calculation` (one layer up).
:func:`stage_input` is the one rule for what structure a stage starts from.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io.jsonio import encode

from atomistics.engines.base import Engine
from atomistics.execution.hashing import calculation_hash, round_positions
from atomistics.execution.record import (
    CALC_FILE,
    DONE_FILE,
    CalcResult,
    geometry_meta,
    load_calculation,
)


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


def stage_input(built: Atoms, previous: CalcResult | None = None) -> Atoms:
    """The structure a stage starts from: as built, or at ``previous``'s final geometry.

    The built structure keeps its charge, multiplicity and masks (adsorbate,
    ghost); positions (and, for periodic systems, the cell) come from
    ``previous``. Positions are rounded to the content hash's precision, so the
    geometry that is computed is exactly the one that is hashed.
    """
    atoms = built.copy()
    atoms.calc = None
    if previous is not None:
        if len(previous.atoms) != len(atoms):
            raise ValueError(
                f"{previous.name}: the previous stage has {len(previous.atoms)} atoms, "
                f"the built structure {len(atoms)}"
            )
        atoms.positions = previous.atoms.positions
        if any(atoms.pbc):
            atoms.cell = previous.atoms.cell
    atoms.set_constraint()
    return round_positions(atoms)


def plan_calculation(
    study: str,
    name: str,
    stage: str,
    atoms: Atoms,
    engine: Engine,
    meta: dict | None = None,
    *,
    previous: CalcResult | None = None,
) -> Calculation:
    """Resolve settings and the content hash of ``name`` at ``stage`` (no I/O).

    ``previous``: the calculation whose geometry ``atoms`` carries (its
    convergence is recorded with this one, see :func:`geometry_meta`).
    """
    meta = {**(meta or {}), **geometry_meta(previous)}
    settings = engine.settings(atoms, stage)
    # a composite protocol (engines.composite) labels each stage with the engine that runs it
    labels = getattr(engine, "labels", None)
    if labels is not None:
        engine_name, version, protocol = labels(stage)
    else:
        engine_name, version = engine.name, engine.version()
        protocol = str(getattr(engine, "protocol", engine.name))
    return Calculation(
        study=study,
        name=name,
        stage=stage,
        atoms=atoms.copy(),
        engine=engine_name,
        engine_version=version,
        protocol=protocol,
        settings=settings,
        calc_hash=calculation_hash(atoms, stage, engine_name, version, settings),
        meta=dict(meta or {}),
    )


def calc_directory(calc: Calculation, workdir: str | Path) -> Path:
    """``workdir/<study>/<name>/<stage>-<hash>``, refused if it would resolve outside ``workdir``
    (a name with ``..``, a symlinked study folder pointing elsewhere)."""
    from atomistics.paths import inside

    return inside(Path(workdir) / calc.study / calc.name / calc.dirname, workdir)


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
    """Read a finished calculation (:meth:`CalcResult.from_directory`)."""
    return CalcResult.from_directory(directory, engine)


__all__ = [
    "CALC_FILE",
    "DONE_FILE",
    "CalcResult",
    "Calculation",
    "calc_directory",
    "execute",
    "is_complete",
    "load_calculation",
    "parse",
    "plan_calculation",
    "prepare",
    "stage_input",
]
