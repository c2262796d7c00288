"""Firetasks: one calculation is Write -> Run -> Store, as in atomate v1.

Each Firetask wraps one step of :mod:`atomistics.execution` (prepare, execute,
parse + store) and keeps nothing between calls except what FireWorks passes in
the spec. Per-machine settings are resolved on the worker: a value
``">>key<<"`` is looked up in the FWorker's ``env`` (``my_fworker.yaml``); the
FWorker env also overrides the value given at submission for these keys:

===================  =============================================  ====================
FWorker env key      meaning                                        submission default
===================  =============================================  ====================
``results_db``       results database (SQLite path or postgres://)  ``--db``, absolute
``calc_dir``         where calculation folders are written          ``--workdir``, absolute
``cp2k_command``     CP2K launch line (sets ``CP2K_COMMAND``)       job environment
``cp2k_data_dir``    CP2K basis/potential folder (``CP2K_DATA_DIR``)  job environment
===================  =============================================  ====================

Results travel to child Fireworks under ``spec["atomistics_results"][system][stage]``
(``calc_hash``, ``energy_ev`` and, after a relaxation, the geometry); the values
in the results database are the reference.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from fireworks import FiretaskBase, FWAction, explicit_serialize

from atomistics.errors import AtomisticsError
from atomistics.fireworks import embedded

RESULTS_KEY = "atomistics_results"
CALC_KEY = "_atomistics_calc"  # passed between the tasks of one Firework

#: FWorker env key -> process environment variable read by the CP2K engine.
ENGINE_ENV = {"cp2k_command": "CP2K_COMMAND", "cp2k_data_dir": "CP2K_DATA_DIR"}


def env_chk(value: Any, fw_spec: dict, strict: bool = True, default: Any = None) -> Any:
    """Resolve ``">>key<<"`` from the FWorker env (``fw_spec["_fw_env"]``), as atomate does."""
    if value is None:
        return default
    if isinstance(value, str) and value.startswith(">>") and value.endswith("<<"):
        key = value[2:-2]
        env = fw_spec.get("_fw_env") or {}
        if key in env:
            return env[key]
        if strict:
            raise AtomisticsError(
                f"the FWorker has no env key {key!r}: add `env: {{{key}: ...}}` to "
                "my_fworker.yaml on this machine (rlaunch -w my_fworker.yaml)."
            )
        return default
    return value


def worker_setting(task: dict, fw_spec: dict, param: str, env_key: str) -> Any:
    """The FWorker env's ``env_key`` if set, else the task's value (``>>key<<`` resolved)."""
    env = fw_spec.get("_fw_env") or {}
    if env.get(env_key) not in (None, ""):
        return env[env_key]
    return env_chk(task.get(param), fw_spec)


@contextlib.contextmanager
def engine_environment(fw_spec: dict):
    """Export the FWorker's CP2K settings for the engine while a task runs."""
    env = fw_spec.get("_fw_env") or {}
    saved = {}
    for key, var in ENGINE_ENV.items():
        value = env.get(key)
        if value:
            saved[var] = os.environ.get(var)
            os.environ[var] = str(value)
    try:
        yield
    finally:
        for var, old in saved.items():
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def make_engine(name: str, options: dict | None):
    from atomistics.engines import get_engine

    return get_engine(name, **dict(options or {}))


def atoms_to_dict(atoms) -> dict:
    from ase.io.jsonio import encode

    return json.loads(encode(atoms))


def atoms_from_dict(data: dict):
    from ase.io.jsonio import decode

    return decode(json.dumps(data))


def _connect(url: str):
    from atomistics import db as dbmod

    return dbmod.connect(url)


def _stage_input(built, relaxed):
    """The structure a stage starts from (the same rule as ``atomistics run``)."""
    from atomistics.execution import runner

    fn = getattr(runner, "stage_input", None) or runner._stage_input
    return fn(built, relaxed)


def _result_entry(result, with_atoms: bool) -> dict:
    entry = {"calc_hash": result.calc_hash, "energy_ev": float(result.energy_ev)}
    if with_atoms:
        atoms = result.atoms.copy()
        atoms.set_constraint()
        entry["positions"] = atoms.positions.tolist()
        entry["cell"] = [list(map(float, v)) for v in atoms.cell]
    return entry


class _ForSP:
    """The minimal 'previous result' :func:`_stage_input` needs (positions and cell)."""

    def __init__(self, built, entry: dict) -> None:
        import numpy as np

        self.atoms = built.copy()
        self.atoms.positions = np.asarray(entry["positions"], dtype=float)
        if entry.get("cell") is not None:
            self.atoms.cell = np.asarray(entry["cell"], dtype=float)


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
    """Shared parameter handling of the calculation Firetasks."""

    def engine_options(self) -> dict:
        return dict(self.get("engine_options") or {})

    def db_url(self, fw_spec) -> str:
        return str(worker_setting(self, fw_spec, "db", "results_db"))

    def workdir(self, fw_spec) -> str:
        return str(worker_setting(self, fw_spec, "workdir", "calc_dir"))


@explicit_serialize
class WriteCalculation(_Base):
    """Plan one calculation on the worker; write its inputs unless the result is stored.

    The input structure is ``atoms`` (as built at submission) for the relaxation;
    a single point starts from the relaxed geometry its parent passed in
    ``atomistics_results`` (or that was already known at submission).
    """

    required_params = ["study", "system", "stage", "engine", "atoms", "db", "workdir"]
    optional_params = ["engine_options", "aliases"]

    def run_task(self, fw_spec):
        from atomistics.db import find_calculation
        from atomistics.execution import plan_calculation, prepare

        embedded.flush()  # the store now shows this Firework RUNNING
        built = atoms_from_dict(self["atoms"])
        previous = None
        if self["stage"] != "relax":
            entry = ((fw_spec.get(RESULTS_KEY) or {}).get(self["system"]) or {}).get("relax")
            if not entry or "positions" not in entry:
                raise AtomisticsError(
                    f"{self['system']}: no relaxed geometry in the spec ({RESULTS_KEY}."
                    f"{self['system']}.relax); its relax Firework must finish first."
                )
            previous = _ForSP(built, entry)
        atoms = _stage_input(built, previous)
        with engine_environment(fw_spec):
            engine = make_engine(self["engine"], self.engine_options())
            calc = plan_calculation(self["study"], self["system"], self["stage"], atoms, engine)
            db = _connect(self.db_url(fw_spec))
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
    optional_params = ["engine_options"]

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
        with engine_environment(fw_spec):
            engine = make_engine(self["engine"], self.engine_options())
            try:
                execute(directory, engine)
            except Exception as exc:
                raise CalculationFizzled(
                    f"{type(exc).__name__}: {exc}", error_log(directory)
                ) from exc
        return FWAction()


@explicit_serialize
class StoreCalculation(_Base):
    """Parse the finished calculation and store it in the results database (ToDb).

    Passes the energy, content hash and (after a relaxation) the geometry to the
    child Fireworks for every name this calculation serves (``system`` + ``aliases``).
    """

    required_params = ["study", "system", "stage", "engine", "db"]
    optional_params = ["engine_options", "aliases"]

    def run_task(self, fw_spec):
        from atomistics.db import find_calculation
        from atomistics.execution import parse, store

        info = fw_spec.get(CALC_KEY) or {}
        db = _connect(self.db_url(fw_spec))
        if info.get("cached"):
            row = find_calculation(db, info["calc_hash"])
            result = _RowResult(row)
        else:
            with engine_environment(fw_spec):
                engine = make_engine(self["engine"], self.engine_options())
                try:
                    result = parse(Path(info["directory"]), engine)
                except Exception as exc:
                    raise CalculationFizzled(
                        f"{type(exc).__name__}: {exc}", error_log(Path(info["directory"]))
                    ) from exc
            with db:
                store(db, result)
        embedded.flush()
        entry = _result_entry(result, with_atoms=self["stage"] == "relax")
        names = [self["system"], *(self.get("aliases") or [])]
        mods = [{"_set": {f"{RESULTS_KEY}->{n}->{self['stage']}": entry}} for n in names]
        stored = {
            "calc_hash": result.calc_hash,
            "energy_ev": float(result.energy_ev),
            "cached": bool(info.get("cached")),
            "directory": info.get("directory"),
        }
        return FWAction(stored_data=stored, mod_spec=mods)


class _RowResult:
    """A stored calculation row seen through the attributes the tasks read."""

    def __init__(self, row) -> None:
        self.calc_hash = row.calc_hash
        self.energy_ev = float(row.energy)
        self.atoms = row.toatoms()


@explicit_serialize
class ComputeBindingEnergy(FiretaskBase):
    """E_bind = E(complex) - sum E(fragments) from stored single points; store the row.

    The single points are found by content hash (passed by the parent Fireworks or
    known at submission). Counterpoise terms, when the study asks for them, are
    calculations too: each is run here (or reused) with the same steps.
    """

    required_params = [
        "study",
        "name",
        "complex",
        "fragments",
        "engine",
        "db",
    ]
    optional_params = [
        "engine_options",
        "paper_value_ev",
        "counterpoise",
        "structures",
        "workdir",
    ]

    def run_task(self, fw_spec):
        from atomistics import binding as bind
        from atomistics import db as dbmod
        from atomistics.execution.hashing import combine_hashes

        embedded.flush()
        db = _connect(str(worker_setting(self, fw_spec, "db", "results_db")))
        results = fw_spec.get(RESULTS_KEY) or {}
        systems = [self["complex"], *self["fragments"]]
        energies, hashes, protocol = {}, [], ""
        for system in systems:
            entry = (results.get(system) or {}).get("single_point")
            if not entry:
                raise AtomisticsError(
                    f"binding energy {self['name']}: no single point of {system!r} in the spec; "
                    "its Firework must finish first."
                )
            row = dbmod.find_calculation(db, entry["calc_hash"])
            if row is None:
                raise AtomisticsError(
                    f"binding energy {self['name']}: the single point of {system!r} "
                    f"({entry['calc_hash'][:12]}) is not in the results database "
                    f"{self['db']!r}; all workers must share one results database."
                )
            energies[system] = float(row.energy)
            hashes.append(row.calc_hash)
            protocol = row.get("protocol", protocol)
        own = ghost = None
        if self.get("counterpoise"):
            own, ghost = self._counterpoise(fw_spec, db, results)
            hashes += [r.calc_hash for r in own + ghost]
        entry = bind.compute(
            self["name"],
            self["complex"],
            list(self["fragments"]),
            energies,
            self.get("paper_value_ev"),
            [r.energy_ev for r in own] if own else None,
            [r.energy_ev for r in ghost] if ghost else None,
        )
        entry.calc_hashes = hashes
        entry.input_hash = combine_hashes(*hashes)
        dbmod.write_binding_energies(db, self["study"], self["engine"], protocol, [entry])
        embedded.flush()
        return FWAction(
            stored_data={"name": self["name"], "e_bind_ev": entry.e_bind_ev},
            mod_spec=[{"_set": {f"{RESULTS_KEY}->binding->{self['name']}": entry.e_bind_ev}}],
        )

    def _counterpoise(self, fw_spec, db, results):
        from atomistics import binding as bind
        from atomistics.execution import plan_calculation
        from atomistics.execution.runner import run_calculation

        structures = {k: atoms_from_dict(v) for k, v in (self.get("structures") or {}).items()}
        cplx_entry = results[self["complex"]]["single_point"]
        row = _connect_row(db, cplx_entry["calc_hash"])
        cplx = _stage_input(
            structures[self["complex"]],
            _ForSP(
                structures[self["complex"]],
                {"positions": row.positions.tolist(), "cell": row.cell.tolist()},
            ),
        )
        frags = [structures[f] for f in self["fragments"]]
        workdir = str(worker_setting(self, fw_spec, "workdir", "calc_dir"))
        own, ghost = [], []
        with engine_environment(fw_spec):
            engine = make_engine(self["engine"], self.get("engine_options"))
            for fname, (a_own, a_ghost) in zip(
                self["fragments"], bind.counterpoise_structures(cplx, frags), strict=True
            ):
                label = f"{self['complex']}~{fname}"
                meta = {"binding": self["name"], "complex": self["complex"], "fragment": fname}
                for stage, atoms, out in (("cp_own", a_own, own), ("cp_ghost", a_ghost, ghost)):
                    calc = plan_calculation(self["study"], label, stage, atoms, engine, meta)
                    out.append(run_calculation(calc, workdir, engine, db))
        return own, ghost


def _connect_row(db, calc_hash):
    from atomistics import db as dbmod

    row = dbmod.find_calculation(db, calc_hash)
    if row is None:
        raise AtomisticsError(f"calculation {calc_hash[:12]} is not in the results database.")
    return row


@explicit_serialize
class RunBridge(FiretaskBase):
    """The study's continuum bridge on its binding energies (after every binding Firework).

    Binding energies come from the parents (``mod_spec``) or, for those already
    stored before this submission, from the results database (rows of this engine).
    The result goes to the launch's ``stored_data`` and to
    ``<workdir>/<study>/bridge-<engine>.json``. A bridge that does not apply to the
    numbers (e.g. the surface binds the anion less than Li⁺ does) is recorded as such,
    not fizzled: the calculations it follows are valid.
    """

    required_params = ["study", "bridge", "engine", "db", "workdir"]

    def run_task(self, fw_spec):
        from atomistics import db as dbmod
        from atomistics.cli.continuum import jsonable
        from atomistics.continuum.study_bridge import run_study_bridge

        energies = dict((fw_spec.get(RESULTS_KEY) or {}).get("binding") or {})
        db = _connect(str(worker_setting(self, fw_spec, "db", "results_db")))
        for row in dbmod.binding_rows(db, self["study"]):
            if row.get("engine") == self["engine"]:
                energies.setdefault(row.name, float(row.e_bind_ev))
        try:
            result = jsonable(run_study_bridge(self["bridge"], energies).to_dict())
            status = "computed"
        except AtomisticsError as exc:
            result, status = {"not_evaluated": str(exc)}, "not evaluated"
        record = {"study": self["study"], "engine": self["engine"], "status": status}
        record.update(binding_energies_ev=energies, bridge=result)
        workdir = Path(str(worker_setting(self, fw_spec, "workdir", "calc_dir")))
        out = workdir / self["study"] / f"bridge-{self['engine']}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".json.part")
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(out)
        return FWAction(stored_data={"status": status, "file": str(out), **record})
