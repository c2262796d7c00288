r"""Exchange current density from a Tafel fit of a polarisation curve.

In the Tafel region (|eta| >> RT/F) Butler-Volmer kinetics reduce to
``eta = (RT/(alpha F)) ln(|i|/i0)`` (Bard & Faulkner, *Electrochemical Methods*, 2nd ed.,
eq. 3.4.11), so a line ``eta = a + b log10|i|`` fitted over a window of overpotentials
gives ``i0 = 10^(-a/b)`` (intercept at eta = 0) and ``alpha = 2.303 RT/(|b| F)``.
Anodic and cathodic branches are fitted separately and i0 reported for each and as
their geometric mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import linregress

from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.errors import AtomisticsError
from atomistics.units import check_cell_temperature


@dataclass
class TafelBranch:
    branch: str
    exchange_current_density: float  # same unit as the input current (A/m^2 for SI)
    tafel_slope: float  # V per decade
    transfer_coefficient: float
    n_points: int
    r_squared: float


@dataclass
class TafelFit:
    branches: dict[str, TafelBranch]
    exchange_current_density: float  # geometric mean of the branches


def tafel_fit(
    overpotential: ArrayLike,
    current_density: ArrayLike,
    eta_window: tuple[float, float] = (0.1, 0.25),
    temperature: float = 298.15,
) -> TafelFit:
    """Fit both Tafel branches with ``eta_window[0] <= |eta| <= eta_window[1]`` [V].

    ``temperature`` is the cell's absolute temperature [K], within 150-500 K
    (:func:`atomistics.units.check_cell_temperature`, the rule every cell model here
    shares): ``alpha = 2.303 RT/(|b| F)`` is proportional to T, so a temperature given
    in the wrong unit (1e-3 K, 25 K for 25 degC) would give a wrong alpha silently, and
    Butler-Volmer kinetics of a liquid-electrolyte cell have no meaning outside a liquid
    electrolyte's range. Non-finite data points are refused.
    """
    eta = np.asarray(overpotential, float)
    i = np.asarray(current_density, float)
    check_cell_temperature(temperature, "Tafel temperature")
    lo, hi = eta_window
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise AtomisticsError(f"Tafel window must satisfy 0 <= low < high, got {eta_window!r}")
    if eta.shape != i.shape or eta.ndim != 1:
        raise AtomisticsError("overpotential and current must be 1D arrays of equal length")
    if not (np.isfinite(eta).all() and np.isfinite(i).all()):
        raise AtomisticsError("overpotential and current must be finite numbers (no NaN or inf)")
    branches = {}
    for name, sign in (("anodic", 1.0), ("cathodic", -1.0)):
        sel = (sign * eta >= lo) & (sign * eta <= hi) & (sign * i > 0)
        if sel.sum() < 3:
            continue
        fit = linregress(np.log10(np.abs(i[sel])), eta[sel])
        a, b = fit.intercept, fit.slope
        i0 = 10.0 ** (-a / b)
        alpha = np.log(10) * GAS_CONSTANT * temperature / (abs(b) * FARADAY)
        branches[name] = TafelBranch(
            name, float(i0), float(b), float(alpha), int(sel.sum()), float(fit.rvalue**2)
        )
    if not branches:
        raise AtomisticsError(
            f"fewer than 3 points with {lo} V <= |eta| <= {hi} V on either branch; widen the window "
            "(--eta-window) or check the overpotential unit"
        )
    i0 = float(np.exp(np.mean([np.log(b.exchange_current_density) for b in branches.values()])))
    return TafelFit(branches, i0)
