"""Stored reactions as the bridge's inputs: read through :mod:`atomistics.db`, returned as numbers.

This adapter sits beside the reactions (below :mod:`atomistics.continuum`), so that the
continuum model takes numbers and returns numbers and never opens the database.

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
    if not entries and (engine or protocol):
        found = engines_and_protocols(db_path, study)
        if found:
            listed = ", ".join(f"{e or '?'}/{p or '?'}" for e, p in found)
            raise AtomisticsError(
                f"results database {redact(db_path)!r} has no reaction energies of study "
                f"{study!r} from {engine or 'any engine'}/{protocol or 'any protocol'}; it has "
                f"{listed} (engine/protocol): choose one with --engine and --protocol"
            )
    have = sorted(e.name for e in entries)
    hint = f"; it has {have}" if have else "; no binding energies stored for this study"
    raise AtomisticsError(
        f"results database {redact(db_path)!r} has no binding energy {name!r} for study "
        f"{study!r}{hint} (run the study first, or give the energies as numbers)"
    )


def engines_and_protocols(db_path: str | Path, study: str) -> list[tuple[str, str]]:
    """The (engine, protocol) pairs of the study's stored reaction energies, sorted."""
    from atomistics import db as dbmod

    rows = dbmod.reaction_rows(dbmod.connect(db_path, readonly=True), study)
    return sorted({(r.get("engine") or "", r.get("protocol") or "") for r in rows})


def stored_solvation(section, records):
    """The exchange reaction's stored ΔΔG_solv when the ``bridge:`` section asks for one.

    ``records``: reaction records by name (:func:`bridge_inputs`). Returns the
    :class:`atomistics.reactions.solvation.SolvationCorrection` that ``atomistics run``
    and the FireWorks reaction task stored on the reaction's record; None when the
    section has no ``solvation:`` or the exchange reaction is not among ``records``.
    """
    from atomistics.reactions.solvation import SolvationCorrection

    name = (section or {}).get("exchange")
    if (section or {}).get("solvation") is None or name not in records:
        return None
    stored = getattr(records[name], "solvation", None)
    if not stored:
        raise AtomisticsError(
            f"bridge.solvation: the stored reaction {name!r} carries no ddG_solv (stored before "
            "ddG_solv was kept with the reaction): rerun `atomistics run` on the study (its "
            "calculations are cached) to store it"
        )
    return SolvationCorrection.from_record(stored)


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


def bridge_inputs(
    exchange: str | None, surface_anion: str, cation_anion: str, reactions
) -> tuple[dict[str, float], dict, list[str]] | None:
    """What a study's ``bridge:`` section takes from these reaction records.

    ``exchange``, ``surface_anion``, ``cation_anion``: the reaction names the section
    gives (:class:`atomistics.continuum.study_bridge.BridgeSpec`). Returns
    ``(binding_energies_ev, reactions_by_name, used)``: the exchange reaction when the
    section names one and it was computed, else the two binding energies of the FITTED
    fallback; ``used`` lists the names the bridge will read (check their
    ``.converged``). ``None`` when the records lack them. ``atomistics run`` and the
    FireWorks bridge task both call this.
    """
    by_name = {r.name: r for r in reactions}
    if exchange is not None and exchange in by_name:
        used = [exchange]
    elif surface_anion in by_name and cation_anion in by_name:
        used = list(dict.fromkeys([surface_anion, cation_anion]))
    else:
        return None
    binding = {n: float(by_name[n].energy_ev) for n in used if n != exchange}
    return binding, {n: by_name[n] for n in used}, used


def unconverged_reason(records: dict, used: list[str], allow_unconverged: bool) -> str | None:
    """Why the bridge is not evaluated on these inputs, or None when it may be.

    The one rule for ``atomistics run`` and the FireWorks bridge task: a reaction energy
    built from unconverged calculations is not used unless the study's
    ``bridge.allow_unconverged`` (or ``atomistics run --allow-unconverged``) opts in.
    """
    bad = [n for n in used if not getattr(records[n], "converged", True)]
    if not bad or allow_unconverged:
        return None
    return (
        f"{', '.join(bad)} built from unconverged calculations (see the table); set "
        "bridge.allow_unconverged: true in the study (atomistics run: --allow-unconverged) "
        "to use them anyway."
    )
