"""The one primitive every step runs a calculation through: the cached calculation.

:func:`run_cached` returns the result stored under the calculation's content hash, or
prepares, executes and parses it and stores the result. ``atomistics run``
(:mod:`atomistics.runner`), the corrections (:mod:`atomistics.reactions.study`, through a
``run_one(calc, engine)`` bound to a work folder and database) and the FireWorks tasks
(:mod:`atomistics.fireworks.tasks`) all call it; none of them imports the runner for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from atomistics import db as dbmod
from atomistics.engines.base import CalculationFailed, Engine
from atomistics.errors import AtomisticsError
from atomistics.execution import CalcResult, Calculation, execute, is_complete, parse, prepare
from atomistics.execution.record import DONE_FILE, CorruptResult


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CorruptResult) else repr(exc)


def _failed(directory: Path, exc: CorruptResult) -> NoReturn:
    """A calculation that just ran gave no usable result (a NaN energy): it failed, not stored."""
    raise CalculationFailed(
        f"{directory}: the calculation ran but its result is not a result ({exc}); nothing "
        "was stored: check the engine's output in that folder."
    ) from None


def run_cached(calc: Calculation, workdir: str | Path, engine: Engine, db) -> CalcResult:
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


__all__ = ["run_cached"]
