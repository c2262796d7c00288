"""Every reaction energy of a study, with its corrections: the one loop both paths call.

``atomistics run`` (:func:`atomistics.runner.run_study`) and the FireWorks reaction task
(:class:`atomistics.fireworks.tasks.ComputeReactions`) call these functions, in this order:

1. :func:`check_study_corrections`: every correction's pre-flight check, before any job;
2. :func:`count_correction_calculations`: how many calculations the corrections add
   (the progress bar);
3. :func:`compute_study_reactions`: per reaction, counterpoise → assemble → vacuum series;
4. :func:`attach_exchange_solvation`: the bridge's exchange reaction's ΔΔG_solv
   (``bridge.solvation``), stored on that reaction's record like the other corrections.

Every correction runs its calculations through one callable ``run_one(calc, engine)``
(cached in the results database, or computed and stored).

| Correction | Asked for by | Record on the reaction | Module |
|---|---|---|---|
| counterpoise (BSSE) | ``counterpoise: true`` | ``corrections["counterpoise"]`` (in ``energy_ev``) | :mod:`atomistics.reactions` |
| vacuum series (charged cell) | ``vacuum_series: [...]`` | ``corrections["vacuum_series"]`` | :mod:`atomistics.reactions.vacuum_series` |
| implicit solvent ΔΔG_solv | ``bridge.solvation`` | ``corrections["solvation"]`` | :mod:`atomistics.reactions.solvation` |

The names are :data:`atomistics.reactions.CORRECTIONS`; the row keeps each record under
``data["corrections"]`` and its summary columns (:func:`atomistics.db.correction_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ase import Atoms

from atomistics import reactions as rx
from atomistics.engines.base import Engine
from atomistics.errors import AtomisticsError
from atomistics.execution import CalcResult, Calculation
from atomistics.reactions import solvation as solv
from atomistics.reactions.vacuum_series import n_series_calculations, run_vacuum_series

#: Runs (or reuses from the database) one planned calculation with an engine.
RunOne = Callable[[Calculation, Engine], CalcResult]


def check_bridge_exchange(bridge: Mapping | None, specs: Mapping, structures, where=None) -> None:
    """``bridge.exchange`` names a neutral reaction: refused before any job otherwise.

    A charged-fragment binding energy (Li⁺ + FSI⁻ → LiFSI) is not an exchange energy; the
    bridge would refuse it (``continuum.coating_model.check_neutral_exchange``) only after every
    calculation had run. (This module sits below the continuum package, so the rule is
    checked here on the built structures' charges.)
    """
    name = (bridge or {}).get("exchange")
    spec = specs.get(name) if name else None
    if spec is None:
        return
    if any(
        int(structures[n].info.get("charge", 0)) != 0 for n in (*spec.reactants, *spec.products)
    ):
        raise AtomisticsError(
            f"{where or 'bridge.exchange'} = {name!r} is a binding energy of charged "
            "fragments, not an exchange energy: the bridge's exchange must be a neutral "
            "reaction, slab + [Li+FSI-] -> slab.(FSI- + Li+) (workflows/limmt_exchange_2x1.yaml); "
            "name a neutral exchange reaction, or bridge.surface_anion / bridge.cation_anion "
            "for the charged-fragment binding energies (FITTED screening path)"
        )


def check_study_corrections(study, structures, engine: Engine, systems) -> dict | None:
    """Every pre-flight check of the study's reactions and corrections (before any job).

    Returns the ``bridge.solvation`` section when the study asks for ΔΔG_solv, else None.
    """
    rx.check_engine_can_run(study, structures, engine, systems)
    check_bridge_exchange(
        study.bridge, study.all_reactions, structures, study.where("bridge", "exchange")
    )
    section = (study.bridge or {}).get("solvation")
    if section is None:
        return None
    spec = study.all_reactions[study.bridge["exchange"]]
    try:
        solv.check_solvation(section, engine, structures, [*spec.reactants, *spec.products])
    except AtomisticsError as exc:  # e.g. a solvent tblite has no parameters for
        where = study.location("bridge", "solvation")
        if not where:
            raise
        raise AtomisticsError(f"{where}: {exc}") from None
    return section


def count_correction_calculations(specs: Mapping) -> int:
    """Calculations the counterpoise and vacuum-series corrections add (the progress bar;
    the solvation correction announces its own count when it starts)."""
    n = sum(2 * len(s.binding[1]) for s in specs.values() if s.counterpoise)
    return n + sum(n_series_calculations(s) for s in specs.values())


def compute_study_reactions(
    study: str,
    specs: Mapping,
    structures: Mapping[str, Atoms],
    finals: Mapping[str, CalcResult],
    engine: Engine,
    run_one: RunOne,
) -> list[rx.ReactionEnergy]:
    """Each reaction of ``specs`` from the final single points ``finals``, with its
    counterpoise and vacuum-series corrections (their calculations through ``run_one``)."""
    entries = []
    for name, spec in specs.items():
        cp = None
        if spec.counterpoise:
            plans = rx.plan_counterpoise(
                study, name, spec, structures, finals[spec.binding[0]], engine
            )
            cp = [(run_one(own, engine), run_one(ghost, engine)) for own, ghost in plans]
        entry = rx.assemble(name, spec, finals, cp)
        if spec.vacuum_series:  # a charged slab's series, fitted (reactions.vacuum_series)
            entry.add_correction(
                "vacuum_series",
                run_vacuum_series(study, name, spec, structures, finals, engine, run_one),
            )
        entries.append(entry)
    return entries


def attach_exchange_solvation(
    study: str,
    bridge: Mapping | None,
    entries: list[rx.ReactionEnergy],
    structures: Mapping[str, Atoms],
    finals: Mapping[str, CalcResult],
    engine: Engine,
    run_one: RunOne,
    planned: Callable[[int], None] | None = None,
) -> solv.SolvationCorrection | None:
    """ΔΔG_solv of the bridge's exchange reaction (``bridge.solvation``), computed
    (:func:`atomistics.reactions.solvation.compute_solvation`) and stored on its entry's
    ``solvation`` record; None when the study does not ask for it."""
    section = (bridge or {}).get("solvation")
    if section is None:
        return None
    name = bridge["exchange"]
    entry = next((e for e in entries if e.name == name), None)
    if entry is None:
        raise AtomisticsError(f"bridge.solvation: the exchange reaction {name!r} was not computed.")
    correction = solv.compute_solvation(
        study,
        name,
        entry.reactants,
        entry.products,
        structures,
        finals,
        engine,
        section,
        run_one,
        planned,
    )
    entry.add_correction("solvation", correction.to_record())
    return correction
