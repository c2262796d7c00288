"""A study as one FireWorks Workflow, without what the results database already holds.

Per system: a relax Firework feeding its result to a single-point Firework;
then one reaction Firework (every reaction/binding energy of the study,
assembled and stored exactly as ``atomistics run`` does) depending on the
single points it needs; then, if the study has a bridge section, the bridge.
Calculations are recognised by content hash (as ``atomistics run`` does): a
result already stored is not submitted again, and two systems with the same
structure share one pair of Fireworks, so resubmitting a study adds only what
is missing.

Every Firework's spec carries ``atomistics`` = {study, engine, system, stage,
kind, calc_hash (as planned at submission)} for ``atomistics status`` and lpad
queries, e.g. ``lpad get_fws -q '{"spec.atomistics.study": "limmt_fsi"}'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atomistics.errors import AtomisticsError
from atomistics.fireworks.tasks import (
    RESULTS_KEY,
    ComputeReactions,
    RunBridge,
    RunCalculation,
    StoreCalculation,
    WriteCalculation,
    atoms_to_dict,
)

#: States of a Firework that still has to (or may again) run.
LIVE_STATES = ("WAITING", "READY", "RESERVED", "RUNNING", "FIZZLED", "PAUSED")
#: Machine settings a submission leaves to each worker (placeholders, see tasks).
DEFAULT_MACHINE = {
    "xtb": {},
    "cp2k": {"cp2k_command": ">>cp2k_command<<", "cp2k_data_dir": ">>cp2k_data_dir<<"},
}


@dataclass
class Plan:
    """What a submission contains and what it skipped."""

    study: str
    engine: str
    workflow: Any = None  # fireworks.Workflow, None when nothing is missing
    calculations: list[str] = field(default_factory=list)  # "system:stage" submitted
    stored: list[str] = field(default_factory=list)  # "system:stage" found in the results DB
    shared: dict[str, str] = field(default_factory=dict)  # system -> system it is identical to
    binding: list[str] = field(default_factory=list)  # reactions computed by this submission
    binding_stored: list[str] = field(default_factory=list)  # reactions already stored
    bridge: bool = False  # a bridge/continuum Firework follows the reactions
    resources: list[str] = field(default_factory=list)  # CP2K jobs' estimate and request

    @property
    def n_fireworks(self) -> int:
        return len(self.workflow.fws) if self.workflow is not None else 0


@dataclass
class _Builder:
    """The Fireworks of one submission, built system by system."""

    study: Any
    engine: Any
    common: dict
    db: Any
    plan: Plan
    fws: list = field(default_factory=list)
    links: dict = field(default_factory=dict)
    sp_fw: dict = field(default_factory=dict)  # system -> single-point Firework serving it
    known: dict = field(default_factory=dict)  # system -> {stage: entry} already stored
    by_hash: dict = field(default_factory=dict)  # relax hash -> first system with it
    aliases: dict = field(default_factory=dict)  # system -> identical systems it also serves
    queue: Any = None  # fireworks.queue.QueueRequest: CP2K jobs' memory/wall-time request

    def resources(self, system: str, stage: str, built) -> dict:
        """Spec keys for a CP2K job's estimate (and its queue request), or {} for xtb."""
        # a composite protocol's relax stage runs on its relax engine (xtb: no queue estimate)
        engine = getattr(self.engine, "stage_engine", lambda _stage: self.engine)(stage)
        if engine.name != "cp2k" or self.queue is None:
            return {}
        from atomistics.cp2k.resources import estimate_resources
        from atomistics.fireworks.queue import queue_request

        settings = dict(engine.settings(built, stage))
        if getattr(self.engine, "data_dir", None):
            settings["data_dir"] = str(self.engine.data_dir)
        # pair counting needs relative positions only (a molecule's centring does not matter)
        estimate = estimate_resources(
            settings, built.get_chemical_symbols(), self.queue.ranks, positions=built.positions
        )
        request = queue_request(estimate, self.queue, f"{system} ({stage})")
        extra: dict = {"resources": estimate.summary()}
        line = f"{system}:{stage}: estimated {estimate.summary()}"
        if request:
            extra["_queueadapter"] = request
            line += f"; queue request mem={request['mem']} walltime={request['walltime']}"
        self.plan.resources.append(line)
        return extra

    def tag(self, system: str, stage: str, kind: str, calc_hash: str | None = None) -> dict:
        return {
            "study": self.study.name,
            "engine": self.engine.name,
            "system": system,
            "stage": stage,
            "kind": kind,
            "calc_hash": calc_hash,
        }

    def calc_fw(self, system: str, stage: str, built, calc_hash=None, spec_extra=None):
        from fireworks import Firework

        ids = {"system": system, "stage": stage, "aliases": self.aliases[system]}
        c = self.common
        engine_keys = {k: c[k] for k in ("engine", "engine_options", "machine")}
        tasks = [
            WriteCalculation(**c, **ids, atoms=atoms_to_dict(built)),
            RunCalculation(**engine_keys),
            StoreCalculation(**engine_keys, study=c["study"], db=c["db"], **ids),
        ]
        spec = {"atomistics": self.tag(system, stage, "calculation", calc_hash)}
        resources = self.resources(system, stage, built)
        if "resources" in resources:
            spec["atomistics"]["resources"] = resources["resources"]
        if "_queueadapter" in resources:
            spec["_queueadapter"] = resources["_queueadapter"]
        spec.update(spec_extra or {})
        fw = Firework(tasks, name=f"{self.study.name}:{system}:{stage}", spec=spec)
        self.fws.append(fw)
        return fw

    def add_system(self, name: str, built) -> None:
        from atomistics import db as dbmod
        from atomistics.execution import plan_calculation, stage_input

        relax, single = "relax", "single_point"
        calc = plan_calculation(self.study.name, name, relax, stage_input(built), self.engine)
        if calc.calc_hash in self.by_hash:  # identical to a system already planned
            first = self.by_hash[calc.calc_hash]
            self.plan.shared[name] = first
            if first in self.sp_fw:
                self.sp_fw[name] = self.sp_fw[first]
                self.aliases[first].append(name)
            else:
                self.known[name] = self.known[first]
            return
        self.by_hash[calc.calc_hash] = name
        self.aliases[name] = []
        relaxed = dbmod.load_result(self.db, calc.calc_hash) if self.db is not None else None
        if relaxed is None:
            rfw = self.calc_fw(name, relax, built, calc.calc_hash)
            sfw = self.calc_fw(name, single, built)
            self.links[rfw] = [sfw]
            self.sp_fw[name] = sfw
            self.plan.calculations += [f"{name}:{relax}", f"{name}:{single}"]
            return
        self.plan.stored.append(f"{name}:{relax}")
        r_entry = {"calc_hash": relaxed.calc_hash, "energy_ev": relaxed.energy_ev}
        sp = plan_calculation(
            self.study.name,
            name,
            single,
            stage_input(built, relaxed),
            self.engine,
            previous=relaxed,
        )
        stored_sp = dbmod.load_result(self.db, sp.calc_hash)
        if stored_sp is not None:
            self.plan.stored.append(f"{name}:{single}")
            self.known[name] = {
                relax: r_entry,
                single: {"calc_hash": sp.calc_hash, "energy_ev": stored_sp.energy_ev},
            }
            return
        self.sp_fw[name] = self.calc_fw(
            name, single, built, sp.calc_hash, {RESULTS_KEY: {name: {relax: r_entry}}}
        )
        self.plan.calculations.append(f"{name}:{single}")

    def reactions_stored(self) -> bool:
        """Every reaction is stored, from exactly the single points known now."""
        from atomistics import db as dbmod
        from atomistics.execution.hashing import combine_hashes

        specs = self.study.all_reactions
        systems = {s for spec in specs.values() for s in (*spec.reactants, *spec.products)}
        if self.db is None or any(s not in self.known for s in systems):
            return False
        if any(spec.counterpoise or spec.vacuum_series for spec in specs.values()):
            return False  # their inputs are planned on the worker: recompute (cached) there
        protocol = str(getattr(self.engine, "protocol", self.engine.name))
        rows = dbmod.reaction_rows(self.db, self.study.name, self.engine.name, protocol)
        stored = {r.name: r.get("input_hash") for r in rows}
        for name, spec in specs.items():
            hashes = [
                self.known[s]["single_point"]["calc_hash"]
                for s in (*spec.reactants, *spec.products)
            ]
            if stored.get(name) != combine_hashes(*hashes):
                return False
        return set(stored) == set(specs)

    def add_reactions(self, structures) -> Any:
        from fireworks import Firework

        specs = self.study.all_reactions
        if not specs:
            return None
        if self.reactions_stored():
            self.plan.binding_stored += list(specs)
            return None
        systems = list(
            dict.fromkeys(s for sp in specs.values() for s in (*sp.reactants, *sp.products))
        )
        cp_systems = {  # built structures the worker needs (counterpoise, vacuum series)
            s
            for sp in specs.values()
            if sp.counterpoise or sp.vacuum_series
            for s in (sp.binding[0], *sp.binding[1])
        }
        bridge = self.study.bridge or {}
        if bridge.get("solvation") is not None:  # and the exchange reaction's ΔΔG_solv
            exchange = specs[bridge["exchange"]]
            cp_systems.update([*exchange.reactants, *exchange.products])
        c = self.common
        task = ComputeReactions(
            study=c["study"],
            reactions={n: sp.model_dump() for n, sp in specs.items()},
            bridge=self.study.bridge,
            engine=c["engine"],
            engine_options=c["engine_options"],
            machine=c["machine"],
            db=c["db"],
            workdir=c["workdir"],
            structures={s: atoms_to_dict(structures[s]) for s in sorted(cp_systems)},
        )
        prefilled = {
            s: {"single_point": self.known[s]["single_point"]} for s in systems if s in self.known
        }
        fw = Firework(
            [task],
            name=f"{self.study.name}:reactions",
            spec={
                "atomistics": self.tag("reactions", "reactions", "reactions"),
                RESULTS_KEY: prefilled,
            },
        )
        self.fws.append(fw)
        self.plan.binding += list(specs)
        for s in systems:
            parent = self.sp_fw.get(s)
            if parent is not None and fw not in self.links.setdefault(parent, []):
                self.links[parent].append(fw)
        return fw

    def add_bridge(self, reactions_fw) -> None:
        from fireworks import Firework

        if self.study.bridge is None or reactions_fw is None:
            return
        c = self.common
        fw = Firework(
            [
                RunBridge(
                    study=c["study"],
                    bridge=self.study.bridge,
                    engine=c["engine"],
                    protocol=str(getattr(self.engine, "protocol", self.engine.name)),
                    db=c["db"],
                    workdir=c["workdir"],
                )
            ],
            name=f"{self.study.name}:bridge",
            spec={"atomistics": self.tag("bridge", "bridge", "bridge")},
        )
        self.fws.append(fw)
        self.links.setdefault(reactions_fw, []).append(fw)
        self.plan.bridge = True


def _absolute(value: str | Path) -> str:
    """Absolute path at submission; URLs and ``>>key<<`` placeholders as given."""
    text = str(value)
    if "://" in text or (text.startswith(">>") and text.endswith("<<")):
        return text
    return str(Path(text).resolve())


def build_workflow(
    study,
    engine_name: str,
    db_url: str | Path,
    workdir: str | Path,
    *,
    db=None,
    machine: dict | None = None,
    queue=None,
) -> Plan:
    """The Workflow of everything ``study`` still needs (``Plan.workflow`` None if nothing).

    ``db_url``/``workdir``: concrete values (made absolute) or ``>>key<<``
    placeholders a worker fills; ``machine``: machine settings for the engine
    (default: CP2K's command and data folder as worker placeholders); ``queue``: a
    :class:`atomistics.fireworks.queue.QueueRequest`: each CP2K Firework then carries its
    memory/wall-time estimate (``spec.atomistics.resources``) and, from an adapter file, its
    queue request (``spec._queueadapter``); a job above the declared node memory is refused.
    """
    from fireworks import Workflow

    from atomistics import reactions as rx
    from atomistics.engines import engine_options, get_engine
    from atomistics.study import build_study_structures

    if study.bridge is not None:  # a bad bridge section fails at submission
        from atomistics.continuum.study_bridge import check_bridge_section

        check_bridge_section(study.bridge)
    options = engine_options(study, engine_name)
    machine = dict(DEFAULT_MACHINE[engine_name] if machine is None else machine)
    engine = get_engine(engine_name, options)  # planning only: the worker builds its own
    structures = build_study_structures(study)
    rx.check_engine_can_run(study, structures, engine, list(structures))
    plan = Plan(study.name, engine_name)
    common = {
        "study": study.name,
        "engine": engine_name,
        "engine_options": options,
        "machine": machine,
        "db": _absolute(db_url),
        "workdir": _absolute(workdir),
    }
    builder = _Builder(study, engine, common, db, plan, queue=queue)
    for name in study.calculated_systems():  # as `atomistics run`: building blocks are not run
        builder.add_system(name, structures[name])
    builder.add_bridge(builder.add_reactions(structures))
    if builder.fws:
        plan.workflow = Workflow(
            builder.fws,
            links_dict=builder.links,
            name=f"{study.name} [{engine_name}]",
            metadata={"atomistics_study": study.name, "engine": engine_name},
        )
    return plan


def live_fireworks(fireworks_coll, study: str, engine: str) -> list[dict]:
    """Fireworks of ``study``/``engine`` in the LaunchPad that are not finished."""
    query = {
        "spec.atomistics.study": study,
        "spec.atomistics.engine": engine,
        "state": {"$in": list(LIVE_STATES)},
    }
    return list(fireworks_coll.find(query, {"fw_id": 1, "name": 1, "state": 1, "_id": 0}))


def refuse_if_live(fireworks_coll, study: str, engine: str) -> None:
    live = live_fireworks(fireworks_coll, study, engine)
    if not live:
        return
    counts: dict[str, int] = {}
    for fw in live:
        counts[fw["state"]] = counts.get(fw["state"], 0) + 1
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    ids = ",".join(str(fw["fw_id"]) for fw in sorted(live, key=lambda f: f["fw_id"])[:20])
    raise AtomisticsError(
        f"study {study!r} ({engine}) already has unfinished Fireworks in this LaunchPad ({states}; "
        f"fw_ids {ids}). Run them (rlaunch rapidfire), rerun fizzled ones (lpad rerun_fws -s "
        "FIZZLED), or remove that workflow (lpad delete_wflows -i <fw_id>) before resubmitting."
    )
