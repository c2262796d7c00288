"""Activation energy from resistances measured at several temperatures (Arrhenius plot)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import linregress

from atomistics.continuum.constants import GAS_CONSTANT
from atomistics.errors import AtomisticsError
from atomistics.units import CELL_TEMPERATURE_RANGE_K, check_cell_temperature


@dataclass
class ArrheniusFit:
    activation_energy: float  # J/mol
    activation_energy_stderr: float  # J/mol
    prefactor: float  # conductance prefactor 1/R at 1/T -> 0 [S]
    r_squared: float


def arrhenius_fit(temperature: ArrayLike, resistance: ArrayLike) -> ArrheniusFit:
    """Fit ``1/R = A exp(-E_a/(R_gas T))``: linear regression of ``ln(1/R)`` on ``1/T``.

    ``E_a = -slope * R_gas`` (Arrhenius, Z. Phys. Chem. 4, 226 (1889)); the paper applies
    it to the interfacial/charge-transfer resistances from EIS (13.73 -> 7.32 kJ/mol).
    Temperatures in K, resistances in ohm (any area normalisation cancels in E_a). Each
    temperature must lie in 150-500 K, the range of a liquid-electrolyte cell
    (:func:`atomistics.units.check_cell_temperature`): data outside it are not such a
    cell's, and are most often degC values labelled K (25, 35, ... K).
    """
    t = np.asarray(temperature, float)
    r = np.asarray(resistance, float)
    if t.shape != r.shape or t.ndim != 1 or t.size < 2:
        raise AtomisticsError("need at least two (temperature, resistance) pairs of equal length")
    if not (np.isfinite(t).all() and np.isfinite(r).all()):
        raise AtomisticsError("temperatures and resistances must be finite numbers (no NaN or inf)")
    if np.any(t <= 0) or np.any(r <= 0):
        raise AtomisticsError(
            "temperatures (K) and resistances must all be > 0; were temperatures given in degC without a unit?"
        )
    lo, hi = CELL_TEMPERATURE_RANGE_K
    outside = np.flatnonzero((t < lo) | (t > hi))
    if outside.size:
        k = int(outside[0])
        check_cell_temperature(float(t[k]), f"temperature of data point {k + 1}")
    if np.unique(t).size < 2:
        raise AtomisticsError("need at least two different temperatures")
    fit = linregress(1.0 / t, np.log(1.0 / r))
    stderr = float(fit.stderr * GAS_CONSTANT) if t.size > 2 else float("nan")
    return ArrheniusFit(
        float(-fit.slope * GAS_CONSTANT), stderr, float(np.exp(fit.intercept)), float(fit.rvalue**2)
    )
