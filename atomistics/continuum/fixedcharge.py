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
``f dphi = ln(c+_L / c+_R)``). Using ``s`` as the transported potential, the
interface needs no special treatment: the finite-volume face flux is the same
two-point flux as in the neutral solver, with ``kappa`` and ``t-`` in place of
``D_eff`` and ``1 - t+``. Boundaries: the anion does not cross either electrode
(``N- = 0``); all current is carried by Li+.

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

Validity. Dilute (ideal) solution theory, no activity coefficients (at 6 M LiFSI in
DME this is a strong assumption: only trends are meaningful); local
electroneutrality (Debye length << pore size); traps in local equilibrium (binding
faster than transport). A layer with a constant ``X`` keeps ``c+ >= X`` at the
electrode, so the classical Sand criterion ``c+(0) = 0`` cannot be met there; the
salt then depletes first at the neutral side of the coating/separator interface,
which is what the event of :func:`simulate_fixed_charge` detects. Over-limiting
current carried by the fixed charge's counter-ions (Dydek et al. 2011) is part of
the model, and its ohmic cost is reported by the bridge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
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
    """Mobile anion ``c-`` with ``c- + c_T(c-) = total`` (Fermi-Dirac occupancy).

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
    n_t, n_l = traps.site_concentration, traps.liquid_sites
    lo = np.maximum(u - n_t, 0.0)
    hi = u.copy()
    log_k = traps.log_k
    if log_k > 0:  # divide by K
        inv_k = np.exp(-log_k)
        a, b0, c_l = 1.0 - inv_k, n_l * inv_k + n_t, n_l * inv_k
    else:
        k = np.exp(log_k)
        a, b0, c_l = k - 1.0, n_l + n_t * k, n_l
    b = b0 - u * a
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(b * b + 4.0 * a * u * c_l, 0.0))
        # the two cancellation-free forms of the same root (b < 0 only when K > 1, a > 0)
        c = np.where(b >= 0, 2.0 * u * c_l / (b + root), (root - b) / (2.0 * a))
    if guess is not None and np.shape(guess) == u.shape:
        c = np.where(np.isfinite(c), c, guess)
    c = np.clip(np.where(np.isfinite(c), c, 0.5 * (lo + hi)), lo, hi)
    scale = np.maximum(u, 1e-300)
    for _ in range(100):
        trapped, slope = traps.trapped_and_slope(c)
        f = c + trapped - u
        lo = np.where(f < 0, c, lo)
        hi = np.where(f > 0, c, hi)
        # converged, or c is resolved to round-off (for K ~ 1e30 the residual cannot be
        # made smaller than the slope times one ulp of c)
        if np.all((np.abs(f) <= 1e-13 * scale) | (hi - lo <= 4e-16 * hi)):
            return c
        new = c - f / (1.0 + slope)
        bad = (new <= lo) | (new >= hi) | ~np.isfinite(new)
        c = np.where(bad, 0.5 * (lo + hi), new)
    return c


@dataclass(frozen=True)
class CellProperties:
    """Per-cell constants of a (possibly charged) stack."""

    d_plus: NDArray[np.float64]  # free-solution ionic diffusivities
    d_minus: NDArray[np.float64]
    g: NDArray[np.float64]  # eps / tau
    fixed: NDArray[np.float64]  # constant X (0 where traps or neutral)
    trap_layers: tuple[tuple[NDArray[np.int64], TrapSites], ...]
    charged: NDArray[np.bool_]
    last: dict = field(default_factory=dict)  # warm start of the c- inversion per trap layer


def cell_properties(layers: Sequence[Layer], disc: Discretisation) -> CellProperties:
    dp = np.empty(disc.h.size)
    dm = np.empty(disc.h.size)
    g = np.empty(disc.h.size)
    fixed = np.zeros(disc.h.size)
    charged = np.zeros(disc.h.size, bool)
    traps = []
    for k, layer in enumerate(layers):
        idx = np.flatnonzero(disc.layer_index == k)
        tp = layer.t_plus if layer.t_plus > 0 else 1e-12
        dp[idx] = layer.diffusivity / (2.0 * (1.0 - tp))
        dm[idx] = layer.diffusivity / (2.0 * tp)
        g[idx] = layer.porosity / layer.tortuosity
        fixed[idx] = layer.fixed_charge
        charged[idx] = layer.charged
        if layer.traps is not None:
            traps.append((idx, layer.traps))
    return CellProperties(dp, dm, g, fixed, tuple(traps), charged)


def split_total(props: CellProperties, u: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """``(c-, c+)`` from the Li+ density ``u`` (= total anion, mobile + trapped).

    Signed: a constant-charge cell undershooting ``u < X`` gives ``c- < 0``, and a trap
    cell with ``u < 0`` (past depletion) continues as ``c- = c+ = u``, so that the salt
    activity changes sign where the solution crosses zero (the depletion event).
    """
    cm = np.where(props.charged, u - props.fixed, u)
    for k, (idx, traps) in enumerate(props.trap_layers):
        ui = u[idx]
        cm[idx] = anion_from_total(traps, ui, props.last.get(k)) + np.minimum(ui, 0.0)
        props.last[k] = cm[idx]
    return cm, np.where(props.charged, u, cm)


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


def _coefficients(props: CellProperties, u: NDArray[np.float64]):
    """``s``, ``kappa`` and ``t-`` per cell (neutral cells: s = c, kappa = D_eff, t- = 1 - t+)."""
    cm, cp = split_total(props, u)
    dp, dm = props.d_plus, props.d_minus
    am, ap = np.abs(cm), np.abs(cp)
    denom = dp * ap + dm * am
    neutral = ~props.charged
    with np.errstate(invalid="ignore", divide="ignore"):
        # s = sign(c-) sqrt(|c- c+|): continuous through zero
        s = np.where(neutral, cm, np.sign(cm) * np.sqrt(am * ap))
        kappa = np.where(
            neutral,
            props.g * 2.0 * dp * dm / (dp + dm),
            np.where(denom > 0, props.g * 2.0 * dp * dm * np.abs(s) / denom, 0.0),
        )
        t_minus = np.where(
            neutral, dm / (dp + dm), np.where(denom > 0, dm * np.maximum(cm, 0.0) / denom, 0.0)
        )
    return s, kappa, t_minus


@dataclass(frozen=True)
class FixedChargeSystem:
    """The semi-discrete fixed-charge system ``eps h du/dt = N-_{i-1/2} - N-_{i+1/2}``."""

    layers: tuple[Layer, ...]
    disc: Discretisation
    props: CellProperties
    current_density: float

    def face_fluxes(self, u: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
        """Interior anion fluxes, and the per-cell ``s`` and the face values of ``s``."""
        s, kappa, tm = _coefficients(self.props, u)
        h = self.disc.h
        a = 2.0 * kappa[:-1] / h[:-1]
        b = 2.0 * kappa[1:] / h[1:]
        ab = a + b
        safe = np.where(ab > 0, ab, 1.0)
        cond = np.where(ab > 0, a * b / safe, 0.0)
        t_face = np.where(ab > 0, (b * tm[:-1] + a * tm[1:]) / safe, 0.5 * (tm[:-1] + tm[1:]))
        jf = self.current_density / FARADAY
        flux = -cond * (s[1:] - s[:-1]) + t_face * jf
        s_face = np.where(
            ab > 0,
            (a * s[:-1] + b * s[1:] + (tm[:-1] - tm[1:]) * jf) / safe,
            0.5 * (s[:-1] + s[1:]),
        )
        return flux, s, s_face, kappa, tm

    def rhs(self, _t: float, u: NDArray[np.float64]) -> NDArray[np.float64]:
        flux = self.face_fluxes(u)[0]
        out = np.zeros_like(u)
        out[:-1] -= flux
        out[1:] += flux
        return out / self.disc.storage

    def jacobian(self, _t: float, u: NDArray[np.float64]) -> sparse.csc_matrix:
        """Tridiagonal Jacobian assembled face by face, so that it conserves exactly.

        Each face flux's derivatives with respect to its two cells are taken by
        one-sided differences; the face adds them with opposite signs to its two
        cells, so the column sums weighted by the storage vanish (the linear invariant
        ``sum(eps h u)`` is kept by every Newton step of the implicit integrator).
        """
        flux = self.face_fluxes(u)[0]
        n = u.size
        du = 1e-7 * np.maximum(np.abs(u), 1e-3 * np.max(np.abs(u)))
        d_left = np.zeros(n - 1)
        d_right = np.zeros(n - 1)
        for parity in (0, 1):  # perturb every other cell: each face sees one change
            pert = np.zeros(n)
            pert[parity::2] = du[parity::2]
            f2 = self.face_fluxes(u + pert)[0]
            left_moved = (np.arange(n - 1) % 2) == parity
            d_left[left_moved] = (f2 - flux)[left_moved] / du[:-1][left_moved]
            right_moved = ~left_moved
            d_right[right_moved] = (f2 - flux)[right_moved] / du[1:][right_moved]
        m = self.disc.storage
        diag = np.zeros(n)
        diag[:-1] -= d_left
        diag[1:] += d_right
        upper = -d_right  # d(out_i)/d(u_{i+1}) from face i+1/2
        lower = d_left  # d(out_{i+1})/d(u_i) from face i+1/2
        jac = sparse.diags([diag, upper, lower], [0, 1, -1], shape=(n, n), format="csc")
        return sparse.diags(1.0 / m) @ jac

    def depletion(self, u: NDArray[np.float64]) -> float:
        """Smallest salt activity ``s`` where Li+ can run out (see :func:`simulate_fixed_charge`)."""
        _, s, s_face, kappa, tm = self.face_fluxes(u)
        cands = [np.inf]
        li = self.disc.layer_index
        interfaces = np.flatnonzero(li[1:] != li[:-1])
        if interfaces.size:
            cands.append(float(np.min(s_face[interfaces])))
        first = self.layers[0]
        if not first.fixed_charge > 0:  # a constant fixed charge keeps c+ >= X at the wall
            k0 = float(kappa[0])
            jw = 0.5 * self.disc.h[0] * float(tm[0]) * self.current_density / FARADAY
            cands.append(float(s[0]) - (jw / k0 if k0 > 0 else 0.0))
        return min(cands)


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
) -> TransportResult:
    """Transient of a stack with charged layers at constant current (module docstring).

    Method of lines on the finite-volume system, integrated with
    :func:`scipy.integrate.solve_ivp` (BDF, the conservative tridiagonal Jacobian of
    :meth:`FixedChargeSystem.jacobian`). The state is the Li+ concentration (= total
    anion, mobile + trapped); ``profiles``/``final`` hold it, ``final_anion`` the mobile
    anion. Sand's time is the first time the salt activity ``s`` reaches zero where
    Li+ can run out: at the plating wall (unless its layer has a constant fixed
    charge, which keeps ``c+ >= X`` there) or at a layer interface (on a neutral
    separator's side this is where the salt depletes first). ``surface`` holds that
    depletion measure at the solver's steps.
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
        tuple(layers), disc, cell_properties(layers, disc), float(current_density)
    )
    u0 = initial_state(layers, disc, c0)
    outs = sorted(float(t) for t in profile_times if 0 <= t <= t_end)

    def event(t, u):
        return system.depletion(u)

    event.terminal = True
    event.direction = -1
    first = min(1e-6 * semi_infinite_estimate(layers, c0, current_density), 1e-3 * t_end)
    sol = solve_ivp(
        system.rhs,
        (0.0, t_end),
        u0,
        method="BDF",
        jac=system.jacobian,
        events=event if stop_at_sand else None,
        rtol=rtol,
        atol=rtol * c0,
        dense_output=True,
        first_step=first,
    )
    if sol.status < 0:
        raise AtomisticsError(f"fixed-charge solver failed: {sol.message}")
    sand = float("inf")
    if stop_at_sand and sol.t_events[0].size:
        sand = float(sol.t_events[0][0])
    t_stop = min(sand, t_end)
    outs = [t for t in outs if t <= t_stop]
    profs = np.array([sol.sol(t) for t in outs]).reshape(len(outs), disc.h.size)
    final = sol.y[:, -1]
    surface = np.array([system.depletion(sol.y[:, k]) for k in range(sol.t.size)])
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
        final_anion=split_total(system.props, final)[0],
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


def limiting_current_fixed_charge(layers: Sequence[Layer], c0: float) -> float:
    """Steady current density [A/m^2] at which Li+ first runs out, for a charged stack.

    At steady state ``N- = 0`` everywhere, so in each layer ``ds/dx = t- J/(F kappa) =
    J c- / (2 F g D+ s)`` (module docstring), i.e. ``dc-/dx = J c-/(F g D+ (2c- + X +
    c- dX/dc-))``; ``s`` is continuous across interfaces. J_lim is the current at
    which the steady profile that starts from ``s = 0`` where Li+ runs out holds
    exactly the cell's anion inventory. Two cases:

    * the layer at the plating wall has a constant fixed charge: it keeps ``c+ >= X``
      and, as it depletes, becomes ideally cation-selective (t- -> 0), so the limit is
      set by the next layer, whose salt reaches zero at the interface; the depleted
      layer keeps its trapped anions and releases its mobile ones;
    * otherwise (neutral, or traps in equilibrium, which release their anions as
      ``c- -> 0`` so that ``X -> 0`` with ``c-``): the profile starts at the wall with
      ``c- = 0`` and is integrated through the stack.

    Neutral stacks give ``J_lim`` of :func:`atomistics.continuum.transport.limiting_current`.
    """
    layers = list(layers)
    inv0 = 0.0
    for layer in layers:
        if layer.fixed_charge > 0:
            cp = float(donnan_partition(c0, layer.fixed_charge)[0])
        elif layer.traps is not None:
            cp = equilibrium_li(layer.traps, c0)
        else:
            cp = c0
        inv0 += layer.porosity * layer.thickness * cp
    start = 0
    locked = 0.0
    while start < len(layers) and layers[start].fixed_charge > 0:
        # depleted constant-charge layers keep their trapped anions (and X Li+)
        locked += layers[start].porosity * layers[start].thickness * layers[start].fixed_charge
        start += 1
    if start == len(layers):
        return float("inf")
    rest = layers[start:]

    def inventory_at(j: float) -> float:
        total, s = locked, 0.0
        for layer in rest:
            gdp, _ = _steady_rate(layer)
            rate = j / (FARADAY * gdp)
            if not layer.charged:
                # neutral: dc/dx = J/(2 F g D+), c = s
                c_end = s + 0.5 * rate * layer.thickness
                total += layer.porosity * layer.thickness * 0.5 * (s + c_end)
                s = c_end
                continue
            x_of, dx_of = _charge_functions(layer)
            cm_start = 0.0 if s == 0.0 else _anion_from_salt(layer, s)

            def ode(_x, y, x_of=x_of, dx_of=dx_of, rate=rate):
                cm = max(y[0], 1e-300)
                x_t = x_of(cm)
                dcm = rate * cm / (2.0 * cm + x_t + cm * dx_of(cm))
                return [dcm, cm + x_t]

            if cm_start == 0.0 and layer.traps is not None:
                # the slope at c- -> 0 is rate / (2 (1 + dX/dc-(0))), dX/dc-(0) = N_T K / N_L;
                # K = exp(-dG/kT) overflows beyond ln K = 709: held at e^700 (the slope is
                # then ~1e-300 of the rate, i.e. 0, as it is for any larger K)
                traps = layer.traps
                beta = (
                    traps.site_concentration * np.exp(min(traps.log_k, 700.0)) / traps.liquid_sites
                )
                slope = rate / (2.0 * (1.0 + beta))
                x0 = 1e-9 * layer.thickness
                y0 = [slope * x0, 0.0]
                span = (x0, layer.thickness)
            else:
                y0, span = [cm_start, 0.0], (0.0, layer.thickness)
            sol = solve_ivp(ode, span, y0, method="LSODA", rtol=1e-10, atol=[1e-12 * c0, 1e-16])
            cm_end = float(sol.y[0, -1])
            total += layer.porosity * float(sol.y[1, -1])
            s = float(np.sqrt(cm_end * (cm_end + x_of(cm_end))))
        return total - inv0

    # The inventory of the limiting profile grows linearly or faster with J.
    hi = 1.0
    while inventory_at(hi) < 0:
        hi *= 4.0
        if hi > 1e12:
            return float("inf")
    lo = hi / 4.0 if hi > 1.0 else 0.0
    return float(brentq(inventory_at, lo, hi, xtol=1e-12 * hi, rtol=1e-12))


def _charge_functions(layer: Layer):
    """``X(c-)`` and ``dX/dc-`` of a charged layer as scalar functions."""
    if layer.traps is not None:
        traps = layer.traps
        return (lambda c: float(traps.trapped(c))), (lambda c: float(traps.d_trapped(c)))
    x = float(layer.fixed_charge)
    return (lambda c: x), (lambda c: 0.0)


def _anion_from_salt(layer: Layer, s: float) -> float:
    """``c-`` with ``c- (c- + X(c-)) = s^2`` in a charged layer."""
    if layer.traps is None:
        return float(donnan_partition(s, layer.fixed_charge)[1])
    traps = layer.traps
    return float(
        brentq(lambda c: c * (c + float(traps.trapped(c))) - s * s, 0.0, s, xtol=1e-15 * s)
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
