"""``atomistics screen STUDY.yaml --system NAME -o DIR``: site/orientation screening of an adsorbate.

Wires :mod:`atomistics.execution.screening` to a study: the adsorbate system
``NAME`` (its slab, adsorbate, conformer, counter-ion and vacuum) is placed at
every symmetry-distinct site × orientation × azimuth × height, every placement
is pre-screened with the framework frozen, the best ``--n-relax`` are relaxed
to fmax (free: adsorbate, counter-ion and the surface region around the site;
the bare-slab reference relaxes the same region), and the results are written:

* the table (stdout), progress lines while it runs (stderr);
* ``DIR/screening.json`` (every record, best, spreads, the settings);
* ``DIR/screening.png`` (pre-screen and relaxed energies, lowest and spread);
* ``DIR/best.extxyz``, the lowest placement: put ``start_from: DIR/best.extxyz``
  (relative to the study file) on the system so the study's runs (xtb, or
  CP2K's stage-1 relaxation) start from it;
* ``DIR/logs/`` (optimizer logs);
* every stage (frozen reference, pre-screens, relaxations, same-region references) as a
  calculation row of the results database (``--db``, default ``results.db``) under its
  content hash: the same screen run again (after an interruption, or into another
  folder) reads them back instead of evaluating them again.

The calculator is the study engine's own (for xtb: the tblite calculator the
xtb engine builds from ``atoms.info`` charge and multiplicity). CP2K runs out of
process and cannot be screened here: screen with xtb, start CP2K from
``best.extxyz``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from atomistics import db as dbmod
from atomistics.cli.study_check import load_checked_study
from atomistics.engines import ENGINE_NAMES, ASECalculatorEngine, engine_for_study
from atomistics.errors import AtomisticsError
from atomistics.execution.screening import (
    DEFAULT_FREE_RADIUS,
    SCREEN_FMAX,
    enumerate_screening_placements,
    screen_placements,
)
from atomistics.jsonable import jsonable
from atomistics.limits import check_placement_count
from atomistics.paths import check_output_folder, inside
from atomistics.structures.adsorption import DEFAULT_HEIGHT, SITE_KINDS

OUTPUT_FILES = ("screening.json", "screening.png", "best.extxyz")
#: optimizer steps for the fragment (a ~10-atom ion pair: cheap), independent of --max-steps
FRAGMENT_MAX_STEPS = 500


def register(subparsers) -> None:
    """Long because it is the flat list of the command's argparse options, one call per option."""
    p = subparsers.add_parser(
        "screen",
        help="screen the sites/orientations of a study's adsorbate system; write best.extxyz",
        description="Enumerate the symmetry-distinct placements (sites x orientations x "
        "azimuths x heights) of an adsorbate system of the study, pre-screen them with the "
        "framework frozen, relax the best few to fmax (adsorbate, counter-ion and the surface "
        "around the site free; the bare-slab reference relaxes the same region), and write "
        "the table (stdout), DIR/screening.json, DIR/screening.png and DIR/best.extxyz. "
        "Put 'start_from: DIR/best.extxyz' on the system to start the study from it.",
    )
    p.add_argument("study", type=Path, help="study file, e.g. workflows/limmt_fsi.yaml")
    p.add_argument("--system", required=True, help="an adsorbate system of the study")
    p.add_argument(
        "--engine", choices=ENGINE_NAMES, help="default: the study's 'engine' key (xtb only)"
    )
    p.add_argument(
        "--sites",
        nargs="+",
        default=list(SITE_KINDS),
        metavar="SITE",
        help=f"site kinds (default: all of {', '.join(SITE_KINDS)})",
    )
    p.add_argument(
        "--orientations",
        nargs="+",
        default=["OO-down"],
        metavar="ORIENT",
        help="'<El>-down' or 'OO-down' (default: OO-down)",
    )
    p.add_argument(
        "--azimuths",
        nargs="+",
        type=float,
        default=[0.0, 90.0],
        metavar="DEG",
        help="rotations about z in degrees (default: 0 90)",
    )
    p.add_argument(
        "--heights",
        nargs="+",
        type=float,
        default=[DEFAULT_HEIGHT],
        metavar="Å",
        help=f"starting heights above the surface in Å (default: {DEFAULT_HEIGHT})",
    )
    p.add_argument(
        "--counter-ion-positions",
        type=int,
        default=1,
        metavar="N",
        help="try the counter-ion at the N best nearby surface cavities (default 1)",
    )
    p.add_argument(
        "--n-relax",
        type=int,
        default=3,
        metavar="N",
        help="relax the N best pre-screened placements (default 3)",
    )
    p.add_argument(
        "--prescreen-only",
        action="store_true",
        help="stop after the pre-screen (no relaxation; best = lowest single point)",
    )
    p.add_argument(
        "--prescreen-steps",
        type=int,
        default=0,
        metavar="N",
        help="optimizer steps of the adsorbate alone in the pre-screen (default 0)",
    )
    p.add_argument(
        "--fmax",
        type=float,
        default=SCREEN_FMAX,
        help=f"eV/Å, convergence of the relaxations (default {SCREEN_FMAX})",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=300,
        metavar="N",
        help="optimizer steps per relaxation at most (default 300)",
    )
    p.add_argument(
        "--radius",
        type=float,
        default=DEFAULT_FREE_RADIUS,
        help=f"Å, surface region freed around the adsorbate (default {DEFAULT_FREE_RADIUS})",
    )
    p.add_argument(
        "--fragment",
        choices=("auto", "none"),
        default="auto",
        help="auto (default): subtract the relaxed ion pair (counter-ion + adsorbate; without "
        "a counter-ion the adsorbate alone) in the same cell, so E_rel is the exchange "
        "(adsorption) energy; none: E_rel = E(complex) - E(bare slab)",
    )
    p.add_argument(
        "--max-placements",
        type=int,
        default=None,
        metavar="N",
        help="refuse a screen of more than N placements (default 2000)",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="output folder (created if missing)",
    )
    p.add_argument("--force", action="store_true", help="overwrite earlier results in DIR")
    p.add_argument(
        "--db",
        default=dbmod.DEFAULT_DB,
        metavar="URL",
        help="results database: every stage is stored there by its content hash and read "
        f"back when the screen runs again (default {dbmod.DEFAULT_DB}, as for atomistics run)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_screen)


def _check_args(args: argparse.Namespace) -> None:
    for name in ("n_relax", "prescreen_steps", "max_steps"):
        if getattr(args, name) < 0:
            raise AtomisticsError(
                f"--{name.replace('_', '-')} must be ≥ 0, got {getattr(args, name)}."
            )
    if args.counter_ion_positions < 1:
        raise AtomisticsError("--counter-ion-positions must be ≥ 1.")
    if not args.fmax > 0:
        raise AtomisticsError(f"--fmax must be > 0 eV/Å, got {args.fmax}.")
    if not args.radius >= 0:
        raise AtomisticsError(f"--radius must be ≥ 0 Å, got {args.radius}.")
    bad = [s for s in args.sites if s not in SITE_KINDS]
    if bad:
        raise AtomisticsError(f"unknown site kind(s) {bad}: use {', '.join(SITE_KINDS)}.")
    for a in args.azimuths:
        if not math.isfinite(a):
            raise AtomisticsError(f"--azimuths: {a} is not a finite angle in degrees.")
    for h in args.heights:
        if not 0.5 <= h <= 6.0:
            raise AtomisticsError(f"--heights: {h} Å is outside 0.5–6 Å above the surface.")


def _system(study, name: str):
    from atomistics.study import AdsorbateSystem

    spec = study.systems.get(name)
    if not isinstance(spec, AdsorbateSystem):
        ads = [k for k, s in study.systems.items() if isinstance(s, AdsorbateSystem)]
        what = "no system" if spec is None else f"a {spec.kind} system, not an adsorbate, as"
        raise AtomisticsError(
            f"study {study.name!r} has {what} {name!r}: give --system one of its adsorbate "
            f"systems ({', '.join(ads) or 'none'})."
        )
    return spec


def _calculator(study, engine_name: str | None):
    engine = engine_for_study(study, engine_name)
    if not isinstance(engine, ASECalculatorEngine):
        raise AtomisticsError(
            f"screening needs an in-process ASE calculator; the {engine.name} engine runs out of "
            "process: screen with --engine xtb, then start CP2K from best.extxyz (start_from:)."
        )
    settings = dict(engine.calculator_settings)

    def factory(atoms):  # the engine's own calculator (tblite: charge from atoms.info)
        return engine.factory(atoms, settings)

    return engine, factory


def _fragment(args, spec, cell_of, calculator, out: Path, say) -> dict | None:
    """The relaxed ion pair (or lone adsorbate) in the screening cell: E_rel's fragment term.

    With it, E_rel = E(product) − E(slab) − E(pair), the neutral exchange energy
    slab + [cation–anion] → slab·(anion + cation); without a
    counter-ion, E(complex) − E(slab) − E(anion), a charged-cell quantity.
    """
    import numpy as np

    from atomistics.execution.screening import relax_free_region
    from atomistics.structures import molecules
    from atomistics.structures.exchange import molecule_in_cell

    if args.fragment == "none":
        return None
    if spec.counter_ion is not None:
        mol = molecules.build_ion_pair(spec.counter_ion, spec.adsorbate, spec.conformer)
    else:
        mol = molecules.build_molecule(spec.adsorbate, spec.conformer)
    frag = molecule_in_cell(mol, cell_of)
    say(f"fragment: {mol.get_chemical_formula()} alone in the same cell, relaxing")
    res = relax_free_region(
        frag,
        calculator,
        np.ones(len(frag), bool),
        fmax=args.fmax,
        max_steps=FRAGMENT_MAX_STEPS,
        logfile=inside(out / "logs" / "fragment.log", out),
    )
    say(
        f"  E {res.energy:.3f} eV, fmax {res.fmax:.3f} eV/Å after {res.n_steps} steps "
        f"({'converged' if res.converged else 'NOT converged'})"
    )
    if not res.converged:
        raise AtomisticsError(
            f"the fragment {mol.get_chemical_formula()} did not reach fmax {args.fmax} eV/Å in "
            f"{FRAGMENT_MAX_STEPS} steps (fmax {res.fmax:.3f} eV/Å, logs/fragment.log): use "
            "--fragment none, or a looser --fmax."
        )
    return {
        "formula": mol.get_chemical_formula(),
        "charge": int(mol.info.get("charge", 0)),
        "energy_ev": float(res.energy),
        "fmax_ev_per_a": float(res.fmax),
        "n_steps": int(res.n_steps),
        "converged": bool(res.converged),
    }


def _write_outputs(args, study, spec, engine, result, fragment, n_relax, vacuum, out: Path) -> None:
    """screening.json (every record and the settings), screening.png and best.extxyz."""
    from atomistics.structures.io import write_structure

    best = result.best

    data = {
        "study": study.name,
        "study_file": str(args.study),
        "system": args.system,
        "engine": engine.name,
        "engine_version": engine.version(),
        "calculator_settings": engine.calculator_settings,
        "settings": {
            "sites": args.sites,
            "orientations": args.orientations,
            "azimuths": args.azimuths,
            "heights": args.heights,
            "counter_ion": spec.counter_ion,
            "counter_ion_positions": args.counter_ion_positions,
            "n_relax": n_relax,
            "prescreen_steps": args.prescreen_steps,
            "fmax": args.fmax,
            "max_steps": args.max_steps,
            "radius": args.radius,
            "vacuum": vacuum,
        },
        "relative_energy": "E(complex) - E(bare slab, same cell; framework frozen for pre-screen rows, "
        "the same free region relaxed for relaxed rows)"
        + ("" if fragment is None else f" - E({fragment['formula']}, same cell, relaxed)"),
        "fragment": fragment,
        **result.as_dict(),
    }
    json_path = inside(out / "screening.json", out)
    json_path.write_text(json.dumps(jsonable(data), indent=1))
    png = result.plot(inside(out / "screening.png", out))
    atoms = best.atoms.copy()
    atoms.info = {k: v for k, v in best.atoms.info.items() if k != "z_shift"}
    atoms.info.update(
        name=args.system,
        study=study.name,
        label=best.label,
        stage=best.stage,
        converged=bool(best.converged),
        relative_energy_ev=float(best.relative_energy),
        fmax_ev_per_a=float(best.fmax),
    )
    xyz = write_structure(atoms, inside(out / "best.extxyz", out), force=True)
    print(f"written: {json_path}, {png}, {xyz}")
    print(
        f"start the study from it: systems.{args.system}.start_from: <path to {xyz} from the study file>"
    )


class _DatabaseStore:
    """The results database as the screening's :class:`~atomistics.execution.screening.
    ResultStore`: rows by content hash, as ``atomistics run`` keeps its calculations."""

    def __init__(self, db) -> None:
        self.db = db

    def load(self, calc_hash: str):
        return dbmod.load_result(self.db, calc_hash)

    def save(self, result) -> None:
        dbmod.write_calculation(self.db, result)


def cmd_screen(args: argparse.Namespace) -> int:
    from atomistics.structures import molecules
    from atomistics.structures.exchange import slab_in_cell
    from atomistics.study import build_system

    _check_args(args)
    say = (
        (lambda line: None)
        if args.quiet
        else (lambda line: print(line, file=sys.stderr, flush=True))
    )
    study = load_checked_study(args.study)
    spec = _system(study, args.system)
    engine, calculator = _calculator(study, args.engine)
    out = check_output_folder(args.output)
    if not args.force:
        clash = [f for f in OUTPUT_FILES if (out / f).exists()]
        if clash:
            raise AtomisticsError(
                f"-o {out} already holds {', '.join(clash)} of an earlier screen: choose another "
                "folder or pass --force to overwrite them."
            )

    slab = build_system(study, spec.slab)
    adsorbate = molecules.build_molecule(spec.adsorbate, spec.conformer)
    vacuum = spec.vacuum if spec.vacuum is not None else float(slab.info.get("vacuum", 15.0))
    n_candidates = (
        len(args.sites)
        * len(args.orientations)
        * len(args.azimuths)
        * len(args.heights)
        * (args.counter_ion_positions if spec.counter_ion else 1)
    )
    check_placement_count(n_candidates, args.max_placements)
    placements = enumerate_screening_placements(
        slab,
        adsorbate,
        sites=args.sites,
        orientations=args.orientations,
        azimuths=args.azimuths,
        heights=args.heights,
        counter_ion=spec.counter_ion,
        n_counter_ion_positions=args.counter_ion_positions,
        vacuum=vacuum,
    )
    for atoms in placements:
        atoms.info.update(name=args.system, study=study.name)
    reference = slab_in_cell(slab, placements[0])
    n_relax = 0 if args.prescreen_only else args.n_relax
    db = dbmod.connect(args.db)  # after every check, before any job
    dbmod.find_calculation(db, "")  # a server is reached now: a bad URL fails before any job
    store = _DatabaseStore(db)
    say(
        f"screening {args.system} ({spec.adsorbate}"
        f"{' + ' + spec.counter_ion if spec.counter_ion else ''} on {spec.slab}, "
        f"{len(placements[0])} atoms): {len(placements)} symmetry-distinct placements, "
        f"{engine.name} ({engine.protocol}), "
        + (
            "pre-screen only"
            if n_relax == 0
            else f"relax the best {n_relax} to fmax {args.fmax} eV/Å"
        )
    )
    inside(out / "logs", out).mkdir(parents=True, exist_ok=True)
    fragment = _fragment(args, spec, placements[0], calculator, out, say)
    result = screen_placements(
        placements,
        calculator,
        reference,
        n_relax=n_relax,
        prescreen_steps=args.prescreen_steps,
        fmax=args.fmax,
        max_steps=args.max_steps,
        radius=args.radius,
        fragment_energy=0.0 if fragment is None else fragment["energy_ev"],
        logdir=inside(out / "logs", out),
        progress=say,
        calculator_id=dict(
            engine=engine.name,
            engine_version=engine.version(),
            settings=engine.calculator_settings,
            study=study.name,
            system=args.system,
            protocol=engine.protocol,
        ),
        store=store,
    )
    print(result.table())
    if not result.ranked:
        errors = [r.error for r in result.records if r.error]
        raise AtomisticsError(
            f"no placement of {args.system} was "
            f"{'evaluated' if result.prescreen_only else 'relaxed'} successfully (first "
            f"failure: {errors[0]}); see the table: a larger in-plane supercell or other "
            "sites/heights may help."
        )
    _write_outputs(args, study, spec, engine, result, fragment, n_relax, vacuum, out)
    return 0


__all__ = ["cmd_screen", "register"]
