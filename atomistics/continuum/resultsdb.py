"""Read a study's binding energies from its results database (ASE db).

Schema (the contract other parts of the project write to): an ASE database
(:func:`ase.db.connect`, SQLite file or any backend URL) with one row per binding
energy, carrying the key-value pairs

    study=<study name>, kind="binding_energy", name=<binding name>, e_bind_ev=<float>

``E_bind`` is in eV, negative when bound (E_complex - E_parts). The LiMMT study
defines ``li_fsi`` (cation-anion) and ``limmt_fsi`` (surface-anion).
"""

from __future__ import annotations

from pathlib import Path

from atomistics.errors import AtomisticsError

KIND = "binding_energy"


def read_binding_energy(db_path: str | Path, study: str, name: str) -> float:
    """The binding energy [eV] named ``name`` of ``study``; the newest row wins if repeated."""
    import ase.db

    path = Path(db_path)
    if "://" not in str(db_path) and not path.is_file():
        raise AtomisticsError(
            f"results database {str(db_path)!r} not found; pass the path of the study's results.db"
        )
    try:
        db = ase.db.connect(str(db_path))
        rows = list(db.select(study=study, kind=KIND, name=name))
    except Exception as exc:  # corrupt file, wrong format
        raise AtomisticsError(f"cannot read results database {str(db_path)!r}: {exc}") from None
    if not rows:
        available = read_all_binding_energies(db_path, study) if path.is_file() else {}
        hint = (
            f"; it has {sorted(available)}"
            if available
            else "; no binding energies stored for this study"
        )
        raise AtomisticsError(
            f"results database {str(db_path)!r} has no binding energy {name!r} for study {study!r}{hint} "
            "(run the binding-energy workflow first, or give the energies as numbers)"
        )
    row = max(rows, key=lambda r: (r.get("mtime", 0.0), r.id))
    value = row.get("e_bind_ev")
    if value is None:
        raise AtomisticsError(
            f"row {row.id} ({name!r}) in {str(db_path)!r} has no 'e_bind_ev' value"
        )
    return float(value)


def read_all_binding_energies(db_path: str | Path, study: str) -> dict[str, float]:
    """All binding energies [eV] of ``study`` by name (newest row per name)."""
    import ase.db

    db = ase.db.connect(str(db_path))
    out: dict[str, tuple[float, int, float]] = {}
    for row in db.select(study=study, kind=KIND):
        key = (row.get("mtime", 0.0), row.id)
        name = row.get("name")
        if name is None or row.get("e_bind_ev") is None:
            continue
        if name not in out or key > out[name][:2]:
            out[name] = (key[0], key[1], float(row.get("e_bind_ev")))
    return {k: v[2] for k, v in out.items()}
