"""Run a whole study: what is missing, once, under a lock, with a progress bar.

For every system: relax → single point (the single point starts from the
relaxed geometry); then the counterpoise terms of binding energies that ask
for them; then the binding energies. A calculation whose content hash is
already in the database is not run again, so an interrupted study resumes
where it stopped and a fragment shared by two binding energies runs once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ase import Atoms
from filelock import FileLock, Timeout
from tqdm import tqdm

from atomistics import binding as bind
from atomistics import db as dbmod
from atomistics.engines.base import STAGES, Engine
from atomistics.errors import AtomisticsError
from atomistics.execution.hashing import combine_hashes
from atomistics.execution.steps import (
    CalcResult,
    Calculation,
    execute,
    is_complete,
    parse,
    plan_calculation,
    prepare,
    store,
)
from atomistics.study import Study, build_study_structures

DEFAULT_WORKDIR = "runs"
LOCK_NAME = ".atomistics-run.lock"


@contextmanager
def study_lock(workdir: str | Path, db_url: str | Path):
    """Hold the work-directory and database locks, or refuse with a clear message."""
    paths = [Path(workdir) / LOCK_NAME]
    db_lock = dbmod.lock_path(db_url)
    if db_lock is not None:
        paths.append(db_lock)
    with ExitStack() as stack:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path), timeout=0)
            try:
                stack.enter_context(lock)
            except Timeout:
                raise AtomisticsError(
                    f"another `atomistics run` is using {path.parent} (lock {path} is held). "
                    "Wait for it to finish, or use another --workdir and --db."
                ) from None
        yield


def run_calculation(calc: Calculation, workdir: str | Path, engine: Engine, db) -> CalcResult:
    """Cached result from the database, else prepare → execute → parse → store."""
    row = dbmod.find_calculation(db, calc.calc_hash)
    if row is not None:
        return result_from_row(row, calc)
    directory = prepare(calc, workdir, engine)
    if not is_complete(directory):
        execute(directory, engine)
    result = parse(directory, engine)
    with db:
        store(db, result)
    return result


def result_from_row(row, calc: Calculation) -> CalcResult:
    final = calc.atoms.copy()
    final.set_constraint()
    final.positions = row.positions
    return CalcResult(
        calc_hash=row.calc_hash,
        study=row.study,
        name=row.name,
        stage=row.stage,
        engine=row.engine,
        engine_version=row.engine_version,
        protocol=row.protocol,
        energy_ev=float(row.energy),
        atoms=final,
        forces=row.get("forces"),
        scf_converged=bool(row.scf_converged),
        geo_converged=row.get("geo_converged"),
        n_steps=int(row.n_steps),
        wall_time_s=row.get("wall_time_s"),
        warnings=list(row.data.get("warnings", [])),
        timings=dict(row.data.get("timings", {})),
        settings=dict(row.data.get("settings", {})),
        metadata=dict(row.data.get("metadata", {})),
        directory=row.data.get("directory", ""),
        cached=True,
    )


@dataclass
class StudyRun:
    study: str
    engine: str
    protocol: str
    results: dict[tuple[str, str], CalcResult] = field(default_factory=dict)
    binding_energies: list[bind.BindingEnergy] = field(default_factory=list)
    n_run: int = 0
    n_cached: int = 0
    wall_time_s: float = 0.0


def _stage_input(built: Atoms, previous: CalcResult | None) -> Atoms:
    atoms = built.copy()
    if previous is not None:
        atoms.positions = previous.atoms.positions
        if any(atoms.pbc):
            atoms.cell = previous.atoms.cell
    atoms.set_constraint()
    return atoms


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
    """Run every missing calculation of ``study`` and store its binding energies."""
    start = time.perf_counter()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    structures = build_study_structures(study)
    wanted = systems or list(structures)
    unknown = [s for s in wanted if s not in structures]
    if unknown:
        raise AtomisticsError(f"unknown systems {unknown}: the study has {list(structures)}.")
    cp_specs = {n: b for n, b in study.binding_energies.items() if b.counterpoise}
    # Fail before any job runs if the engine cannot do what the study asks.
    for name in wanted:
        for stage in STAGES:
            engine.settings(structures[name], stage)
    for spec in cp_specs.values():
        engine.settings(structures[spec.complex], "cp_ghost")
    n_cp = sum(2 * len(b.fragments) for b in cp_specs.values())
    run = StudyRun(study.name, engine.name, str(getattr(engine, "protocol", engine.name)))
    Path(workdir).mkdir(parents=True, exist_ok=True)
    with study_lock(workdir, db_url):
        db = dbmod.connect(db_url)
        bar = tqdm(
            total=len(wanted) * len(STAGES) + (n_cp if systems is None else 0),
            desc=f"{study.name} [{engine.name}]",
            unit="calc",
            disable=not progress,
            file=sys.stderr,
        )

        def one(calc: Calculation) -> CalcResult:
            bar.set_postfix_str(f"{calc.name}:{calc.stage}")
            result = run_calculation(calc, workdir, engine, db)
            run.results[(calc.name, calc.stage)] = result
            if result.cached:
                run.n_cached += 1
            else:
                run.n_run += 1
                for w in result.warnings:
                    bar.write(f"warning: {calc.name}:{calc.stage}: {w}")
            bar.update()
            return result

        with bar:
            for name in wanted:
                previous = None
                for stage in STAGES:
                    atoms = _stage_input(structures[name], previous)
                    previous = one(plan_calculation(study.name, name, stage, atoms, engine))
            if systems is None:
                cp_terms = _run_counterpoise(study, cp_specs, structures, run, engine, one)
                run.binding_energies = _binding_energies(study, run, cp_terms)
        if run.binding_energies:
            dbmod.write_binding_energies(
                db, study.name, engine.name, run.protocol, run.binding_energies
            )
    run.wall_time_s = time.perf_counter() - start
    log(
        f"{study.name}: {run.n_run} calculation(s) run, {run.n_cached} reused from the database "
        f"({run.wall_time_s:.0f} s)."
    )
    return run


def _run_counterpoise(study, cp_specs, structures, run, engine, one) -> dict:
    terms: dict[str, tuple[list[CalcResult], list[CalcResult]]] = {}
    for bname, spec in cp_specs.items():
        cplx = _stage_input(structures[spec.complex], run.results[(spec.complex, STAGES[-1])])
        frags = [structures[f] for f in spec.fragments]
        own, ghost = [], []
        for fname, (a_own, a_ghost) in zip(
            spec.fragments, bind.counterpoise_structures(cplx, frags), strict=True
        ):
            label = f"{spec.complex}~{fname}"
            meta = {"binding": bname, "complex": spec.complex, "fragment": fname}
            own.append(one(plan_calculation(study.name, label, "cp_own", a_own, engine, meta)))
            ghost.append(
                one(plan_calculation(study.name, label, "cp_ghost", a_ghost, engine, meta))
            )
        terms[bname] = (own, ghost)
    return terms


def _binding_energies(study: Study, run: StudyRun, cp_terms: dict) -> list[bind.BindingEnergy]:
    final = STAGES[-1]
    energies = {name: r.energy_ev for (name, stage), r in run.results.items() if stage == final}
    out = []
    for bname, spec in study.binding_energies.items():
        own, ghost = cp_terms.get(bname, (None, None))
        entry = bind.compute(
            bname,
            spec.complex,
            spec.fragments,
            energies,
            spec.paper_value_ev,
            [r.energy_ev for r in own] if own else None,
            [r.energy_ev for r in ghost] if ghost else None,
        )
        hashes = [run.results[(n, final)].calc_hash for n in [spec.complex, *spec.fragments]]
        hashes += [r.calc_hash for r in (own or []) + (ghost or [])]
        entry.calc_hashes = hashes
        entry.input_hash = combine_hashes(*hashes)
        out.append(entry)
    return out
