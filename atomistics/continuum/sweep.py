r"""Vectorised Sand's-time sweeps over (J, t+, c0, D) with the numerical solver.

For a homogeneous cell the problem has a single dimensionless group. With
``Dp = D_eff/eps``, ``T = Dp t / L^2`` and ``g(T)`` the dimensionless surface
depletion of the unit problem (``dc/dT = d2c/dX2`` on [0, 1], ``dc/dX = 1`` at
both ends, ``c(X, 0) = 0``, ``g = -c(0, T)``), every cell obeys

    c(0, t) = c0 - [J (1 - t+) L / (F D_eff)] g(D_p t / L^2).

So Sand's time satisfies ``g(T*) = gamma = F D_eff c0 / (J (1 - t+) L)``, and exists
only for ``gamma < 1/2`` (i.e. ``J > J_lim``). :func:`sand_time_sweep` solves the
unit problem once with the finite-volume solver, tabulates ``g``, and inverts it for
all cases at once with splines (for ``T < 0.005`` the image terms are below
``exp(-50)`` and the closed semi-infinite form ``T = pi gamma^2/4`` is exact, so it is used) (``sqrt(T)`` against ``g`` for short times, where
``g ≈ 2 sqrt(T/pi)``; ``T`` against ``ln(1/2 - g)`` for long times, where the
slowest mode dominates). Layered stacks have more dimensionless groups; sweep
those by calling :func:`atomistics.continuum.transport.simulate` per case.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import CubicSpline

from atomistics.continuum.constants import FARADAY
from atomistics.continuum.sand import effective_diffusivity, sand_time
from atomistics.continuum.transport import Layer, simulate
from atomistics.errors import AtomisticsError

_T_SEMI_INFINITE = 0.005  # below this T the finite-cell correction is < exp(-50)
_SWITCH = 0.42  # g at which the inversion switches from sqrt(T) to ln(1/2 - g) coordinates


@lru_cache(maxsize=4)
def _unit_curve(rtol: float, cells: int) -> tuple[CubicSpline, CubicSpline, float]:
    """Splines of the unit-problem depletion g(T) computed with the FV solver."""
    # Unit problem: D_eff = 1, eps = 1, t+ = 0, J = F  => boundary gradient 1; c0 = 1 only
    # sets the error scale (the depletion tends to 1/2).
    res = simulate(
        [Layer(1.0, 1.0, 0.0)],
        1.0,
        FARADAY,
        t_end=3.0,
        stop_at_sand=False,
        rtol=rtol,
        cells_per_layer=cells,
    )
    t = res.times[1:]
    g = 1.0 - res.surface[1:]
    keep = np.concatenate([[True], np.diff(g) > 0])  # strictly increasing for the inverse
    t, g = t[keep], g[keep]
    short = g <= _SWITCH + 0.03
    long_ = (g >= _SWITCH - 0.03) & (0.5 - g > 1e-9)
    inv_short = CubicSpline(g[short], np.sqrt(t[short]))
    inv_long = CubicSpline(np.log(0.5 - g[long_])[::-1], t[long_][::-1])
    return inv_short, inv_long, float(g[0])


def sand_time_sweep(
    c0: ArrayLike,
    diffusivity: ArrayLike,
    current_density: ArrayLike,
    t_plus: ArrayLike,
    length: ArrayLike | None = None,
    porosity: ArrayLike = 1.0,
    tortuosity: ArrayLike = 1.0,
    *,
    rtol: float = 1e-9,
    cells: int = 800,
) -> NDArray[np.float64]:
    """Sand's time [s] for every combination of the broadcast inputs (``inf`` if J <= J_lim).

    ``length=None`` is the semi-infinite electrolyte (closed form, :func:`sand_time`).
    With a length, the numerical unit curve is inverted as described in the module
    docstring; relative accuracy is about 1e-5 (set by the unit solve's mesh).
    """
    if length is None:
        return np.asarray(sand_time(c0, diffusivity, current_density, t_plus, porosity, tortuosity))
    c0a, da, ja, tpa, la, epsa, tta = np.broadcast_arrays(
        *(
            np.asarray(v, float)
            for v in (c0, diffusivity, current_density, t_plus, length, porosity, tortuosity)
        )
    )
    if np.any(ja <= 0) or np.any(c0a <= 0) or np.any(la <= 0):
        raise AtomisticsError("c0, current density and length must all be > 0")
    if np.any((tpa < 0) | (tpa >= 1)):
        raise AtomisticsError("t+ must lie in [0, 1)")
    d_eff = np.asarray(effective_diffusivity(da, epsa, tta), float)
    gamma = FARADAY * d_eff * c0a / (ja * (1.0 - tpa) * la)
    inv_short, inv_long, _ = _unit_curve(rtol, cells)
    g_min = 2.0 * np.sqrt(_T_SEMI_INFINITE / np.pi)
    out = np.full(gamma.shape, np.inf)
    t_scale = epsa * la**2 / d_eff
    tiny = gamma < g_min
    # For T < _T_SEMI_INFINITE the depletion layer is much thinner than the cell and
    # g = 2 sqrt(T/pi) exactly up to image terms of order exp(-1/(4T)) < 1e-21.
    out[tiny] = np.pi * gamma[tiny] ** 2 / 4.0 * t_scale[tiny]
    short = ~tiny & (gamma <= _SWITCH)
    out[short] = inv_short(gamma[short]) ** 2 * t_scale[short]
    long_ = (gamma > _SWITCH) & (gamma < 0.5)
    out[long_] = inv_long(np.log(0.5 - gamma[long_])) * t_scale[long_]
    return out
