"""Read a study's reaction (binding) energies for the bridge, through :mod:`atomistics.db`.

The results database is opened read-only; energies are filtered by study,
engine and protocol (:func:`atomistics.db.reactions_from_db`), so an xtb and a
CP2K energy are never mixed: when the study has both and no engine is given,
the reader refuses and asks for one. Duplicate rows are refused, not chosen
among. ``E`` is in eV (for a binding energy negative when bound,
E_complex − E_parts). The LiMMT study defines ``li_fsi`` (cation–anion) and
``limmt_fsi`` (surface–anion).
"""

from __future__ import annotations

from pathlib import Path

from atomistics.errors import AtomisticsError
from atomistics.redact import redact


def read_reactions(
    db_path: str | Path, study: str, engine: str | None = None, protocol: str | None = None
):
    """The study's :class:`~atomistics.reactions.ReactionEnergy` records (one engine/protocol)."""
    from atomistics import db as dbmod

    return dbmod.reaction_energies(db_path, study, engine, protocol)


def read_reaction(
    db_path: str | Path,
    study: str,
    name: str,
    engine: str | None = None,
    protocol: str | None = None,
):
    """One stored reaction energy record (``.energy_ev``, ``.converged``, ``.engine``...)."""
    entries = read_reactions(db_path, study, engine, protocol)
    for entry in entries:
        if entry.name == name:
            return entry
    have = sorted(e.name for e in entries)
    hint = f"; it has {have}" if have else "; no binding energies stored for this study"
    raise AtomisticsError(
        f"results database {redact(db_path)!r} has no binding energy {name!r} for study "
        f"{study!r}{hint} (run the study first, or give the energies as numbers)"
    )


def read_binding_energy(
    db_path: str | Path,
    study: str,
    name: str,
    engine: str | None = None,
    protocol: str | None = None,
) -> float:
    """The reaction (binding) energy [eV] named ``name`` of ``study``."""
    path = Path(db_path)
    if "://" not in str(db_path) and not path.is_file():
        raise AtomisticsError(
            f"results database {redact(db_path)!r} not found; pass the path of the study's results.db"
        )
    return float(read_reaction(db_path, study, name, engine, protocol).energy_ev)


def read_all_binding_energies(
    db_path: str | Path, study: str, engine: str | None = None, protocol: str | None = None
) -> dict[str, float]:
    """All reaction (binding) energies [eV] of ``study`` by name."""
    return {e.name: e.energy_ev for e in read_reactions(db_path, study, engine, protocol)}
