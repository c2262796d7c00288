"""Results database: ASE's database (SQLite file by default, PostgreSQL by URL).

One row per finished calculation (``kind="calculation"``) and one per reaction
energy (``kind="reaction"``, a binding energy is a reaction). Rows are plain
ASE rows, so the usual tools work::

    ase db results.db 'study=limmt_fsi,kind=calculation' -c +name,stage,engine,geo_converged
    ase db results.db kind=reaction -c name,reaction,e_reaction_ev,converged,paper_value_ev

A calculation row carries the total charge where ASE reads it (``row.charge``,
the sum of the initial charges: the formal charge spread evenly over the atoms,
only the sum means something; the web view ``ase db -w`` shows it. ASE 3.29's
text table fetches a different column for "charge" and prints 0 for every row:
use ``-c +total_charge`` there), the calculator name (``xtb``/``cp2k``),
and the keys study, kind, name, stage, engine, protocol, calc_hash (the content
hash, unique), engine_version, scf_converged, geo_converged (relaxation: fmax
reached; single point: the relaxation its geometry comes from reached it),
n_steps, geo_steps, relax_fmax, fmax_target, geometry_from, wall_time_s,
total_charge, multiplicity, n_warnings, basis_<El> (CP2K). ``data`` holds
settings, warnings, timings, metadata, per-atom masks and ``info``.

A reaction row has no atoms (``natoms`` 0) and says what it is: ``stage =
"reaction"``, ``reaction = "li + fsi -> li_fsi"``, ``label`` (neutral or the
paper's charged-fragment definition), ``e_reaction_ev`` and ``converged``.
A rerun replaces a study's reaction rows for that engine and protocol in one
transaction; readers refuse duplicates instead of picking one.

Reading commands open the database read-only (:func:`connect` with
``readonly=True``): nothing is created or changed in a file that is only read.
Calculation rows are never updated or deleted.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import ase.db
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.db.sqlite import SQLite3Database

from atomistics import __version__
from atomistics.errors import AtomisticsError
from atomistics.execution import CalcResult
from atomistics.paths import check_output_folder
from atomistics.reactions import ReactionEnergy
from atomistics.redact import redact

DEFAULT_DB = "results.db"
KIND_CALC = "calculation"
KIND_REACTION = "reaction"
LEGACY_KIND_BINDING = "binding_energy"  # rows written before reactions (read, never written)

#: Shown by viewers that honour the metadata (``ase db -w`` projects, ASE < 3.23).
DEFAULT_COLUMNS = [
    "id",
    "name",
    "stage",
    "engine",
    "formula",
    "calculator",
    "energy",
    "fmax",
    "charge",
    "scf_converged",
    "geo_converged",
    "e_reaction_ev",
    "converged",
]
KEY_DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "study": ("Study", "Study name (study file's 'name')", ""),
    "kind": ("Kind", "calculation or reaction", ""),
    "name": ("Name", "System (or reaction) name in the study", ""),
    "stage": ("Stage", "relax, single_point, cp_own, cp_ghost or reaction", ""),
    "engine": ("Engine", "xtb or cp2k", ""),
    "protocol": ("Protocol", "CP2K protocol or xtb method", ""),
    "calc_hash": ("Hash", "Content hash of the calculation", ""),
    "scf_converged": ("SCF conv.", "Electronic SCF converged", ""),
    "geo_converged": (
        "Geo conv.",
        "Relaxation reached fmax (single point: its geometry's relaxation did)",
        "",
    ),
    "n_steps": ("Steps", "Optimiser steps of this calculation", ""),
    "geo_steps": ("Geo steps", "Optimiser steps of the relaxation that gave the geometry", ""),
    "relax_fmax": ("Relax fmax", "Largest force on a free atom after the relaxation", "eV/Å"),
    "fmax_target": ("fmax target", "Relaxation convergence threshold", "eV/Å"),
    "total_charge": ("Total charge", "Net charge of the cell", "|e|"),
    "multiplicity": ("2S+1", "Spin multiplicity", ""),
    "wall_time_s": ("Wall time", "Wall time of the calculation", "s"),
    "e_reaction_ev": ("ΔE", "Reaction energy Σν E(products) − Σν E(reactants)", "eV"),
    "e_reaction_raw_ev": ("ΔE raw", "Reaction energy before counterpoise", "eV"),
    "bsse_ev": ("BSSE", "Counterpoise correction", "eV"),
    "paper_value_ev": ("Paper", "Value quoted in the paper (charged fragments)", "eV"),
    "converged": ("Converged", "Every input of the reaction converged (SCF and geometry)", ""),
    "reaction": ("Reaction", "Reaction equation (system names)", ""),
    "label": ("Definition", "neutral, or the paper's charged-fragment definition", ""),
    "e_vacuum_extrapolated_ev": (
        "ΔE(L→∞)",
        "Vacuum-extrapolated (a + bL + c/L) reaction energy of a charged slab",
        "eV",
    ),
    "e_vacuum_uncertainty_ev": ("σ ΔE(L→∞)", "Uncertainty of the vacuum extrapolation", "eV"),
    "vacuum_series_status": ("Series", "ok, or why no extrapolated value is reported", ""),
    "vacuum_series_converged": ("Series conv.", "Every input of the vacuum series converged", ""),
    "ddg_solv_ev": ("ΔΔG_solv", "Implicit-solvent correction of the exchange reaction", "eV"),
    "ddg_solv_sigma_ev": ("σ ΔΔG_solv", "1σ uncertainty of the solvent correction", "eV"),
    "solvation_model": ("Solvent model", "Implicit-solvent model of ΔΔG_solv", ""),
    "solvation_converged": ("Solv. conv.", "Every input of ΔΔG_solv converged", ""),
}


def _safe(url: object) -> str:
    return redact(str(url))


def _is_server(url: str) -> bool:
    return "://" in url


def _check_sqlite_path(path: Path) -> None:
    if path.suffix not in (".db", ".sqlite", ".sqlite3"):
        raise AtomisticsError(
            f"results database {_safe(path)!r} must end in .db (SQLite) or be a postgresql:// URL."
        )


def _ase_tables(path: Path) -> set[str]:
    """Tables of an existing SQLite file, read without writing anything."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise AtomisticsError(f"cannot read {path}: {exc.strerror}.") from None
    if head != b"SQLite format 3\x00":
        raise AtomisticsError(
            f"{path} is not an ASE results database (not an SQLite file): pass the results.db "
            "that `atomistics run` wrote."
        )
    try:
        con = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise AtomisticsError(f"{path} is not a readable SQLite database ({exc}).") from None
    return names


class _ReadOnlySQLite(SQLite3Database):
    """ASE's SQLite backend opened with ``mode=ro``: it cannot create or change anything."""

    def _connect(self):
        return sqlite3.connect(
            f"file:{Path(self.filename).resolve()}?mode=ro", uri=True, timeout=20
        )


#: Python module -> the package that provides it (the ``postgres`` extra, pyproject.toml).
_POSTGRES_PACKAGES = {"ase_db_backends": "ase-db-backends", "psycopg2": "psycopg2-binary"}


def _missing_package(exc: ImportError) -> str:
    """The pip package of the module an ImportError is about (the extra's names)."""
    top = (exc.name or "").split(".")[0]
    if top in _POSTGRES_PACKAGES:
        return _POSTGRES_PACKAGES[top]
    text = str(exc)
    for module, package in _POSTGRES_PACKAGES.items():
        if module in text:
            return package
    return "ase-db-backends"


def _readonly_postgres(url: str):
    """ASE's PostgreSQL database in read-only transactions; refuses a server without ASE's tables."""
    from ase_db_backends.postgresql import Connection, PostgreSQLDatabase
    from psycopg2 import connect as pg_connect

    class ReadOnlyPostgreSQL(PostgreSQLDatabase):
        def _connect(self):
            return Connection(
                pg_connect(self.filename, options="-c default_transaction_read_only=on")
            )

        def _initialize(self, con):
            if not self.initialized:
                cur = con.cursor()
                cur.execute("SELECT to_regclass('information') IS NOT NULL")
                if not cur.fetchone()[0]:
                    raise AtomisticsError(
                        f"{_safe(url)} holds no ASE results database (no 'information' table); "
                        "check --db (nothing was created there)."
                    )
            super()._initialize(con)

    return ReadOnlyPostgreSQL(url)


def connect(url: str | Path = DEFAULT_DB, *, readonly: bool = False):
    """Open the results database: a file path or a ``postgresql://`` URL.

    ``readonly``: for commands that only read. A missing or empty file, or an
    SQLite file that is not an ASE database, is refused (nothing is written); a
    PostgreSQL database is read in read-only transactions, and a server without
    ASE's tables is refused, not initialised.
    """
    url = str(url)
    if _is_server(url):
        if not url.startswith(("postgresql://", "postgres://")):
            raise AtomisticsError(
                f"results database {_safe(url)!r}: only SQLite files and postgresql:// URLs work."
            )
        try:
            # ASE's backend with its two multi-writer races fixed (see atomistics.db_postgres)
            from atomistics.db_postgres import connect_postgres

            return _readonly_postgres(url) if readonly else connect_postgres(url)
        except ImportError as exc:
            raise AtomisticsError(
                f"cannot open {_safe(url)}: a PostgreSQL results database needs the "
                f"{_missing_package(exc)} package, which is not installed: "
                "pip install 'limmt-atomistics[postgres]' (ase-db-backends and psycopg2-binary)."
            ) from None
        except Exception as exc:  # server down, bad credentials
            raise AtomisticsError(
                f"cannot connect to {_safe(url)}: {_safe(exc)}; check the server and the URL."
            ) from None
    path = Path(url)
    _check_sqlite_path(path)
    if readonly:
        if not path.is_file():
            raise AtomisticsError(
                f"no results database {path}: run `atomistics run STUDY --db {path}` first."
            )
        if path.stat().st_size == 0:
            raise AtomisticsError(f"{path} is empty, not a results database: check --db.")
        tables = _ase_tables(path)
        if "systems" not in tables:
            raise AtomisticsError(
                f"{path} is an SQLite file but not an ASE database (no 'systems' table): "
                "check --db; it is left unchanged."
            )
        return _ReadOnlySQLite(str(path))
    if path.is_dir():
        raise AtomisticsError(f"{path} is a folder, not a results database file.")
    if path.is_file() and path.stat().st_size > 0:
        tables = _ase_tables(path)
        if tables and "systems" not in tables:
            raise AtomisticsError(
                f"{path} is an SQLite database of something else (no ASE 'systems' table): "
                "results are not added to it; choose another --db."
            )
    # The one rule for output paths (README, "Output paths"): missing folders are created.
    check_output_folder(path.parent, "--db").mkdir(parents=True, exist_ok=True)
    return ase.db.connect(str(path), type="db")


def lock_target(url: str | Path) -> Path | None:
    """The file a run locks for this database: the SQLite file itself, by its real path.

    A symlink or a relative path to the same file gives the same target, so a
    second run cannot get around the lock. ``None`` for server databases (their
    own transactions guard them).
    """
    url = str(url)
    if _is_server(url):
        return None
    return Path(url).resolve()


def lock_path(url: str | Path) -> Path | None:
    """Backwards-compatible name of :func:`lock_target`."""
    return lock_target(url)


def find_calculation(db, calc_hash: str):
    """The row of the calculation with this content hash, or None."""
    for row in db.select(kind=KIND_CALC, calc_hash=calc_hash, limit=1):
        return row
    return None


def load_result(db, calc_hash: str) -> CalcResult | None:
    """The stored :class:`CalcResult` with this content hash, or None."""
    row = find_calculation(db, calc_hash)
    if row is None:
        return None
    energy = row.get("energy")  # ASE reads a stored NaN energy back as None
    if energy is None or not np.isfinite(energy):
        raise AtomisticsError(
            f"the results database's row {row.id} ({row.get('name')}:{row.get('stage')}) has "
            f"no finite energy ({energy}), written by an older version: delete that row "
            f"(ase db <database> id={row.id} --delete) and run the study again to recompute it."
        )
    return CalcResult.from_row(row)


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _ensure_metadata(db) -> None:
    want = {
        "title": "LiMMT atomistics results",
        "default_columns": DEFAULT_COLUMNS,
        "key_descriptions": KEY_DESCRIPTIONS,
    }
    try:
        current = db.metadata
    except Exception:  # backends without metadata support
        return
    if any(
        json.loads(json.dumps(current.get(k))) != json.loads(json.dumps(v)) for k, v in want.items()
    ):
        try:
            db.metadata = {**current, **want}
        except Exception:
            return


def _row_atoms(result: CalcResult) -> Atoms:
    atoms = result.atoms.copy()
    atoms.set_constraint()
    for key in [k for k in atoms.arrays if k not in ("numbers", "positions")]:
        del atoms.arrays[key]
    charge = result.charge
    # ASE's Charge column is the sum of the initial charges: the formal total, spread evenly
    atoms.set_initial_charges(np.full(len(atoms), charge / len(atoms)) if len(atoms) else None)
    calc = SinglePointCalculator(atoms, energy=result.energy_ev, forces=result.forces)
    calc.name = result.engine
    atoms.calc = calc
    return atoms


def _exclusive(db, name: str):
    """A check-then-write of ``name`` that no other writer interleaves with.

    PostgreSQL: an advisory lock per name for one transaction (:mod:`atomistics.db_postgres`).
    SQLite: nothing here; one `atomistics run` at a time holds the database file's lock
    (:func:`atomistics.runner.study_lock`).
    """
    lock = getattr(db, "exclusive", None)
    return lock(name) if lock is not None else contextlib.nullcontext()


def _transaction(db):
    """``with db:`` unless the caller already holds the database's transaction."""
    return db if getattr(db, "connection", None) is None else contextlib.nullcontext()


def write_calculation(db, result: CalcResult) -> int:
    """Store a :class:`CalcResult` unless its hash is already there; return the row id.

    Idempotent per content hash even with concurrent writers on PostgreSQL: the check and
    the write run under the hash's lock, so a second writer finds the first one's row.
    """
    existing = find_calculation(db, result.calc_hash)
    if existing is not None:
        return existing.id
    _ensure_metadata(db)
    with _transaction(db), _exclusive(db, f"calculation:{result.calc_hash}"):
        existing = find_calculation(db, result.calc_hash)  # again, under the lock
        if existing is not None:
            return existing.id
        return _write_calculation_row(db, result)


def _write_calculation_row(db, result: CalcResult) -> int:
    atoms = _row_atoms(result)
    kvp: dict[str, Any] = {
        "study": result.study,
        "kind": KIND_CALC,
        "name": result.name,
        "stage": result.stage,
        "engine": result.engine,
        "protocol": result.protocol,
        "calc_hash": result.calc_hash,
        "engine_version": result.engine_version,
        "driver_version": __version__,
        "scf_converged": bool(result.scf_converged),
        "n_steps": int(result.n_steps),
        "total_charge": result.charge,
        "multiplicity": int(result.atoms.info.get("spin_multiplicity", 1)),
        "n_warnings": len(result.warnings),
    }
    optional = {
        "geo_converged": None if result.geo_converged is None else bool(result.geo_converged),
        "wall_time_s": None if result.wall_time_s is None else float(result.wall_time_s),
        "relax_fmax": result.fmax_ev_a,
        "fmax_target": result.fmax_target_ev_a,
        "geometry_from": result.geometry_from,
        "geo_steps": result.geo_steps,
    }
    kvp.update({k: v for k, v in optional.items() if v is not None})
    for element, basis in (result.metadata.get("basis") or {}).items():
        kvp[f"basis_{element}"] = str(basis)
    info = {
        k: v
        for k, v in result.atoms.info.items()
        if k in ("charge", "spin_multiplicity", "name", "study", "cell_of", "frame_positions")
    }
    data = {
        "settings": json.loads(json.dumps(result.settings, default=str)),
        "warnings": list(result.warnings),
        "timings": {k: float(v) for k, v in result.timings.items()},
        "metadata": json.loads(json.dumps(result.metadata, default=str)),
        "directory": redact(result.directory),
        "info": json.loads(json.dumps(info, default=str)),
        "masks": {
            k: np.flatnonzero(v).tolist()
            for k, v in result.atoms.arrays.items()
            if np.asarray(v).dtype == bool
        },
    }
    return db.write(atoms, key_value_pairs={k: _scalar(v) for k, v in kvp.items()}, data=data)


def _reaction_kvp(study: str, entry: ReactionEnergy) -> dict[str, Any]:
    kvp = {
        "study": study,
        "kind": KIND_REACTION,
        "stage": "reaction",
        "name": entry.name,
        "reaction": entry.equation,
        "label": entry.label,
        "e_reaction_ev": float(entry.energy_ev),
        "e_reaction_raw_ev": float(entry.energy_raw_ev),
        "counterpoise": bool(entry.counterpoise),
        "converged": bool(entry.converged),
        "charged": bool(entry.charged),
        "engine": entry.engine,
        "protocol": entry.protocol,
        "input_hash": entry.input_hash,
    }
    if entry.paper_value_ev is not None:
        kvp["paper_value_ev"] = float(entry.paper_value_ev)
    kvp.update(correction_columns(entry.corrections))
    return kvp


def correction_columns(corrections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The query columns of a reaction's corrections (:data:`atomistics.reactions.CORRECTIONS`),
    next to ``e_reaction_ev``; the whole records are in the row's ``data["corrections"]``."""
    kvp: dict[str, Any] = {}
    counterpoise = corrections.get("counterpoise")
    if counterpoise:
        kvp["bsse_ev"] = float(counterpoise["bsse_ev"])
    series = corrections.get("vacuum_series")
    if series:  # the vacuum-extrapolated value (atomistics.reactions.vacuum_series)
        kvp["vacuum_series_status"] = str(series["status"])
        kvp["vacuum_series_converged"] = bool(series["converged"])
        if series.get("value_ev") is not None:
            kvp["e_vacuum_extrapolated_ev"] = float(series["value_ev"])
            kvp["e_vacuum_uncertainty_ev"] = float(series["uncertainty_ev"])
    solvation = corrections.get("solvation")
    if solvation:  # ΔΔG_solv of the exchange reaction (bridge.solvation)
        kvp["ddg_solv_ev"] = float(solvation["ddg_ev"])
        kvp["ddg_solv_sigma_ev"] = float(solvation["sigma_ev"])
        kvp["solvation_model"] = str(solvation["model"])
        kvp["solvation_converged"] = bool(solvation["converged"])
    return kvp


def write_reactions(db, study: str, engine: str, protocol: str, entries) -> list[int]:
    """Replace the study's reaction rows of this engine/protocol by ``entries``, in one transaction."""
    entries = list(entries)
    for e in entries:
        if (e.engine, e.protocol) != (engine, protocol):
            raise AtomisticsError(
                f"reaction {e.name!r} is from {e.engine}/{e.protocol}, not {engine}/{protocol}."
            )
    _ensure_metadata(db)
    ids: list[int] = []
    with _transaction(db), _exclusive(db, f"reactions:{study}:{engine}:{protocol}"):
        old = [
            r.id
            for kind in (KIND_REACTION, LEGACY_KIND_BINDING)
            for r in db.select(kind=kind, study=study, engine=engine, include_data=False)
            if r.get("protocol") == protocol
        ]
        if old:
            db.delete(old)
        for e in entries:
            ids.append(
                db.write(Atoms(), key_value_pairs=_reaction_kvp(study, e), data=e.to_record())
            )
    return ids


def calculation_rows(db, study: str | None = None) -> list:
    query: dict[str, Any] = {"kind": KIND_CALC}
    if study:
        query["study"] = study
    return list(db.select(**query))


def reaction_from_row(row) -> ReactionEnergy:
    if row.get("kind") == LEGACY_KIND_BINDING:
        frags = [f for f in str(row.get("fragments", "")).split(",") if f]
        reactants: dict[str, float] = {}
        for f in frags:
            reactants[f] = reactants.get(f, 0.0) + 1.0
        value = float(row.e_bind_ev)
        return ReactionEnergy(
            name=row.name,
            reactants=reactants,
            products={row.get("complex", row.name): 1.0},
            energy_ev=value,
            energy_raw_ev=float(row.get("e_bind_raw_ev", value)),
            paper_value_ev=row.get("paper_value_ev"),
            counterpoise=bool(row.get("counterpoise", False)),
            corrections=(
                {"counterpoise": {"bsse_ev": float(row.bsse_ev)}}
                if row.get("bsse_ev") is not None
                else {}
            ),
            engine=row.get("engine", "") or "",
            protocol=row.get("protocol", "") or "",
            converged=bool(row.get("converged", True)),
        )
    rec = dict(row.data)
    rec.update(
        name=row.name,
        energy_ev=float(row.e_reaction_ev),
        engine=row.engine,
        protocol=row.protocol,
        converged=bool(row.converged),
    )
    return ReactionEnergy.from_record(rec)


def reaction_rows(
    db, study: str | None = None, engine: str | None = None, protocol: str | None = None
) -> list:
    """Reaction rows (and legacy binding-energy rows), filtered; duplicates are an error.

    Two rows with the same (study, name, engine, protocol) can only come from a
    database written outside ``atomistics``; which one is right cannot be known,
    so the reader refuses instead of picking one.
    """
    rows = []
    for kind in (KIND_REACTION, LEGACY_KIND_BINDING):
        query: dict[str, Any] = {"kind": kind}
        if study:
            query["study"] = study
        if engine:
            query["engine"] = engine
        for r in db.select(**query):
            if protocol is not None and r.get("protocol") != protocol:
                continue
            if r.get("name") is None:
                continue
            rows.append(r)
    rows.sort(key=lambda r: r.id)
    seen: dict[tuple, int] = {}
    for r in rows:
        key = (r.get("study"), r.name, r.get("engine"), r.get("protocol"))
        if key in seen:
            raise AtomisticsError(
                f"the results database has two rows (ids {seen[key]} and {r.id}) for reaction "
                f"{r.name!r} of study {key[0]!r} ({key[2]}, {key[3]}): rerun `atomistics run` "
                "for the study (it replaces them) or delete the stale one with `ase db -d`."
            )
        seen[key] = r.id
    return rows


def reactions_from_db(
    db, study: str, engine: str | None = None, protocol: str | None = None
) -> list[ReactionEnergy]:
    """The study's stored reaction energies, one engine and protocol only.

    With ``engine`` None the database must hold one engine's (and one
    protocol's) energies for the study; otherwise the reader must choose.
    """
    rows = reaction_rows(db, study, engine, protocol)
    combos = sorted({(r.get("engine") or "", r.get("protocol") or "") for r in rows})
    if len(combos) > 1:
        listed = ", ".join(f"{e or '?'}/{p or '?'}" for e, p in combos)
        raise AtomisticsError(
            f"study {study!r} has reaction energies from several engines/protocols ({listed}); "
            "choose one (--engine, --protocol) so that an xtb and a CP2K energy are never mixed."
        )
    return [reaction_from_row(r) for r in rows]


def reaction_energies(
    db_url: str | Path, study: str, engine: str | None = None, protocol: str | None = None
) -> list[ReactionEnergy]:
    """Open ``db_url`` read-only and return :func:`reactions_from_db` (the bridge's reader)."""
    return reactions_from_db(connect(db_url, readonly=True), study, engine, protocol)
