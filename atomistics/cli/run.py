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
from atomistics.jsonable import jsonable
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
    p.add_argument(
        "--relax-engine",
        choices=ENGINE_NAMES,
        help="relax the geometries with this engine, then the single points with --engine "
        "(a composite protocol, e.g. --engine cp2k --relax-engine xtb: PBE-D3 // GFN1-xTB); "
        "default: the study's calculation.relax_engine, else --engine relaxes",
    )
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
        help="pass reaction energies built from unconverged inputs to the bridge anyway "
        "(as the study's bridge.allow_unconverged: true does)",
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
    engine = engine_for_study(study, args.engine, _machine(args), args.relax_engine)
    run = run_study(study, engine, args.db, args.workdir, progress=not args.no_progress)
    if run.reactions:
        print(rx.format_table(run.reactions, engine=engine.name))
        _print_surface_energy_note(run)
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


def _print_surface_energy_note(run) -> None:
    """Say plainly that the dry-run engine has no converged surface energy.

    Printed for every xtb reaction with a participant periodic in-plane (a slab), with the
    measured spread of its Coulomb-tail convention
    (:data:`atomistics.engines.xtb.SURFACE_TAIL_CONVENTION_SPREAD_EV`).
    """
    from atomistics.engines.xtb import SURFACE_TAIL_CONVENTION_SPREAD_EV as spread

    if run.engine != "xtb":
        return
    slabs = {
        name
        for (name, _stage), result in run.results.items()
        if result.atoms is not None and result.atoms.pbc[0] and result.atoms.pbc[1]
    }
    for e in run.reactions:
        if slabs & {*e.reactants, *e.products}:
            print(
                f"NOTE {e.name}: xtb (tblite) gives NO converged surface energy for a slab: the "
                f"convention for its periodic Coulomb tail moves this reaction energy by about "
                f"{spread:.1f} eV (tblite -3.2 vs CP2K GFN1-xTB -9.0 eV extrapolated on the LiMMT "
                "2x1 exchange; docs/dry_run_engine.md). Use it as a workflow check; the energy "
                "for the science is CP2K's (--engine cp2k, or --relax-engine xtb for PBE-D3 on "
                "these geometries)."
            )


def _print_vacuum_series(reactions) -> None:
    """The vacuum-extrapolated value of every reaction with a vacuum series (charged slabs)."""
    from atomistics.reactions.vacuum_series import format_vacuum_series

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
    study's bridge section, if it has one.

    Unconverged inputs are used when ``--allow-unconverged`` is given or the section says
    ``allow_unconverged: true`` (either opts in); the report then says UNCONVERGED.
    """
    if study.bridge is None:
        return
    if solvation is not None:
        print()
        print("\n".join(solvation.report_lines()))
    from atomistics.cli.continuum import bridge_report_lines
    from atomistics.continuum.study_bridge import parse_bridge_spec, run_study_bridge
    from atomistics.stored_reactions import bridge_inputs, unconverged_reason

    spec = parse_bridge_spec(study.bridge)
    allow_unconverged = allow_unconverged or spec.allow_unconverged
    inputs = bridge_inputs(spec.exchange, spec.surface_anion, spec.cation_anion, reactions)
    if inputs is None:
        return
    binding, records, used = inputs
    print()
    print(f"Continuum bridge (study {study.name}, {engine_name} reaction energies):")
    bad = [n for n in used if not getattr(records[n], "converged", True)]
    refused = unconverged_reason(records, used, allow_unconverged)
    if refused:
        print(f"  not evaluated: {refused}")
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
        # strict JSON: a NaN or infinite number (a row written by an older version) is null
        print(json.dumps(jsonable(out), indent=1, default=str, allow_nan=False))
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
    # columns as wide as their longest entry (screening rows: "screen-prescreen", "SYSTEM@LABEL")
    wn = max([18, *(len(str(c["name"])) for c in calcs)])
    ws = max([13, *(len(str(c["stage"])) for c in calcs)])
    head = (
        f"{'id':>4} {'study':<12} {'name':<{wn}} {'stage':<{ws}} {'engine':<6} {'protocol':<10} "
        f"{'E / eV':>16} {'q':>3} {'SCF':>4} {'geo':>4} {'steps':>5} {'fmax':>7} {'wall/s':>8}"
    )
    lines = [head, "-" * len(head)]

    def yn(v):
        return "—" if v is None else ("yes" if v else "NO")

    def num(v, spec):
        return "—" if v is None else format(v, spec)

    for c in calcs:
        steps = c["n_steps"] if c["stage"] == "relax" else c.get("geo_steps")
        lines.append(
            f"{c['id']:>4} {c['study']:<12} {c['name']:<{wn}} {c['stage']:<{ws}} {c['engine']:<6} "
            f"{c.get('protocol') or '—':<10} {num(c['energy'], '.6f'):>16} "
            f"{num(c.get('total_charge'), '+d'):>3} "
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
