"""Mesh and finite-volume operators shared by the transport solvers.

The layered stack (:class:`Layer`), its graded cell-centred mesh and the assembled
operators (:class:`Discretisation`) and the common result type
(:class:`TransportResult`). The linear solvers (:mod:`~atomistics.continuum.transport`,
:mod:`~atomistics.continuum.modal`) and the fixed-charge solver
(:mod:`~atomistics.continuum.fixedcharge`) all build on this module, so none of
them imports another (no cycle). The discretisation is derived in
:mod:`atomistics.continuum.transport`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from atomistics.continuum.constants import BOLTZMANN_EV, FARADAY
from atomistics.errors import AtomisticsError

#: |ln K| is held below this: beyond |ln K| ~ 800 every occupancy is exactly 0 or 1 in
#: double precision, and -dG/kT itself overflows only for |dG| > ~1e306 eV.
LOG_K_BOUND = 1e300


def log_equilibrium_constant(delta_g_ev, temperature: float):
    """``ln K = -dG/(k_B T)`` [dG in eV, T in K], scalar or array, within +-``LOG_K_BOUND``.

    The Boltzmann factor ``K = exp(-dG/kT)`` of the lattice-gas occupancy (Oriani 1970)
    is used only through its logarithm, so that any finite dG gives a finite, saturated
    occupancy instead of an overflow.
    """
    with np.errstate(over="ignore"):
        log_k = -np.asarray(delta_g_ev, float) / (BOLTZMANN_EV * temperature)
    return np.clip(log_k, -LOG_K_BOUND, LOG_K_BOUND)


#: ``|ln K|`` up to which :meth:`TrapSites.trapped_and_slope` uses its rational form: K and
#: 1/K, and the squares in the slope, are then far inside the float range (|dG| < ~7.7 eV)
_RATIONAL_LOG_K = 300.0


@dataclass(frozen=True)
class TrapSites:
    r"""Anion trap sites on the coating's solid, in local equilibrium with the pore liquid.

    Lattice-gas (Fermi-Dirac) occupancy of two site populations exchanging one
    anion (Oriani, Acta Metall. 18, 147 (1970); McNabb & Foster,
    Trans. Metall. Soc. AIME 227, 618 (1963) in the local-equilibrium limit):
    ``theta_T / (1 - theta_T) = K theta_L / (1 - theta_L)`` with ``theta_L = c-/N_L``
    and ``K = exp(-dG/kT)``, so

        theta_T = K theta_L / (1 - theta_L + K theta_L),   c_T = N_T theta_T.

    ``site_concentration`` N_T and ``liquid_sites`` N_L are per volume of pore liquid
    [mol/m^3]; ``delta_g_ev`` is the adsorption free energy of the anion on a site
    relative to the liquid [eV]. Trapped anions are immobile negative charge: the
    layer's fixed charge is ``X = c_T`` (at most N_T).
    """

    site_concentration: float
    delta_g_ev: float
    temperature: float = 298.15
    liquid_sites: float = 868.3 / 0.09012  # N_L: molar concentration of DME [mol/m^3]

    def __post_init__(self) -> None:
        for name in ("site_concentration", "temperature", "liquid_sites"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise AtomisticsError(f"trap sites: {name} must be finite and > 0, got {v!r}")
        if not np.isfinite(self.delta_g_ev):
            raise AtomisticsError(
                f"trap sites: dG must be a finite number in eV, got {self.delta_g_ev!r}"
            )

    @cached_property  # read ~10^5 times per bridge run by the integrators; fixed per instance
    def log_k(self) -> float:
        """``ln K = -dG/kT`` (:func:`log_equilibrium_constant`)."""
        return float(log_equilibrium_constant(self.delta_g_ev, self.temperature))

    def _log_odds(self, c):
        """``x = ln(1-theta_L) - ln(theta_L) - ln K`` (arrays), so that ``theta_T = 1/(1+e^x)``
        and ``1 - theta_T = 1/(1+e^-x)``; returns ``(x, theta_L)``."""
        theta_l = np.clip(np.asarray(c, float) / self.liquid_sites, 0.0, 1.0 - 1e-15)
        with np.errstate(divide="ignore"):
            return np.log1p(-theta_l) - np.log(theta_l) - self.log_k, theta_l

    def occupancy(self, c_minus):
        """Trap occupancy ``theta_T`` for mobile-anion concentration(s) ``c_minus``."""
        # theta_T = 1 / (1 + (1 - theta_L) / (K theta_L)), written with logs (K may be 1e30)
        x, _ = self._log_odds(c_minus)
        return np.exp(-np.logaddexp(0.0, x))

    def trapped(self, c_minus):
        """Trapped-anion concentration ``c_T = N_T theta_T`` [mol/m^3] (the fixed charge X)."""
        return self.site_concentration * self.occupancy(c_minus)

    def _slope(self, c, x, theta_l):
        """``N_T theta_T (1 - theta_T) / (c- (1 - theta_L))`` with ``1 - theta_T`` taken from
        ``x`` directly (not by subtraction, which loses every digit near saturation)."""
        # overflow: a strongly bound site at c- ~ 1e-300 has dc_T/dc- = N_T K/N_L = inf
        # (the callers cap or mask it); 0/0 at c- = 0 is masked by trapped_and_slope
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            both = np.exp(-np.logaddexp(0.0, x) - np.logaddexp(0.0, -x))
            return self.site_concentration * both / (c * (1.0 - theta_l))

    def trapped_and_slope(self, c_minus):
        """``(c_T, dc_T/dc-)`` in one pass (the occupancy computed once; exact at c- = 0)."""
        c = np.maximum(np.asarray(c_minus, float), 0.0)
        if self.finite_slope:
            return self._trapped_and_slope_rational(c)
        x, theta_l = self._log_odds(c)
        th = np.exp(-np.logaddexp(0.0, x))
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(
                c > 0,
                self._slope(c, x, theta_l),
                self.slope_at_zero,
            )
        return self.site_concentration * th, slope

    def _trapped_and_slope_rational(self, c):
        """The same without logs, where K and 1/K are far from overflow (:meth:`_rational`)."""
        cap = self.liquid_sites * (1.0 - 1e-15)
        trapped, slope = self._rational(np.minimum(c, cap))
        if np.any(c > cap):
            slope = np.where(c > cap, slope * cap / np.maximum(c, cap), slope)
        return trapped, slope

    def _rational(self, held):
        """``(c_T, dc_T/dc-)`` at ``0 <= held < N_L`` (floats or arrays): with ``v = (N_L -
        c)/K``, ``theta_T = c/(c + v)`` and ``dc_T/dc- = N_T (N_L/K)/(c + v)^2`` (``N_T K/N_L``
        at c = 0); both sums are of non-negative terms, so no digit is lost, and nothing
        underflows where the log form's ``e^-x`` does (a weak site at c- ~ 1e-300). The
        integrators' right-hand sides call this ~10^4 times per transient, where the logs were
        a fifth of the cost. Above ``c = N_L`` (``theta_L`` held below 1 as in
        :meth:`_log_odds`) the callers give the slope :meth:`_slope`'s ``1/c``."""
        n_l, inv_k = self.liquid_sites, self._inverse_k
        d = held + (n_l - held) * inv_k
        return self.site_concentration * held / d, self.site_concentration * n_l * inv_k / (d * d)

    @property
    def finite_slope(self) -> bool:
        """Whether :meth:`trapped_and_slope` takes the rational form (``|ln K| <= 300``),
        whose slope is a finite float at every ``c- >= 0``."""
        return abs(self.log_k) <= _RATIONAL_LOG_K

    @cached_property
    def _inverse_k(self) -> float:
        return math.exp(-self.log_k)

    def d_trapped(self, c_minus):
        """``dc_T/dc-`` = ``N_T theta_T (1 - theta_T) / (c- (1 - theta_L))`` (Oriani's storage term)."""
        c = np.maximum(np.asarray(c_minus, float), 1e-300)
        x, theta_l = self._log_odds(c)
        return self._slope(c, x, theta_l)

    # One-float versions in ``math``: the steady-profile ODEs call them ~10^5 times per bridge
    # run, where NumPy's per-call overhead was half the run time. Same formulas, same guards
    # (tests/test_continuum_mesh_scalar.py holds them to the array versions).

    def _occupancy_scalar(self, c: float) -> tuple[float, float, float]:
        """``(theta_T, 1 - theta_T, theta_L)`` for one float, without overflow."""
        theta_l = min(max(c / self.liquid_sites, 0.0), 1.0 - 1e-15)
        if theta_l == 0.0:
            return 0.0, 1.0, 0.0
        x = math.log1p(-theta_l) - math.log(theta_l) - self.log_k
        e = math.exp(-abs(x))  # <= 1: never overflows
        small, large = e / (1.0 + e), 1.0 / (1.0 + e)
        return (small, large, theta_l) if x > 0.0 else (large, small, theta_l)

    def trapped_scalar(self, c_minus: float) -> float:
        """:meth:`trapped` for one float."""
        return self.site_concentration * self._occupancy_scalar(float(c_minus))[0]

    def d_trapped_scalar(self, c_minus: float) -> float:
        """:meth:`d_trapped` for one float."""
        c = max(float(c_minus), 1e-300)
        th, vacant, theta_l = self._occupancy_scalar(c)
        return self.site_concentration * th * vacant / (c * (1.0 - theta_l))

    @cached_property
    def slope_at_zero(self) -> float:
        """``dc_T/dc-`` at ``c- = 0``: ``N_T K / N_L`` (K held at e^700 against overflow)."""
        return self.site_concentration * math.exp(min(self.log_k, 700.0)) / self.liquid_sites

    def trapped_and_slope_scalar(self, c_minus: float) -> tuple[float, float]:
        """:meth:`trapped_and_slope` for one float (exact at ``c- <= 0``)."""
        c = float(c_minus)
        if c <= 0.0:
            return 0.0, self.slope_at_zero
        if self.finite_slope:
            cap = self.liquid_sites * (1.0 - 1e-15)
            trapped, slope = self._rational(min(c, cap))
            return trapped, (slope * cap / c if c > cap else slope)
        th, vacant, theta_l = self._occupancy_scalar(c)
        n_t = self.site_concentration
        return n_t * th, n_t * th * vacant / (c * (1.0 - theta_l))


@dataclass(frozen=True)
class Layer:
    """One layer of the separator stack (ordered from the plating electrode).

    ``diffusivity`` is the free-solution ambipolar salt diffusivity [m^2/s] in the
    layer's pores and ``t_plus`` the free-solution cation transference number (they
    fix D+ and D-); ``tortuosity`` the tortuosity factor (>= 1) so that
    ``D_eff = porosity * diffusivity / tortuosity``.

    A layer may carry a fixed negative charge (trapped anions,
    :mod:`atomistics.continuum.fixedcharge`): ``fixed_charge`` X [mol/m^3 of pore
    liquid], constant in time, or ``traps``, whose occupancy follows the local
    mobile-anion concentration (X = c_T(c-), with storage). Neither: a neutral layer
    (the linear model of :mod:`atomistics.continuum.transport`).
    """

    thickness: float
    diffusivity: float
    t_plus: float
    porosity: float = 1.0
    tortuosity: float = 1.0
    name: str = "layer"
    fixed_charge: float = 0.0
    traps: TrapSites | None = None

    def __post_init__(self) -> None:
        for attr in ("thickness", "diffusivity"):
            value = getattr(self, attr)
            if not np.isfinite(value) or value <= 0:
                raise AtomisticsError(f"layer {self.name!r}: {attr} must be > 0, got {value!r}")
        if not 0 < self.porosity <= 1:
            raise AtomisticsError(
                f"layer {self.name!r}: porosity must lie in (0, 1], got {self.porosity!r}"
            )
        if not self.tortuosity >= 1:
            raise AtomisticsError(
                f"layer {self.name!r}: tortuosity factor must be >= 1, got {self.tortuosity!r}"
            )
        if not 0 <= self.t_plus < 1:
            raise AtomisticsError(
                f"layer {self.name!r}: t+ must lie in [0, 1), got {self.t_plus!r}"
            )
        if not (np.isfinite(self.fixed_charge) and self.fixed_charge >= 0):
            raise AtomisticsError(
                f"layer {self.name!r}: fixed charge must be >= 0 mol/m^3, got {self.fixed_charge!r}"
            )
        if self.fixed_charge > 0 and self.traps is not None:
            raise AtomisticsError(
                f"layer {self.name!r}: give either a constant fixed charge or trap sites, not both"
            )
        if self.charged and not 0 < self.t_plus < 1:
            raise AtomisticsError(
                f"layer {self.name!r}: a charged layer needs 0 < t+ < 1 to split D into D+ and D-"
            )

    @property
    def charged(self) -> bool:
        return self.fixed_charge > 0 or self.traps is not None

    @property
    def effective_diffusivity(self) -> float:
        return self.porosity * self.diffusivity / self.tortuosity


@dataclass(frozen=True)
class Discretisation:
    """Assembled finite-volume operators (see module docstring)."""

    faces: NDArray[np.float64]  # (n+1,)
    centres: NDArray[np.float64]  # (n,)
    h: NDArray[np.float64]  # cell widths
    storage: NDArray[np.float64]  # eps * h
    conductance: NDArray[np.float64]  # (n-1,) interior face conductances G
    face_t_plus: NDArray[np.float64]  # (n-1,) interior face transference numbers t_f
    source_per_current: NDArray[np.float64]  # s / J  [mol/(m^2 s) per A/m^2]
    wall_gradient_per_current: float  # (c_1 - c_wall)/J  at x = 0
    layer_index: NDArray[np.int64]

    def source(self, current_density: float) -> NDArray[np.float64]:
        return self.source_per_current * current_density

    def surface(
        self, c: NDArray[np.float64], current_density: float
    ) -> float | NDArray[np.float64]:
        """Concentration at the plating wall x = 0 from the first cell and the boundary flux."""
        return c[..., 0] - self.wall_gradient_per_current * current_density


def graded_faces(
    length: float,
    n_cells: int,
    growth: float = 1.01,
    zone: float | None = None,
    zone_cells: int = 150,
) -> NDArray[np.float64]:
    """Faces of a mesh on [0, length] graded geometrically towards both ends.

    Cell widths grow by ``growth`` (>= 1) per cell from each end to the middle;
    ``growth = 1`` gives a uniform mesh. Mild grading (1.01) keeps the cell-centred
    scheme close to its uniform-mesh second-order accuracy. With ``zone`` (a
    distance), each end gets ``zone_cells`` mildly graded cells within ``zone`` and
    the remaining cells grow geometrically to fill the rest: used to resolve a
    depletion layer much thinner than the layer.
    """
    if n_cells < 2:
        raise AtomisticsError(f"need at least 2 cells per layer, got {n_cells}")
    if not growth >= 1.0:
        raise AtomisticsError(f"mesh growth factor must be >= 1, got {growth!r}")
    m = n_cells // 2
    half = growth ** np.arange(m)
    if zone is not None and zone < length / 2 and m > zone_cells + 10:
        inner = growth ** np.arange(zone_cells)
        inner *= zone / inner.sum()
        rest, k = length / 2 - zone, m - zone_cells
        j = np.arange(1, k + 1)

        def overfill(r: float) -> float:
            return float(inner[-1] * np.sum(r**j) - rest)

        if overfill(growth) < 0:  # the plain graded mesh would not resolve the zone
            r2 = brentq(overfill, growth, 4.0)
            half = np.concatenate([inner, inner[-1] * r2**j])
    half = half * (length / 2) / half.sum()
    middle = [half[-1]] if n_cells % 2 else []
    widths = np.concatenate([half, middle, half[::-1]])
    faces = np.concatenate([[0.0], np.cumsum(widths)])
    return length * faces / faces[-1]


def discretise(
    layers: Sequence[Layer],
    cells_per_layer: int | Sequence[int] = 400,
    growth: float = 1.01,
    zone: float | None = None,
) -> Discretisation:
    """Build the mesh and the operators for a stack of layers (first layer at x = 0).

    ``zone``: resolve this distance from every layer end with fine cells
    (see :func:`graded_faces`).
    """
    if not layers:
        raise AtomisticsError("the stack needs at least one layer")
    counts = (
        [cells_per_layer] * len(layers)
        if isinstance(cells_per_layer, int)
        else list(cells_per_layer)
    )
    if len(counts) != len(layers):
        raise AtomisticsError("cells_per_layer must give one count per layer")
    faces_list, idx, x0 = [np.zeros(1)], [], 0.0
    for k, (layer, n) in enumerate(zip(layers, counts, strict=True)):
        f = x0 + graded_faces(layer.thickness, int(n), growth, zone)
        faces_list.append(f[1:])
        idx.append(np.full(int(n), k))
        x0 += layer.thickness
    faces = np.concatenate(faces_list)
    layer_index = np.concatenate(idx)
    h = np.diff(faces)
    d_eff = np.array([layers[k].effective_diffusivity for k in layer_index])
    eps = np.array([layers[k].porosity for k in layer_index])
    tp = np.array([layers[k].t_plus for k in layer_index])
    a = 2.0 * d_eff[:-1] / h[:-1]
    b = 2.0 * d_eff[1:] / h[1:]
    conductance = a * b / (a + b)
    t_face = np.concatenate([[1.0], (b * tp[:-1] + a * tp[1:]) / (a + b), [1.0]])
    # d(eps h c)/dt = N_{i-1/2} - N_{i+1/2}; migration part of N is t_f * (-J/F).
    source_per_current = -(t_face[:-1] - t_face[1:]) / FARADAY
    wall = 0.5 * h[0] * (1.0 - tp[0]) / (FARADAY * d_eff[0])
    return Discretisation(
        faces=faces,
        centres=0.5 * (faces[:-1] + faces[1:]),
        h=h,
        storage=eps * h,
        conductance=conductance,
        face_t_plus=t_face[1:-1],
        source_per_current=source_per_current,
        wall_gradient_per_current=float(wall),
        layer_index=layer_index,
    )


def depletion_zone(layers: Sequence[Layer], c0: float, current_density: float) -> float:
    """Distance ``3 sqrt(Dp tau_semi)`` to resolve near the walls [m].

    ``tau_semi`` is the semi-infinite Sand's time with the first layer's properties:
    an estimate of the depletion-layer thickness used only to grade the mesh.
    """
    first = layers[0]
    tau = semi_infinite_estimate(layers, c0, current_density)
    return float(3.0 * np.sqrt(first.effective_diffusivity / first.porosity * tau))


@dataclass
class TransportResult:
    """Output of :func:`simulate`. Concentrations in mol/m^3, times in s, x in m."""

    x: NDArray[np.float64]
    times: NDArray[np.float64]  # every accepted step (and the event)
    surface: NDArray[np.float64]  # c(0, t) at those times
    profile_times: NDArray[np.float64]
    profiles: NDArray[np.float64]  # (len(profile_times), n_cells)
    sand_time: float  # inf if the surface (Li+ at the plating wall) never reached zero
    n_steps: int
    n_rejected: int
    final: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))
    method: str = "bdf2"  # "bdf2" or "modal" (then times/surface are the scan points)
    n_modes: int = 0  # eigenmodes used by the modal solver
    # fixed-charge solver: mobile-anion concentration at the end (``final`` is then Li+)
    final_anion: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))
    #: fixed-charge solver: first time the salt activity at a layer interface reached zero
    #: (inf: never, or not looked for); ``sand_time`` is Li+ depletion at the plating wall
    interface_depletion_time: float = float("inf")
    #: False when a constant fixed charge at the wall keeps c+ >= X there (no Sand's time)
    electrode_can_deplete: bool = True
    #: Li+ at the plating wall [mol/m^3] when the interface depleted (nan: it did not)
    electrode_li_at_interface_depletion: float = float("nan")
    n_evaluations: int = 0  # right-hand-side evaluations (fixed-charge solver)


def semi_infinite_estimate(layers: Sequence[Layer], c0: float, current_density: float) -> float:
    """Semi-infinite Sand's time [s] with the first layer's properties (an estimate)."""
    first = layers[0]
    return float(
        np.pi
        * first.porosity
        * first.effective_diffusivity
        * (FARADAY * c0) ** 2
        / (4.0 * current_density**2 * (1.0 - first.t_plus) ** 2)
    )


def banded_operator(disc: Discretisation, diag_extra: NDArray[np.float64]) -> NDArray[np.float64]:
    """Upper-form symmetric band of ``diag(diag_extra) + K``."""
    g = disc.conductance
    n = disc.h.size
    ab = np.zeros((2, n))
    ab[0, 1:] = -g
    d = diag_extra.copy()
    d[:-1] += g
    d[1:] += g
    ab[1] = d
    return ab
