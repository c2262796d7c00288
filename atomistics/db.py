"""Results database: ASE's database (SQLite file by default, PostgreSQL by URL).

One row per finished calculation (``kind="calculation"``) and one per binding
energy (``kind="binding_energy"``). Rows are plain ASE rows, so the usual
tools work::

    ase db results.db 'study=limmt_fsi,kind=calculation' -c name,stage,engine,energy,scf_converged
    ase db results.db kind=binding_energy -c name,e_bind_ev,paper_value_ev

Keys of a calculation row: study, kind, name, stage, engine, protocol,
calc_hash (the content hash, unique), engine_version, scf_converged,
geo_converged, n_steps, wall_time_s, total_charge, multiplicity, n_warnings,
basis_<El> (CP2K). ``data`` holds settings, warnings, timings and metadata.
Existing rows are never updated or deleted by this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ase.db
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from atomistics import __version__
from atomistics.errors import AtomisticsError
from atomistics.redact import redact

DEFAULT_DB = "results.db"


def connect(url: str | Path = DEFAULT_DB):
    """Open (or create) the results database: a file path or a ``postgresql://`` URL."""
    url = str(url)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            return ase.db.connect(url)
        except (ImportError, ValueError) as exc:
            raise AtomisticsError(
                f"cannot open {redact(url)}: PostgreSQL needs the ase-db-backends package "
                "(pip install 'limmt-atomistics[postgres]')."
            ) from exc
    path = Path(url)
    if path.suffix not in (".db", ".sqlite", ".sqlite3"):
        raise AtomisticsError(
            f"results database {url!r} must end in .db (SQLite) or be a postgresql:// URL."
        )
    if path.parent and not path.parent.exists():
        raise AtomisticsError(f"folder {path.parent} for the results database does not exist.")
    return ase.db.connect(str(path), type="db")


def lock_path(url: str | Path) -> Path | None:
    """The lock file guarding a file database (None for server databases)."""
    url = str(url)
    if "://" in url:
        return None
    # not "<db>.lock": ASE itself locks that file around every write
    return Path(url).with_name(Path(url).name + ".run-lock")


def find_calculation(db, calc_hash: str):
    """The row of the calculation with this content hash, or None."""
    for row in db.select(kind="calculation", calc_hash=calc_hash, limit=1):
        return row
    return None


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_calculation(db, result) -> int:
    """Store a :class:`~atomistics.execution.steps.CalcResult`; return its row id."""
    existing = find_calculation(db, result.calc_hash)
    if existing is not None:
        return existing.id
    atoms: Atoms = result.atoms.copy()
    atoms.set_constraint()
    atoms.calc = SinglePointCalculator(atoms, energy=result.energy_ev, forces=result.forces)
    kvp: dict[str, Any] = {
        "study": result.study,
        "kind": "calculation",
        "name": result.name,
        "stage": result.stage,
        "engine": result.engine,
        "protocol": result.protocol,
        "calc_hash": result.calc_hash,
        "engine_version": result.engine_version,
        "driver_version": __version__,
        "scf_converged": bool(result.scf_converged),
        "n_steps": int(result.n_steps),
        "total_charge": int(result.atoms.info.get("charge", 0)),
        "multiplicity": int(result.atoms.info.get("spin_multiplicity", 1)),
        "n_warnings": len(result.warnings),
    }
    if result.geo_converged is not None:
        kvp["geo_converged"] = bool(result.geo_converged)
    if result.wall_time_s is not None:
        kvp["wall_time_s"] = float(result.wall_time_s)
    for element, basis in (result.metadata.get("basis") or {}).items():
        kvp[f"basis_{element}"] = str(basis)
    data = {
        "settings": json.loads(json.dumps(result.settings, default=str)),
        "warnings": list(result.warnings),
        "timings": {k: float(v) for k, v in result.timings.items()},
        "metadata": json.loads(json.dumps(result.metadata, default=str)),
        "directory": result.directory,
    }
    if "ghost" in result.atoms.arrays:
        data["ghost"] = np.flatnonzero(result.atoms.arrays["ghost"]).tolist()
    return db.write(atoms, key_value_pairs={k: _scalar(v) for k, v in kvp.items()}, data=data)


def binding_key(study: str, name: str, engine: str, input_hash: str) -> str:
    return f"{study}:{name}:{engine}:{input_hash[:16]}"


def write_binding_energies(db, study: str, engine: str, protocol: str, entries) -> list[int]:
    """Store binding energies (one transaction); an identical row is not written twice."""
    ids = []
    with db:
        for b in entries:
            key = binding_key(study, b.name, engine, b.input_hash)
            found = [r.id for r in db.select(kind="binding_energy", binding_key=key, limit=1)]
            if found:
                ids.append(found[0])
                continue
            kvp = {
                "study": study,
                "kind": "binding_energy",
                "name": b.name,
                "e_bind_ev": float(b.e_bind_ev),
                "e_bind_raw_ev": float(b.e_bind_raw_ev),
                "counterpoise": bool(b.counterpoise),
                "complex": b.complex,
                "fragments": ",".join(b.fragments),
                "engine": engine,
                "protocol": protocol,
                "binding_key": key,
            }
            if b.bsse_ev is not None:
                kvp["bsse_ev"] = float(b.bsse_ev)
            if b.paper_value_ev is not None:
                kvp["paper_value_ev"] = float(b.paper_value_ev)
            data = {"calc_hashes": list(b.calc_hashes), "energies_ev": b.energies_ev}
            ids.append(db.write(Atoms(), key_value_pairs=kvp, data=data))
    return ids


def calculation_rows(db, study: str | None = None) -> list:
    query: dict[str, Any] = {"kind": "calculation"}
    if study:
        query["study"] = study
    return list(db.select(**query))


def binding_rows(db, study: str | None = None, latest: bool = True) -> list:
    """Binding-energy rows; with ``latest`` only the newest per (study, name, engine)."""
    query: dict[str, Any] = {"kind": "binding_energy"}
    if study:
        query["study"] = study
    rows = sorted(db.select(**query), key=lambda r: r.id)
    if not latest:
        return rows
    newest: dict[tuple, Any] = {}
    for r in rows:
        newest[(r.study, r.name, r.engine)] = r
    return list(newest.values())
