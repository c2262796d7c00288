"""``atomistics inputs`` (write CP2K inputs for a study) and ``atomistics validate`` (check any input)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from atomistics.errors import AtomisticsError
from atomistics.paths import check_output_folder, inside

GEOMETRY_NOTE = (
    "The single_point input is written on the stage-1 starting geometry; the run step "
    "replaces its coordinates with the relaxed geometry of the relax stage before running it."
)


def _composite_note(relax_engine: str) -> str:
    return (
        f"Composite protocol: the relaxation is done by the {relax_engine} engine at run time "
        "(calculation.relax_engine), so no CP2K relax input is written. The single_point "
        "input is written on the built geometry; `atomistics run` (and the FireWorks "
        f"workflow) replaces its coordinates with the {relax_engine}-relaxed geometry, and "
        "the single point's content hash records where that geometry came from."
    )


def _stages(relax_engine: str | None) -> tuple[str, ...]:
    """The CP2K stages ``inputs`` writes: both, or the single point alone when another
    engine relaxes (a CP2K relax input would describe a step that never runs)."""
    from atomistics.cp2k import STAGES

    return STAGES if relax_engine in (None, "cp2k") else ("single_point",)


def _protocol_label(protocol: str, overrides: dict) -> str:
    """``quick protocol``, plus every override, so that a raised cutoff is not hidden."""
    if not overrides:
        return f"{protocol} protocol"
    shown = ", ".join(f"{k} {v}" for k, v in sorted(overrides.items()))
    return f"{protocol} protocol with overrides: {shown}"


class _Undo:
    """What a refused ``atomistics inputs`` created or replaced, to put back on the way out.

    New files and folders go; a file it replaced (``--force``) gets its old bytes back,
    so a refusal half way (one system too big for the node, an invalid override) leaves
    the output folder as it found it.
    """

    def __init__(self) -> None:
        self.folders: list[Path] = []
        self.files: dict[Path, bytes | None] = {}

    def mkdir(self, folder: Path) -> None:
        new = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self.folders += reversed(new)  # outermost first

    def before_writing(self, *paths: Path) -> None:
        for path in paths:
            self.files.setdefault(path, path.read_bytes() if path.is_file() else None)

    def undo(self) -> None:
        for path, old in self.files.items():
            with contextlib.suppress(OSError):
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(old)
        for folder in reversed(self.folders):  # innermost first; only if left empty
            with contextlib.suppress(OSError):
                folder.rmdir()


def _check_ranks(ranks: int | None) -> None:
    if ranks is not None and ranks < 1:
        raise AtomisticsError(
            f"--ranks {ranks}: give the number of MPI ranks per node, at least 1 (or leave "
            "--ranks out: the -np of CP2K_COMMAND, else 1)."
        )


def _selected(structures: dict, wanted: list[str] | None) -> dict:
    if not wanted:
        return structures
    unknown = [s for s in wanted if s not in structures]
    if unknown:
        raise AtomisticsError(f"unknown system(s) {unknown}: the study has {list(structures)}.")
    return {k: v for k, v in structures.items() if k in wanted}


def _system_folder(out: Path, name: str) -> Path:
    folder = inside(out / name, out)
    if folder.exists() and not folder.is_dir():
        raise AtomisticsError(f"{folder} is an existing file: remove it or choose another -o.")
    return folder


def _structure_text(atoms, structure_file: Path, force: bool) -> str:
    """The extxyz text of ``atoms``; refuse to replace a different file without --force."""
    from ase.io import write

    buffer = io.StringIO()
    write(buffer, atoms, format="extxyz")
    text = buffer.getvalue()
    if (
        not force
        and structure_file.is_file()
        and structure_file.read_text(errors="replace") != text
    ):
        raise AtomisticsError(
            f"{structure_file} exists and differs from the structure that would be written "
            "(edited by hand?); move it away, choose another -o, or pass --force to overwrite."
        )
    return text


def _write_system(
    name, atoms, study, protocol, overrides, out, args, undo: _Undo, relax_engine=None
) -> dict:
    """Write one system's folder (inputs of every stage, structure, calculation.json)."""
    from atomistics.cp2k import STAGES, write_cp2k_input

    stages = _stages(relax_engine)

    folder = _system_folder(out, name)
    structure_file = folder / "structure.extxyz"
    structure = _structure_text(atoms, structure_file, args.force)
    undo.mkdir(folder)
    undo.before_writing(
        structure_file, folder / "calculation.json", *(folder / f"{s}.inp" for s in stages)
    )
    record = {
        "system": name,
        "study": study.name,
        "protocol": protocol,
        "overrides": overrides,
        "structure": structure_file.name,
        "stages": {},
        "relax_engine": relax_engine or "cp2k",
        "note": GEOMETRY_NOTE if stages == STAGES else _composite_note(relax_engine),
    }
    for stage in stages:
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
    structure_file.write_text(structure)
    (folder / "calculation.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _print_system(name: str, atoms, record: dict, folder: Path) -> None:
    from atomistics.cp2k.resources import ResourceEstimate

    sp = record["stages"]["single_point"]["settings"]
    basis = ", ".join(f"{el}:{b}" for el, b in sp["basis_per_element"].items())
    kp = "x".join(map(str, sp["kpoints"])) if sp["kpoints"] else "Γ"
    print(
        f"{name}: {len(atoms)} atoms, charge {sp['charge']:+d}, multiplicity "
        f"{sp['multiplicity']}, UKS {sp['uks']}, {sp['system_type']} ({sp['poisson_solver']}), "
        f"single point k-points {kp}; {basis} -> {folder}/"
    )
    if "relax" not in record["stages"]:
        print(
            f"  relax: by the {record['relax_engine']} engine at run time "
            "(calculation.relax_engine): no CP2K input"
        )
    for stage in record["stages"]:
        resources = record["stages"][stage]["resources"]
        res = ResourceEstimate(**{k: v for k, v in resources.items() if k != "node_memory_gb"})
        print(f"  {stage}: estimated {res.summary()}")


def _inputs(args: argparse.Namespace) -> int:
    from atomistics.cli.study_check import load_checked_study as load_study
    from atomistics.engines import relax_engine_name
    from atomistics.study import build_study_structures

    _check_ranks(args.ranks)
    if args.node_memory is not None:
        from atomistics.cp2k.resources import parse_memory

        parse_memory(args.node_memory, "--node-memory")  # a bad amount fails before any work
    out = check_output_folder(args.output)
    study = load_study(args.study)
    protocol = args.protocol or study.calculation.protocol
    overrides = dict(study.calculation.overrides)
    relax_engine = relax_engine_name(study, None)
    structures = _selected(build_study_structures(study), args.system)
    for name in structures:
        _system_folder(out, name)  # every folder name checked before the first is made
    undo = _Undo()
    records = {}
    try:
        for name, atoms in structures.items():
            records[name] = _write_system(
                name, atoms, study, protocol, overrides, out, args, undo, relax_engine
            )
    except BaseException:
        undo.undo()  # refused half way: leave the output folder as it was
        raise
    for name, atoms in structures.items():
        _print_system(name, atoms, records[name], out / name)
    checked = "validated" if not args.no_validate else "NOT validated (--no-validate)"
    stages = _stages(relax_engine)
    what = " + ".join(stages) if len(stages) > 1 else f"{stages[0]} only ({relax_engine} relaxes)"
    print(
        f"wrote {len(structures)} calculations x {len(stages)} stage(s) ({what}; "
        f"{_protocol_label(protocol, overrides)}), {checked}"
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
