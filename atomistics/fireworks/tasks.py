"""Firetasks: one calculation is Write -> Run -> Store, as in atomate v1.

Each Firetask wraps one step of :mod:`atomistics.execution` (prepare, execute,
parse) and :func:`atomistics.db.write_calculation`, and keeps nothing between
calls except what FireWorks passes in the spec. The reaction Firework calls the
same assembler as ``atomistics run`` (:func:`atomistics.reactions.assemble`).

Settings travel as given at submission. A worker's ``my_fworker.yaml`` env
fills only ``">>key<<"`` placeholders (atomate's ``env_chk``), never a concrete
submitted value:

===================  =============================================  ========================
placeholder          meaning                                        if the worker lacks it
===================  =============================================  ========================
``>>results_db<<``   results database (SQLite path or postgres://)  error (``--db`` default
                                                                    is a concrete path)
``>>calc_dir<<``     where calculation folders are written          error
``>>cp2k_command<<`` CP2K launch line (list or shell words)         CP2K discovery on the
                                                                    worker (``CP2K_COMMAND``,
                                                                    ``cp2k.psmp`` on PATH)
``>>cp2k_data_dir<<`` CP2K basis/potential folder                   CP2K discovery
===================  =============================================  ========================

Machine settings reach the engine as arguments (:func:`atomistics.engines.get_engine`),
never through ``os.environ``. Results travel to child Fireworks under
``spec["atomistics_results"][system][stage]`` (``calc_hash``, ``energy_ev``); the
records themselves are read from the results database (:meth:`CalcResult.from_row`).
"""

from __future__ import annotations

import contextlib
import json
import shlex
from pathlib import Path
from typing import Any

from fireworks import FiretaskBase, FWAction, explicit_serialize

from atomistics.errors import AtomisticsError
from atomistics.fireworks import embedded
from atomistics.jsonable import jsonable
from atomistics.paths import inside
from atomistics.redact import redact

RESULTS_KEY = "atomistics_results"
CALC_KEY = "_atomistics_calc"  # passed between the tasks of one Firework

#: Placeholders a worker may fill; lacking them, these fall back to engine discovery.
OPTIONAL_PLACEHOLDERS = ("cp2k_command", "cp2k_data_dir")
#: Machine setting -> the name the engine takes it under.
MACHINE_KEYS = {"cp2k_command": "command", "cp2k_data_dir": "data_dir"}


def env_chk(value: Any, fw_spec: dict, strict: bool = True, default: Any = None) -> Any:
    """Resolve ``">>key<<"`` from the FWorker env (``fw_spec["_fw_env"]``), as atomate does.

    Any other value is returned unchanged: the worker never overrides it.
    """
    if value is None:
        return default
    if isinstance(value, str) and value.startswith(">>") and value.endswith("<<"):
        key = value[2:-2]
        env = fw_spec.get("_fw_env") or {}
        if env.get(key) not in (None, ""):
            return env[key]
        if strict:
            raise AtomisticsError(
                f"the FWorker has no env key {key!r}: add `env: {{{key}: ...}}` to "
                "my_fworker.yaml on this machine (rlaunch -w my_fworker.yaml)."
            )
        return default
    return value


def resolve_machine(machine: dict | None, fw_spec: dict) -> dict:
    """Machine settings for the engine: placeholders filled, absent ones left to discovery."""
    out: dict[str, Any] = {}
    for key, value in (machine or {}).items():
        resolved = env_chk(value, fw_spec, strict=False)
        if resolved in (None, ""):
            continue
        if key == "cp2k_command" and isinstance(resolved, str):
            resolved = shlex.split(resolved)
        out[MACHINE_KEYS.get(key, key)] = resolved
    return out


_ENGINES: dict[str, Any] = {}


def make_engine(name: str, options: dict | None, machine: dict | None = None):
    """The engine for these settings, one per worker process (its in-process caches are kept)."""
    from atomistics.engines import get_engine

    key = json.dumps([name, options or {}, machine or {}], sort_keys=True, default=str)
    if key not in _ENGINES:
        _ENGINES[key] = get_engine(name, options, machine)
    return _ENGINES[key]


def atoms_to_dict(atoms) -> dict:
    from ase.io.jsonio import encode

    return json.loads(encode(atoms))


def atoms_from_dict(data: dict):
    from ase.io.jsonio import decode

    return decode(json.dumps(data))


class CalculationFizzled(RuntimeError):
    """A calculation failed; ``to_dict`` goes into the launch data of the FIZZLED Firework."""

    def __init__(self, message: str, details: dict) -> None:
        super().__init__(message)
        self.details = details

    def to_dict(self) -> dict:
        return {"message": str(self), **self.details}


def error_log(directory: Path, tail: int = 40) -> dict:
    """Custodian's log (``custodian.json``) and the tail of the code's output files."""
    directory = Path(directory)
    details: dict[str, Any] = {"directory": str(directory)}
    custodian = directory / "custodian.json"
    if custodian.is_file():
        try:
            details["custodian"] = json.loads(custodian.read_text())
        except ValueError:
            details["custodian"] = custodian.read_text()[-20000:]
    tails = {}
    for pattern in ("*.out", "*.log", "*.err", "*.error"):
        for f in sorted(directory.glob(pattern))[:5]:
            with contextlib.suppress(OSError):
                tails[f.name] = f.read_text(errors="replace").splitlines()[-tail:]
    if tails:
        details["output_tail"] = tails
    return details


class _Base(FiretaskBase):
    """Shared parameter handling of the Firetasks."""

    def engine(self, fw_spec):
        machine = resolve_machine(self.get("machine"), fw_spec)
        return make_engine(self["engine"], self.get("engine_options"), machine)

    def db_url(self, fw_spec) -> str:
        return str(env_chk(self["db"], fw_spec))

    def connect(self, fw_spec):
        from atomistics import db as dbmod

        return dbmod.connect(self.db_url(fw_spec))

    def workdir(self, fw_spec) -> str:
        return str(env_chk(self["workdir"], fw_spec))


def _stored(db, calc_hash: str, what: str, db_url: str):
    from atomistics import db as dbmod

    result = dbmod.load_result(db, calc_hash)
    if result is None:
        raise AtomisticsError(
            f"{what} ({calc_hash[:12]}) is not in the results database {redact(db_url)!r}; "
            "all workers must share one results database."
        )
    return result


@explicit_serialize
class WriteCalculation(_Base):
    """Plan one calculation on the worker; write its inputs unless the result is stored.

    The input structure is ``atoms`` (as built at submission) for the relaxation;
    a single point starts from the relaxation whose content hash its parent passed
    in ``atomistics_results`` (read back from the results database).
    """

    required_params = ["study", "system", "stage", "engine", "atoms", "db", "workdir"]
    optional_params = ["engine_options", "machine", "aliases"]

    def run_task(self, fw_spec):
        from atomistics.db import find_calculation
        from atomistics.execution import plan_calculation, prepare, stage_input

        embedded.flush()  # the store now shows this Firework RUNNING
        built = atoms_from_dict(self["atoms"])
        db = self.connect(fw_spec)
        previous = None
        if self["stage"] != "relax":
            entry = ((fw_spec.get(RESULTS_KEY) or {}).get(self["system"]) or {}).get("relax")
            if not entry:
                raise AtomisticsError(
                    f"{self['system']}: no relaxation in the spec ({RESULTS_KEY}."
                    f"{self['system']}.relax); its relax Firework must finish first."
                )
            previous = _stored(db, entry["calc_hash"], "its relaxation", self.db_url(fw_spec))
        engine = self.engine(fw_spec)
        calc = plan_calculation(
            self["study"],
            self["system"],
            self["stage"],
            stage_input(built, previous),
            engine,
            previous=previous,
        )
        info = {"calc_hash": calc.calc_hash, "cached": False, "directory": None}
        if find_calculation(db, calc.calc_hash) is not None:
            info["cached"] = True
        else:
            info["directory"] = str(prepare(calc, self.workdir(fw_spec), engine))
        return FWAction(update_spec={CALC_KEY: info})


@explicit_serialize
class RunCalculation(_Base):
    """Run the engine (CP2K through custodian, or xtb) in the prepared folder.

    A stored result (same content hash) is not run again. On failure the
    Firework fizzles with custodian's log and the output tail in its launch data.
    """

    required_params = ["engine"]
    optional_params = ["engine_options", "machine"]

    def run_task(self, fw_spec):
        from atomistics.execution import execute

        info = fw_spec.get(CALC_KEY) or {}
        if info.get("cached"):
            return FWAction()
        if not info.get("directory"):
            raise AtomisticsError(
                "RunCalculation needs WriteCalculation before it in the Firework."
            )
        directory = Path(info["directory"])
        engine = self.engine(fw_spec)
        try:
            execute(directory, engine)
        except Exception as exc:
            raise CalculationFizzled(f"{type(exc).__name__}: {exc}", error_log(directory)) from exc
        return FWAction()


@explicit_serialize
class StoreCalculation(_Base):
    """Parse the finished calculation and store it in the results database (ToDb).

    Passes the content hash and energy to the child Fireworks for every name this
    calculation serves (``system`` + ``aliases``).
    """

    required_params = ["study", "system", "stage", "engine", "db"]
    optional_params = ["engine_options", "machine", "aliases"]

    def run_task(self, fw_spec):
        from atomistics.db import write_calculation
        from atomistics.execution import parse

        info = fw_spec.get(CALC_KEY) or {}
        db = self.connect(fw_spec)
        if info.get("cached"):
            result = _stored(db, info["calc_hash"], "a stored result", self.db_url(fw_spec))
        else:
            try:
                result = parse(Path(info["directory"]), self.engine(fw_spec))
            except Exception as exc:
                raise CalculationFizzled(
                    f"{type(exc).__name__}: {exc}", error_log(Path(info["directory"]))
                ) from exc
            with db:
                write_calculation(db, result)
        embedded.flush()
        entry = {"calc_hash": result.calc_hash, "energy_ev": float(result.energy_ev)}
        names = [self["system"], *(self.get("aliases") or [])]
        mods = [{"_set": {f"{RESULTS_KEY}->{n}->{self['stage']}": entry}} for n in names]
        stored = {
            **entry,
            "converged": result.converged,
            "cached": bool(info.get("cached")),
            "directory": info.get("directory"),
        }
        return FWAction(stored_data=stored, mod_spec=mods)


@explicit_serialize
class ComputeReactions(_Base):
    """Every reaction energy of the study from its stored single points; replace its rows.

    Calls the functions ``atomistics run`` calls, in the same order
    (:mod:`atomistics.reactions.study`): the reactions with their counterpoise and
    vacuum-series corrections, stored; then, with ``bridge.solvation``, the exchange
    reaction's ΔΔG_solv, stored on its record. Calculations run (or are reused) through
    :func:`atomistics.calcstore.run_cached`.
    """

    required_params = ["study", "reactions", "engine", "db", "workdir"]
    optional_params = ["engine_options", "machine", "structures", "bridge"]

    def run_task(self, fw_spec):
        from atomistics import db as dbmod
        from atomistics.calcstore import run_cached
        from atomistics.reactions import study as sr
        from atomistics.study import ReactionSpec

        embedded.flush()
        db = self.connect(fw_spec)
        results = fw_spec.get(RESULTS_KEY) or {}
        specs = {n: ReactionSpec.model_validate(s) for n, s in self["reactions"].items()}
        structures = {k: atoms_from_dict(v) for k, v in (self.get("structures") or {}).items()}
        engine = self.engine(fw_spec)
        finals = {}
        for system in dict.fromkeys(
            s for spec in specs.values() for s in (*spec.reactants, *spec.products)
        ):
            entry = (results.get(system) or {}).get("single_point")
            if not entry:
                raise AtomisticsError(
                    f"reactions of {self['study']}: no single point of {system!r} in the spec; "
                    "its Firework must finish first."
                )
            finals[system] = _stored(
                db, entry["calc_hash"], f"the single point of {system!r}", self.db_url(fw_spec)
            )
        workdir = self.workdir(fw_spec)

        def run_one(calc, eng):
            return run_cached(calc, workdir, eng, db)

        entries = sr.compute_study_reactions(
            self["study"], specs, structures, finals, engine, run_one
        )
        protocol = str(getattr(engine, "protocol", engine.name))
        dbmod.write_reactions(db, self["study"], engine.name, protocol, entries)
        if (self.get("bridge") or {}).get("solvation") is not None:
            sr.attach_exchange_solvation(
                self["study"], self["bridge"], entries, structures, finals, engine, run_one
            )
            dbmod.write_reactions(db, self["study"], engine.name, protocol, entries)
        embedded.flush()
        energies = {e.name: e.energy_ev for e in entries}
        return FWAction(
            stored_data={"reactions": [jsonable(e.to_record()) for e in entries]},
            mod_spec=[{"_set": {f"{RESULTS_KEY}->reactions": energies}}],
        )


@explicit_serialize
class RunBridge(_Base):
    """The study's continuum bridge on its reaction energies (after the reaction Firework).

    The energies are read from the results database through
    :func:`atomistics.db.reactions_from_db`, for this engine and protocol only. An
    energy built from unconverged inputs is not used (status "not evaluated") unless the
    study's ``bridge.allow_unconverged`` opts in: the rule of ``atomistics run``
    (:func:`atomistics.stored_reactions.unconverged_reason`).
    The result goes to the launch's ``stored_data`` and to
    ``<workdir>/<study>/bridge-<engine>.json``. A bridge that does not apply to the
    numbers is recorded as such, not fizzled: the calculations it follows are valid.
    """

    required_params = ["study", "bridge", "engine", "db", "workdir"]
    optional_params = ["protocol"]

    def run_task(self, fw_spec):
        from atomistics import db as dbmod
        from atomistics.continuum.study_bridge import parse_bridge_spec, run_study_bridge
        from atomistics.stored_reactions import (
            bridge_inputs,
            stored_solvation,
            unconverged_reason,
        )

        db = self.connect(fw_spec)
        stored = dbmod.reactions_from_db(db, self["study"], self["engine"], self.get("protocol"))
        spec = parse_bridge_spec(self["bridge"])
        inputs = bridge_inputs(spec.exchange, spec.surface_anion, spec.cation_anion, stored)
        energies: dict[str, float] = {}
        used = []
        if inputs is None:
            have = [r.name for r in stored]
            result = {
                "not_evaluated": f"the reactions the bridge needs are not stored (have {have})"
            }
            status = "not evaluated"
        else:
            binding, records, _ = inputs
            used = list(records.values())
            energies = {n: r.energy_ev for n, r in records.items()}
            refused = unconverged_reason(records, list(records), spec.allow_unconverged)
            if refused:
                result, status = {"not_evaluated": refused}, "not evaluated"
            else:
                try:
                    solvation = stored_solvation(self["bridge"], records)
                    bridged = run_study_bridge(
                        self["bridge"], binding, records, solvation=solvation
                    )
                    result, status = jsonable(bridged.to_dict()), "computed"
                except AtomisticsError as exc:
                    result, status = {"not_evaluated": str(exc)}, "not evaluated"
        record = {"study": self["study"], "engine": self["engine"], "status": status}
        record.update(
            protocol=used[0].protocol if used else self.get("protocol"),
            binding_energies_ev=energies,
            bridge=result,
        )
        workdir = Path(self.workdir(fw_spec))
        out = inside(workdir / self["study"] / f"bridge-{self['engine']}.json", workdir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.part")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(out)
        return FWAction(stored_data={"status": status, "file": str(out), **record})
