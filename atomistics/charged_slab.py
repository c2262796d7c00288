"""Charged-slab energies from a vacuum series: E(L) = a + b·L + c/L, fitted and extrapolated.

Why a series. A slab + FSI⁻ cell has charge q = −1. Under 3D-periodic
electrostatics a homogeneous neutralising background is added, and the total
energy then depends on the cell height L (= c ∥ z) in a way that has no finite
limit: the charge–background interaction grows linearly with the vacuum
(Freysoldt & Neugebauer, Phys. Rev. B 97, 205425 (2018), Sec. II; Komsa &
Pasquarello, Phys. Rev. Lett. 110, 095505 (2013) for charged surfaces and
interfaces; Komsa, Berseneva, Krasheninnikov & Nieminen, Phys. Rev. X 4,
031044 (2014) for 2D materials). Even without a background, a laterally
periodic charged sheet has a field that never decays, so "infinite vacuum at
fixed in-plane cell" is not a finite energy either. The Makov–Payne 1/L, 1/L³
expansion (Phys. Rev. B 51, 4014 (1995)) is for cubic 3D scaling and does not
apply to a slab whose in-plane cell is fixed.

Model (independent derivation, tested in ``tests/test_charged_slab.py``).
Planar-average a charge distribution s(z) of total sheet density σ = q/A
(A the in-plane area) in a cell of height L with the background −σ/L. The 1D
periodic Poisson kernel with zero mean is G(z) = 2π(z²/L − |z| + L/6)
(Gaussian units), and the background drops out of ∫∫ s G s because G has zero
mean. Hence, exactly as long as s(z) vanishes near the cell boundary,

    E(L) = π q² L / (6A)  −  π A ∫∫ s(z) s(z′) |z − z′| dz dz′  +  2π q² Var_s(z) / (A L)
         =      b·L        +               a                    +        c / L,

with Var_s the second central moment of s/σ (for a neutral, polar slab the
same c/L term is the image dipole interaction, Neugebauer & Scheffler,
Phys. Rev. B 46, 16067 (1992)). Multiply by e²/(4πε₀) = 14.3996 eV·Å for eV.
A dielectric slab polarised by the background field adds terms the fit
absorbs to the accuracy its residuals show.

What is reported. :func:`fit_vacuum_series` fits a + bL + c/L (L = cell
height, the variable in which the background term is exactly linear) by
least squares and reports ``a`` = lim_{L→∞} [E(L) − bL]: the energy with the
background term removed and the z-image terms extrapolated away. ``a`` still
contains the in-plane image interaction of the fixed lateral cell (only
scaling the in-plane cell removes it, Komsa et al. 2014), so it is comparable
between calculations with the same in-plane cell and charge — above all for a
binding energy whose complex and reference share one cell, where b nearly
cancels and what is left of it (e.g. dielectric polarisation) is reported as
``b`` with its error. For q = 0 and b ≈ 0, ``a`` is the plain L → ∞ limit.
The uncertainty is the standard error of ``a`` from the fit covariance.

Validity: the expansion needs the electron density to vanish near the cell
boundary, i.e. a clear vacuum of several Å; :func:`build_vacuum_series`
refuses clear vacua under ``MIN_SERIES_VACUUM`` Å and warns under
``RECOMMENDED_SERIES_VACUUM`` Å.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.units import Bohr, Hartree

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
from atomistics.study import (
    VACUUM_SERIES_MIN_HEIGHT,
    VACUUM_SERIES_MIN_POINTS,
    distinct_heights,
)

#: e²/(4πε₀) in eV·Å (CODATA via ASE: Hartree × Bohr)
COULOMB_EV_ANGSTROM = Hartree * Bohr
#: Å, smallest clear vacuum accepted in a series (electron density must decay); the
#: study file's ``vacuum_series`` is checked against the same value when it is loaded
MIN_SERIES_VACUUM = VACUUM_SERIES_MIN_HEIGHT
#: Å, below this a warning: xTB/DFT densities decay over a few Å
RECOMMENDED_SERIES_VACUUM = 10.0
#: below this chi² p-value the residuals contradict energy_sigma (warning)
CHI2_P_VALUE = 1e-3


def background_sheet_energy(charge: float, area: float, cell_height: float) -> float:
    """π q² L / (6A) · e²/(4πε₀), eV: charge sheet + homogeneous background in a 3D-periodic cell.

    The linear (b·L) term of the model in the module docstring: b = π q² / (6A)
    for a net charge ``charge`` (e) in a cell of in-plane area ``area`` (Å²).
    """
    if area <= 0 or cell_height <= 0:
        raise AtomisticsError("area and cell_height must be positive (Å², Å).")
    return math.pi * charge**2 * cell_height / (6.0 * area) * COULOMB_EV_ANGSTROM


@dataclass(frozen=True)
class VacuumSeriesFit:
    """Least-squares fit of E(L) = a + b·L + c/L (energies in eV, L = cell height in Å)."""

    a: float
    b: float
    c: float
    covariance: np.ndarray
    cell_heights: np.ndarray
    energies: np.ndarray
    dof: int
    uncertainty_source: str  # "energy_sigma", "residuals" or "none (exact fit)"
    notes: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        """The reported energy: ``a`` (see the module docstring for why)."""
        return self.a

    @property
    def uncertainty(self) -> float:
        """Standard error of ``a`` (eV); NaN for an exact 3-point fit without ``energy_sigma``."""
        return (
            float(math.sqrt(self.covariance[0, 0]))
            if np.isfinite(self.covariance[0, 0])
            else float("nan")
        )

    @property
    def b_uncertainty(self) -> float:
        return (
            float(math.sqrt(self.covariance[1, 1]))
            if np.isfinite(self.covariance[1, 1])
            else float("nan")
        )

    @property
    def residuals(self) -> np.ndarray:
        return self.energies - self.predict(self.cell_heights)

    def predict(self, cell_height) -> np.ndarray:
        L = np.asarray(cell_height, float)
        return self.a + self.b * L + self.c / L

    def as_dict(self) -> dict:
        return {
            "value_ev": self.a,
            "uncertainty_ev": self.uncertainty,
            "a_ev": self.a,
            "b_ev_per_angstrom": self.b,
            "b_uncertainty": self.b_uncertainty,
            "c_ev_angstrom": self.c,
            "cell_heights_angstrom": self.cell_heights.tolist(),
            "energies_ev": self.energies.tolist(),
            "residuals_ev": self.residuals.tolist(),
            "dof": self.dof,
            "uncertainty_source": self.uncertainty_source,
            "model": "E(L) = a + b*L + c/L; reported a = lim_{L->inf} [E(L) - b*L]",
            "notes": list(self.notes),
        }


def fit_vacuum_series(
    cell_heights: Sequence[float],
    energies: Sequence[float],
    *,
    energy_sigma: float | Sequence[float] | None = None,
) -> VacuumSeriesFit:
    """Fit E(L) = a + b·L + c/L to ≥ 3 cell heights and return a and its uncertainty.

    ``energy_sigma`` (eV, one value or one per point): the known uncertainty of
    each energy (e.g. the SCF/optimiser tolerance); the covariance is then
    σ²-weighted and absolute. Without it the covariance is scaled by the
    residual variance RSS/(n − 3), which needs ≥ 4 points; an exact 3-point
    fit then has no uncertainty (NaN, with a note). Refused: fewer than 3
    points, non-finite values, non-positive or repeated heights.
    """
    L = np.asarray(cell_heights, dtype=float).ravel()
    E = np.asarray(energies, dtype=float).ravel()
    if L.size != E.size:
        raise AtomisticsError(
            f"vacuum series: {L.size} cell heights but {E.size} energies; give one energy per height."
        )
    if L.size < VACUUM_SERIES_MIN_POINTS:
        raise AtomisticsError(
            f"vacuum series: {L.size} point(s) given, the fit a + bL + c/L needs at least 3 "
            "different vacuum heights."
        )
    if not (np.all(np.isfinite(L)) and np.all(np.isfinite(E))):
        raise AtomisticsError(
            "vacuum series: a cell height or energy is not finite (NaN/inf); rerun or drop that point."
        )
    if np.any(L <= 0):
        raise AtomisticsError("vacuum series: cell heights must be positive lengths in Å.")
    if distinct_heights(L) < VACUUM_SERIES_MIN_POINTS:
        raise AtomisticsError(
            "vacuum series: fewer than 3 distinct cell heights; use at least 3 different vacua."
        )
    X = np.column_stack([np.ones_like(L), L, 1.0 / L])
    if energy_sigma is not None:
        sig = np.broadcast_to(np.asarray(energy_sigma, float), L.shape)
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise AtomisticsError("vacuum series: energy_sigma must be positive and finite (eV).")
    else:
        sig = np.ones_like(L)
    Xw, Ew = X / sig[:, None], E / sig
    # Scale columns for conditioning (L ~ 10–100 Å, 1/L ~ 0.01–0.1 Å⁻¹).
    scale = np.abs(Xw).max(axis=0)
    coef_s, *_ = np.linalg.lstsq(Xw / scale, Ew, rcond=None)
    coef = coef_s / scale
    xtx_inv = np.linalg.inv((Xw / scale).T @ (Xw / scale)) / np.outer(scale, scale)
    dof = int(L.size - 3)
    notes: list[str] = []
    resid = E - X @ coef
    if energy_sigma is not None:
        cov = xtx_inv
        source = "energy_sigma"
        if dof > 0:
            from scipy.stats import chi2 as chi2_dist

            chi2 = float(np.sum((resid / sig) ** 2))
            p_value = float(chi2_dist.sf(chi2, dof))
            if p_value < CHI2_P_VALUE:
                msg = (
                    f"vacuum series: chi² = {chi2:.1f} for {dof} dof (p = {p_value:.1e}): "
                    "a + bL + c/L does not describe the energies within energy_sigma; the "
                    "uncertainty is underestimated."
                )
                warnings.warn(msg, stacklevel=2)
                notes.append(msg)
    elif dof > 0:
        cov = xtx_inv * float(np.sum(resid**2) / dof)
        source = "residuals"
    else:
        cov = np.full((3, 3), np.nan)
        source = "none (exact fit)"
        notes.append(
            "3 points fit a + bL + c/L exactly: no uncertainty; add a 4th vacuum or give energy_sigma."
        )
    return VacuumSeriesFit(
        a=float(coef[0]),
        b=float(coef[1]),
        c=float(coef[2]),
        covariance=cov,
        cell_heights=L,
        energies=E,
        dof=dof,
        uncertainty_source=source,
        notes=notes,
    )


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


def noise_amplification(cell_heights: Sequence[float]) -> float:
    """σ(a) / σ(E) for E(L) = a + bL + c/L at these heights (unweighted least squares).

    The standard error of ``a`` for a unit error on every energy: sqrt([(XᵀX)⁻¹]₀₀)
    with design rows (1, L, 1/L). Heights close together make L and 1/L nearly
    collinear over the range and this factor large (e.g. ≈ 90 for L = 25, 30, 35 Å;
    ≈ 6000 for 25, 25.5, 26 Å).
    """
    return float(_unit_errors(cell_heights)[0])


def _unit_errors(cell_heights: Sequence[float]) -> np.ndarray:
    """Standard errors of (a, b, c) for a unit error on every energy: sqrt(diag (XᵀX)⁻¹)."""
    L = np.asarray(cell_heights, float)
    X = np.column_stack([np.ones_like(L), L, 1.0 / L])
    scale = np.abs(X).max(axis=0)
    xtx_inv = np.linalg.inv((X / scale).T @ (X / scale)) / np.outer(scale, scale)
    return np.sqrt(np.diag(xtx_inv))


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
    b_uncertainty = float(_unit_errors(heights)[1] * sigma)
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


def linear_term_model_spread(cell_heights: Sequence[float], energies: Sequence[float]) -> float:
    """|a₃ − a₂|: the extrapolated value of a + bL + c/L minus that of a + c/L (b = 0).

    Both are least-squares fits over the same points. In a same-cell charged
    reference the background's linear term πq²L/(6A) cancels exactly only for
    identical charge distributions; the slab's dielectric response leaves a
    residual b (Freysoldt & Neugebauer, PRB 97, 205425 (2018)). Whether the data
    resolve that b is what this spread measures: zero when they agree.
    """
    L = np.asarray(cell_heights, dtype=float)
    E = np.asarray(energies, dtype=float)
    full = np.linalg.lstsq(np.column_stack([np.ones_like(L), L, 1.0 / L]), E, rcond=None)[0]
    no_b = np.linalg.lstsq(np.column_stack([np.ones_like(L), 1.0 / L]), E, rcond=None)[0]
    return float(abs(full[0] - no_b[0]))


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
    "COULOMB_EV_ANGSTROM",
    "MAX_NOISE_AMPLIFICATION",
    "MIN_SERIES_VACUUM",
    "SERIES_ENERGY_SIGMA_EV",
    "VACUUM_SERIES_LABEL",
    "VacuumSeriesFit",
    "VacuumSeriesPoint",
    "assemble_vacuum_series",
    "background_sheet_energy",
    "build_vacuum_series",
    "fit_reaction_vacuum_series",
    "fit_vacuum_series",
    "format_vacuum_series",
    "noise_amplification",
    "plan_vacuum_series",
    "run_vacuum_series",
    "series_name",
]
