r"""Fixed-charge (Teorell-Meyer-Sievers) layers: a coating whose trapped anions are immobile charge.

Why a fixed charge
------------------
An FSI- anion bound to a site of the coating does not move: it is an immobile
negative charge, compensated in the pore liquid by an excess of Li+. A layer with
trapped anions at concentration ``X`` (per volume of pore liquid) is therefore a
charged membrane, the classical Teorell-Meyer-Sievers (TMS) model (T. Teorell,
Proc. Soc. Exp. Biol. Med. 33, 282 (1935); K. H. Meyer & J.-F. Sievers, Helv.
Chim. Acta 19, 649 (1936); the modern statement: J. Newman & K. E. Thomas-Alyea,
*Electrochemical Systems*, 3rd ed. (2004), ch. 11 (dilute-solution transport) with
the fixed charge in the electroneutrality condition; M. Z. Bazant, MIT 10.626
*Electrochemical Energy Systems* lecture notes (2011/2014), lectures on
membranes and "Donnan equilibrium"; A. Dydek et al., Phys. Rev. Lett. 107, 118301
(2011) for the same equations in a charged channel).

Equations (dilute 1:1 salt, mobile ions c+ and c-, f = F/RT)
-------------------------------------------------------------
Electroneutrality with the fixed charge: ``c+ = c- + X``. Nernst-Planck fluxes per
unit cross-section of the porous layer (``g = eps/tau``):

    N+ = -g D+ (dc+/dx + c+ f dphi/dx),   N- = -g D- (dc-/dx - c- f dphi/dx).

With the current ``i = F (N+ - N-)`` and the salt activity ``s = sqrt(c+ c-)``
(``d ln s = (d ln c+ + d ln c-)/2``; ``s = c`` in a neutral layer), eliminating
``dphi/dx`` gives the anion flux

    N- = -kappa(s) ds/dx - t-(s) i/F,
    kappa = 2 g D+ D- s / (D+ c+ + D- c-),   t- = D- c- / (D+ c+ + D- c-).

For ``X = 0`` this is the familiar ``N- = -D_eff dc/dx - (1 - t+) i/F`` with the
ambipolar ``D = 2 D+ D- / (D+ + D-)`` (Newman & Thomas-Alyea eq. 11.19): the model
reduces exactly to the neutral one of :mod:`atomistics.continuum.transport`.

Storage. The anion is conserved including the trapped ones: with ``c_T = X`` the
trapped-anion concentration, ``eps d(c- + c_T)/dt = -dN-/dx``. Because ``c+ = c- +
c_T``, the conserved density is the Li+ concentration ``u = c+`` itself (every Li+
in the pores balances a mobile or a trapped anion), and the Li+ and anion balances
are the same equation (their difference is ``d i/dx = 0``). When ``X`` follows the
occupancy of the sites (:class:`~atomistics.continuum.mesh.TrapSites`, Fermi-Dirac),
``c- + c_T(c-) = u`` is inverted for ``c-`` in every cell; the storage term of
Oriani's trapping model (``1 + dc_T/dc-``) is implicit in that inversion.

Interfaces. Across a layer boundary the ions are in (Donnan) equilibrium: the
electrochemical potentials of Li+ and FSI- are continuous, so ``c+ c- = s^2`` is
continuous (ideal solutions) while c+, c- and phi jump (Donnan potential
``f dphi = ln(c+_L / c+_R)``). Boundaries: the anion does not cross either electrode
(``N- = 0``); all current is carried by Li+.

Discretisation. Inside a layer the two-point finite-volume flux is written in ``c-``,
``N- = -D_c dc-/dx - t- i/F`` with ``D_c = kappa ds/dc-`` (:func:`_coefficients`), which
stays smooth and positive where the co-ions run out (``kappa`` itself vanishes like
``s``, and a flux in ``s`` has an infinite slope in ``c-`` there: the integrator
stalled on it). At an interface each half-cell carries the flux with its own
coefficients and the two sides share the face's ``s`` (Donnan): a monotone scalar
equation per interface (:func:`interface_salt`); for two neutral layers it is the
neutral solver's harmonic two-point flux, and for ``X = 0`` everywhere the scheme is
the neutral one. The solver's state is ``c-`` in constant-X cells (``c+ = c- + X``
holds the few co-ions of a depleted coating only as a small difference of large
numbers) and the Li+ density elsewhere; each cell's absolute tolerance is tied to
the flux it carries (:meth:`FixedChargeSystem.absolute_tolerance`).

Zero-current results of a uniform membrane (used as independent checks)
--------------------------------------------------------------------------
* Donnan partition with a bath at ``c``: ``c- (c- + X) = c^2`` (Teorell 1935).
* Hittorf transference number inside: ``t+ = D+ c+ / (D+ c+ + D- c-)``.
* Membrane potential between baths ``c1`` (x = 0) and ``c2`` (x = d): the two Donnan
  jumps ``f(phi_m - phi_1) = ln(c1 / c+(0))``, ``f(phi_2 - phi_m) = ln(c+(d) / c2)``
  plus the diffusion potential from ``i = 0`` with ``dc+ = dc-``,
  ``f dphi/dx = (D- - D+) dc-/dx / ((D+ + D-) c- + D+ X)``, i.e.
  ``f Delta phi_diff = ((D- - D+)/(D+ + D-)) ln[((D+ + D-) c-(d) + D+ X) / ((D+ + D-) c-(0) + D+ X)]``
  (Meyer & Sievers 1936; N. Lakshminarayanaiah, *Transport Phenomena in Membranes*,
  Academic Press (1969), ch. 5). Limits: ``X -> 0`` gives the liquid-junction potential
  ``(t- - t+) ln(c2/c1)``, ``X -> inf`` the Nernst potential ``ln(c1/c2)`` of an ideal
  cation-selective membrane.

Depletion events. Sand's criterion (Sand 1901; Chazalviel 1990), the onset of
dendritic growth, is Li+ running out at the plating electrode, ``c+(0) = 0``: the
event ``sand_time`` of :func:`simulate_fixed_charge`. A layer with a constant ``X``
keeps ``c+ >= X`` at the electrode, so it never depletes there. The salt can instead
run out at a layer interface (the neutral side of the coating/separator interface):
the separate event ``interface_depletion_time``, a rise of the cell voltage, not
dendrite onset; the electroneutral model ends there.

Validity. Dilute (ideal) solution theory, no activity coefficients (at 6 M LiFSI in
DME this is a strong assumption: only trends are meaningful); local
electroneutrality on the scale of a layer (Debye length << layer thickness); a UNIFORM
fixed charge in Donnan equilibrium, which needs overlapping double layers in the pores
(Debye length >~ pore hydraulic radius). With thin double layers (Debye length << pore
size: 0.04 nm at 6 M in DME against nm pores) the pore core is neutral bath electrolyte
and TMS over-states co-ion exclusion; the thin-double-layer (surface-conduction) limit
and the regime check are in :mod:`atomistics.continuum.double_layer`, and the bridge
reports t+ as a bracket between the two. Traps in local equilibrium (binding
faster than transport). Over-limiting current carried by a constant fixed charge's
counter-ions (Dydek et al. 2011) is part of the model: the steady state exists past
the salt's limit at the electrode up to the interface limit
(:func:`interface_limiting_current`), and its ohmic cost is reported by the bridge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from atomistics.continuum.constants import BOLTZMANN_EV, FARADAY, GAS_CONSTANT
from atomistics.continuum.mesh import (
    Discretisation,
    Layer,
    TransportResult,
    TrapSites,
    depletion_zone,
    discretise,
    semi_infinite_estimate,
)
from atomistics.errors import AtomisticsError

# ---------------------------------------------------------------------------
# Closed-form TMS results
# ---------------------------------------------------------------------------


def donnan_partition(c_bath, fixed_charge) -> tuple[NDArray, NDArray]:
    """Mobile-ion concentrations ``(c+, c-)`` in a layer with fixed charge X next to a bath.

    ``c- (c- + X) = c^2`` (Teorell 1935): ``c- = c^2 / (X/2 + sqrt(X^2/4 + c^2))``
    (the numerically stable root), ``c+ = c- + X``.
    """
    c = np.asarray(c_bath, float)
    x = np.asarray(fixed_charge, float)
    cm = c**2 / (0.5 * x + np.sqrt(0.25 * x**2 + c**2))
    return cm + x, cm


def tms_transference_number(c_bath, fixed_charge, d_plus, d_minus):
    """Cation transference number inside a charged layer at equilibrium with ``c_bath``.

    ``t+ = D+ c+ / (D+ c+ + D- c-)`` with the Donnan concentrations
    (:func:`donnan_partition`); ``D+/(D+ + D-)`` at X = 0.
    """
    cp, cm = donnan_partition(c_bath, fixed_charge)
    return d_plus * cp / (d_plus * cp + d_minus * cm)


def max_trapped_fraction(c_bath, site_concentration):
    """Largest fraction of a trap layer's anions that can be trapped, at any dG.

    The trapped fraction is ``X/c+ = X/(c- + X)``; with the Donnan partition
    ``c- (c- + X) = c^2`` (Teorell 1935) it equals ``1 - (c-/c)^2``, which grows with X,
    and ``X <= N_T`` (every site filled). Hence

        f_max = N_T / (N_T + c-_D) = 1 - (c-_D / c)^2,   c-_D = c-(c, X = N_T),

    always below 1 (``c-_D > 0``) and below ``N_T/c`` (``c+ >= c``); ``N_T/c`` is its limit
    for ``N_T << c``. (``N_T/c`` itself is no bound on a fraction: it exceeds 1 when the
    sites outnumber the salt.)
    """
    n_t = np.asarray(site_concentration, float)
    _, cm = donnan_partition(c_bath, n_t)
    out = n_t / (n_t + cm)
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class MembranePotential:
    """Zero-current potential ``phi(bath 2) - phi(bath 1)`` of a uniform charged membrane [V]."""

    donnan_1: float
    diffusion: float
    donnan_2: float

    @property
    def total(self) -> float:
        return self.donnan_1 + self.diffusion + self.donnan_2


def tms_membrane_potential(
    c1: float, c2: float, fixed_charge: float, d_plus: float, d_minus: float, temperature: float
) -> MembranePotential:
    """TMS membrane potential (module docstring; Meyer & Sievers 1936), in volts."""
    for name, v in (("c1", c1), ("c2", c2), ("temperature", temperature)):
        if not (np.isfinite(v) and v > 0):
            raise AtomisticsError(f"membrane potential: {name} must be > 0, got {v!r}")
    rt_f = GAS_CONSTANT * temperature / FARADAY
    x = float(fixed_charge)
    cp1, cm1 = (float(v) for v in donnan_partition(c1, x))
    cp2, cm2 = (float(v) for v in donnan_partition(c2, x))
    u = (d_minus - d_plus) / (d_plus + d_minus)
    diff = u * np.log(
        ((d_plus + d_minus) * cm2 + d_plus * x) / ((d_plus + d_minus) * cm1 + d_plus * x)
    )
    return MembranePotential(
        donnan_1=rt_f * float(np.log(c1 / cp1)),
        diffusion=rt_f * float(diff),
        donnan_2=rt_f * float(np.log(cp2 / c2)),
    )


# ---------------------------------------------------------------------------
# Per-cell state: Li+ density u -> mobile anion c-, fixed charge X, salt activity s
# ---------------------------------------------------------------------------


def anion_from_total(traps: TrapSites, total, guess=None) -> NDArray[np.float64]:
    """Mobile anion ``c-`` with ``c- + c_T(c-) = total`` (:func:`anion_and_traps`)."""
    return anion_and_traps(traps, total, guess)[0]


def anion_and_traps(traps: TrapSites, total, guess=None) -> tuple[NDArray, NDArray, NDArray]:
    """Mobile anion ``c-`` with ``c- + c_T(c-) = total`` (Fermi-Dirac occupancy), with
    ``c_T`` and ``dc_T/dc-`` there (the Newton iteration's last evaluation, which the
    transport coefficients reuse instead of evaluating the occupancy again).

    With ``theta_T = K c/(N_L + (K - 1) c)`` the condition is the quadratic
    ``(K - 1) c^2 + (N_L + N_T K - u (K - 1)) c - u N_L = 0``; its physical root (in
    ``[max(u - N_T, 0), u]``) is taken in a cancellation-free form,
    ``c = 2 u N_L / (B + sqrt(B^2 + 4 (K - 1) u N_L))`` for ``B >= 0`` and
    ``(sqrt(...) - B) / (2 (K - 1))`` otherwise, with every coefficient divided
    by K when K > 1 (K may be 1e30). A safeguarded Newton iteration polishes it
    (``guess``, e.g. the previous state of a time integration, is used only if the
    closed form is not finite).
    """
    u = np.maximum(np.asarray(total, float), 0.0)
    n_t = traps.site_concentration
    a, b0, c_l = _quadratic(traps)
    b = b0 - u * a
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(b * b + (4.0 * a * c_l) * u, 0.0))
        # the two cancellation-free forms of the same root (b < 0 only when K > 1, a > 0)
        c = np.where(b >= 0, 2.0 * c_l * u / (b + root), (root - b) / (2.0 * a))
    lo = np.maximum(u - n_t, 0.0)
    if not np.isfinite(c).all():
        if guess is not None and np.shape(guess) == u.shape:
            c = np.where(np.isfinite(c), c, guess)
        c = np.where(np.isfinite(c), c, 0.5 * (lo + u))
    c = np.minimum(np.maximum(c, lo), u)
    scale = np.maximum(u, 1e-300)
    # the closed form is almost always right to round-off: one evaluation confirms it
    trapped, slope = traps.trapped_and_slope(c)
    if (np.abs(c + trapped - u) <= 1e-13 * scale).all():
        return c, trapped, slope
    hi = u.copy()
    for _ in range(100):
        trapped, slope = traps.trapped_and_slope(c)
        f = c + trapped - u
        lo = np.where(f < 0, c, lo)
        hi = np.where(f > 0, c, hi)
        # converged, or c is resolved to round-off (for K ~ 1e30 the residual cannot be
        # made smaller than the slope times one ulp of c)
        if np.all((np.abs(f) <= 1e-13 * scale) | (hi - lo <= 4e-16 * hi)):
            return c, trapped, slope
        new = c - f / (1.0 + slope)
        bad = (new <= lo) | (new >= hi) | ~np.isfinite(new)
        c = np.where(bad, 0.5 * (lo + hi), new)
    return (c, *traps.trapped_and_slope(c))


@lru_cache(maxsize=64)
def _quadratic(traps: TrapSites) -> tuple[float, float, float]:
    """``(a, b0, c_L)`` of :func:`anion_and_traps`'s quadratic ``a c^2 + (b0 - a u) c - u c_L
    = 0``, divided by K when K > 1 (K may be 1e30)."""
    n_t, n_l, log_k = traps.site_concentration, traps.liquid_sites, traps.log_k
    if log_k > 0:
        inv_k = math.exp(-log_k)
        return 1.0 - inv_k, n_l * inv_k + n_t, n_l * inv_k
    k = math.exp(log_k)
    return k - 1.0, n_l + n_t * k, n_l


#: Kinds of cells (``CellProperties.kind``).
NEUTRAL, CONSTANT, TRAPS = 0, 1, 2


@dataclass(frozen=True)
class CellProperties:
    """Per-cell constants of a (possibly charged) stack."""

    d_plus: NDArray[np.float64]  # free-solution ionic diffusivities
    d_minus: NDArray[np.float64]
    g: NDArray[np.float64]  # eps / tau
    fixed: NDArray[np.float64]  # constant X (0 where traps or neutral)
    trap_layers: tuple[tuple[slice | NDArray[np.int64], TrapSites], ...]  # cells, sites
    charged: NDArray[np.bool_]
    last: dict = field(default_factory=dict)  # warm start of the c- inversion per trap layer
    kind: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @cached_property
    def neutral_coefficients(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``D_c`` and ``t-`` of a neutral cell (:func:`_coefficients`), for every cell."""
        dp, dm = self.d_plus, self.d_minus
        return self.g * 2.0 * dp * dm / (dp + dm), dm / (dp + dm)

    @cached_property
    def constant(self) -> NDArray[np.bool_] | None:
        """The constant-charge cells (None if there are none)."""
        const = self.kind == CONSTANT
        return const if const.any() else None


def cell_properties(layers: Sequence[Layer], disc: Discretisation) -> CellProperties:
    dp = np.empty(disc.h.size)
    dm = np.empty(disc.h.size)
    g = np.empty(disc.h.size)
    fixed = np.zeros(disc.h.size)
    charged = np.zeros(disc.h.size, bool)
    kind = np.zeros(disc.h.size, np.int64)
    traps = []
    for k, layer in enumerate(layers):
        idx = np.flatnonzero(disc.layer_index == k)
        tp = layer.t_plus if layer.t_plus > 0 else 1e-12
        dp[idx] = layer.diffusivity / (2.0 * (1.0 - tp))
        dm[idx] = layer.diffusivity / (2.0 * tp)
        g[idx] = layer.porosity / layer.tortuosity
        fixed[idx] = layer.fixed_charge
        charged[idx] = layer.charged
        kind[idx] = _layer_kind(layer)
        if layer.traps is not None:
            traps.append((_contiguous(idx), layer.traps))
    return CellProperties(dp, dm, g, fixed, tuple(traps), charged, kind=kind)


def _contiguous(idx: NDArray[np.int64]) -> slice | NDArray[np.int64]:
    """A run of consecutive cells as a slice (its reads are views, not copies: the
    right-hand side reads a trap layer's cells several times per call)."""
    if idx.size and idx[-1] - idx[0] == idx.size - 1:
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def restrict(props: CellProperties, cells) -> CellProperties:
    """The properties of ``cells`` only, in that order (a trap layer keeps its cells among
    them); its own warm start."""
    cells = np.asarray(cells, np.int64)
    traps = []
    every = np.arange(props.g.size)
    for idx, trap_sites in props.trap_layers:
        inside = np.flatnonzero(np.isin(cells, every[idx]))
        if inside.size:
            traps.append((_contiguous(inside), trap_sites))
    return CellProperties(
        props.d_plus[cells],
        props.d_minus[cells],
        props.g[cells],
        props.fixed[cells],
        tuple(traps),
        props.charged[cells],
        kind=props.kind[cells],
    )


def _layer_kind(layer: Layer) -> int:
    if layer.fixed_charge > 0:
        return CONSTANT
    return TRAPS if layer.traps is not None else NEUTRAL


def split_total(props: CellProperties, u: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """``(c-, c+)`` from the Li+ density ``u`` (= total anion, mobile + trapped).

    Signed: a constant-charge cell undershooting ``u < X`` gives ``c- < 0``, and a trap
    cell with ``u < 0`` (past depletion) continues as ``c- = c+ = u``, so that the
    concentrations change sign where the solution crosses zero (the depletion events).
    """
    cm = np.where(props.charged, u - props.fixed, u)
    for k, (idx, traps) in enumerate(props.trap_layers):
        ui = u[idx]
        cm[idx] = anion_from_total(traps, ui, props.last.get(k)) + np.minimum(ui, 0.0)
        props.last[k] = cm[idx]
    return cm, np.where(props.charged, u, cm)


def _split_state(
    props: CellProperties, y: NDArray[np.float64], trap_values: list | None = None
) -> NDArray[np.float64]:
    """Signed ``c-`` from the solver's state ``y = u - X_const`` (``c-`` itself in a
    constant-charge cell, where ``u = c+`` would hold it only as a small difference of two
    large numbers once the co-ions are gone; ``u`` elsewhere). ``trap_values``, if given,
    gets ``(c_T, dc_T/dc-)`` of each trap layer at ``max(c-, 0)``."""
    cm = y.copy()
    for k, (idx, traps) in enumerate(props.trap_layers):
        ui = y[idx]
        c, trapped, slope = anion_and_traps(traps, ui, props.last.get(k))
        cm[idx] = c + np.minimum(ui, 0.0)  # c = 0 where ui < 0: the values are at max(c-, 0)
        props.last[k] = cm[idx]
        if trap_values is not None:
            trap_values.append((trapped, slope))
    return cm


def initial_state(layers: Sequence[Layer], disc: Discretisation, c0: float) -> NDArray[np.float64]:
    """Li+ density at equilibrium with a bulk salt ``c0`` (Donnan partition in charged layers)."""
    u = np.full(disc.h.size, float(c0))
    for k, layer in enumerate(layers):
        idx = disc.layer_index == k
        if layer.fixed_charge > 0:
            u[idx] = float(donnan_partition(c0, layer.fixed_charge)[0])
        elif layer.traps is not None:
            u[idx] = equilibrium_li(layer.traps, c0)
    return u


def equilibrium_li(traps: TrapSites, c_bath: float) -> float:
    """Li+ concentration ``c- + c_T(c-)`` of a trap layer at equilibrium with a bath ``c_bath``."""
    cm = brentq(
        lambda c: c * (c + float(traps.trapped(c))) - c_bath**2, 0.0, c_bath, xtol=1e-14 * c_bath
    )
    return float(cm + traps.trapped(cm))


def _coefficients(props: CellProperties, y: NDArray[np.float64]):
    r"""Signed ``c-``, the anion's diffusivity ``D_c`` and ``t-`` per cell.

    With ``c+ = c- + X(c-)`` and ``s^2 = c+ c-`` the anion flux of the module docstring,
    ``N- = -kappa ds/dx - t- i/F``, is written with ``c-`` as the potential inside a layer:

        N- = -D_c dc-/dx - t- i/F,
        D_c = kappa ds/dc- = g D+ D- (2 c- + X + c- X') / (D+ c+ + D- c-),
        t-  = D- c- / (D+ c+ + D- c-)

    (``X' = dX/dc-``, zero for a constant charge). Unlike ``kappa`` (which vanishes like
    ``s`` where the salt runs out, so that the flux in ``s`` has an infinite slope,
    ``ds/dc- ~ 1/sqrt(c-)``), ``D_c`` is smooth and positive down to ``c- = 0``:
    ``g D-`` in a constant-charge layer (a trace co-ion diffusing in the counter-ions'
    field), ``g D+ D- 2(1 + b)/(D+ (1 + b) + D-)`` with ``b = dX/dc-(0)`` in a trap layer
    (written with ``w = c-/c+``, ``D_c = g D+ D- (1 + w + w X')/(D+ + D- w)``,
    ``t- = D- w/(D+ + D- w)``; ``w -> 1/(1 + b)`` at ``c- = 0``), the ambipolar
    ``g 2 D+ D-/(D+ + D-)`` in a neutral one (Newman & Thomas-Alyea eq. 11.19). The
    coefficients of a constant-charge layer are analytic through ``c- = 0`` (a negative
    ``c-`` past depletion continues them); those of a trap layer are taken at
    ``max(c-, 0)``; the signed ``c-`` carries the continuation past depletion.
    """
    trap_values: list = []
    cm = _split_state(props, y, trap_values)
    dp, dm, g = props.d_plus, props.d_minus, props.g
    dc, tm = (v.copy() for v in props.neutral_coefficients)
    const = props.constant
    if const is not None:
        x = props.fixed
        # analytic through c- = 0 (no kink where the co-ions run out), held away from
        # the pole at c- = -X D+/(D+ + D-)
        cc = np.maximum(cm, -0.5 * x * dp / (dp + dm))
        den = dp * (cc + x) + dm * cc
        with np.errstate(invalid="ignore", divide="ignore"):
            dc = np.where(const, g * dp * dm * (2.0 * cc + x) / den, dc)
            tm = np.where(const, dm * cc / den, tm)
    for (idx, traps), (xt, slope) in zip(props.trap_layers, trap_values, strict=True):
        ci = np.maximum(cm[idx], 0.0)
        # w = c-/c+ = 1/(1 + q) in [0, 1] (its limit 1/(1 + b) at c- = 0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            w = np.where(ci > 0, ci / (ci + xt), 1.0 / (1.0 + slope))
            if traps.finite_slope:
                xw = w * slope  # w X', both exact (the slope's rational form)
            else:
                # w X' = N_T theta (1 - theta)/((1 - theta_L)(c- + X)) without the 1/c- of
                # X' (a strongly bound site leaves c- ~ 1e-320 and X' ~ inf): no overflow
                theta = xt / traps.site_concentration
                theta_l = np.clip(ci / traps.liquid_sites, 0.0, 1.0 - 1e-15)
                xw = np.where(
                    ci > 0,
                    xt * (1.0 - theta) / ((1.0 - theta_l) * (ci + xt)),
                    slope / (1.0 + slope),
                )
        den = dp[idx] + dm[idx] * w
        dc[idx] = g[idx] * dp[idx] * dm[idx] * (1.0 + w + xw) / den
        tm[idx] = dm[idx] * w / den
    return cm, dc, tm


# ---------------------------------------------------------------------------
# Interfaces: Donnan equilibrium, solved exactly for the face's salt activity
# ---------------------------------------------------------------------------


def _side(layer: Layer) -> tuple:
    """What an interface needs of a layer: ``(kind, X or TrapSites)``."""
    kind = _layer_kind(layer)
    if kind == TRAPS:
        return (kind, layer.traps)
    return (kind, layer.fixed_charge)


#: relative step at which the interface's Newton iterations stop (a few ulps)
_NEWTON_RTOL = 4e-15


def _anion_of_salt(side: tuple, s: float) -> tuple[float, float]:
    """``(c-, dc-/ds)`` of a layer at equilibrium with salt activity ``s >= 0``.

    ``c- (c- + X(c-)) = s^2``: ``c- = s`` (neutral), the Donnan root (constant X; Teorell
    1935), or a safeguarded Newton iteration in ``[Donnan root with X = N_T, s]`` (traps).
    ``dc-/ds = 2 s / (2 c- + X + c- X')``.
    """
    kind, what = side
    if kind == NEUTRAL:
        return s, 1.0
    if kind == CONSTANT:
        x = float(what)
        c = s * s / (0.5 * x + math.sqrt(0.25 * x * x + s * s))
        return c, (2.0 * s / (2.0 * c + x) if x > 0 or c > 0 else 1.0)
    traps: TrapSites = what
    if s == 0.0:
        return 0.0, 1.0 / math.sqrt(1.0 + traps.slope_at_zero)
    n_t = traps.site_concentration
    lo = s * s / (0.5 * n_t + math.sqrt(0.25 * n_t * n_t + s * s))
    hi = s
    c = lo
    for _ in range(200):
        x, slope = traps.trapped_and_slope_scalar(c)
        f = c * (c + x) - s * s
        if f == 0.0:
            break
        if f < 0:
            lo = c
        else:
            hi = c
        new = c - f / (2.0 * c + x + c * slope)
        if not lo <= new <= hi:
            new = 0.5 * (lo + hi)
        if abs(new - c) <= _NEWTON_RTOL * c or hi - lo <= _NEWTON_RTOL * hi:
            c = new
            break
        c = new
    x, slope = traps.trapped_and_slope_scalar(c)
    return c, 2.0 * s / (2.0 * c + x + c * slope)


def _bound(side: tuple) -> float:
    """The largest fixed charge a layer can hold (``c- >= s - X_max/2``)."""
    kind, what = side
    if kind == CONSTANT:
        return float(what)
    return what.site_concentration if kind == TRAPS else 0.0


def interface_salt(
    left: tuple, right: tuple, a: float, b: float, rhs: float, guess: float | None = None
):
    """Salt activity ``s_f`` at a layer interface and the left side's ``c-`` there.

    Each half-cell carries the anion flux with its own (frozen) coefficients,
    ``N = -a (c-_L(s_f) - c-_L) + t-_L J/F = -b (c-_R - c-_R(s_f)) + t-_R J/F``, and the
    two sides are in Donnan equilibrium at the common ``s_f``
    (:func:`_anion_of_salt`). Flux continuity is the monotone scalar equation
    ``a c-_L(s) + b c-_R(s) = rhs`` (``rhs = a c-_L + b c-_R + (t-_L - t-_R) J/F``),
    solved by Newton's method with bisection; ``s_f`` takes the sign of ``rhs``
    (odd continuation past depletion). Two neutral sides give the usual harmonic
    two-point flux. ``guess`` (e.g. the face's ``|s_f|`` at the integrator's previous
    call) starts the iteration if it lies inside the bracket; the root is the same.
    """
    sign = 1.0 if rhs >= 0 else -1.0
    target = abs(rhs)
    if target == 0.0:
        return 0.0, 0.0
    ab = a + b
    lo = target / ab  # c-(s) <= s
    hi = (target + 0.5 * (a * _bound(left) + b * _bound(right))) / ab * (1 + 1e-12) + 1e-300
    s = guess if guess is not None and lo < guess < hi else lo
    for _ in range(200):
        cl, dl = _anion_of_salt(left, s)
        cr, dr = _anion_of_salt(right, s)
        f = a * cl + b * cr - target
        if f == 0.0:
            break
        if f < 0:
            lo = s
        else:
            hi = s
        slope = a * dl + b * dr
        new = s - f / slope if slope > 0 else 0.5 * (lo + hi)
        if not lo <= new <= hi:
            new = 0.5 * (lo + hi)
        if abs(new - s) <= _NEWTON_RTOL * s or hi - lo <= _NEWTON_RTOL * hi:
            s = new
            break
        s = new
    cl = _anion_of_salt(left, s)[0]
    return sign * s, sign * cl


@dataclass(frozen=True)
class FixedChargeSystem:
    """The semi-discrete fixed-charge system ``eps h du/dt = N-_{i-1/2} - N-_{i+1/2}``.

    Its methods take the solver's state ``y = u - X_const`` (:func:`_split_state`): the
    Li+ density ``u`` less the constant fixed charge, i.e. ``c-`` in a constant-charge cell
    (``dy/dt = du/dt``); :meth:`li` gives ``u`` back. ``max_evaluations`` bounds the right-hand-side evaluations of one integration: a
    solve that needs more has stalled (:class:`SolverStalled`), instead of running on.
    """

    layers: tuple[Layer, ...]
    disc: Discretisation
    props: CellProperties
    current_density: float
    max_evaluations: int = 100_000
    counter: list = field(default_factory=lambda: [0])
    #: each interface's last |s_f|, the next Newton iteration's start (the root is the same)
    last_salt: dict = field(default_factory=dict)
    #: per-cell concentration scale of the Jacobian's differences (None: 1e-3 max |y|)
    typical: NDArray[np.float64] | None = None

    def state(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The solver's state ``y = u - X_const`` from the Li+ density ``u``."""
        return u - self.props.fixed

    def li(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        """The Li+ density ``u`` (= total anion) from the solver's state ``y``."""
        return y + self.props.fixed

    def typical_scale(self, y: NDArray[np.float64], c0: float) -> NDArray[np.float64]:
        """Per-cell concentration scale ``min(c0, J h/(2 F D_c))`` [mol/m^3] (see below)."""
        _, dc, _ = _coefficients(self.props, y)
        step = self.current_density / FARADAY * self.disc.h / (2.0 * dc)
        return np.minimum(c0, step)

    def absolute_tolerance(self, y: NDArray[np.float64], rtol: float, c0: float) -> NDArray:
        """Per-cell absolute tolerance ``rtol min(c0, J h/(2 F D_c))`` [mol/m^3].

        ``J h/(2 F D_c)`` is the concentration step across half a cell that carries the
        whole current's flux, so that a cell's local error moves a face flux by at most
        ``rtol`` of ``J/F``: thin cells (a coating's, 1e-8 m) get a tight tolerance, and a
        depleted coating's few co-ions, far below ``rtol c0`` yet coupled to the interface
        through its large conductance ``2 D_c/h``, are resolved.
        """
        return rtol * self.typical_scale(y, c0)

    @property
    def interfaces(self) -> NDArray[np.int64]:
        li = self.disc.layer_index
        return np.flatnonzero(li[1:] != li[:-1])

    @cached_property
    def interface_sides(self) -> list[tuple[int, tuple, tuple]]:
        """``(face index, left side, right side)`` of every interface (:func:`_side`)."""
        li = self.disc.layer_index
        return [
            (int(k), _side(self.layers[li[k]]), _side(self.layers[li[k + 1]]))
            for k in self.interfaces
        ]

    @property
    def electrode_can_deplete(self) -> bool:
        """False when the layer at the plating wall has a constant X (``c+ >= X`` there)."""
        return not self.layers[0].fixed_charge > 0

    def face_fluxes(self, y: NDArray[np.float64]):
        """Interior anion fluxes, the per-cell ``c-``, the interfaces' salt activity, ``D_c``, ``t-``.

        Inside a layer the two-point flux in ``c-`` (:func:`_coefficients`): ``N = -G
        (c-_R - c-_L) + t_f J/F`` with the harmonic ``G = a b/(a + b)``, ``a = 2 D_c,L/h_L``,
        ``b = 2 D_c,R/h_R`` and ``t_f = (b t-_L + a t-_R)/(a + b)``; at an interface the
        Donnan-consistent flux of :func:`interface_salt` (:meth:`_interface_face`).
        """
        cm, dc, tm = _coefficients(self.props, y)
        h = self.disc.h
        a = 2.0 * dc[:-1] / h[:-1]
        b = 2.0 * dc[1:] / h[1:]
        ab = a + b
        jf = self.current_density / FARADAY
        flux = -(a * b / ab) * (cm[1:] - cm[:-1]) + (b * tm[:-1] + a * tm[1:]) / ab * jf
        sides = self.interface_sides
        s_face = np.zeros(len(sides))
        for n, (k, left, right) in enumerate(sides):
            s_face[n], flux[k] = self._interface_face(k, left, right, cm, dc, tm, k)
        return flux, cm, s_face, dc, tm

    def _interface_face(self, k, left, right, cm, dc, tm, i) -> tuple[float, float]:
        """Salt activity and anion flux at interface face ``k`` (between cells ``k`` and
        ``k + 1``) from the coefficients of those two cells, found at ``cm[i]``, ``cm[i + 1]``."""
        h = self.disc.h
        jf = self.current_density / FARADAY
        a = 2.0 * dc[i] / h[k]
        b = 2.0 * dc[i + 1] / h[k + 1]
        rhs = a * cm[i] + b * cm[i + 1] + (tm[i] - tm[i + 1]) * jf
        guess = self.last_salt.get(k)
        s_f, c_left = interface_salt(left, right, float(a), float(b), float(rhs), guess)
        self.last_salt[k] = abs(s_f)
        return s_f, -a * (c_left - cm[i]) + tm[i] * jf

    @cached_property
    def _event_cells(self) -> tuple[CellProperties, NDArray[np.int64], CellProperties]:
        """The properties of the wall cell and of the cells beside each interface, with the
        latter's indices: the events read only these, and splitting the whole state for
        them (the trap inversion of every cell) cost as much as a right-hand side."""
        k = self.interfaces
        beside = np.stack([k, k + 1], axis=1).ravel()
        return restrict(self.props, [0]), beside, restrict(self.props, beside)

    def rhs(self, _t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        self.counter[0] += 1
        if self.counter[0] > self.max_evaluations:
            raise SolverStalled(self.counter[0], _t)
        flux = self.face_fluxes(y)[0]
        out = np.zeros_like(y)
        out[:-1] -= flux
        out[1:] += flux
        return out / self.disc.storage

    def jacobian(self, _t: float, y: NDArray[np.float64]) -> sparse.csc_matrix:
        """Tridiagonal Jacobian assembled face by face, so that it conserves exactly.

        Each face flux's derivatives with respect to its two cells are taken by
        one-sided differences; the face adds them with opposite signs to its two
        cells, so the column sums weighted by the storage vanish (the linear invariant
        ``sum(eps h u)`` is kept by every Newton step of the implicit integrator). The
        differences are ``1e-7 max(|y|, typical)``: a depleted cell's few co-ions next to
        an interface are perturbed on their own scale, not on the bulk's.
        """
        flux = self.face_fluxes(y)[0]
        n = y.size
        floor = 1e-3 * np.max(np.abs(y)) if self.typical is None else self.typical
        du = 1e-7 * np.maximum(np.abs(y), floor)
        d_left = np.zeros(n - 1)
        d_right = np.zeros(n - 1)
        for parity in (0, 1):  # perturb every other cell: each face sees one change
            pert = np.zeros(n)
            pert[parity::2] = du[parity::2]
            moved = self.face_fluxes(y + pert)[0] - flux
            # face i (cells i, i + 1) saw its left cell move if i = parity (mod 2), else its right
            d_left[parity::2] = moved[parity::2] / du[:-1][parity::2]
            d_right[1 - parity :: 2] = moved[1 - parity :: 2] / du[1:][1 - parity :: 2]
        m = self.disc.storage
        diag = np.zeros(n)
        diag[:-1] -= d_left
        diag[1:] += d_right
        upper = -d_right  # d(out_i)/d(u_{i+1}) from face i+1/2
        lower = d_left  # d(out_{i+1})/d(u_i) from face i+1/2
        inv = 1.0 / m  # row i divided by its storage (one assembly, no sparse product)
        return sparse.diags(
            [inv * diag, inv[:-1] * upper, inv[1:] * lower], [0, 1, -1], shape=(n, n), format="csc"
        )

    def electrode_li(self, y: NDArray[np.float64]) -> float:
        """Li+ concentration ``c+`` at the plating wall x = 0 [mol/m^3] (signed past depletion).

        The anion does not cross the wall: ``0 = -(2 D_c,0/h_0)(c-_0 - c-_w) + t-_0 J/F``
        gives ``c-_w``, and ``c+_w = c-_w + X(c-_w)``. The dendrite criterion (Sand's
        time proper) is ``c+_w = 0``; a constant X keeps ``c+_w >= X``.
        """
        cm, dc, tm = _coefficients(self._event_cells[0], y[:1])
        jf = self.current_density / FARADAY
        cw = float(cm[0] - 0.5 * self.disc.h[0] * tm[0] * jf / dc[0])
        first = self.layers[0]
        if first.fixed_charge > 0:
            return cw + float(first.fixed_charge)
        if first.traps is not None and cw > 0:
            return cw + float(first.traps.trapped(cw))
        return cw

    def interface_salt(self, y: NDArray[np.float64]) -> float:
        """Smallest salt activity ``s = sqrt(c+ c-)`` at a layer interface (``inf`` if none)."""
        sides = self.interface_sides
        if not sides:
            return float("inf")
        _, beside, props = self._event_cells
        cm, dc, tm = _coefficients(props, y[beside])
        return min(
            self._interface_face(k, left, right, cm, dc, tm, 2 * n)[0]
            for n, (k, left, right) in enumerate(sides)
        )


class SolverStalled(AtomisticsError):
    """The fixed-charge integration needed more right-hand-side evaluations than allowed."""

    def __init__(self, evaluations: int, time: float) -> None:
        super().__init__(
            f"fixed-charge solver stalled: {evaluations} evaluations without reaching the end "
            f"(at t = {time:.6g} s); loosen the tolerance (rtol 1e-6 to 1e-9: below that, the "
            "round-off of thin coating cells next to a long separator exceeds it)"
        )


def simulate_fixed_charge(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    t_end: float | None = None,
    *,
    profile_times: Sequence[float] = (),
    stop_at_sand: bool = True,
    rtol: float = 1e-8,
    cells_per_layer: int | Sequence[int] = 400,
    growth: float | None = None,
    disc: Discretisation | None = None,
    max_evaluations: int = 100_000,
) -> TransportResult:
    """Transient of a stack with charged layers at constant current (module docstring).

    Method of lines on the finite-volume system, integrated with
    :func:`scipy.integrate.solve_ivp` (BDF, the conservative tridiagonal Jacobian of
    :meth:`FixedChargeSystem.jacobian`). The state is the Li+ concentration (= total
    anion, mobile + trapped); ``profiles``/``final`` hold it, ``final_anion`` the mobile
    anion. Two events are located:

    * **electrode depletion** (``sand_time``, Sand's time proper, the dendrite
      criterion): Li+ at the plating wall reaches zero (:meth:`FixedChargeSystem.electrode_li`);
      Sand (1901), Chazalviel (1990). A constant fixed charge at the wall keeps ``c+ >=
      X`` there: the electrode never depletes (``sand_time = inf``,
      ``electrode_can_deplete = False``);
    * **interface salt depletion** (``interface_depletion_time``): the salt activity at
      a layer interface reaches zero (the neutral side's salt runs out there).

    With ``stop_at_sand`` the run ends at the first of the two: past an interface
    depletion the electroneutral model no longer holds there (the neutral side has no
    salt left to carry the current; a space-charge layer would form), so an electrode
    depletion is reported only if it comes first. When the interface depletes first,
    ``sand_time`` is ``inf`` (not reached while the model holds) and
    ``electrode_li_at_interface_depletion`` says how much Li+ was left at the wall.
    ``surface`` holds the Li+ concentration at the wall at the solver's steps.

    Long because it sets up and runs one stiff integration with its two events (electrode, interface) and the stall guard, which share the solver's state.
    """
    if not (np.isfinite(c0) and c0 > 0):
        raise AtomisticsError(f"c0 must be > 0, got {c0!r}")
    if not (np.isfinite(current_density) and current_density > 0):
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    if disc is None:
        zone = depletion_zone(layers, c0, current_density) if growth is None else None
        disc = discretise(layers, cells_per_layer, 1.01 if growth is None else growth, zone)
    total = sum(layer.thickness for layer in layers)
    slowest = max(layer.porosity * total**2 / layer.effective_diffusivity for layer in layers)
    t_end = 5.0 * slowest if t_end is None else float(t_end)
    if not t_end > 0:
        raise AtomisticsError(f"t_end must be > 0, got {t_end!r}")
    system = FixedChargeSystem(
        tuple(layers),
        disc,
        cell_properties(layers, disc),
        float(current_density),
        max_evaluations=int(max_evaluations),
    )
    y0 = system.state(initial_state(layers, disc, c0))
    system = replace(system, typical=system.typical_scale(y0, c0))
    outs = sorted(float(t) for t in profile_times if 0 <= t <= t_end)

    def electrode(_t, y):
        return system.electrode_li(y)

    def interface(_t, y):
        return system.interface_salt(y)

    electrode.terminal = interface.terminal = True
    electrode.direction = interface.direction = -1
    events = []
    if stop_at_sand and system.electrode_can_deplete:
        events.append(electrode)
    if stop_at_sand and system.interfaces.size:
        events.append(interface)
    first = min(1e-6 * semi_infinite_estimate(layers, c0, current_density), 1e-3 * t_end)
    sol = solve_ivp(
        system.rhs,
        (0.0, t_end),
        y0,
        method="BDF",
        jac=system.jacobian,
        events=events or None,
        rtol=rtol,
        atol=system.absolute_tolerance(y0, rtol, c0),
        dense_output=True,
        first_step=first,
    )
    if sol.status < 0:
        raise AtomisticsError(f"fixed-charge solver failed: {sol.message}")
    sand = t_interface = float("inf")
    li_at_interface = float("nan")
    for ev, times in zip(events, sol.t_events or [], strict=True):
        if not times.size:
            continue
        if ev is electrode:
            sand = float(times[0])
        else:
            t_interface = float(times[0])
            li_at_interface = system.electrode_li(sol.sol(t_interface))
    t_stop = min(sand, t_interface, t_end)
    outs = [t for t in outs if t <= t_stop]
    profs = np.array([system.li(sol.sol(t)) for t in outs]).reshape(len(outs), disc.h.size)
    final = system.li(sol.y[:, -1])
    surface = np.array([system.electrode_li(sol.y[:, k]) for k in range(sol.t.size)])
    return TransportResult(
        x=disc.centres,
        times=sol.t,
        surface=surface,
        profile_times=np.array(outs),
        profiles=profs,
        sand_time=sand,
        n_steps=int(sol.t.size - 1),
        n_rejected=0,
        final=final,
        method="fixed-charge BDF",
        final_anion=_split_state(system.props, sol.y[:, -1]),
        interface_depletion_time=t_interface,
        electrode_can_deplete=system.electrode_can_deplete,
        electrode_li_at_interface_depletion=li_at_interface,
        n_evaluations=system.counter[0],
    )


def inventory(layers: Sequence[Layer], disc: Discretisation, u: NDArray[np.float64]) -> dict:
    """Li+ and anion (mobile + trapped) inventories ``sum(eps h c)`` [mol/m^2], computed apart.

    Li+ is the state itself; the anion is the mobile ``c-`` recovered from it (the
    occupancy inversion in trap layers) plus the trapped ``c_T(c-)``.
    """
    props = cell_properties(layers, disc)
    cm, cp = split_total(props, u)
    # c- is signed (split_total): undershoots below zero of the size of the integrator's
    # absolute tolerance are counted, not clipped away
    trapped = props.fixed.copy()
    for idx, traps in props.trap_layers:
        trapped[idx] = traps.trapped(np.maximum(cm[idx], 0.0))
    m = disc.storage
    return {
        "li": float(np.sum(m * cp)),
        "anion": float(np.sum(m * cm) + np.sum(m * trapped)),
        "trapped": float(np.sum(m * trapped)),
    }


# ---------------------------------------------------------------------------
# Steady state and limiting current of a charged stack
# ---------------------------------------------------------------------------


def _steady_rate(layer: Layer) -> tuple[float, float]:
    """``(g D+, g)`` of a layer: at steady state ``dc-/dx = J c- / (F g D+ (2c- + X + c- X'))``."""
    tp = layer.t_plus
    d_plus = layer.diffusivity / (2.0 * (1.0 - tp))
    g = layer.porosity / layer.tortuosity
    return g * d_plus, g


#: A constant fixed charge X at the plating wall keeps ``c+ >= X`` there, and its exact
#: steady state has ``c-(0) > 0`` up to the interface limit (the co-ions' concentration at
#: the wall only falls exponentially, over a width ~ X, past the electroneutral limit: the
#: leaky-membrane picture of Dydek & Bazant, AIChE J. 59, 3539 (2013)). The salt at the
#: electrode is taken to have run out when ``c-(0)`` has fallen to this fraction of
#: ``X c-_D/(X + c-_D)`` (``c-_D``: the Donnan co-ion concentration at c0), i.e. of the
#: smaller of the fixed charge and the co-ions' equilibrium level: J_lim then tends to the
#: neutral layer's as X -> 0 (the co-ion floor goes to 0 with X), and to the interface
#: limit when X is large (the floor is never reached before the coating is depleted).
SALT_RUN_OUT_FRACTION = 1e-6


def _inventory(layers: Sequence[Layer], c0: float) -> float:
    """Li+ (= total anion) inventory ``sum eps L c+`` of the stack at equilibrium with c0."""
    inv = 0.0
    for layer in layers:
        if layer.fixed_charge > 0:
            cp = float(donnan_partition(c0, layer.fixed_charge)[0])
        elif layer.traps is not None:
            cp = equilibrium_li(layer.traps, c0)
        else:
            cp = c0
        inv += layer.porosity * layer.thickness * cp
    return inv


def constant_charge_profile_end(c_start: float, fixed_charge: float, rate: float, length: float):
    r"""End value and integral of the steady co-ion profile of a constant-X layer.

    With ``N- = 0`` the Nernst-Planck equations of the module docstring give
    ``dc-/dx = rate c-/(2 c- + X)``, ``rate = J/(F g D+)``, whose solution is the
    Teorell-Meyer-Sievers steady profile (Teorell 1935; the same implicit form is the
    Lambert-W solution of Dydek & Bazant 2013's leaky membrane)

        2 c- + X ln c- = 2 c_start + X ln c_start + rate x.

    Returns ``(c-(L), int_0^L (c- + X) dx)``; the integral is exact,
    ``X L + (c_L^2 - c_s^2 + X (c_L - c_s))/rate`` (``dx = (2 + X/c-) dc-/rate``). The end
    value is the root in ``t = ln c-`` of the increasing ``2 e^t + X t - K``.
    """
    x = float(fixed_charge)
    k = 2.0 * c_start + x * math.log(c_start) + rate * length

    def f(t: float) -> float:
        return 2.0 * math.exp(min(t, 700.0)) + x * t - k

    lo = math.log(c_start)
    hi = max(lo, math.log(max(k, 1e-300) / 2.0), k / x) + 1.0
    while f(hi) < 0:
        hi += 2.0 * (hi - lo) + 1.0
    t = brentq(f, lo, hi, xtol=1e-15, rtol=1e-15) if f(lo) < 0 else lo
    c_end = math.exp(t)
    integral = x * length + (c_end**2 - c_start**2 + x * (c_end - c_start)) / rate
    return c_end, integral


#: ln K beyond which :func:`trap_profile_end` holds K (the profile no longer depends on it)
_LOG_K_HELD = 600.0


def trap_profile_end(
    traps: TrapSites, c_start: float, rate: float, length: float
) -> tuple[float, float]:
    r"""End value and integral of the steady anion profile of a trap layer.

    With ``N- = 0`` and ``X = c_T(c-)`` (Fermi-Dirac, :class:`TrapSites`) the
    Nernst-Planck equations of the module docstring give

        dc-/dx = rate c- / (2 c- + X + c- X'),   rate = J/(F g D+)

    (the trap analogue of :func:`constant_charge_profile_end`; ``c-`` increases from the
    wall). It is integrated with a relative tolerance on ``c-`` (absolute below 1e-250
    mol/m^3, far below any concentration that moves the result): a strongly bound
    layer's ``c-`` stays below 1e-30 mol/m^3 through the coating at dG = -3 eV, and an
    absolute tolerance of 1e-12 c0 swallowed it. ``c-(L)`` then came out wrong by up to
    1e10 and the inventory by 2 % (at -3 eV; 90 % at -10 eV), and J_lim jumped by up to
    0.5 % between neighbouring dG past -2 eV, where it is constant
    (tests/test_continuum_trap_profile.py).

    Near the wall, while ``X = beta c-`` (``beta = dX/dc-(0) = N_T K/N_L``, ``K c- << N_L``),
    the profile is exactly the line ``c- = c_start + m x``, ``m = rate/(2 (1 + beta))``. A
    start below ``m x0`` (``x0 = 1e-9 length``; ``c_start = 0`` at the limiting current, or
    a root bracket's 1e-300) is carried along that line to ``x0`` (inventory ``(1 + beta)
    (c_start x0 + m x0^2/2)``), where ``K c-/N_L ~ rate x0/(2 N_T)`` is ~1e-11: integrated
    from the floats' last decades instead, c- must grow by 1e290 and the relative error
    control never left x = 0. Beyond ln K = 600 (dG < -15 eV at 298 K) K is held there:
    ``c-`` in the layer is then below ~1e-250 mol/m^3 whatever K is, and a larger K put
    the line below the smallest float (J_lim moved by 5e-4 at -20 eV). Returns ``(c-(L),
    int_0^L (c- + X) dx)``.
    """
    if traps.log_k > _LOG_K_HELD:
        traps = replace(traps, delta_g_ev=-_LOG_K_HELD * BOLTZMANN_EV * traps.temperature)
    n_t, n_l = traps.site_concentration, traps.liquid_sites
    pair = traps.trapped_and_slope_scalar

    def ode(_x, y):
        c = max(y[0], 1e-300)
        x_t, slope = pair(c)
        return [rate * c / (2.0 * c + x_t + c * slope), c + x_t]

    beta = n_t * math.exp(traps.log_k) / n_l
    m, x0 = rate / (2.0 * (1.0 + beta)), 1e-9 * length
    if c_start >= m * x0:
        y0, span = [c_start, 0.0], (0.0, length)
    else:
        inventory = (1.0 + beta) * (c_start * x0 + 0.5 * m * x0 * x0)
        y0, span = [c_start + m * x0, inventory], (x0, length)
    sol = solve_ivp(
        ode,
        span,
        y0,
        method="LSODA",
        rtol=1e-10,
        # relative in c- (see above), absolute below 1e-250 mol/m^3
        atol=[1e-250, 1e-16 * length * (n_l + n_t)],
    )
    if sol.status < 0:
        raise AtomisticsError(f"trap layer's steady profile failed: {sol.message}")
    return float(sol.y[0, -1]), float(sol.y[1, -1])


def salt_run_out_floor(layer: Layer, c0: float) -> float:
    """Co-ion concentration at a constant-X wall at which its salt counts as run out [mol/m^3]."""
    x = float(layer.fixed_charge)
    cm_d = float(donnan_partition(c0, x)[1])
    return SALT_RUN_OUT_FRACTION * x * cm_d / (x + cm_d)


def _steady_profile_inventory(layers: Sequence[Layer], c0: float, j: float, start: float) -> float:
    """Li+ inventory of the steady (``N- = 0``) profile from the wall through the stack.

    ``start`` is ``c-`` at the wall; across interfaces ``s = sqrt(c+ c-)`` is continuous.
    """
    total, s = 0.0, None
    for k, layer in enumerate(layers):
        gdp, _ = _steady_rate(layer)
        rate = j / (FARADAY * gdp)
        if k == 0:
            cm_start = start
        else:
            cm_start = _anion_from_salt(layer, s) if s > 0 else 0.0
        if not layer.charged:
            # neutral: dc/dx = J/(2 F g D+), c = s
            c_end = cm_start + 0.5 * rate * layer.thickness
            total += layer.porosity * layer.thickness * 0.5 * (cm_start + c_end)
            s = c_end
            continue
        if layer.fixed_charge > 0:
            if cm_start <= 0.0:  # a depleted constant-X layer keeps X, carries no co-ions
                total += layer.porosity * layer.thickness * layer.fixed_charge
                s = 0.0
                continue
            cm_end, integral = constant_charge_profile_end(
                cm_start, layer.fixed_charge, rate, layer.thickness
            )
            total += layer.porosity * integral
            s = math.sqrt(cm_end * (cm_end + layer.fixed_charge))
            continue
        cm_end, integral = trap_profile_end(layer.traps, cm_start, rate, layer.thickness)
        total += layer.porosity * integral
        s = math.sqrt(cm_end * (cm_end + layer.traps.trapped_scalar(cm_end)))
    return total


def _solve_for_current(inventory_at) -> float:
    """The current at which a steady profile's inventory (increasing in J) matches the cell's."""
    hi = 1.0
    while inventory_at(hi) < 0:
        hi *= 4.0
        if hi > 1e12:
            return float("inf")
    lo = hi / 4.0 if hi > 1.0 else 0.0
    return float(brentq(inventory_at, lo, hi, xtol=1e-12 * hi, rtol=1e-12))


def limiting_current_fixed_charge(layers: Sequence[Layer], c0: float) -> float:
    """Steady current density [A/m^2] at which the salt runs out at the plating electrode.

    At steady state ``N- = 0`` everywhere, so in each layer ``ds/dx = t- J/(F kappa) =
    J c- / (2 F g D+ s)`` (module docstring), i.e. ``dc-/dx = J c-/(F g D+ (2c- + X +
    c- dX/dc-))``; ``s`` is continuous across interfaces. J_lim is the current at which
    the steady profile that starts from ``c- = 0`` at the wall holds exactly the cell's
    anion inventory (the Li+ inventory: every Li+ balances a mobile or trapped anion).

    * Neutral or trap layer at the wall (the traps release their anions as ``c- -> 0``,
      so ``X -> 0`` with ``c-``): Li+ itself runs out at the wall, ``c+(0) = 0``: the
      dendrite criterion (Sand's time proper) has a steady-state limit here.
    * Constant X at the wall: ``c+ >= X`` there, so Li+ never runs out; the salt (co-ion)
      runs out, ``c-(0) -> 0``, which the exact profile only approaches exponentially
      (:data:`SALT_RUN_OUT_FRACTION` sets the floor, :func:`salt_run_out_floor`; the
      closed form of :func:`constant_charge_profile_end` carries the layer). Beyond it
      the fixed charge's counter-ions carry the current across a depleted layer, at an
      ohmic cost (:func:`depleted_layer_voltage`), up to
      :func:`interface_limiting_current`. J_lim is continuous in X -> 0.

    Neutral stacks give ``J_lim`` of :func:`atomistics.continuum.transport.limiting_current`.
    """
    layers = list(layers)
    inv0 = _inventory(layers, c0)
    first = layers[0]
    start = salt_run_out_floor(first, c0) if first.fixed_charge > 0 else 0.0
    return _solve_for_current(lambda j: _steady_profile_inventory(layers, c0, j, start) - inv0)


def interface_limiting_current(layers: Sequence[Layer], c0: float) -> float:
    """Current density [A/m^2] at which the salt runs out at the interface behind a
    constant-X wall layer (``inf`` if the wall layer has no constant fixed charge).

    The constant-X layers at the wall are fully depleted (``c- = 0``, they keep X and
    X's Li+, ``t- = 0``: ideally cation-selective), and the next layer's steady profile
    starts from ``s = 0`` at the interface; its current is the stack's hard limit (above
    it no steady state exists, and :func:`simulate_fixed_charge` finds interface
    depletion). For a neutral or trap wall the electrode's limit
    (:func:`limiting_current_fixed_charge`) always comes first (``s`` grows away from
    the wall at steady state).
    """
    layers = list(layers)
    if not layers[0].fixed_charge > 0:
        return float("inf")
    inv0 = _inventory(layers, c0)
    return _solve_for_current(lambda j: _steady_profile_inventory(layers, c0, j, 0.0) - inv0)


def charge_functions(layer: Layer):
    """``X(c-)`` and ``dX/dc-`` of a charged layer as scalar functions."""
    if layer.traps is not None:
        traps = layer.traps
        return traps.trapped_scalar, traps.d_trapped_scalar
    x = float(layer.fixed_charge)
    return (lambda c: x), (lambda c: 0.0)


def _anion_from_salt(layer: Layer, s: float) -> float:
    """``c-`` with ``c- (c- + X(c-)) = s^2`` in a charged layer."""
    if layer.traps is None:
        return float(donnan_partition(s, layer.fixed_charge)[1])
    traps = layer.traps
    return float(
        brentq(lambda c: c * (c + traps.trapped_scalar(c)) - s * s, 0.0, s, xtol=1e-15 * s)
    )


def depleted_layer_voltage(layer: Layer, current_density: float, temperature: float) -> float:
    """Ohmic drop [V] across a constant-charge layer whose co-ions are gone (c+ = X, t+ = 1).

    ``Delta V = J L tau RT / (F^2 eps D+ X)`` (Nernst-Einstein conductivity of the
    counter-ions alone): the cost of carrying the current past the limit of a
    neutral layer by the fixed charge's counter-ions (Dydek et al. 2011).
    """
    if not layer.fixed_charge > 0:
        return float("inf")
    gdp, _ = _steady_rate(layer)
    return float(
        current_density
        * layer.thickness
        * GAS_CONSTANT
        * temperature
        / (FARADAY**2 * gdp * layer.fixed_charge)
    )
