"""``atomistics inputs`` (write CP2K inputs for a study) and ``atomistics validate`` (check any input)."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from atomistics.errors import AtomisticsError
from atomistics.paths import inside

GEOMETRY_NOTE = (
    "The single_point input is written on the stage-1 starting geometry; the run step "
    "replaces its coordinates with the relaxed geometry of the relax stage before running it."
)


def _inputs(args: argparse.Namespace) -> int:
    from ase.io import write

    from atomistics.cli.study_check import load_checked_study as load_study
    from atomistics.cp2k import STAGES, write_cp2k_input
    from atomistics.cp2k.resources import ResourceEstimate
    from atomistics.study import build_study_structures

    study = load_study(args.study)
    protocol = args.protocol or study.calculation.protocol
    overrides = dict(study.calculation.overrides)
    structures = build_study_structures(study)
    if args.system:
        unknown = [s for s in args.system if s not in structures]
        if unknown:
            raise AtomisticsError(f"unknown system(s) {unknown}: the study has {list(structures)}.")
        structures = {k: v for k, v in structures.items() if k in args.system}
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise AtomisticsError(
            f"output folder {out} is an existing file: give a folder path with -o (it is created)."
        )
    if args.node_memory is not None:
        from atomistics.cp2k.resources import parse_memory

        parse_memory(args.node_memory, "--node-memory")  # a bad amount fails before any work
    for name, atoms in structures.items():
        folder = inside(out / name, out)
        if folder.exists() and not folder.is_dir():
            raise AtomisticsError(f"{folder} is an existing file: remove it or choose another -o.")
        folder.mkdir(parents=True, exist_ok=True)
        structure_file = folder / "structure.extxyz"
        buffer = io.StringIO()
        write(buffer, atoms, format="extxyz")
        if (
            not args.force
            and structure_file.is_file()
            and structure_file.read_text(errors="replace") != buffer.getvalue()
        ):
            raise AtomisticsError(
                f"{structure_file} exists and differs from the structure that would be written "
                "(edited by hand?); move it away, choose another -o, or pass --force to overwrite."
            )
        record = {
            "system": name,
            "study": study.name,
            "protocol": protocol,
            "overrides": overrides,
            "structure": structure_file.name,
            "stages": {},
            "note": GEOMETRY_NOTE,
        }
        for stage in STAGES:
            _, meta = write_cp2k_input(
                atoms,
                stage,
                folder,
                protocol,
                overrides,
                project=stage,
                validate=not args.no_validate,
                node_memory=args.node_memory,
                ranks=args.ranks,
                overwrite=args.force,
            )
            record["stages"][stage] = meta
        structure_file.write_text(buffer.getvalue())
        (folder / "calculation.json").write_text(json.dumps(record, indent=2) + "\n")
        sp = record["stages"]["single_point"]["settings"]
        basis = ", ".join(f"{el}:{b}" for el, b in sp["basis_per_element"].items())
        kp = "x".join(map(str, sp["kpoints"])) if sp["kpoints"] else "Γ"
        print(
            f"{name}: {len(atoms)} atoms, charge {sp['charge']:+d}, multiplicity "
            f"{sp['multiplicity']}, UKS {sp['uks']}, {sp['system_type']} ({sp['poisson_solver']}), "
            f"single point k-points {kp}; {basis} -> {folder}/"
        )
        for stage in STAGES:
            res = ResourceEstimate(
                **{
                    k: v
                    for k, v in record["stages"][stage]["resources"].items()
                    if k != "node_memory_gb"
                }
            )
            print(f"  {stage}: estimated {res.summary()}")
    checked = "validated" if not args.no_validate else "NOT validated (--no-validate)"
    print(
        f"wrote {len(structures)} calculations x {len(STAGES)} stages ({protocol} protocol), {checked}"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from atomistics.cp2k import find_cp2k_command, validate_input
    from atomistics.cp2k.validate import schema_for

    command = find_cp2k_command(required=False)
    _, info = schema_for(command)
    how = f"schema from {info['schema_source']}" + (" + cp2k --check" if command else "")
    problems = []
    for path in args.files:
        try:
            warnings = validate_input(path, command)
        except AtomisticsError as exc:
            problems.append(str(exc))
            continue
        for w in warnings:
            print(f"warning: {w}")
        print(f"{path}: valid ({how})")
    if problems:
        raise AtomisticsError("\n".join(problems))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "inputs",
        help="write validated CP2K inputs (relax + single point) for every system of a study",
        description="Write one folder per system: relax.inp, single_point.inp, structure.extxyz "
        "and calculation.json (resolved settings, basis per element, provenance, and the "
        "estimated memory and wall time of each job).",
    )
    p.add_argument("study", help="study YAML file, e.g. workflows/limmt_fsi.yaml")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--protocol", help="override the study's calculation.protocol (paper, quick)")
    p.add_argument("--system", action="append", help="only this system (repeatable)")
    p.add_argument("--no-validate", action="store_true", help="skip validation (not recommended)")
    p.add_argument(
        "--node-memory",
        help="memory of one compute node, e.g. 24GB: refuse jobs whose estimate exceeds it "
        "(also calculation.overrides.node_memory in the study)",
    )
    p.add_argument(
        "--ranks",
        type=int,
        help="MPI ranks per node for the memory estimate (default: -np of CP2K_COMMAND, else 1)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite inputs in the output folder that differ (e.g. edited by hand)",
    )
    p.set_defaults(func=_inputs)

    v = subparsers.add_parser(
        "validate",
        help="validate CP2K input files (schema of the installed CP2K, cp2k --check, semantics)",
    )
    v.add_argument("files", nargs="+", help="CP2K input files")
    v.set_defaults(func=_validate)
