"""The charged cell's energy against its height: E(L) = a + b·L + c/L, fitted and extrapolated.

Pure physics (NumPy): no structures, no calculations. The study-level vacuum series
(:mod:`atomistics.reactions.vacuum_series`) builds the cells, runs them and calls this fit.

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
boundary, i.e. a clear vacuum of several Å; :func:`atomistics.reactions.vacuum_series.build_vacuum_series`
refuses clear vacua under ``MIN_SERIES_VACUUM`` Å and warns under
``RECOMMENDED_SERIES_VACUUM`` Å.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ase.units import Bohr, Hartree

from atomistics.errors import AtomisticsError

#: a + bL + c/L has three parameters: the fit needs this many distinct heights
VACUUM_SERIES_MIN_POINTS = 3


def distinct_heights(heights) -> int:
    """How many distinct heights (Å, equal to 1e-6) a vacuum series has (the one rule the
    study check, the builder and the fit share)."""
    return len({round(float(h), 6) for h in heights})


#: e²/(4πε₀) in eV·Å (CODATA via ASE: Hartree × Bohr)
COULOMB_EV_ANGSTROM = Hartree * Bohr


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


def noise_amplification(cell_heights: Sequence[float]) -> float:
    """σ(a) / σ(E) for E(L) = a + bL + c/L at these heights (unweighted least squares).

    The standard error of ``a`` for a unit error on every energy: sqrt([(XᵀX)⁻¹]₀₀)
    with design rows (1, L, 1/L). Heights close together make L and 1/L nearly
    collinear over the range and this factor large (e.g. ≈ 90 for L = 25, 30, 35 Å;
    ≈ 6000 for 25, 25.5, 26 Å).
    """
    return float(unit_errors(cell_heights)[0])


def unit_errors(cell_heights: Sequence[float]) -> np.ndarray:
    """Standard errors of (a, b, c) for a unit error on every energy: sqrt(diag (XᵀX)⁻¹)."""
    L = np.asarray(cell_heights, float)
    X = np.column_stack([np.ones_like(L), L, 1.0 / L])
    scale = np.abs(X).max(axis=0)
    xtx_inv = np.linalg.inv((X / scale).T @ (X / scale)) / np.outer(scale, scale)
    return np.sqrt(np.diag(xtx_inv))


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


__all__ = [
    "CHI2_P_VALUE",
    "VACUUM_SERIES_MIN_POINTS",
    "distinct_heights",
    "COULOMB_EV_ANGSTROM",
    "VacuumSeriesFit",
    "background_sheet_energy",
    "fit_vacuum_series",
    "linear_term_model_spread",
    "noise_amplification",
    "unit_errors",
]
