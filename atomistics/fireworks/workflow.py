"""A study as one FireWorks Workflow, without what the results database already holds.

Per system: a relax Firework feeding its geometry to a single-point Firework;
per binding energy: a Firework depending on the single points of its complex
and fragments. Calculations are recognised by content hash (as ``atomistics
run`` does): a result already stored is not submitted again, and two systems
with the same structure share one pair of Fireworks, so resubmitting a study
adds only what is missing.

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
    ComputeBindingEnergy,
    RunBridge,
    RunCalculation,
    StoreCalculation,
    WriteCalculation,
    _ForSP,
    _stage_input,
    atoms_to_dict,
)

#: States of a Firework that still has to (or may again) run.
LIVE_STATES = ("WAITING", "READY", "RESERVED", "RUNNING", "FIZZLED", "PAUSED")


@dataclass
class Plan:
    """What a submission contains and what it skipped."""

    study: str
    engine: str
    workflow: Any = None  # fireworks.Workflow, None when nothing is missing
    calculations: list[str] = field(default_factory=list)  # "system:stage" submitted
    stored: list[str] = field(default_factory=list)  # "system:stage" found in the results DB
    shared: dict[str, str] = field(default_factory=dict)  # system -> system it is identical to
    binding: list[str] = field(default_factory=list)
    binding_stored: list[str] = field(default_factory=list)
    bridge: bool = False  # a bridge/continuum Firework follows the binding energies

    @property
    def n_fireworks(self) -> int:
        return len(self.workflow.fws) if self.workflow is not None else 0


def engine_options(study, engine_name: str) -> dict:
    if engine_name == "cp2k":
        return {
            "protocol": study.calculation.protocol,
            "overrides": dict(study.calculation.overrides),
        }
    return {}


def _calc_tasks(common: dict, system: str, stage: str, atoms_dict: dict, aliases: list[str]):
    """Write -> Run -> Store for one calculation (``aliases``: other systems it serves)."""
    ids = {"system": system, "stage": stage, "aliases": aliases}
    store_keys = ("study", "engine", "engine_options", "db")
    return [
        WriteCalculation(**common, **ids, atoms=atoms_dict),
        RunCalculation(engine=common["engine"], engine_options=common["engine_options"]),
        StoreCalculation(**{k: common[k] for k in store_keys}, **ids),
    ]


def build_workflow(
    study, engine_name: str, db_url: str | Path, workdir: str | Path, *, db=None
) -> Plan:
    """The Workflow of everything ``study`` still needs (``Plan.workflow`` None if nothing)."""
    from fireworks import Firework, Workflow

    from atomistics import db as dbmod
    from atomistics.engines.base import STAGES
    from atomistics.execution import plan_calculation
    from atomistics.execution.hashing import combine_hashes
    from atomistics.execution.runner import result_from_row
    from atomistics.fireworks.tasks import make_engine
    from atomistics.study import build_study_structures

    relax, single = STAGES
    options = engine_options(study, engine_name)
    engine = make_engine(engine_name, options)
    structures = build_study_structures(study)
    for atoms in structures.values():  # fail before anything is submitted
        for stage in STAGES:
            engine.settings(atoms, stage)
    db_url = str(db_url) if "://" in str(db_url) else str(Path(db_url).resolve())
    workdir = str(Path(workdir).resolve())
    plan = Plan(study.name, engine_name)
    common = {
        "study": study.name,
        "engine": engine_name,
        "engine_options": options,
        "db": db_url,
        "workdir": workdir,
    }

    def tag(system: str, stage: str, kind: str, calc_hash: str | None = None) -> dict:
        return {
            "study": study.name,
            "engine": engine_name,
            "system": system,
            "stage": stage,
            "kind": kind,
            "calc_hash": calc_hash,
        }

    known: dict[str, dict] = {}  # system -> {stage: entry} already stored
    sp_fw: dict[str, Any] = {}  # system -> single-point Firework serving it
    fws: list = []
    links: dict = {}
    by_hash: dict[str, str] = {}  # relax hash -> first system with that structure
    aliases: dict[str, list[str]] = {}  # system -> identical systems its Fireworks also serve
    for name, built in structures.items():
        calc = plan_calculation(study.name, name, relax, _stage_input(built, None), engine)
        if calc.calc_hash in by_hash:
            first = by_hash[calc.calc_hash]
            plan.shared[name] = first
            if first in sp_fw:
                sp_fw[name] = sp_fw[first]
                aliases[first].append(name)
            else:
                known[name] = known[first]
            continue
        by_hash[calc.calc_hash] = name
        aliases[name] = []
        row_r = dbmod.find_calculation(db, calc.calc_hash) if db is not None else None
        atoms_dict = atoms_to_dict(built)
        if row_r is None:
            rfw = Firework(
                _calc_tasks(common, name, relax, atoms_dict, aliases[name]),
                name=f"{study.name}:{name}:{relax}",
                spec={"atomistics": tag(name, relax, "calculation", calc.calc_hash)},
            )
            sfw = Firework(
                _calc_tasks(common, name, single, atoms_dict, aliases[name]),
                name=f"{study.name}:{name}:{single}",
                spec={"atomistics": tag(name, single, "calculation")},
            )
            fws += [rfw, sfw]
            links[rfw] = [sfw]
            sp_fw[name] = sfw
            plan.calculations += [f"{name}:{relax}", f"{name}:{single}"]
            continue
        plan.stored.append(f"{name}:{relax}")
        relaxed = result_from_row(row_r, calc)
        r_entry = {
            "calc_hash": calc.calc_hash,
            "energy_ev": float(row_r.energy),
            "positions": relaxed.atoms.positions.tolist(),
            "cell": [list(map(float, v)) for v in relaxed.atoms.cell],
        }
        sp_calc = plan_calculation(
            study.name, name, single, _stage_input(built, _ForSP(built, r_entry)), engine
        )
        row_s = dbmod.find_calculation(db, sp_calc.calc_hash)
        if row_s is not None:
            plan.stored.append(f"{name}:{single}")
            known[name] = {
                relax: r_entry,
                single: {"calc_hash": sp_calc.calc_hash, "energy_ev": float(row_s.energy)},
            }
            continue
        sfw = Firework(
            _calc_tasks(common, name, single, atoms_dict, aliases[name]),
            name=f"{study.name}:{name}:{single}",
            spec={
                "atomistics": tag(name, single, "calculation", sp_calc.calc_hash),
                RESULTS_KEY: {name: {relax: r_entry}},
            },
        )
        fws.append(sfw)
        sp_fw[name] = sfw
        plan.calculations.append(f"{name}:{single}")

    for bname, spec in study.binding_energies.items():
        systems = [spec.complex, *spec.fragments]
        if all(s in known for s in systems) and db is not None:
            hashes = [known[s][single]["calc_hash"] for s in systems]
            if not spec.counterpoise:
                key = dbmod.binding_key(study.name, bname, engine_name, combine_hashes(*hashes))
                if any(True for _ in db.select(kind="binding_energy", binding_key=key, limit=1)):
                    plan.binding_stored.append(bname)
                    continue
        params = {
            "study": study.name,
            "name": bname,
            "complex": spec.complex,
            "fragments": list(spec.fragments),
            "engine": engine_name,
            "engine_options": options,
            "db": db_url,
            "paper_value_ev": spec.paper_value_ev,
        }
        if spec.counterpoise:
            params.update(
                counterpoise=True,
                workdir=workdir,
                structures={s: atoms_to_dict(structures[s]) for s in systems},
            )
        prefilled = {s: {single: known[s][single]} for s in systems if s in known}
        bfw = Firework(
            [ComputeBindingEnergy(**params)],
            name=f"{study.name}:binding:{bname}",
            spec={
                "atomistics": tag(bname, "binding_energy", "binding_energy"),
                RESULTS_KEY: prefilled,
            },
        )
        fws.append(bfw)
        plan.binding.append(bname)
        for s in systems:
            parent = sp_fw.get(s)
            if parent is not None and bfw not in links.setdefault(parent, []):
                links[parent].append(bfw)

    binding_fws = [fw for fw in fws if "binding" in fw.name.split(":")]
    if study.bridge is not None and binding_fws:
        # downstream of every binding energy of this submission: the continuum bridge
        bridge_fw = Firework(
            [
                RunBridge(
                    study=study.name,
                    bridge=study.bridge,
                    engine=engine_name,
                    db=db_url,
                    workdir=workdir,
                )
            ],
            name=f"{study.name}:bridge",
            spec={"atomistics": tag("bridge", "bridge", "bridge")},
        )
        fws.append(bridge_fw)
        for parent in binding_fws:
            links.setdefault(parent, []).append(bridge_fw)
        plan.bridge = True
    if fws:
        plan.workflow = Workflow(
            fws,
            links_dict=links,
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
