"""``atomistics run`` (run what is missing, print binding energies) and ``atomistics results``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from atomistics import binding as bind
from atomistics import db as dbmod
from atomistics.engines import ENGINE_NAMES, get_engine
from atomistics.errors import AtomisticsError
from atomistics.execution.runner import DEFAULT_WORKDIR, run_study
from atomistics.study import load_study


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a study's missing calculations and print its binding energies",
        description="Run every calculation of the study that is not yet in the results "
        "database (relax, then single point, per system), store each as it finishes, then "
        "print the binding energies next to the paper's values. Rerunning continues where an "
        "interrupted run stopped.",
    )
    p.add_argument("study", type=Path, help="study file, e.g. workflows/limmt_fsi.yaml")
    p.add_argument("--engine", choices=ENGINE_NAMES, help="default: the study's 'engine' key")
    p.add_argument("--db", default=dbmod.DEFAULT_DB, help="results database (default: %(default)s)")
    p.add_argument("--workdir", default=DEFAULT_WORKDIR, help="work folder (default: %(default)s)")
    p.add_argument("--plot", type=Path, help="also save a binding-energy plot (.png/.svg)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    r = subparsers.add_parser(
        "results",
        help="show stored calculations and binding energies",
        description="The table of calculations and binding energies in the results database.",
    )
    r.add_argument("--db", default=dbmod.DEFAULT_DB, help="results database (default: %(default)s)")
    r.add_argument("--study", help="only this study")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON on stdout")
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout")
    r.add_argument("--plot", type=Path, help="save a binding-energy plot (.png/.svg)")
    r.set_defaults(func=cmd_results)


def cmd_run(args: argparse.Namespace) -> int:
    study = load_study(args.study)
    engine_name = args.engine or study.engine
    options = {}
    if engine_name == "cp2k":
        options = {"protocol": study.calculation.protocol, "overrides": study.calculation.overrides}
    engine = get_engine(engine_name, **options)
    run = run_study(study, engine, args.db, args.workdir, progress=not args.no_progress)
    if run.binding_energies:
        print(bind.format_table(run.binding_energies, engine=engine.name))
        _print_bridge(study, run.binding_energies, engine.name)
    if args.plot:
        bind.plot(run.binding_energies, args.plot, title=f"{study.name} ({engine.name})")
        print(f"plot written to {args.plot}")
    return 0


def _print_bridge(study, binding_energies, engine_name: str) -> None:
    """Carry this run's binding energies through the study's bridge section, if it has one."""
    if study.bridge is None:
        return
    from atomistics.cli.continuum import bridge_report_lines
    from atomistics.continuum.study_bridge import parse_bridge_spec, run_study_bridge

    energies = {b.name: b.e_bind_ev for b in binding_energies}
    spec = parse_bridge_spec(study.bridge)
    if spec.surface_anion not in energies or spec.cation_anion not in energies:
        return
    print()
    print(f"Continuum bridge (study {study.name}, {engine_name} binding energies):")
    try:
        result = run_study_bridge(study.bridge, energies)
    except AtomisticsError as exc:
        # The calculations are stored; a bridge that does not apply to these numbers
        # (e.g. the surface binds the anion less than Li⁺ does) is reported, not fatal.
        print(f"  not evaluated: {exc}")
        return
    source = f"{engine_name} run of {study.name}"
    for line in bridge_report_lines(
        result, energies[spec.surface_anion], energies[spec.cation_anion], source
    ):
        print(f"  {line}")


CALC_COLUMNS = (
    "id",
    "study",
    "name",
    "stage",
    "engine",
    "protocol",
    "energy",
    "scf_converged",
    "geo_converged",
    "n_steps",
    "wall_time_s",
    "natoms",
    "calc_hash",
)
BIND_COLUMNS = (
    "id",
    "study",
    "name",
    "engine",
    "protocol",
    "e_bind_ev",
    "e_bind_raw_ev",
    "bsse_ev",
    "counterpoise",
    "paper_value_ev",
    "complex",
    "fragments",
)


def _record(row, columns) -> dict:
    return {c: row.get(c) for c in columns}


def cmd_results(args: argparse.Namespace) -> int:
    if dbmod.lock_path(args.db) is not None and not Path(args.db).exists():
        raise AtomisticsError(f"no results database {args.db}: run `atomistics run STUDY` first.")
    db = dbmod.connect(args.db)
    calcs = [_record(r, CALC_COLUMNS) for r in dbmod.calculation_rows(db, args.study)]
    binds = [_record(r, BIND_COLUMNS) for r in dbmod.binding_rows(db, args.study)]
    if args.json:
        print(json.dumps({"calculations": calcs, "binding_energies": binds}, indent=1))
    elif args.csv:
        out = [{"kind": "calculation", **c} for c in calcs]
        out += [{"kind": "binding_energy", **b} for b in binds]
        sys.stdout.write(bind.to_csv(out))
    else:
        print(_calc_table(calcs))
        print()
        entries = [_Entry(b) for b in binds]
        print(bind.format_table(entries) if entries else "no binding energies stored")
    if args.plot:
        bind.plot([_Entry(b) for b in binds], args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


class _Entry:
    """A binding-energy DB record with the attributes format_table/plot read."""

    def __init__(self, rec: dict) -> None:
        self.name = rec["name"]
        self.e_bind_ev = rec["e_bind_ev"]
        self.bsse_ev = rec.get("bsse_ev")
        self.paper_value_ev = rec.get("paper_value_ev")
        self.engine = rec.get("engine") or ""


def _calc_table(calcs: list[dict]) -> str:
    head = (
        f"{'id':>4} {'study':<12} {'name':<18} {'stage':<13} {'engine':<6} {'E / eV':>16} "
        f"{'SCF':>4} {'geo':>4} {'steps':>5} {'wall/s':>8}"
    )
    lines = [head, "-" * len(head)]

    def yn(v):
        return "—" if v is None else ("yes" if v else "NO")

    for c in calcs:
        wall = c["wall_time_s"]
        lines.append(
            f"{c['id']:>4} {c['study']:<12} {c['name']:<18} {c['stage']:<13} {c['engine']:<6} "
            f"{c['energy']:>16.6f} {yn(c['scf_converged']):>4} {yn(c['geo_converged']):>4} "
            f"{c['n_steps']:>5} {('—' if wall is None else f'{wall:.1f}'):>8}"
        )
    if not calcs:
        lines.append("(no calculations stored)")
    return "\n".join(lines)
