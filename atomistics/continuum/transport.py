r"""Finite-volume solver for salt transport in a layered separator at constant current.

Governing equation and its derivation
-------------------------------------
For a dilute 1:1 electrolyte with electroneutrality (``c+ = c- = c``) the cation
flux (superficial, per unit cross-section of the porous medium) is

    N+ = -D_eff dc/dx + t+ i / F,

where ``i`` is the ionic current density (Newman & Thomas-Alyea, *Electrochemical
Systems*, 3rd ed., eqs. 11.19 and 12.10). Current conservation in 1D without
reactions inside the separator makes ``i`` uniform. The cation balance
``eps dc/dt = -dN+/dx`` then reads

    eps dc/dt = d/dx(D_eff dc/dx) - (i . grad t+) / F,

i.e. when ``t+`` depends on position (the coating has its own t+) the migration
flux does not cancel and leaves the source term ``-(i . grad t+)/F`` (Newman &
Thomas-Alyea eq. 12.11, "the term in grad t+"). Here the plating electrode is at
``x = 0`` and the current flows from ``x = L`` to ``x = 0``: ``i = -J`` with ``J > 0``.
At both electrodes all current is carried by Li+: ``N+ = -J/F`` (the flux
boundary condition ``D_eff dc/dx = J (1 - t+)/F``).

Discretisation
--------------
Cell-centred finite volumes in conservative form, so the ``grad t+`` term is
handled exactly at layer interfaces (which are always cell faces). At a face
between cells L and R the flux continuity with piecewise-constant properties gives
the exact two-point flux

    N = -G (c_R - c_L) + t_f (-J/F),   G = a b/(a + b),   t_f = (b t_L + a t_R)/(a + b),

with ``a = 2 D_eff,L/h_L``, ``b = 2 D_eff,R/h_R`` (harmonic conductance and a
conductance-weighted face transference number). The semi-discrete system is
``M dc/dt = -K c + s`` with ``M = diag(eps h)``, ``K`` symmetric tridiagonal and
``s`` constant, integrated by the variable-step BDF2 method (implicit, L-stable
in the limit of small step ratios; Hairer & Wanner, *Solving ODEs II*, sec. III.5)
with each step a symmetric banded solve (:func:`scipy.linalg.solveh_banded`).
The step size adapts to a local error estimate (BDF2 corrector minus a quadratic
extrapolation predictor, Milne's device). The mesh is graded (geometric growth)
towards both ends of every layer, so electrodes and interfaces are resolved.

Sand's time is detected as an event: when the surface concentration (cell value
extrapolated to the wall with the known boundary flux, second order) changes
sign within a step, the step is repeated with a step length found by Brent's
method so that the surface concentration is zero.

Because the system is linear with constant coefficients and a constant source, it
can also be solved in closed form in time by the modes of ``M^{-1/2} K M^{-1/2}``
(:mod:`atomistics.continuum.modal`). :func:`simulate` uses that modal solution by
default whenever Sand's time is wanted (``method="auto"``); BDF2 remains available
(``method="bdf2"``) and is used for open-ended runs (``stop_at_sand=False``), whose
step history gives a dense surface-concentration curve.

Layers with a fixed charge (trapped anions, ``Layer.fixed_charge`` or ``Layer.traps``)
make the system nonlinear; :func:`simulate` and :func:`limiting_current` then hand over
to :mod:`atomistics.continuum.fixedcharge`, which reduces to this model at X = 0. Its
``sand_time`` is Li+ depletion at the plating electrode (a constant X at the wall keeps
``c+ >= X``: never), and ``interface_depletion_time`` the salt running out at a layer
interface, a separate event; :func:`limiting_current` is then the current at which the
salt runs out at the electrode, continuous as X -> 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import solveh_banded
from scipy.optimize import brentq

from atomistics.continuum.constants import FARADAY
from atomistics.continuum.mesh import (
    Discretisation,
    Layer,
    TransportResult,
    banded_operator,
    depletion_zone,
    discretise,
    graded_faces,
    semi_infinite_estimate,
)
from atomistics.continuum.modal import simulate_modal
from atomistics.errors import AtomisticsError

__all__ = [
    "Discretisation",
    "Layer",
    "TransportResult",
    "depletion_zone",
    "discretise",
    "graded_faces",
    "limiting_current",
    "simulate",
    "steady_state",
]


def _apply_k(disc: Discretisation, c: NDArray[np.float64]) -> NDArray[np.float64]:
    flux = disc.conductance * np.diff(c)  # G (c_R - c_L)
    out = np.zeros_like(c)
    out[:-1] -= flux
    out[1:] += flux
    return out


def simulate(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    t_end: float | None = None,
    *,
    profile_times: Sequence[float] = (),
    stop_at_sand: bool = True,
    rtol: float = 1e-7,
    cells_per_layer: int | Sequence[int] = 400,
    growth: float | None = None,
    disc: Discretisation | None = None,
    method: str = "auto",
) -> TransportResult:
    """Integrate ``M dc/dt = -K c + s`` from the uniform state ``c0`` (see module docstring).

    ``method``: ``"modal"`` solves the system in closed form in time (modes)
    (:func:`atomistics.continuum.modal.simulate_modal`; ``rtol`` is then unused and
    ``times``/``surface`` hold a geometric scan of the surface concentration);
    ``"bdf2"`` time-steps it; ``"auto"`` (default) is modal when ``stop_at_sand``
    and BDF2 otherwise.

    ``growth=None`` grades the mesh automatically (:func:`depletion_zone`) so that the
    depletion layer expected at Sand's time is resolved; a number fixes the growth. ``rtol`` bounds the local
    error per step relative to ``c0``; ``t_end`` defaults
    to five diffusion times of the whole stack (``max eps L^2 / D_eff``). Returns
    profiles at the requested ``profile_times`` (clipped to the run) and Sand's
    time (first zero of the surface concentration) when ``stop_at_sand``.

    Long because it is one adaptive BDF2 integrator: the step loop shares the factorised operator, the error estimate and the event search, which a split would only pass around.
    """
    if not np.isfinite(c0) or c0 <= 0:
        raise AtomisticsError(f"c0 must be > 0, got {c0!r}")
    if not np.isfinite(current_density) or current_density <= 0:
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    if not 0 < rtol < 1e-1:
        raise AtomisticsError(f"rtol must lie in (0, 0.1), got {rtol!r}")
    if method not in ("auto", "modal", "bdf2"):
        raise AtomisticsError(f"method must be 'auto', 'modal' or 'bdf2', got {method!r}")
    if disc is None:
        zone = depletion_zone(layers, c0, current_density) if growth is None else None
        disc = discretise(layers, cells_per_layer, 1.01 if growth is None else growth, zone)
    total = sum(layer.thickness for layer in layers)
    slowest = max(layer.porosity * total**2 / layer.effective_diffusivity for layer in layers)
    t_end = 5.0 * slowest if t_end is None else float(t_end)
    if t_end <= 0:
        raise AtomisticsError(f"t_end must be > 0, got {t_end!r}")
    if any(layer.charged for layer in layers):
        from atomistics.continuum.fixedcharge import simulate_fixed_charge

        return simulate_fixed_charge(
            layers,
            c0,
            current_density,
            t_end,
            profile_times=profile_times,
            stop_at_sand=stop_at_sand,
            rtol=rtol,
            disc=disc,
        )
    if method == "modal" or (method == "auto" and stop_at_sand):
        return simulate_modal(
            disc,
            c0,
            current_density,
            t_end,
            semi_infinite_estimate(layers, c0, current_density),
            profile_times=profile_times,
            stop_at_sand=stop_at_sand,
        )
    outs = sorted(float(t) for t in profile_times if 0 <= t <= t_end)

    m = disc.storage
    src = disc.source(current_density)
    atol = rtol * c0
    jw = disc.wall_gradient_per_current * current_density

    def bdf2(c_n, c_nm1, dt, dt_prev):
        if dt_prev is None:  # backward Euler start
            ab = banded_operator(disc, m / dt)
            return solveh_banded(ab, src + m * c_n / dt, lower=False, check_finite=False)
        w = dt / dt_prev
        a0, a1, a2 = (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)
        ab = banded_operator(disc, a0 * m / dt)
        rhs = src - m * (a1 * c_n + a2 * c_nm1) / dt
        return solveh_banded(ab, rhs, lower=False, check_finite=False)

    c = np.full(disc.h.size, float(c0))
    c_prev, c_prev2 = None, None
    t, t_prev, t_prev2 = 0.0, None, None
    dt_prev = None
    # Start small: the boundary layer at t = 0 is thinner than any cell.
    dt = min(1e-9 * slowest, t_end)
    times, surf = [0.0], [float(c0 - jw)]
    prof_t, profs = [], []
    if outs and outs[0] == 0.0:
        prof_t.append(0.0)
        profs.append(c.copy())
        outs.pop(0)
    sand = float("inf")
    n_steps = n_rej = 0
    while t < t_end * (1 - 1e-14):
        dt = min(dt, t_end - t)
        hit_output = bool(outs) and t + dt >= outs[0] * (1 - 1e-12)
        if hit_output:
            dt = outs[0] - t
        c_new = bdf2(c, c_prev, dt, dt_prev)
        # Error estimate: corrector minus quadratic extrapolation through the last 3 points.
        if c_prev2 is not None:
            ts = (t_prev2, t_prev, t)
            tn = t + dt
            l0 = (tn - ts[1]) * (tn - ts[2]) / ((ts[0] - ts[1]) * (ts[0] - ts[2]))
            l1 = (tn - ts[0]) * (tn - ts[2]) / ((ts[1] - ts[0]) * (ts[1] - ts[2]))
            l2 = (tn - ts[0]) * (tn - ts[1]) / ((ts[2] - ts[0]) * (ts[2] - ts[1]))
            pred = l0 * c_prev2 + l1 * c_prev + l2 * c
            err = float(np.max(np.abs(c_new - pred))) * dt / (tn - ts[0]) / atol
        else:
            err = 0.5  # start-up steps are tiny; accept
        if err > 1.0:
            n_rej += 1
            dt *= max(0.2, 0.9 * err ** (-1.0 / 3.0))
            continue
        s_new = float(c_new[0] - jw)
        if stop_at_sand and s_new <= 0.0 < surf[-1]:
            history = (c, c_prev, dt_prev)

            def surface_after(step: float, history=history) -> float:
                return float(bdf2(history[0], history[1], step, history[2])[0] - jw)

            dt_event = brentq(surface_after, 1e-9 * dt, dt, xtol=1e-15 * max(t, dt), rtol=1e-15)
            c_new = bdf2(c, c_prev, dt_event, dt_prev)
            sand = t + dt_event
            t_prev2, t_prev, t = t_prev, t, sand
            c_prev2, c_prev, c = c_prev, c, c_new
            times.append(t)
            surf.append(0.0)
            n_steps += 1
            break
        t_prev2, t_prev, t = t_prev, t, t + dt
        c_prev2, c_prev, c = c_prev, c, c_new
        n_steps += 1
        times.append(t)
        surf.append(s_new)
        if hit_output:
            prof_t.append(t)
            profs.append(c.copy())
            outs.pop(0)
        dt_prev = dt
        grow = 2.0 if err < 1e-8 else min(2.0, 0.9 * err ** (-1.0 / 3.0))
        dt = dt * max(grow, 0.5) if not hit_output else max(dt, times[-1] - times[-2])
    return TransportResult(
        x=disc.centres,
        times=np.array(times),
        surface=np.array(surf),
        profile_times=np.array(prof_t),
        profiles=np.array(profs).reshape(len(profs), disc.h.size),
        sand_time=sand,
        n_steps=n_steps,
        n_rejected=n_rej,
        final=c,
    )


def steady_state(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    *,
    cells_per_layer: int | Sequence[int] = 400,
    growth: float = 1.01,
    disc: Discretisation | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Discrete steady state: every face carries ``N = -J/F``; salt inventory conserved.

    Returns ``(x, c, c_surface)``. The profile may go negative above the limiting
    current (it is then not physical; use :func:`limiting_current` to check).
    """
    disc = disc or discretise(layers, cells_per_layer, growth)
    # -G (c_R - c_L) - t_f J/F = -J/F  =>  c_R - c_L = J (1 - t_f) / (F G)
    jumps = current_density / FARADAY * (1.0 - disc.face_t_plus) / disc.conductance
    c = np.concatenate([[0.0], np.cumsum(jumps)])
    c += c0 - np.sum(disc.storage * c) / np.sum(disc.storage)
    return disc.centres, c, float(disc.surface(c, current_density))


def limiting_current(
    layers: Sequence[Layer],
    c0: float,
    *,
    cells_per_layer: int | Sequence[int] = 400,
    growth: float = 1.01,
) -> float:
    """Current density [A/m^2] at which the steady surface concentration reaches zero.

    The steady surface concentration is linear in J, ``c_s = c0 - J S``, so
    ``J_lim = c0 / S`` (one steady solve at unit current). A stack with charged
    layers is not linear: :func:`atomistics.continuum.fixedcharge.limiting_current_fixed_charge`.
    """
    if any(layer.charged for layer in layers):
        from atomistics.continuum.fixedcharge import limiting_current_fixed_charge

        return limiting_current_fixed_charge(layers, c0)
    _, _, cs = steady_state(layers, c0, 1.0, cells_per_layer=cells_per_layer, growth=growth)
    slope = c0 - cs
    return float("inf") if slope <= 0 else float(c0 / slope)
