"""Run a whole study: what is missing, once, under a lock, with a progress bar.

For every system: relax → single point (the single point starts from the
relaxed geometry, :func:`atomistics.execution.stage_input`); then the
counterpoise terms of reactions that ask for them
(:func:`atomistics.reactions.plan_counterpoise`); then the reaction energies
(:func:`atomistics.reactions.assemble`), which replace the study's stored ones.
A calculation whose content hash is already in the database is not run again,
so an interrupted study resumes where it stopped and a fragment shared by two
reactions runs once. The FireWorks tasks call the same functions.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms
from tqdm import tqdm

from atomistics import db as dbmod
from atomistics import reactions as rx
from atomistics.calcstore import run_cached
from atomistics.engines.base import STAGES, Engine
from atomistics.errors import AtomisticsError
from atomistics.execution import CalcResult, Calculation, plan_calculation, stage_input
from atomistics.paths import check_output_folder
from atomistics.reactions import solvation as solv
from atomistics.reactions import study as sr
from atomistics.redact import redact
from atomistics.study import Study, build_study_structures

DEFAULT_WORKDIR = "runs"
LOCK_NAME = ".atomistics-run.lock"


def _busy(what: str) -> AtomisticsError:
    return AtomisticsError(
        f"another `atomistics run` is using {what} (its lock is held). "
        "Wait for it to finish, or use another --workdir and --db."
    )


@contextmanager
def _flock(path: Path, what: str, create: bool):
    """An exclusive, non-blocking ``flock`` on ``path`` (never truncated)."""
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise AtomisticsError(f"cannot open {path} to lock it: {exc.strerror}.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(what) from None
        yield
    finally:
        os.close(fd)  # releases the flock


@contextmanager
def study_lock(workdir: str | Path, db_url: str | Path):
    """Hold the work-folder and database locks, or refuse with a clear message.

    Both are taken on resolved real paths. For SQLite the database file itself
    is locked (``flock``, independent of SQLite's own byte-range locks on a local
    filesystem), plus ``<real path>.run-lock`` beside it (robust on NFS), so a
    symlink or another relative path to the same file is refused too.
    """
    workdir = Path(workdir).resolve()
    with ExitStack() as stack:
        workdir.mkdir(parents=True, exist_ok=True)
        stack.enter_context(_flock(workdir / LOCK_NAME, str(workdir), create=True))
        target = dbmod.lock_target(db_url)
        if target is not None:
            # the one rule for output paths: missing folders are created (README)
            check_output_folder(target.parent, "--db").mkdir(parents=True, exist_ok=True)
            stack.enter_context(_flock(target, redact(target), create=True))
            # and a lock file beside it: on NFS, flock is emulated with POSIX locks, which
            # SQLite's own closing of the file would release
            sibling = target.with_name(target.name + ".run-lock")
            stack.enter_context(_flock(sibling, redact(target), create=True))
        yield


@dataclass
class StudyRun:
    study: str
    engine: str
    protocol: str
    results: dict[tuple[str, str], CalcResult] = field(default_factory=dict)
    reactions: list[rx.ReactionEnergy] = field(default_factory=list)
    n_run: int = 0
    n_cached: int = 0
    n_recovered: int = 0  # finished folders with no DB row, stored again without running
    wall_time_s: float = 0.0
    #: ΔΔG_solv of the bridge's exchange reaction (``bridge.solvation``), when asked for
    solvation: solv.SolvationCorrection | None = None


def system_results(
    study: str,
    name: str,
    built: Atoms,
    engine: Engine,
    run_one: Callable[[Calculation], CalcResult],
) -> list[CalcResult]:
    """relax → single point of one system (each stage from the previous one's geometry)."""
    previous: CalcResult | None = None
    out = []
    for stage in STAGES:
        atoms = stage_input(built, previous)
        previous = run_one(plan_calculation(study, name, stage, atoms, engine, previous=previous))
        out.append(previous)
    return out


def _progress_bar(desc: str, total: int, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="calc", disable=not progress, file=sys.stderr)


def _extend(bar: tqdm, n: int) -> None:
    """A phase announces ``n`` more calculations once it has planned them."""
    bar.total += n
    bar.refresh()


def run_study(
    study: Study,
    engine: Engine,
    db_url: str | Path = dbmod.DEFAULT_DB,
    workdir: str | Path = DEFAULT_WORKDIR,
    *,
    progress: bool = True,
    systems: list[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> StudyRun:
    """Run every missing calculation of ``study`` and store its reaction energies."""
    start = time.perf_counter()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    structures = build_study_structures(study)
    wanted = systems or study.calculated_systems()
    unknown = [s for s in wanted if s not in structures]
    if unknown:
        raise AtomisticsError(f"unknown systems {unknown}: the study has {list(structures)}.")
    specs = study.all_reactions
    # Fail before any job runs if the engine cannot do what the study asks.
    if systems is None:
        sr.check_study_corrections(study, structures, engine, wanted)
    else:
        rx.check_engine_can_run(study, structures, engine, wanted)
    for name in (n for n in structures if n not in wanted and systems is None):
        log(
            f"{study.name}: {name} is a building block (no reaction uses it): built, not calculated"
        )
    n_cp = sr.count_correction_calculations(specs)
    run = StudyRun(study.name, engine.name, str(getattr(engine, "protocol", engine.name)))
    with study_lock(workdir, db_url):
        db = dbmod.connect(db_url)
        bar = _progress_bar(
            f"{study.name} [{engine.name}]",
            len(wanted) * len(STAGES) + (n_cp if systems is None else 0),
            progress,
        )
        bars = [bar]

        def one(calc: Calculation, eng: Engine = engine) -> CalcResult:
            bar = bars[-1]  # the phase's progress bar (calculations, then solvation)
            bar.set_postfix_str(f"{calc.name}:{calc.stage}")
            result = run_cached(calc, workdir, eng, db)
            run.results[(calc.name, calc.stage)] = result
            if result.cached:
                run.n_cached += 1
            else:
                if result.recovered:
                    run.n_recovered += 1
                else:
                    run.n_run += 1
                for w in result.warnings:
                    bar.write(f"warning: {calc.name}:{calc.stage}: {w}")
            bar.update()
            return result

        with bar:
            finals = {}
            for name in wanted:
                finals[name] = system_results(study.name, name, structures[name], engine, one)[-1]
            if systems is None:
                run.reactions = sr.compute_study_reactions(
                    study.name, specs, structures, finals, engine, one
                )
        if systems is None:
            dbmod.write_reactions(db, study.name, engine.name, run.protocol, run.reactions)
        if systems is None and (study.bridge or {}).get("solvation") is not None:
            # bridge.solvation, after the reactions are stored (a failure keeps them), then
            # the reactions again with ΔΔG_solv on the exchange reaction's record
            bars.append(_progress_bar(f"{study.name} [{engine.name}] solvation", 0, progress))
            with bars[-1]:
                run.solvation = sr.attach_exchange_solvation(
                    study.name,
                    study.bridge,
                    run.reactions,
                    structures,
                    finals,
                    engine,
                    one,
                    lambda n: _extend(bars[-1], n),
                )
            dbmod.write_reactions(db, study.name, engine.name, run.protocol, run.reactions)
    run.wall_time_s = time.perf_counter() - start
    recovered = (
        f", {run.n_recovered} recovered from finished calculation folders (their database rows "
        "were missing: a new or deleted results database; stored again, not recomputed)"
        if run.n_recovered
        else ""
    )
    log(
        f"{study.name}: {run.n_run} calculation(s) run, {run.n_cached} reused from the database"
        f"{recovered} ({run.wall_time_s:.0f} s)."
    )
    flagged = [r.name for r in run.reactions if not r.converged]
    if flagged:
        log(f"warning: built from unconverged inputs (flagged in the table and DB): {flagged}")
    return run
