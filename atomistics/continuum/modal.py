r"""Closed-form (modal) solution in time of the finite-volume transport system at constant current.

At constant current the semi-discrete system of :mod:`atomistics.continuum.transport`,

    M dc/dt = -K c + s,   c(0) = c0 (uniform),

is linear with time-independent coefficients and a constant source, so it has a
closed-form solution and needs no time stepping. With ``u = M^{1/2} c`` the system
becomes ``du/dt = -W u + M^{-1/2} s`` with the symmetric tridiagonal, positive
semi-definite matrix ``W = M^{-1/2} K M^{-1/2}`` (eigenpairs ``lambda_k, q_k``; the
Neumann problem has one zero mode ``q_0`` proportional to ``M^{1/2} 1``, because every
row of ``K`` sums to zero). Diagonalising (the eigen-decomposition solution of a
linear constant-coefficient ODE system, e.g. G. Strang, *Linear Algebra and Its
Applications*, 4th ed., sec. 5.4; C. Moler and C. Van Loan, "Nineteen dubious ways to
compute the exponential of a matrix, twenty-five years later", SIAM Review 45, 3
(2003), method 14) decouples it into scalar equations ``da_k/dt = -lambda_k a_k +
sigma_k`` whose solutions are exact for every t. Since the uniform initial state lies
in the null space of ``K``,

    c(t) = c0 + r t 1 + y - sum_{k >= 1} M^{-1/2} q_k (q_k . sigma) exp(-lambda_k t) / lambda_k,

with ``sigma = M^{-1/2} (s - r M 1)``, the zero-mode (uniform drift) rate
``r = sum(s)/sum(M)`` (zero up to round-off: the source only redistributes salt) and
``y = M^{-1/2} W^+ sigma``, the sum of all modes, obtained without any eigenvector from
the discrete steady-state flux balance ``K y = s - r M 1`` with ``sum(M y) = 0``
(one cumulative sum, since ``K`` is a chain of conductances). With every mode the result
is exact in time: the only error is the spatial discretisation (identical to the
time-stepping solver's) and round-off. The exponential factor makes every mode with ``lambda_k t >=
40`` smaller than ``exp(-40) ~ 4e-18`` of its amplitude, so for times ``t >= t_valid``
only the modes with ``lambda_k < 40 / t_valid`` matter (computed by the Krylov method
below, or :func:`scipy.linalg.eigh_tridiagonal` with a value range, MRRR); when that
range covers the whole spectrum all modes are used and the expansion is exact for every t.

Computing the slow modes. For ``t_valid > 0`` the modes are not taken from a
tridiagonal eigensolver (LAPACK ``stemr`` on all n cells costs most of the solve) but
from a shift-and-invert Krylov space: Lanczos on ``A = (I + gamma W)^{-1}`` started from
``sigma`` (each step one symmetric banded solve of ``(M/gamma + K)``), whose Ritz pairs
``mu_j -> lambda_j = (1/mu_j - 1)/gamma`` reproduce the modes that ``sigma`` excites, slow
ones first (J. van den Eshof & M. Hochbruck, SIAM J. Sci. Comput. 27, 1438 (2006);
I. Moret & P. Novati, BIT 44, 595 (2004): the rational approximation of ``exp(-t W)``
converges at a rate independent of the stiffness ``|W|``). With ``gamma = t_valid/2`` about
20 steps suffice. The space is enlarged until the surface concentration on the scan grid
changes by less than ``1e-11 c0`` between checks (a posteriori); if that does not happen
within 150 steps the eigensolver is used. Past ``t_valid`` the expansion is then
accurate to that tolerance (tested against the full eigen-decomposition), not to
round-off; ``t_valid = 0`` (every mode) always uses the eigensolver.

Sand's time is the first zero of the surface concentration ``c(0, t) = c_1(t) - (c_1 -
c_wall)`` (the same second-order wall extrapolation as the time-stepping solver), a
scalar function of t: it is scanned on a geometric grid (four points per doubling of
t) and the first sign change refined with Brent's method to round-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import eigh_tridiagonal
from scipy.linalg.lapack import dpbtrf, dpbtrs
from scipy.optimize import brentq

from atomistics.continuum.mesh import Discretisation, TransportResult, banded_operator
from atomistics.errors import AtomisticsError

TRUNCATION_EXPONENT = 40.0  # modes with lambda t above this are below exp(-40) and dropped
POINTS_PER_DOUBLING = 4  # scan resolution of the surface concentration in time
KRYLOV_TOLERANCE = 1e-11  # change of the surface concentration (relative to c0) to stop at
KRYLOV_MAX = 150


@dataclass(frozen=True)
class ModalExpansion:
    """``c(t) = base + drift t - vectors @ exp(-rates t)`` (see module docstring)."""

    base: NDArray[np.float64]  # c0 + y
    drift: float  # zero-mode rate r [mol/(m^3 s)]
    rates: NDArray[np.float64]  # lambda_k, k >= 1, below the cut-off
    vectors: NDArray[np.float64]  # (n, m): M^{-1/2} q_k (q_k . sigma) / lambda_k
    wall_offset: float  # c_1 - c_wall = wall gradient x current density
    t_valid: float  # truncation error < exp(-40) x amplitudes for t >= t_valid (0: all modes)

    @property
    def n_modes(self) -> int:
        return int(self.rates.size)

    def concentration(self, t: ArrayLike) -> NDArray[np.float64]:
        """Cell concentrations at time(s) ``t`` (shape ``t.shape + (n,)``)."""
        t = np.asarray(t, float)
        decay = np.exp(-np.multiply.outer(t, self.rates))
        out = self.base + np.multiply.outer(t, np.full(self.base.size, self.drift))
        return out - decay @ self.vectors.T

    def surface(self, t: ArrayLike) -> NDArray[np.float64]:
        """Concentration at the plating wall x = 0 at time(s) ``t``."""
        t = np.asarray(t, float)
        decay = np.exp(-np.multiply.outer(t, self.rates))
        return self.base[0] - self.wall_offset + self.drift * t - decay @ self.vectors[0]


def _steady_part(disc: Discretisation, rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    """``y`` with ``K y = rhs`` and ``sum(M y) = 0``; ``rhs`` must sum to zero.

    Face fluxes ``G (y_R - y_L)`` follow from the cell balances by a cumulative sum.
    """
    flux = -np.cumsum(rhs[:-1])  # G_{i+1/2} (y_{i+1} - y_i)
    y = np.concatenate([[0.0], np.cumsum(flux / disc.conductance)])
    return y - np.sum(disc.storage * y) / np.sum(disc.storage)


def _low_modes(
    diag: NDArray[np.float64], off: NDArray[np.float64], cut: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Eigenpairs of the tridiagonal matrix with eigenvalues in ``(-cut, cut]`` (MRRR)."""
    return eigh_tridiagonal(
        diag, off, select="v", select_range=(-cut, cut), check_finite=False, lapack_driver="stemr"
    )


def _krylov_modes(
    disc: Discretisation, sigma: NDArray[np.float64], t_valid: float, c0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Ritz pairs ``(lambda_j, M^{-1/2} x_j (x_j . sigma) / lambda_j)`` from shift-invert Lanczos.

    See the module docstring; ``None`` if the a-posteriori check does not converge.
    """
    m = disc.storage
    n = m.size
    root = np.sqrt(m)
    gamma = 0.5 * t_valid
    factor, info = dpbtrf(banded_operator(disc, m / gamma), lower=0)  # banded Cholesky, once
    if info != 0:
        return None
    q0 = root / np.sqrt(np.sum(m))
    beta0 = float(np.linalg.norm(sigma))
    if beta0 == 0.0:
        return np.zeros(0), np.zeros((n, 0))
    grid = t_valid * 2.0 ** (np.arange(0, 80) / POINTS_PER_DOUBLING)
    kmax = min(KRYLOV_MAX, n - 1)
    basis = np.empty((kmax, n))
    alphas: list[float] = []
    betas: list[float] = []
    v = sigma / beta0
    previous = None
    for k in range(kmax):
        basis[k] = v
        w = root * dpbtrs(factor, root * v / gamma, lower=0)[0]
        a = float(w @ v)
        w -= a * v
        if k:
            w -= betas[-1] * basis[k - 1]
        done = basis[: k + 1]
        w -= done.T @ (done @ w)  # full reorthogonalisation
        w -= q0 * (q0 @ w)  # stay orthogonal to the zero (drift) mode
        b = float(np.linalg.norm(w))
        alphas.append(a)
        breakdown = b <= 1e-13 * abs(a)
        if breakdown or (k >= 11 and k % 4 == 3):
            mu, y = eigh_tridiagonal(np.array(alphas), np.array(betas), check_finite=False)
            keep = (mu > 0) & (mu < 1.0 - 1e-14)
            lam = (1.0 / mu[keep] - 1.0) / gamma
            weight = beta0 * y[0, keep] / lam
            first = (basis[: k + 1, 0] @ y[:, keep]) * weight / root[0]
            surface = np.exp(-np.multiply.outer(grid, lam)) @ first
            if breakdown or (
                previous is not None and np.max(np.abs(surface - previous)) < KRYLOV_TOLERANCE * c0
            ):
                vectors = (basis[: k + 1].T @ y[:, keep]) * weight / root[:, None]
                return lam, vectors
            previous = surface
        betas.append(b)
        v = w / b
    return None


def modal_expansion(
    disc: Discretisation,
    c0: float,
    current_density: float,
    t_valid: float = 0.0,
    method: str = "auto",
) -> ModalExpansion:
    """Closed-form ``c(t)`` for ``t >= t_valid`` (``0``: all modes, exact to round-off).

    ``method``: ``"auto"`` uses the shift-invert Krylov modes when ``t_valid > 0`` and
    the cut-off lies inside the spectrum (module docstring), the eigensolver otherwise;
    ``"eigh"`` always uses the eigensolver.
    """
    m = disc.storage
    g = disc.conductance
    src = disc.source(current_density)
    drift = float(np.sum(src) / np.sum(m))
    rhs = src - drift * m
    root = np.sqrt(m)
    sigma = rhs / root
    base = float(c0) + _steady_part(disc, rhs)
    wall = disc.wall_gradient_per_current * current_density
    diag = (np.concatenate([g, [0.0]]) + np.concatenate([[0.0], g])) / m
    off = -g / (root[:-1] * root[1:])
    top = float(np.max(diag + np.abs(np.concatenate([off, [0.0]])) + np.abs(np.r_[0.0, off])))
    cut = TRUNCATION_EXPONENT / t_valid if t_valid > 0 else np.inf
    if cut < top and method == "auto":
        found = _krylov_modes(disc, sigma, t_valid, float(c0))
        if found is not None:
            lam, vectors = found
            return ModalExpansion(base, drift, lam, vectors, float(wall), float(t_valid))
    if cut >= top:  # the cut-off is above the spectrum (Gershgorin): take all modes
        lam, q = eigh_tridiagonal(diag, off, check_finite=False)
        t_valid = 0.0
    else:
        lam, q = _low_modes(diag, off, cut)
    if lam.size < 1 or (lam.size > 1 and not abs(lam[0]) < 1e-6 * lam[1]):
        raise AtomisticsError("modal solver: could not identify the zero (Neumann) mode")
    lam, q = lam[1:], q[:, 1:]  # the zero mode is the drift term
    amp = (q.T @ sigma) / lam
    vectors = q * amp / root[:, None]
    return ModalExpansion(base, drift, lam, vectors, float(wall), float(t_valid))


def simulate_modal(
    disc: Discretisation,
    c0: float,
    current_density: float,
    t_end: float,
    t_guess: float,
    *,
    profile_times: Sequence[float] = (),
    stop_at_sand: bool = True,
) -> TransportResult:
    """Sand's time and profiles from the modal expansion (same output as ``simulate``).

    ``t_guess`` (e.g. the semi-infinite Sand's time) sets where the scan starts, at
    ``t_guess/2`` or the earliest positive profile time; if the surface is already
    depleted there the start moves earlier. ``times``/``surface`` of the result hold
    the scan points (and the event), ``n_steps`` their number, ``n_modes`` the modes used.
    """
    if not (np.isfinite(t_guess) and t_guess > 0):
        t_guess = t_end
    outs = sorted(float(t) for t in profile_times if 0 <= t <= t_end)
    positive = [t for t in outs if t > 0]
    t_lo = min(0.5 * t_guess, t_end, *positive)
    exp = modal_expansion(disc, c0, current_density, t_lo)
    s0 = float(c0 - exp.wall_offset)
    sand = float("inf")
    if stop_at_sand and s0 <= 0.0:
        sand = 0.0
    elif stop_at_sand:
        for _ in range(64):  # depleted before the scan starts: start earlier
            if float(exp.surface(t_lo)) > 0.0:
                break
            t_lo /= 8.0
            if exp.t_valid > t_lo:
                exp = modal_expansion(disc, c0, current_density, t_lo)
    n_pts = int(np.ceil(np.log2(t_end / t_lo) * POINTS_PER_DOUBLING)) + 1
    grid = np.minimum(t_lo * 2.0 ** (np.arange(n_pts) / POINTS_PER_DOUBLING), t_end)
    grid = np.unique(np.concatenate([grid, [t_end]]))
    surf = exp.surface(grid) if sand != 0.0 else np.zeros(0)
    if stop_at_sand and sand != 0.0:
        below = np.flatnonzero(surf <= 0.0)
        if below.size:
            i = int(below[0])  # i >= 1: surface(t_lo) > 0 was checked
            a, b = grid[i - 1], grid[i]

            def f(t: float) -> float:
                return float(exp.surface(t))

            sand = brentq(f, a, b, xtol=1e-15 * b, rtol=1e-15)
            grid, surf = np.append(grid[:i], sand), np.append(surf[:i], 0.0)
    t_stop = min(sand, t_end)
    grid, surf = grid[grid <= t_stop], surf[grid <= t_stop]
    outs = [t for t in outs if t <= t_stop]
    n = disc.h.size
    profs = np.full((len(outs), n), float(c0))
    later = np.array([t > 0 for t in outs], bool)
    if later.any():
        profs[later] = exp.concentration(np.array(outs)[later])
    final = exp.concentration(t_stop) if t_stop > 0 else np.full(n, float(c0))
    return TransportResult(
        x=disc.centres,
        times=np.concatenate([[0.0], grid]),
        surface=np.concatenate([[s0], surf]),
        profile_times=np.array(outs),
        profiles=profs,
        sand_time=sand,
        n_steps=int(grid.size),
        n_rejected=0,
        final=final,
        method="modal",
        n_modes=exp.n_modes,
    )
