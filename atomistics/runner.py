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
from typing import NoReturn

from ase import Atoms
from tqdm import tqdm

from atomistics import db as dbmod
from atomistics import reactions as rx
from atomistics.charged_slab import n_series_calculations, run_vacuum_series
from atomistics.engines.base import STAGES, CalculationFailed, Engine
from atomistics.errors import AtomisticsError
from atomistics.execution import (
    CalcResult,
    Calculation,
    execute,
    is_complete,
    parse,
    plan_calculation,
    prepare,
    stage_input,
)
from atomistics.execution import solvation as solv
from atomistics.execution.record import DONE_FILE, CorruptResult
from atomistics.paths import check_output_folder
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


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CorruptResult) else repr(exc)


def _failed(directory: Path, exc: CorruptResult) -> NoReturn:
    """A calculation that just ran gave no usable result (a NaN energy): it failed, not stored."""
    raise CalculationFailed(
        f"{directory}: the calculation ran but its result is not a result ({exc}); nothing "
        "was stored: check the engine's output in that folder."
    ) from None


def run_calculation(calc: Calculation, workdir: str | Path, engine: Engine, db) -> CalcResult:
    """Cached result from the database, else prepare → execute → parse → store."""
    cached = dbmod.load_result(db, calc.calc_hash)
    if cached is not None:
        return cached
    directory = prepare(calc, workdir, engine)
    # a folder finished before this run (its DB row lost: a new or deleted database) is
    # recovered, not run
    recovered = is_complete(directory)
    if not recovered:
        execute(directory, engine)
    try:
        result = parse(directory, engine)
        result.recovered = recovered
    except (ValueError, KeyError) as exc:
        if isinstance(exc, AtomisticsError):
            raise
        if isinstance(exc, CorruptResult) and not recovered:
            _failed(directory, exc)  # it just ran and gave NaN: running it again gives NaN
        # An empty or corrupt result file (full disk, killed mid-write) or a NaN energy, with
        # no DB row, is not a result: keep the attempt aside (prepare does) and run it again.
        print(
            f"warning: {directory}: unreadable result ({_why(exc)}); running it again",
            file=sys.stderr,
        )
        (directory / DONE_FILE).unlink(missing_ok=True)
        directory = prepare(calc, workdir, engine)
        execute(directory, engine)
        try:
            result = parse(directory, engine)
        except CorruptResult as again:
            _failed(directory, again)
    with db:
        dbmod.write_calculation(db, result)
    return result


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

    @property
    def binding_energies(self) -> list[rx.ReactionEnergy]:
        """Older name of :attr:`reactions`."""
        return self.reactions


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


def check_bridge_exchange(study: Study, structures) -> None:
    """``bridge.exchange`` names a neutral reaction: refused before any job otherwise.

    A charged-fragment binding energy (Li⁺ + FSI⁻ → LiFSI) is not an exchange energy; the
    bridge would refuse it (``continuum.bridge.check_neutral_exchange``) only after every
    calculation had run, so the study is refused now. (The runner sits below the continuum
    package, so the rule is checked here on the built structures' charges.)
    """
    name = (study.bridge or {}).get("exchange")
    spec = study.all_reactions.get(name) if name else None
    if spec is None:
        return
    if any(
        int(structures[n].info.get("charge", 0)) != 0 for n in (*spec.reactants, *spec.products)
    ):
        raise AtomisticsError(
            f"{study.where('bridge', 'exchange')} = {name!r} is a binding energy of charged "
            "fragments, not an exchange energy: the bridge's exchange must be a neutral "
            "reaction, slab + [Li+FSI-] -> slab.(FSI- + Li+) (workflows/limmt_exchange_2x1.yaml); "
            "name a neutral exchange reaction, or bridge.surface_anion / bridge.cation_anion "
            "for the charged-fragment binding energies (FITTED screening path)"
        )


def check_study_solvation(study: Study, structures, engine: Engine) -> dict | None:
    """``bridge.solvation`` checked against the engine before any job (None: not asked for)."""
    section = (study.bridge or {}).get("solvation")
    if section is None:
        return None
    spec = study.all_reactions[study.bridge["exchange"]]
    try:
        solv.check_solvation(section, engine, structures, [*spec.reactants, *spec.products])
    except AtomisticsError as exc:  # e.g. a solvent tblite has no parameters for
        where = study.location("bridge", "solvation")
        if not where:
            raise
        raise AtomisticsError(f"{where}: {exc}") from None
    return section


def study_solvation(
    study: Study,
    structures,
    finals: dict[str, CalcResult],
    engine: Engine,
    run_one: Callable[[Calculation, Engine], CalcResult],
    bar=None,
) -> solv.SolvationCorrection:
    """ΔΔG_solv of the bridge's exchange reaction (:func:`atomistics.execution.solvation.
    compute_solvation`) at the final geometries ``finals``; ``bar``: a progress bar to extend."""
    name = study.bridge["exchange"]
    spec = study.all_reactions[name]

    def planned(n: int) -> None:
        if bar is not None and bar.total is not None:
            bar.total += n
            bar.refresh()

    return solv.compute_solvation(
        study.name,
        name,
        spec.reactants,
        spec.products,
        structures,
        finals,
        engine,
        study.bridge["solvation"],
        run_one,
        planned,
    )


def stored_solvation(
    study_name: str, reaction: rx.ReactionEnergy, engine: Engine, section: dict, db, workdir
) -> solv.SolvationCorrection:
    """ΔΔG_solv of a stored reaction (the FireWorks bridge task): its gas single points are
    read back by the reaction's input hashes, then :func:`~atomistics.execution.solvation.
    compute_solvation` as in :func:`study_solvation` (a row's atoms carry the built
    structure's charge, multiplicity and masks, so the planned hashes are the same)."""
    systems = [*reaction.reactants, *reaction.products]
    finals = {}
    for name, calc_hash in zip(systems, reaction.calc_hashes[: len(systems)], strict=True):
        result = dbmod.load_result(db, calc_hash)
        if result is None:
            raise AtomisticsError(
                f"the single point of {name!r} ({calc_hash[:12]}) of reaction {reaction.name!r} "
                "is not in the results database: run the study first."
            )
        finals[name] = result
    return solv.compute_solvation(
        study_name,
        reaction.name,
        reaction.reactants,
        reaction.products,
        {n: r.atoms for n, r in finals.items()},
        finals,
        engine,
        section,
        lambda calc, eng: run_calculation(calc, workdir, eng, db),
    )


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
    rx.check_engine_can_run(study, structures, engine, wanted)
    solvation = check_study_solvation(study, structures, engine) if systems is None else None
    if systems is None:
        check_bridge_exchange(study, structures)
    for name in (n for n in structures if n not in wanted and systems is None):
        log(
            f"{study.name}: {name} is a building block (no reaction uses it): built, not calculated"
        )
    n_cp = sum(2 * len(s.binding[1]) for s in specs.values() if s.counterpoise)
    n_cp += sum(n_series_calculations(s) for s in specs.values())
    run = StudyRun(study.name, engine.name, str(getattr(engine, "protocol", engine.name)))
    with study_lock(workdir, db_url):
        db = dbmod.connect(db_url)
        bar = tqdm(
            total=len(wanted) * len(STAGES) + (n_cp if systems is None else 0),
            desc=f"{study.name} [{engine.name}]",
            unit="calc",
            disable=not progress,
            file=sys.stderr,
        )

        def one(calc: Calculation, eng: Engine = engine) -> CalcResult:
            bar.set_postfix_str(f"{calc.name}:{calc.stage}")
            result = run_calculation(calc, workdir, eng, db)
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
                for rname, spec in specs.items():
                    cp = None
                    if spec.counterpoise:
                        complex_result = finals[spec.binding[0]]
                        plans = rx.plan_counterpoise(
                            study.name, rname, spec, structures, complex_result, engine
                        )
                        cp = [(one(own), one(ghost)) for own, ghost in plans]
                    entry = rx.assemble(rname, spec, finals, cp)
                    if spec.vacuum_series:  # a charged slab's series, fitted (charged_slab)
                        entry.vacuum_series = run_vacuum_series(
                            study.name, rname, spec, structures, finals, engine, one
                        )
                    run.reactions.append(entry)
        if systems is None:
            dbmod.write_reactions(db, study.name, engine.name, run.protocol, run.reactions)
        if solvation is not None:  # bridge.solvation, after the reactions are stored
            bar = tqdm(  # `one` reports to this bar from now on
                total=0,
                desc=f"{study.name} [{engine.name}] solvation",
                unit="calc",
                disable=not progress,
                file=sys.stderr,
            )
            with bar:
                run.solvation = study_solvation(study, structures, finals, engine, one, bar)
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
