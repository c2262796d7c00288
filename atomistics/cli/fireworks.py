"""``atomistics submit`` (a study as a FireWorks Workflow) and ``atomistics status``."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from atomistics.errors import AtomisticsError
from atomistics.paths import check_output_folder
from atomistics.redact import redact, strip_password

PASSWORD_NOTE = (
    "note: the Fireworks store the results database URL without its password; each worker "
    "takes it from PGPASSWORD or ~/.pgpass (libpq). Or submit with --db '>>results_db<<' and "
    "put the full URL in each worker's my_fworker.yaml (env: {results_db: URL}) "
    "(README: 'Running a study with FireWorks')."
)

STATE_ORDER = (
    "COMPLETED",
    "RUNNING",
    "RESERVED",
    "READY",
    "WAITING",
    "PAUSED",
    "FIZZLED",
    "DEFUSED",
    "ARCHIVED",
)


def register(subparsers) -> None:
    from atomistics import db as dbmod
    from atomistics.engines import ENGINE_NAMES
    from atomistics.runner import DEFAULT_WORKDIR

    p = subparsers.add_parser(
        "submit",
        help="submit a study to a FireWorks LaunchPad (run with rlaunch / qlaunch)",
        description="Build the study's FireWorks Workflow (relax -> single point per system, "
        "a binding-energy Firework per binding energy) without the calculations already in "
        "the results database, and add it to the LaunchPad. Without --launchpad the embedded "
        "LaunchPad of the current folder is used (created on first use; one process at a "
        "time); then run it here with `rlaunch rapidfire`.",
    )
    p.add_argument("study", type=Path, help="study file, e.g. workflows/limmt_fsi.yaml")
    p.add_argument(
        "--launchpad",
        "-l",
        type=Path,
        help="FireWorks LaunchPad file (MongoDB); default: the embedded LaunchPad of this folder",
    )
    p.add_argument("--engine", choices=ENGINE_NAMES, help="default: the study's 'engine' key")
    p.add_argument(
        "--db",
        default=dbmod.DEFAULT_DB,
        help="results database, resolved to an absolute path; a worker's my_fworker.yaml "
        "env 'results_db' overrides it (default: %(default)s)",
    )
    p.add_argument(
        "--workdir",
        default=DEFAULT_WORKDIR,
        help="calculation folders (absolute; FWorker env 'calc_dir' overrides; default: %(default)s)",
    )
    p.add_argument(
        "--qadapter",
        "-q",
        type=Path,
        help="CP2K: your FireWorks queue adapter (my_qadapter.yaml): each CP2K Firework then "
        "asks the queue for the memory and wall time its estimate needs (never less than "
        "this file asks; applied by `qlaunch -r`, reservation mode)",
    )
    p.add_argument(
        "--node-memory",
        help="CP2K: memory of one compute node, e.g. 256GB: refuse jobs whose estimate exceeds "
        "it (also the adapter's node_memory key or calculation.overrides.node_memory)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be submitted")
    p.set_defaults(func=cmd_submit)

    s = subparsers.add_parser(
        "status",
        help="a study's Fireworks by state",
        description="Count and list the Fireworks of a study (or of every study) by state. "
        "On the embedded LaunchPad it reads the store file without locking it, so it works "
        "while rlaunch runs (the file is updated at every Firetask boundary).",
    )
    s.add_argument("study", nargs="?", type=Path, help="study file (default: every study)")
    s.add_argument("--launchpad", "-l", type=Path, help="LaunchPad file (default: embedded, here)")
    s.add_argument("--list", action="store_true", help="also list every Firework")
    s.set_defaults(func=cmd_status)


def cmd_submit(args: argparse.Namespace) -> int:
    from atomistics import db as dbmod
    from atomistics.cli.study_check import load_checked_study
    from atomistics.fireworks import launchpad as lpmod

    lpmod.check_fireworks_config(Path.cwd())  # importing FireWorks (workflow) reads it
    from atomistics.fireworks.workflow import build_workflow, refuse_if_live

    study = load_checked_study(args.study)
    engine_name = args.engine or study.engine
    folder = Path.cwd()
    db_path = Path(args.db)
    db = None
    if "://" in str(args.db):
        db = dbmod.connect(args.db)
    elif db_path.exists():
        db = dbmod.connect(db_path)
    else:  # the one rule for output paths: missing folders are created (README)
        check_output_folder(db_path.resolve().parent, "--db").mkdir(parents=True, exist_ok=True)
    # The Fireworks carry the database URL to the workers: never its password (the spec is
    # stored in the LaunchPad and copied into every launcher folder's FW.json).
    stored_db = strip_password(str(args.db))
    queue = _queue(args, study, engine_name)
    plan = build_workflow(study, engine_name, stored_db, args.workdir, db=db, queue=queue)
    if args.dry_run:
        _print_plan(plan)
        if stored_db != str(args.db):
            print(PASSWORD_NOTE)
        return 0
    written: list[Path] = []
    lp_file = args.launchpad
    if lp_file is None:
        lp_file, written = lpmod.ensure_embedded(folder)
    for path in written:  # also when refused below: a deleted FW_config.yaml is rewritten
        print(f"wrote {path.name} (embedded LaunchPad)")
    opened = lpmod.open_launchpad(lp_file, folder)
    refuse_if_live(opened.launchpad.fireworks, study.name, engine_name)
    _print_plan(plan)
    if plan.workflow is None:
        print(f"nothing to submit: every result of {study.name!r} is in {redact(args.db)}.")
        return 0
    if stored_db != str(args.db):
        print(PASSWORD_NOTE)
    mapping = opened.launchpad.add_wf(plan.workflow)
    ids = sorted(mapping.values())
    print(
        f"submitted workflow {plan.workflow.name!r}: {plan.n_fireworks} Fireworks "
        f"(fw_ids {ids[0]}-{ids[-1]}) to the {opened.description}."
    )
    if opened.embedded_store is not None:
        print("run it here:  rlaunch rapidfire --nlaunches 0   (one launcher at a time)")
    else:
        print(
            "run it:  rlaunch -l LAUNCHPAD rapidfire   or   qlaunch -q my_qadapter.yaml rapidfire"
            + ("   (qlaunch -r: each job's own memory/wall time)" if args.qadapter else "")
        )
    print(f"watch it:  atomistics status {args.study}")
    return 0


def _queue(args: argparse.Namespace, study, engine_name: str):
    """The queue request of CP2K jobs (adapter file, node memory, ranks), None for xtb."""
    if engine_name != "cp2k":
        if args.qadapter is not None or args.node_memory is not None:
            raise AtomisticsError(
                "--qadapter/--node-memory size CP2K jobs; the xtb engine does not use them: "
                "remove them, or submit with --engine cp2k."
            )
        return None
    from atomistics.cp2k.protocol import machine_overrides
    from atomistics.fireworks.queue import read_qadapter

    machine = machine_overrides(study.calculation.overrides)
    node_memory = args.node_memory if args.node_memory is not None else machine.get("node_memory")
    return read_qadapter(args.qadapter, node_memory, machine.get("mpi_ranks"))


def _print_plan(plan) -> None:
    if plan.stored:
        print(f"already in the results database: {', '.join(plan.stored)}")
    if plan.binding_stored:
        print(f"binding energies already stored: {', '.join(plan.binding_stored)}")
    for name, first in plan.shared.items():
        print(f"{name} is identical to {first}: computed once")
    for line in plan.resources:
        print(line)
    if plan.calculations or plan.binding:
        print(
            f"to run: {len(plan.calculations)} calculation(s) "
            f"[{', '.join(plan.calculations) or '-'}], {len(plan.binding)} binding energy(ies) "
            f"[{', '.join(plan.binding) or '-'}]"
        )


def cmd_status(args: argparse.Namespace) -> int:
    from atomistics.fireworks import launchpad as lpmod

    query: dict = {"spec.atomistics": {"$exists": True}}
    if args.study is not None:
        from atomistics.study import load_study

        query = {"spec.atomistics.study": load_study(args.study).name}
    coll, description, note = lpmod.fireworks_collection(args.launchpad, Path.cwd())
    fws = list(
        coll.find(
            query,
            {"fw_id": 1, "name": 1, "state": 1, "spec.atomistics": 1, "updated_on": 1, "_id": 0},
        )
    )
    print(f"{description}" + (f" ({note})" if note else ""))
    if not fws:
        print(
            "no Fireworks"
            + (f" for study {query.get('spec.atomistics.study')!r}" if args.study else "")
        )
        return 0
    by_study: dict[tuple, list] = {}
    for fw in fws:
        tag = fw.get("spec", {}).get("atomistics", {})
        by_study.setdefault((tag.get("study"), tag.get("engine")), []).append(fw)
    for (study, engine), items in sorted(by_study.items(), key=lambda kv: str(kv[0])):
        counts = Counter(fw["state"] for fw in items)
        states = "  ".join(f"{s} {counts[s]}" for s in STATE_ORDER if counts.get(s))
        print(f"{study} [{engine}]: {len(items)} Fireworks  {states}")
        if args.list or counts.get("FIZZLED"):
            for fw in sorted(items, key=lambda f: f["fw_id"]):
                if args.list or fw["state"] == "FIZZLED":
                    print(f"  {fw['fw_id']:>5}  {fw['state']:<10} {fw['name']}")
        if counts.get("FIZZLED"):
            print(
                "  fizzled: see `lpad get_launches -i <fw_id> -d more`; rerun with "
                "`lpad rerun_fws -s FIZZLED`"
            )
    return 0
