"""``atomistics run`` (run what is missing, print reaction energies) and ``atomistics results``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from atomistics import db as dbmod
from atomistics import reactions as rx
from atomistics.cli.study_check import load_checked_study
from atomistics.engines import ENGINE_NAMES, engine_for_study
from atomistics.errors import AtomisticsError
from atomistics.paths import plot_path
from atomistics.redact import redact
from atomistics.runner import DEFAULT_WORKDIR, run_study


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a study's missing calculations and print its reaction energies",
        description="Run every calculation of the study that is not yet in the results "
        "database (relax, then single point, per system), store each as it finishes, then "
        "print the reaction (binding) energies, with their convergence, next to the paper's "
        "values. Rerunning continues where an interrupted run stopped.",
    )
    p.add_argument("study", type=Path, help="study file, e.g. workflows/limmt_fsi.yaml")
    p.add_argument("--engine", choices=ENGINE_NAMES, help="default: the study's 'engine' key")
    p.add_argument("--db", default=dbmod.DEFAULT_DB, help="results database (default: %(default)s)")
    p.add_argument("--workdir", default=DEFAULT_WORKDIR, help="work folder (default: %(default)s)")
    p.add_argument(
        "--cp2k-command", help="CP2K launch line (cp2k engine), e.g. 'mpirun -np 2 cp2k.psmp'"
    )
    p.add_argument("--cp2k-data-dir", help="CP2K basis/potential folder (cp2k engine)")
    p.add_argument("--plot", type=plot_path, help="also save a reaction-energy plot (.png/.svg)")
    p.add_argument(
        "--bridge-plot",
        type=plot_path,
        help="also save the bridge's t+, J_lim and Sand's time vs dG with the 95 %% band (.png)",
    )
    p.add_argument(
        "--allow-unconverged",
        action="store_true",
        help="pass reaction energies built from unconverged inputs to the bridge anyway",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    r = subparsers.add_parser(
        "results",
        help="show stored calculations and reaction energies (read-only)",
        description="The table of calculations and reaction energies in the results database. "
        "The database is opened read-only: nothing is created or changed.",
    )
    r.add_argument("--db", default=dbmod.DEFAULT_DB, help="results database (default: %(default)s)")
    r.add_argument("--study", help="only this study")
    r.add_argument("--engine", choices=ENGINE_NAMES, help="only this engine's results")
    r.add_argument("--protocol", help="only this protocol's results (e.g. paper, GFN2-xTB)")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON on stdout")
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout")
    r.add_argument("--plot", type=plot_path, help="save a reaction-energy plot (.png/.svg)")
    r.set_defaults(func=cmd_results)


def _machine(args: argparse.Namespace) -> dict:
    machine = {}
    if args.cp2k_command:
        import shlex

        machine["command"] = shlex.split(args.cp2k_command)
    if args.cp2k_data_dir:
        machine["data_dir"] = args.cp2k_data_dir
    return machine


def cmd_run(args: argparse.Namespace) -> int:
    study = load_checked_study(args.study)  # a bad bridge value fails now, not after the runs
    engine = engine_for_study(study, args.engine, _machine(args))
    run = run_study(study, engine, args.db, args.workdir, progress=not args.no_progress)
    if run.reactions:
        print(rx.format_table(run.reactions, engine=engine.name))
        _print_vacuum_series(run.reactions)
        _print_bridge(
            study,
            run.reactions,
            engine.name,
            args.allow_unconverged,
            run.solvation,
            bridge_plot=args.bridge_plot,
        )
    if args.plot:
        rx.plot(run.reactions, args.plot, title=f"{study.name} ({engine.name})")
        print(f"plot written to {args.plot}")
    return 0


def _print_vacuum_series(reactions) -> None:
    """The vacuum-extrapolated value of every reaction with a vacuum series (charged slabs)."""
    from atomistics.charged_slab import format_vacuum_series

    for e in reactions:
        if e.vacuum_series:
            print(format_vacuum_series(e.name, e.vacuum_series, e.energy_ev))


def _print_bridge(
    study,
    reactions,
    engine_name: str,
    allow_unconverged: bool = False,
    solvation=None,
    bridge_plot: Path | None = None,
) -> None:
    """Carry this run's reaction energies (and ΔΔG_solv, ``bridge.solvation``) through the
    study's bridge section, if it has one."""
    if study.bridge is None:
        return
    if solvation is not None:
        print()
        print("\n".join(solvation.report_lines()))
    from atomistics.cli.continuum import bridge_report_lines
    from atomistics.continuum.resultsdb import bridge_inputs
    from atomistics.continuum.study_bridge import run_study_bridge

    inputs = bridge_inputs(study.bridge, reactions)
    if inputs is None:
        return
    binding, records, used = inputs
    print()
    print(f"Continuum bridge (study {study.name}, {engine_name} reaction energies):")
    bad = [n for n in used if not getattr(records[n], "converged", True)]
    if bad and not allow_unconverged:
        print(
            f"  not evaluated: {', '.join(bad)} built from unconverged calculations "
            "(see the table); rerun with --allow-unconverged to use them anyway."
        )
        return
    try:
        result = run_study_bridge(
            study.bridge, binding, records, allow_unconverged=allow_unconverged, solvation=solvation
        )
    except AtomisticsError as exc:
        # The calculations are stored; a bridge that does not apply to these numbers
        # (e.g. the surface binds the anion less than Li⁺ does) is reported, not fatal.
        print(f"  not evaluated: {exc}")
        return
    source = f"{engine_name} run of {study.name}" + (" (UNCONVERGED inputs)" if bad else "")
    energies = list(binding.values())
    if len(energies) == 2:
        lines = bridge_report_lines(result, energies[0], energies[1], source)
    else:
        lines = bridge_report_lines(result, source=f"{used[0]}, {source}")
    for line in lines:
        print(f"  {line}")
    if bridge_plot is not None:
        from atomistics.continuum.plots import plot_bridge_bands

        print(
            f"  t+, J_lim and Sand's time vs dG with the 95 % band written to "
            f"{plot_bridge_bands(result, bridge_plot)}"
        )


CALC_COLUMNS = (
    "id",
    "study",
    "name",
    "stage",
    "engine",
    "protocol",
    "energy",
    "total_charge",
    "scf_converged",
    "geo_converged",
    "n_steps",
    "geo_steps",
    "relax_fmax",
    "fmax_target",
    "wall_time_s",
    "natoms",
    "calc_hash",
)


def _record(row, columns) -> dict:
    return {c: row.get(c) for c in columns}


def _reaction_record(study: str, entry: rx.ReactionEnergy) -> dict:
    rec = {"study": study, **entry.to_record()}
    if entry.binding is not None:  # the binding-energy vocabulary
        rec.update(
            e_bind_ev=entry.energy_ev,
            e_bind_raw_ev=entry.energy_raw_ev,
            complex=entry.complex,
            fragments=entry.fragments,
        )
    return rec


def cmd_results(args: argparse.Namespace) -> int:
    db = dbmod.connect(args.db, readonly=True)
    calcs = [
        _record(r, CALC_COLUMNS)
        for r in dbmod.calculation_rows(db, args.study)
        if (args.engine is None or r.get("engine") == args.engine)
        and (args.protocol is None or r.get("protocol") == args.protocol)
    ]
    rows = dbmod.reaction_rows(db, args.study, args.engine, args.protocol)
    entries = [(r.get("study"), dbmod.reaction_from_row(r)) for r in rows]
    records = [_reaction_record(s, e) for s, e in entries]
    if args.json:
        binding = [r for r in records if "e_bind_ev" in r]
        out = {"calculations": calcs, "reactions": records, "binding_energies": binding}
        print(json.dumps(out, indent=1, default=str))
    elif args.csv:
        out = [{"kind": "calculation", **c} for c in calcs]
        out += [{"kind": "reaction", **b} for b in records]
        sys.stdout.write(rx.to_csv(out))
    else:
        print(_calc_table(calcs))
        print()
        reactions = [e for _, e in entries]
        print(rx.format_table(reactions) if reactions else "no reaction energies stored")
        _print_vacuum_series(reactions)
    if args.plot:
        rx.plot([e for _, e in entries], args.plot)
        print(f"plot written to {redact(args.plot)}", file=sys.stderr)
    return 0


def _calc_table(calcs: list[dict]) -> str:
    head = (
        f"{'id':>4} {'study':<12} {'name':<18} {'stage':<13} {'engine':<6} {'E / eV':>16} "
        f"{'q':>3} {'SCF':>4} {'geo':>4} {'steps':>5} {'fmax':>7} {'wall/s':>8}"
    )
    lines = [head, "-" * len(head)]

    def yn(v):
        return "—" if v is None else ("yes" if v else "NO")

    def num(v, spec):
        return "—" if v is None else format(v, spec)

    for c in calcs:
        steps = c["n_steps"] if c["stage"] == "relax" else c.get("geo_steps")
        lines.append(
            f"{c['id']:>4} {c['study']:<12} {c['name']:<18} {c['stage']:<13} {c['engine']:<6} "
            f"{c['energy']:>16.6f} {num(c.get('total_charge'), '+d'):>3} "
            f"{yn(c['scf_converged']):>4} {yn(c['geo_converged']):>4} {num(steps, 'd'):>5} "
            f"{num(c.get('relax_fmax'), '.3f'):>7} {num(c['wall_time_s'], '.1f'):>8}"
        )
    if not calcs:
        lines.append("(no calculations stored)")
    else:
        lines.append(
            "geo: relaxation reached fmax (a single point: the relaxation its geometry comes "
            "from did); steps and fmax (eV/Å) of that relaxation."
        )
    return "\n".join(lines)
