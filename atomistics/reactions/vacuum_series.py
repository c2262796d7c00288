"""The vacuum series of a charged cell in a study: build the cells, plan and run their
calculations, assemble and format the extrapolated reaction energy.

The physics (why E(L) = a + bL + c/L, the fit and its error) is in
:mod:`atomistics.charged_cell`. Validity: the expansion needs the electron density to
vanish near the cell boundary, i.e. a clear vacuum of several Å;
:func:`build_vacuum_series` refuses clear vacua under ``MIN_SERIES_VACUUM`` Å and warns
under ``RECOMMENDED_SERIES_VACUUM`` Å.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from atomistics.charged_cell import (
    VACUUM_SERIES_MIN_POINTS,
    VacuumSeriesFit,
    distinct_heights,
    fit_vacuum_series,
    linear_term_model_spread,
    noise_amplification,
    unit_errors,
)
from atomistics.errors import AtomisticsError
from atomistics.execution import (
    CalcResult,
    Calculation,
    plan_calculation,
    stage_input,
    why_unconverged,
)
from atomistics.execution.hashing import round_positions
from atomistics.structures.exchange import (
    clear_vacuum,
    molecule_in_cell,
    slab_in_cell,
    with_clear_vacuum,
)
from atomistics.study import VACUUM_SERIES_MIN_HEIGHT

#: Å, smallest clear vacuum accepted in a series (electron density must decay); the
#: study file's ``vacuum_series`` is checked against the same value when it is loaded
MIN_SERIES_VACUUM = VACUUM_SERIES_MIN_HEIGHT
#: Å, below this a warning: xTB/DFT densities decay over a few Å
RECOMMENDED_SERIES_VACUUM = 10.0


@dataclass
class VacuumSeriesPoint:
    """One vacuum of a series: the complex and its references, all in one cell."""

    vacuum: float  # Å clear above the complex's topmost atom
    cell_height: float  # Å, L in the fit
    structures: dict[str, Atoms]


def build_vacuum_series(
    complex_: Atoms,
    references: Mapping[str, Atoms],
    vacua: Sequence[float] = (15.0, 20.0, 25.0, 30.0),
    *,
    complex_name: str = "complex",
) -> list[VacuumSeriesPoint]:
    """The complex with each clear vacuum above its topmost atom, and its references in that cell.

    ``references``: name → structure. The bare slab the complex was built on
    (same first atoms) is placed with :func:`slab_in_cell` (atoms coinciding
    with the complex's); anything else (an ion, an ion pair) is centred with
    :func:`molecule_in_cell`. Needs ≥ 3 distinct vacua ≥ ``MIN_SERIES_VACUUM``.
    """
    vac = [float(v) for v in vacua]
    if distinct_heights(vac) < VACUUM_SERIES_MIN_POINTS:
        raise AtomisticsError(
            f"a vacuum series needs at least 3 different vacua, got {vac}: e.g. 15 20 25 30."
        )
    bad = [v for v in vac if not math.isfinite(v) or v < MIN_SERIES_VACUUM]
    if bad:
        raise AtomisticsError(
            f"vacua {bad} Å are too small for the fit (the density must decay in the vacuum): "
            f"use ≥ {MIN_SERIES_VACUUM} Å, ideally ≥ {RECOMMENDED_SERIES_VACUUM} Å."
        )
    if min(vac) < RECOMMENDED_SERIES_VACUUM:
        warnings.warn(
            f"vacuum series starts at {min(vac)} Å, below {RECOMMENDED_SERIES_VACUUM} Å: the "
            "a + bL + c/L form may not hold there.",
            stacklevel=2,
        )
    if complex_name in references:
        raise AtomisticsError(f"reference name {complex_name!r} clashes with the complex's name.")
    n_slab = int(complex_.info.get("n_slab_atoms", -1))
    points = []
    for v in sorted(vac):
        cx = with_clear_vacuum(complex_, v)
        structures = {complex_name: cx}
        for name, ref in references.items():
            # the bare slab: its atoms where the complex's slab atoms are, or, when those
            # relaxed away, shifted rigidly so the mean heights agree (slab_in_cell)
            is_slab = len(ref) == n_slab and np.array_equal(ref.numbers, complex_.numbers[:n_slab])
            structures[name] = (
                slab_in_cell(ref, cx, allow_relaxed=True) if is_slab else molecule_in_cell(ref, cx)
            )
        points.append(
            VacuumSeriesPoint(
                vacuum=clear_vacuum(cx), cell_height=float(cx.cell[2, 2]), structures=structures
            )
        )
    return points


def fit_reaction_vacuum_series(
    points: Sequence[VacuumSeriesPoint],
    energies: Sequence[Mapping[str, float]],
    coefficients: Mapping[str, float],
    *,
    energy_sigma: float | None = None,
) -> VacuumSeriesFit:
    """Fit ΔE(L) = Σ_i ν_i E_i(L) over a series (one energy mapping per point).

    E.g. a charged binding energy: ``{"complex": 1, "slab": -1, "fsi": -1}``.
    ``energy_sigma`` is per structure; the reaction's is σ·sqrt(Σ ν²).
    """
    if len(points) != len(energies):
        raise AtomisticsError("give one energy mapping per vacuum-series point.")
    values = []
    for point, e in zip(points, energies, strict=True):
        missing = [k for k in coefficients if k not in e]
        if missing:
            raise AtomisticsError(
                f"vacuum {point.vacuum:g} Å: no energy for {missing}; every point needs all of "
                f"{list(coefficients)}."
            )
        values.append(sum(float(nu) * float(e[k]) for k, nu in coefficients.items()))
    sigma = None
    if energy_sigma is not None:
        sigma = float(energy_sigma) * math.sqrt(sum(float(nu) ** 2 for nu in coefficients.values()))
    return fit_vacuum_series([p.cell_height for p in points], values, energy_sigma=sigma)


# ----------------------------------------------------------------- a study's vacuum series

#: how the extrapolated energy is labelled in tables, JSON and database rows
VACUUM_SERIES_LABEL = "vacuum-extrapolated (a + bL + c/L)"
#: eV, assumed numerical precision of each single energy of a series (SCF threshold,
#: grid changes with the cell height); propagated through the fit into the uncertainty
SERIES_ENERGY_SIGMA_EV = 1e-3
#: a design whose extrapolated value moves by more than this many times a per-energy
#: error (:func:`noise_amplification`) is ill-conditioned: no value is reported
MAX_NOISE_AMPLIFICATION = 500.0


def series_name(system: str, vacuum: float) -> str:
    """Calculation name of ``system`` at clear vacuum ``vacuum`` Å: ``<system>@vac<vacuum>``."""
    return f"{system}@vac{vacuum:g}"


def plan_vacuum_series(
    study: str,
    reaction: str,
    spec,
    structures: Mapping[str, Atoms],
    finals: Mapping[str, CalcResult],
    engine,
) -> list[tuple[float, VacuumSeriesPoint, dict[str, Calculation]]]:
    """Per requested clear vacuum: the single points of the complex and of each fragment.

    ``spec``: a binding reaction (:class:`atomistics.study.ReactionSpec`) with
    ``vacuum_series``; ``finals``: each system's final single point. Every system is
    taken at its final (relaxed) geometry, which is not relaxed again: only the cell
    height changes. The complex gets exactly the requested clear vacuum above its
    topmost atom (:func:`with_clear_vacuum`); the bare slab and the ions go into that
    same cell (:func:`build_vacuum_series`). Each height is its own calculation
    (``<system>@vac<h>``, own content hash), carrying the convergence of the
    relaxation its geometry comes from.
    """
    if spec.binding is None or not spec.vacuum_series:
        raise AtomisticsError(f"reaction {reaction!r}: no vacuum series to plan.")
    cname, fragments = spec.binding
    cx = stage_input(structures[cname], finals[cname])
    cx.info.setdefault("name", cname)
    refs = {f: stage_input(structures[f], finals[f]) for f in dict.fromkeys(fragments)}
    points = build_vacuum_series(cx, refs, spec.vacuum_series, complex_name=cname)
    out = []
    for requested, point in zip(sorted(spec.vacuum_series), points, strict=True):
        calcs = {}
        for system, atoms in point.structures.items():
            atoms = round_positions(atoms.copy())
            meta = {
                "reaction": reaction,
                "series_of": system,
                "vacuum_series_angstrom": float(requested),
                "cell_height_angstrom": float(point.cell_height),
            }
            calcs[system] = plan_calculation(
                study,
                series_name(system, requested),
                "single_point",
                atoms,
                engine,
                meta,
                previous=finals[system],
            )
        out.append((float(requested), point, calcs))
    return out


def assemble_vacuum_series(
    reaction: str,
    spec,
    planned: Sequence[tuple[float, VacuumSeriesPoint, Mapping[str, Calculation]]],
    results: Sequence[Mapping[str, CalcResult]],
) -> dict:
    """The extrapolated reaction energy from the series' single points (a JSON-able record).

    ΔE(L) = Σ ν E(L) at each cell height L is fitted with :func:`fit_vacuum_series`; the
    reported value is ``a``. Its uncertainty is the larger of (i) the assumed per-energy
    precision :data:`SERIES_ENERGY_SIGMA_EV` propagated through the fit and (ii), with
    ≥ 4 heights, the fit's own residual scatter. When :func:`noise_amplification`
    exceeds :data:`MAX_NOISE_AMPLIFICATION` the fit is ill-conditioned and no value is
    reported (``value_ev`` None, ``status`` says why).
    """

    points = [p for _, p, _ in planned]
    energies = [{s: float(r.energy_ev) for s, r in res.items()} for res in results]
    coefficients = spec.coefficients
    fit = fit_reaction_vacuum_series(points, energies, coefficients)
    heights = fit.cell_heights
    amplification = noise_amplification(heights)
    sigma = SERIES_ENERGY_SIGMA_EV * math.sqrt(sum(nu**2 for nu in coefficients.values()))
    propagated = amplification * sigma
    uncertainty, source = (
        propagated,
        (f"assumed {SERIES_ENERGY_SIGMA_EV * 1e3:g} meV per energy, propagated through the fit"),
    )
    b_uncertainty = float(unit_errors(heights)[1] * sigma)
    if fit.dof > 0 and fit.uncertainty > propagated:
        uncertainty, source = fit.uncertainty, f"fit residuals ({fit.dof} degree(s) of freedom)"
        b_uncertainty = max(b_uncertainty, fit.b_uncertainty)
    # The numerical uncertainty says nothing about the model's form: with b and c strongly
    # correlated over the heights, a + bL + c/L and a + c/L (b = 0, what an exact
    # cancellation of the background terms would give) can extrapolate far apart. That
    # difference is added in quadrature and printed as its own part.
    model_spread = linear_term_model_spread(heights, fit.energies)
    uncertainty = math.hypot(uncertainty, model_spread)
    source += f"; model form (a + bL + c/L vs a + c/L) {model_spread * 1e3:.0f} meV, in quadrature"
    notes = [n for n in fit.notes if "no uncertainty" not in n]
    if amplification > MAX_NOISE_AMPLIFICATION:
        value = None
        status = (
            f"NOT REPORTED: the fit is ill-conditioned (cell heights {_list(heights)} Å too close "
            f"together: an error of 1 meV per energy moves the extrapolated value by "
            f"{amplification:.0f} meV); spread the heights, e.g. [15, 25, 35]."
        )
    else:
        value, status = fit.a, "ok"
    all_results = [r for res in results for r in res.values()]
    unconverged = list(dict.fromkeys(w for r in all_results if (w := why_unconverged(r))))
    return {
        "label": VACUUM_SERIES_LABEL,
        "reaction": reaction,
        "status": status,
        "value_ev": value,
        "uncertainty_ev": None if value is None else float(uncertainty),
        "uncertainty_source": source,
        "noise_amplification": amplification,
        "vacuum_angstrom": [v for v, _, _ in planned],
        "clear_vacuum_angstrom": [float(p.vacuum) for p in points],
        "cell_heights_angstrom": heights.tolist(),
        "energies_ev": fit.energies.tolist(),
        "system_energies_ev": energies,
        "a_ev": fit.a,
        "b_ev_per_angstrom": fit.b,
        "b_uncertainty": b_uncertainty,
        "model_uncertainty_ev": model_spread,
        "c_ev_angstrom": fit.c,
        "residuals_ev": fit.residuals.tolist(),
        "dof": fit.dof,
        "model": "dE(L) = a + b*L + c/L, L = cell height; reported a (Freysoldt & Neugebauer, "
        "PRB 97, 205425 (2018))",
        "converged": not unconverged,
        "unconverged": unconverged,
        "calc_hashes": [r.calc_hash for r in all_results],
        "notes": notes,
    }


def run_vacuum_series(
    study: str,
    reaction: str,
    spec,
    structures: Mapping[str, Atoms],
    finals: Mapping[str, CalcResult],
    engine,
    run_one: Callable[[Calculation, object], CalcResult],
) -> dict:
    """Plan, run (``run_one(calc, engine)``: cached or computed and stored) and fit one
    vacuum series.

    The one function ``atomistics run`` and the FireWorks reaction task call
    (:func:`plan_vacuum_series` → ``run_one`` per calculation →
    :func:`assemble_vacuum_series`).
    """
    planned = plan_vacuum_series(study, reaction, spec, structures, finals, engine)
    results = [{s: run_one(c, engine) for s, c in calcs.items()} for _, _, calcs in planned]
    return assemble_vacuum_series(reaction, spec, planned, results)


def n_series_calculations(spec) -> int:
    """How many single points the vacuum series of ``spec`` takes (0 without one)."""
    if not getattr(spec, "vacuum_series", None) or spec.binding is None:
        return 0
    return len(spec.vacuum_series) * (1 + len(set(spec.binding[1])))


def format_vacuum_series(name: str, record: Mapping, single_cell_ev: float | None = None) -> str:
    """One line for the reaction table: the extrapolated value, or why there is none."""
    vac = "/".join(f"{v:g}" for v in record["vacuum_angstrom"])
    single = "" if single_cell_ev is None else f"; single cell {single_cell_ev:+.3f} eV"
    if record.get("value_ev") is None:
        text = f"{name}: {record['label']}: {record['status']}"
    else:
        text = (
            f"{name}: {record['label']} = {record['value_ev']:+.3f} ± "
            f"{record['uncertainty_ev']:.3f} eV (ΔE at the largest L "
            f"{record['energies_ev'][-1]:+.3f} eV{single})\n"
            f"  fit over clear vacuum {vac} Å (L = {_list(record['cell_heights_angstrom'])} Å): "
            f"b = {record['b_ev_per_angstrom']:+.4f} ± {record['b_uncertainty']:.4f} eV/Å, "
            f"c = {record['c_ev_angstrom']:+.2f} eV·Å; uncertainty: {record['uncertainty_source']}"
        )
    if not record.get("converged", True):
        text += f"\n  NOT CONVERGED inputs of the series: {'; '.join(record['unconverged'])}"
    return text


def _list(values) -> str:
    return "/".join(f"{float(v):.1f}" for v in values)


__all__ = [
    "MAX_NOISE_AMPLIFICATION",
    "MIN_SERIES_VACUUM",
    "SERIES_ENERGY_SIGMA_EV",
    "VACUUM_SERIES_LABEL",
    "VacuumSeriesPoint",
    "assemble_vacuum_series",
    "build_vacuum_series",
    "fit_reaction_vacuum_series",
    "format_vacuum_series",
    "plan_vacuum_series",
    "run_vacuum_series",
    "series_name",
]
