"""``atomistics build ...``: build, check and write the study's structures."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ase import Atoms

from atomistics.errors import AtomisticsError
from atomistics.limits import DEFAULT_MAX_ATOMS, DEFAULT_MAX_PLACEMENTS
from atomistics.paths import check_output_folder, inside
from atomistics.structures import adsorption, clay, molecules
from atomistics.structures.checks import StructureSummary, check_structure
from atomistics.structures.io import write_structure

BUILD_KINDS = ("limmt-slab", "bulk", "molecule", "ion-pair", "adsorbate", "placements", "study")


def rewrite_argv(argv: list[str]) -> list[str]:
    """``atomistics build STUDY.yaml ...`` is shorthand for ``atomistics build study STUDY.yaml ...``."""
    if len(argv) >= 2 and argv[0] == "build" and argv[1] not in BUILD_KINDS:
        if not argv[1].startswith("-"):
            return [argv[0], "study", *argv[1:]]
    return argv


def _print_summary(summaries: list[tuple[StructureSummary, Path | None]], as_json: bool) -> None:
    if as_json:
        rows = [s.as_dict() | {"file": str(p) if p else None} for s, p in summaries]
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2))
        return
    for s, path in summaries:
        print(f"{s.name}: {s.formula}")
        print(f"  atoms {s.n_atoms}   charge {s.charge:+d}   multiplicity {s.spin_multiplicity}")
        if s.cell is not None:
            lengths = ", ".join(f"{sum(x * x for x in row) ** 0.5:.3f}" for row in s.cell)
            print(f"  cell lengths (Å) {lengths}   pbc {''.join('T' if p else 'F' for p in s.pbc)}")
        else:
            print("  isolated (no cell)")
        if s.min_distance is not None:
            print(f"  minimum distance {s.min_distance:.3f} Å", end="")
        if s.vacuum is not None:
            print(f"   vacuum {s.vacuum:.2f} Å", end="")
        print()
        if path:
            print(f"  written to {path}")


def _emit(atoms: Atoms, args: argparse.Namespace, vacuum: float | None = None) -> int:
    summary = check_structure(atoms, vacuum=vacuum)
    path = write_structure(atoms, args.output, force=args.force) if args.output else None
    _print_summary([(summary, path)], args.json)
    return 0


def _slab_from_args(args: argparse.Namespace) -> Atoms:
    return clay.build_limmt_slab(
        tuple(args.supercell),
        args.vacuum,
        args.mg,
        args.seed,
        args.li_height,
        max_atoms=args.max_atoms,
    )


def _cmd_slab(args: argparse.Namespace) -> int:
    return _emit(_slab_from_args(args), args, vacuum=args.vacuum)


def _cmd_bulk(args: argparse.Namespace) -> int:
    atoms = clay.build_montmorillonite_bulk(
        tuple(args.supercell), args.mg, args.seed, args.d001, max_atoms=args.max_atoms
    )
    return _emit(atoms, args)


def _cmd_molecule(args: argparse.Namespace) -> int:
    return _emit(molecules.build_molecule(args.species, args.conformer), args)


def _cmd_ion_pair(args: argparse.Namespace) -> int:
    return _emit(molecules.build_ion_pair(args.cation, args.anion, args.conformer), args)


def _cmd_adsorbate(args: argparse.Namespace) -> int:
    slab = _slab_from_args(args)
    mol = molecules.build_molecule(args.adsorbate, args.conformer)
    atoms = adsorption.place_adsorbate(
        slab, mol, args.site, args.site_index, args.height, args.orientation, args.azimuth
    )
    return _emit(atoms, args)


def _cmd_placements(args: argparse.Namespace) -> int:
    slab = _slab_from_args(args)
    mol = molecules.build_molecule(args.adsorbate, args.conformer)
    placements = adsorption.enumerate_placements(
        slab,
        mol,
        sites=tuple(args.sites),
        orientations=tuple(args.orientations),
        azimuths=tuple(args.azimuths),
        height=args.height,
        max_placements=args.max_placements,
    )
    out = check_output_folder(args.output)
    names = []
    for n, atoms in enumerate(placements):
        info = atoms.info
        name = f"{n:03d}_{info['site']}{info['site_index']}_{info['orientation']}_az{info['azimuth']:g}"
        atoms.info["name"] = name
        names.append(f"{name}.extxyz")
    old = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if old and not args.force:
        raise AtomisticsError(
            f"{out}/ is not empty ({len(old)} file(s), e.g. {old[0]}): placements written "
            "there would mix with the old set. Give an empty or new folder, or --force to "
            "replace the old placements."
        )
    rows = []
    for atoms, fname in zip(placements, names, strict=True):
        path = inside(out / fname, out)
        rows.append((check_structure(atoms), write_structure(atoms, path, args.force)))
    if args.force:
        # --force replaces the old set: remove earlier placement files not in the new one.
        for stale in old:
            if _PLACEMENT_FILE.match(stale) and stale not in names:
                inside(out / stale, out).unlink()
    if args.json:
        _print_summary(rows, True)
    else:
        rejected = placements[0].info.get("n_rejected", 0) if placements else 0
        print(
            f"{len(placements)} symmetry-distinct placements of {mol.info['species']} written to "
            f"{out}/ ({rejected} rejected as overlapping)"
        )
        for summary, path in rows:
            print(f"  {path.name}  min distance {summary.min_distance:.2f} Å")
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from atomistics.cli.study_check import load_checked_study as load_study
    from atomistics.study import build_study_structures

    study = load_study(args.study)
    out = check_output_folder(args.output)
    rows = []
    for name, atoms in build_study_structures(study).items():
        spec = study.systems[name]
        vacuum = getattr(spec, "vacuum", None)
        summary = check_structure(atoms, vacuum=vacuum)
        path = write_structure(atoms, inside(out / f"{name}.extxyz", out), args.force)
        if atoms.pbc.any():
            write_structure(atoms, inside(out / f"{name}.cif", out), args.force)
        rows.append((summary, path))
    _print_summary(rows, args.json)
    if not args.json:
        print(
            f"{len(rows)} structures of study {study.name!r} built, checked and written to {out}/"
        )
    return 0


_PLACEMENT_FILE = re.compile(r"^\d{3}_.+\.extxyz$")


def _max_atoms_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-atoms",
        type=int,
        default=None,
        metavar="N",
        help=f"refuse structures above N atoms (default {DEFAULT_MAX_ATOMS}, or "
        "$ATOMISTICS_MAX_ATOMS): a guard against typos such as --supercell 1000 1000",
    )


def _common(p: argparse.ArgumentParser, output_required: bool = False) -> None:
    p.add_argument(
        "-o",
        "--output",
        required=output_required,
        help="output file (.cif for VESTA, .extxyz/.xyz for OVITO/ASE); omit to only check",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing, different file")


def _slab_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--supercell", nargs=2, type=int, default=[2, 2], metavar=("N", "M"))
    p.add_argument("--vacuum", type=float, default=clay.DEFAULT_VACUUM, help="Å (default 15)")
    p.add_argument(
        "--mg",
        type=int,
        default=None,
        help="number of Al→Mg substitutions (default: layer charge x = 0.25, at least 1)",
    )
    p.add_argument("--seed", type=int, default=0, help="tie-break seed for the Mg pattern")
    p.add_argument(
        "--li-height",
        type=float,
        default=clay.DEFAULT_LI_HEIGHT,
        help="Li⁺ height above the basal O plane, Å",
    )
    _max_atoms_option(p)


def _adsorbate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adsorbate", default="FSI-", help="ion to place (default FSI-)")
    p.add_argument("--conformer", default=None, help="C2 (trans) or C1 (cis) for FSI-/TFSI-")
    p.add_argument(
        "--height", type=float, default=adsorption.DEFAULT_HEIGHT, help="Å above the site"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser(
        "build",
        help="build and check structures (LiMMT slab, ions, adsorbates, a whole study)",
        description="Build, sanity-check and write structures. `atomistics build STUDY.yaml -o DIR` "
        "builds every system of a study.",
    )
    kinds = build.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True

    p = kinds.add_parser("limmt-slab", help="LiMMT(001) slab: one 2:1 layer, Li⁺ over cavities")
    _slab_options(p)
    _common(p)
    p.set_defaults(func=_cmd_slab)

    p = kinds.add_parser("bulk", help="bulk Li-montmorillonite with interlayer spacing d001")
    p.add_argument("--supercell", nargs=2, type=int, default=[1, 1], metavar=("N", "M"))
    p.add_argument("--mg", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--d001", type=float, default=clay.LIMMT_D001, help="Å (LiMMT 12.42, Ca-MMT 13.28)"
    )
    _max_atoms_option(p)
    _common(p)
    p.set_defaults(func=_cmd_bulk)

    p = kinds.add_parser("molecule", help="an ion: " + ", ".join(molecules.MOLECULE_BUILDERS))
    p.add_argument("species", help="FSI-, TFSI-, PF6-, Li+ or Na+")
    p.add_argument("--conformer", default=None, help="C2 (trans, default) or C1 (cis)")
    _common(p)
    p.set_defaults(func=_cmd_molecule)

    p = kinds.add_parser("ion-pair", help="contact ion pair, cation bidentate on the anion")
    p.add_argument("--cation", default="Li+")
    p.add_argument("--anion", default="FSI-")
    p.add_argument("--conformer", default=None)
    _common(p)
    p.set_defaults(func=_cmd_ion_pair)

    p = kinds.add_parser("adsorbate", help="an ion on the LiMMT(001) slab at a named site")
    _slab_options(p)
    _adsorbate_options(p)
    p.add_argument("--site", default="al-oh", choices=adsorption.SITE_KINDS)
    p.add_argument("--site-index", type=int, default=0)
    p.add_argument("--orientation", default="OO-down", help="'<El>-down' or '<El><El>-down'")
    p.add_argument("--azimuth", type=float, default=0.0, help="rotation about z, degrees")
    _common(p)
    p.set_defaults(func=_cmd_adsorbate)

    p = kinds.add_parser(
        "placements", help="enumerate symmetry-distinct adsorbate placements for screening"
    )
    _slab_options(p)
    _adsorbate_options(p)
    p.add_argument(
        "--sites", nargs="+", default=list(adsorption.SITE_KINDS), choices=adsorption.SITE_KINDS
    )
    p.add_argument("--orientations", nargs="+", default=["OO-down"])
    p.add_argument("--azimuths", nargs="+", type=float, default=[0.0, 90.0])
    p.add_argument(
        "--max-placements",
        type=int,
        default=None,
        metavar="N",
        help=f"refuse screens of more than N candidate placements (default {DEFAULT_MAX_PLACEMENTS})",
    )
    p.add_argument("-o", "--output", required=True, help="output folder (empty or new)")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty folder, replacing old placements",
    )
    p.set_defaults(func=_cmd_placements)

    p = kinds.add_parser("study", help="every system of a study YAML (also: build STUDY.yaml)")
    p.add_argument("study", help="study YAML, e.g. workflows/limmt_fsi.yaml")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--json", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_cmd_study)


__all__ = ["register", "rewrite_argv", "AtomisticsError"]
