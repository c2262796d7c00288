r"""The real finite cell's own numbers: steady state, concentration overpotential, time to
steady state, and the local current above which it reaches a Sand's time.

The stack of :class:`~atomistics.continuum.mesh.Layer` objects is ordered from the plating
electrode (``x = 0``) with the REAL thicknesses (a coating of a few um, then the 20 um
separator); a constant current density ``J > 0`` plates Li at ``x = 0`` and strips it at
``x = L``. Every function takes and returns SI units (mol/m^3, A/m^2, m, s, V, K).

Steady state (:func:`steady_profile`)
-------------------------------------
The anion crosses neither electrode, so at steady state its flux vanishes everywhere,
``N- = 0``, and all current is carried by Li+. In a layer with fixed charge ``X(c-)``
(none, constant, or trapped anions) the Nernst-Planck fluxes of
:mod:`atomistics.continuum.fixedcharge` then give

    dc-/dx = r c- / (2 c- + X + c- dX/dc-),   r = J / (F g D+),   g = eps/tau,

(neutral layer: ``dc/dx = J (1 - t+)/(F D_eff)``, Newman & Thomas-Alyea, *Electrochemical
Systems*, 3rd ed. (2004), sec. 11.7; constant X: the Teorell-Meyer-Sievers profile
``2 c- + X ln c- = const + r x``, :func:`~atomistics.continuum.fixedcharge.constant_charge_profile_end`);
across an interface the salt activity ``s = sqrt(c+ c-)`` is continuous (Donnan). The
profile starts from the wall's ``c-(0)``, which is fixed by conservation: the Li+ (= total
anion, mobile + trapped) inventory ``sum eps int c+ dx`` equals that of the cell at
equilibrium with the bulk ``c0`` (Donnan partition in charged layers). It exists below
the limiting current (:func:`atomistics.continuum.transport.limiting_current`); a constant
X at the wall carries it past the salt's limit up to the interface limit
(:func:`~atomistics.continuum.fixedcharge.interface_limiting_current`).

Concentration overpotential (:func:`overpotential_parts`)
--------------------------------------------------------
The zero-current voltage of the polarised cell just after the current is interrupted
(the concentration profile not yet relaxed, the ohmic drop gone): the difference of the
Li+ electrochemical potential between the two Li electrodes, ``V = (mu~+(L) - mu~+(0))/F``.
In volts of ``RT/F`` (ideal solution):

* Nernst terms of the two Li electrodes: ``ln(c+(L)/c+(0))``;
* diffusion potential inside each layer, from ``i = 0`` with Nernst-Planck fluxes
  (mobile ions only): ``dpsi/dx = (D- dc-/dx - D+ dc+/dx)/(D+ c+ + D- c-)``, integrated
  over the steady profile (``dc+ = (1 + dX/dc-) dc-``);
* Donnan jump at each interface: Li+ in electrochemical equilibrium, ``psi_R - psi_L =
  ln(c+_L/c+_R)``.

For a neutral binary electrolyte this is ``2 (1 - t+) (RT/F) ln(c(L)/c(0))`` (Newman &
Thomas-Alyea 2004, ch. 6 and sec. 11.7; Bard & Faulkner, *Electrochemical Methods*, 2nd ed.
(2001), sec. 2.3: Nernst terms plus the liquid-junction potential ``(t- - t+) ln``); for
one uniform constant-X layer the diffusion and Donnan terms are the Teorell-Meyer-Sievers
membrane potential (:func:`~atomistics.continuum.fixedcharge.tms_membrane_potential`).
A positive value is a loss (the plating electrode is depleted).

Time to steady state (:func:`time_to_steady_state`)
---------------------------------------------------
DEFINITION: the first time at which Li+ at the plating electrode has gone ``fraction``
(default 99 %) of the way from its initial value (the equilibrium Li+ concentration of the
first layer: ``c0`` in a neutral layer, the Donnan ``c+`` in a charged one) to its steady
value. Neutral stacks: the exact-in-time modal solution of the finite-volume system
(:func:`atomistics.continuum.modal.modal_expansion`, every mode); charged stacks: the
fixed-charge transient (:class:`~atomistics.continuum.fixedcharge.FixedChargeSystem`) with
that level as an event. For one neutral layer of thickness L only the slowest mode of the
series (Carslaw & Jaeger, *Conduction of Heat in Solids*, 2nd ed. (1959), sec. 3.4;
:func:`atomistics.continuum.sand.finite_cell_concentration`) is left then:
``t = (L^2 eps/(pi^2 D_eff)) ln(8/(pi^2 (1 - fraction)))``, i.e. 0.445 ``L^2 eps/D_eff`` at 99 %.

The local current above which the cell reaches a Sand's time (:func:`real_cell_depletion`)
------------------------------------------------------------------------------------------
Below its limiting current a finite cell only reaches the steady state above; a protrusion
that concentrates the current by a factor A reaches Li+ depletion at the plating electrode
(Sand 1901; Chazalviel, Phys. Rev. A 42, 7355 (1990)) only where ``A J > J_lim``: the
threshold amplification ``A* = J_lim/J`` (:func:`threshold_amplification`; 1D, the
protrusion's own diffusion field ignored). At a local current above it the real cell's
Sand's time comes from the same solvers on the real thicknesses (neutral: the modal
solution; charged: the fixed-charge transient, whose events are Li+ depletion at the
electrode (Sand's time proper) and salt depletion at an interface, a separate event: the
electroneutral model ends there). A constant X at the wall keeps ``c+ >= X``: its electrode
never depletes.

Validity: dilute (ideal) solution theory, local electroneutrality, traps in local
equilibrium, 1D (at 6 M LiFSI in DME only trends are meaningful, see
:mod:`atomistics.continuum.fixedcharge`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.continuum.fixedcharge import (
    FixedChargeSystem,
    cell_properties,
    charge_functions,
    constant_charge_profile_end,
    donnan_partition,
    equilibrium_li,
    initial_state,
    interface_limiting_current,
    trap_profile_end,
)
from atomistics.continuum.mesh import Layer, discretise
from atomistics.continuum.modal import modal_expansion
from atomistics.continuum.sand import ion_diffusivities
from atomistics.continuum.transport import limiting_current, simulate
from atomistics.errors import AtomisticsError

__all__ = [
    "Depletion",
    "LayerEnds",
    "OverpotentialParts",
    "RealCellNumbers",
    "SteadyProfile",
    "concentration_overpotential",
    "overpotential_parts",
    "real_cell_depletion",
    "real_cell_numbers",
    "real_cell_sand_time",
    "steady_electrode_li",
    "steady_profile",
    "threshold_amplification",
    "time_to_steady_state",
]

#: the smallest wall co-ion concentration searched for [mol/m^3] (past a constant X's salt
#: limit the steady c-(0) falls exponentially with J; below this it is 0 to double precision)
_C_MIN = 1e-300

#: solver tolerance of the time to steady state (see :func:`real_cell_numbers`)
STEADY_RTOL = 1e-8


def _check(layers: Sequence[Layer], c0: float, current_density: float) -> list[Layer]:
    layers = list(layers)
    if not layers:
        raise AtomisticsError("the stack needs at least one layer")
    if not (math.isfinite(c0) and c0 > 0):
        raise AtomisticsError(f"c0 must be > 0, got {c0!r}")
    if not (math.isfinite(current_density) and current_density > 0):
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    return layers


def _ion_diffusivities(layer: Layer) -> tuple[float, float]:
    """Free-solution ``(D+, D-)`` of a layer (:func:`atomistics.continuum.sand.ion_diffusivities`;
    a neutral layer's t+ = 0 is taken as 1e-12, as the solvers do)."""
    d_plus, d_minus = ion_diffusivities(layer.diffusivity, max(layer.t_plus, 1e-12))
    return float(d_plus), float(d_minus)


def _equilibrium_li(layer: Layer, c0: float) -> float:
    """Li+ concentration of a layer at equilibrium with the bulk salt ``c0``."""
    if layer.fixed_charge > 0:
        return float(donnan_partition(c0, layer.fixed_charge)[0])
    if layer.traps is not None:
        return equilibrium_li(layer.traps, c0)
    return float(c0)


def _anion_at_salt(layer: Layer, s: float) -> float:
    """``c-`` with ``c- (c- + X(c-)) = s^2`` (Donnan partition against salt activity s)."""
    if s <= 0.0:
        return 0.0
    if layer.traps is None:
        return float(donnan_partition(s, layer.fixed_charge)[1]) if layer.charged else s
    traps = layer.traps
    return float(
        brentq(lambda c: c * (c + float(traps.trapped(c))) - s * s, 0.0, s, xtol=1e-15 * s)
    )


@dataclass(frozen=True)
class LayerEnds:
    """Steady mobile-ion concentrations at the two ends of one layer [mol/m^3]."""

    c_minus_start: float
    c_minus_end: float
    c_plus_start: float
    c_plus_end: float


@dataclass(frozen=True)
class SteadyProfile:
    """The steady state of the stack: per-layer end concentrations and the Li+ inventory."""

    layers: tuple[LayerEnds, ...]
    inventory: float  # mol/m^2, sum eps int c+ dx

    @property
    def electrode_li(self) -> float:
        """Li+ at the plating electrode x = 0 [mol/m^3]."""
        return self.layers[0].c_plus_start

    @property
    def far_li(self) -> float:
        """Li+ at the stripping electrode x = L [mol/m^3]."""
        return self.layers[-1].c_plus_end


def _march(layers: Sequence[Layer], c0: float, j: float, cm_wall: float) -> SteadyProfile:
    """The ``N- = 0`` profile from ``c-(0) = cm_wall`` through the stack (module docstring)."""
    ends: list[LayerEnds] = []
    total, s = 0.0, None
    for k, layer in enumerate(layers):
        d_plus, _ = _ion_diffusivities(layer)
        g = layer.porosity / layer.tortuosity
        rate = j / (FARADAY * g * d_plus)
        cm_start = cm_wall if k == 0 else _anion_at_salt(layer, s)
        x_of, dx_of = charge_functions(layer)
        if not layer.charged:
            cm_end = cm_start + 0.5 * rate * layer.thickness
            integral = layer.thickness * 0.5 * (cm_start + cm_end)
        elif layer.fixed_charge > 0:
            if cm_start <= 0.0:  # fully depleted (past the interface limit): no steady state
                raise _NoSteadyState
            cm_end, integral = constant_charge_profile_end(
                cm_start, layer.fixed_charge, rate, layer.thickness
            )
        else:
            if cm_start <= 0.0:
                raise _NoSteadyState
            cm_end, integral = trap_profile_end(layer.traps, cm_start, rate, layer.thickness)
        ends.append(LayerEnds(cm_start, cm_end, cm_start + x_of(cm_start), cm_end + x_of(cm_end)))
        total += layer.porosity * integral
        s = math.sqrt(cm_end * (cm_end + x_of(cm_end)))
    return SteadyProfile(tuple(ends), total)


class _NoSteadyState(Exception):
    """Internal: a layer's salt is gone before the profile is complete."""


def steady_profile(
    layers: Sequence[Layer], c0: float, current_density: float
) -> SteadyProfile | None:
    """The steady state at ``current_density`` (module docstring); ``None`` if none exists.

    The wall's ``c-(0)`` is found by Brent's method on ``ln c-(0)`` so that the profile's
    Li+ inventory equals the cell's at equilibrium with ``c0``; ``None`` when even
    ``c-(0) -> 0`` holds more than that inventory (``J >= J_lim`` for a neutral or trap
    wall, beyond the interface limit for a constant-X wall).
    """
    layers = _check(layers, c0, current_density)
    inv0 = sum(la.porosity * la.thickness * _equilibrium_li(la, c0) for la in layers)

    def excess(t: float) -> float:
        try:
            return _march(layers, c0, current_density, math.exp(t)).inventory / inv0 - 1.0
        except _NoSteadyState:
            return 1.0

    lo, hi = math.log(_C_MIN), math.log(c0)
    if excess(lo) >= 0.0:
        return None
    while excess(hi) <= 0.0:
        hi += math.log(2.0)
    t = brentq(excess, lo, hi, xtol=1e-13, rtol=1e-15)
    return _march(layers, c0, current_density, math.exp(t))


def steady_electrode_li(layers: Sequence[Layer], c0: float, current_density: float) -> float:
    """Steady-state Li+ concentration at the plating electrode [mol/m^3]; nan if no steady
    state exists (``J >= J_lim``; :func:`steady_profile`).

    One neutral layer: ``c0 - J (1 - t+) L / (2 F D_eff)``
    (:func:`atomistics.continuum.sand.steady_state_profile` at x = 0).
    """
    prof = steady_profile(layers, c0, current_density)
    return math.nan if prof is None else float(prof.electrode_li)


@dataclass(frozen=True)
class OverpotentialParts:
    """The concentration overpotential ``V = Phi(L) - Phi(0)`` at zero current, in parts [V].

    ``nernst``: ``(RT/F) ln(c+(L)/c+(0))`` of the two Li electrodes; ``diffusion``: the sum of
    the layers' diffusion potentials ``psi``; ``donnan``: the sum of the interface jumps.
    """

    nernst: float
    diffusion: float
    donnan: float

    @property
    def total(self) -> float:
        return self.nernst + self.diffusion + self.donnan


def _diffusion_potential(layer: Layer, ends: LayerEnds) -> float:
    """``int dpsi`` over one layer [units of RT/F], from ``i = 0`` (module docstring)."""
    d_plus, d_minus = _ion_diffusivities(layer)
    a, b = ends.c_minus_start, ends.c_minus_end
    if a == b:
        return 0.0
    if not layer.charged:  # c+ = c- = c: (D- - D+)/(D+ + D-) ln(c_b/c_a) = (1 - 2 t+) ln
        return (d_minus - d_plus) / (d_plus + d_minus) * math.log(b / a)
    x_of, dx_of = charge_functions(layer)

    def integrand(t: float) -> float:  # in t = ln c-: dc- = c- dt
        c = math.exp(t)
        cp = c + x_of(c)
        return c * (d_minus - d_plus * (1.0 + dx_of(c))) / (d_plus * cp + d_minus * c)

    val, _ = quad(integrand, math.log(a), math.log(b), epsabs=0.0, epsrel=1e-12, limit=200)
    return float(val)


def overpotential_parts(
    layers: Sequence[Layer], c0: float, current_density: float, temperature: float = 298.15
) -> OverpotentialParts | None:
    """Nernst, diffusion and Donnan parts of the concentration overpotential (module
    docstring); ``None`` if no steady state exists."""
    layers = _check(layers, c0, current_density)
    return _parts(layers, steady_profile(layers, c0, current_density), temperature)


def _parts(
    layers: Sequence[Layer], prof: SteadyProfile | None, temperature: float
) -> OverpotentialParts | None:
    if not (math.isfinite(temperature) and temperature > 0):
        raise AtomisticsError(f"temperature must be > 0 K, got {temperature!r}")
    if prof is None:
        return None
    rt_f = GAS_CONSTANT * temperature / FARADAY
    ends = prof.layers
    nernst = math.log(ends[-1].c_plus_end / ends[0].c_plus_start)
    diffusion = sum(_diffusion_potential(la, e) for la, e in zip(layers, ends, strict=True))
    donnan = sum(
        math.log(left.c_plus_end / right.c_plus_start)
        for left, right in zip(ends[:-1], ends[1:], strict=True)
    )
    return OverpotentialParts(rt_f * nernst, rt_f * diffusion, rt_f * donnan)


def concentration_overpotential(
    layers: Sequence[Layer], c0: float, current_density: float, temperature: float = 298.15
) -> float:
    """Concentration overpotential at steady state [V] (positive = loss); nan without a
    steady state. Neutral binary electrolyte: ``2 (1 - t+) (RT/F) ln(c(L)/c(0))``."""
    parts = overpotential_parts(layers, c0, current_density, temperature)
    return math.nan if parts is None else float(parts.total)


def _cells(layers: Sequence[Layer], cells: int | Sequence[int]) -> list[int]:
    """Cells per layer: one count for every layer, or one each."""
    counts = [cells] * len(layers) if isinstance(cells, int) else list(cells)
    if len(counts) != len(layers):
        raise AtomisticsError("cells must give one count per layer")
    return [max(int(n), 10) for n in counts]


def _slowest(layers: Sequence[Layer]) -> float:
    """``max eps L_total^2 / D_eff`` [s], the stack's slowest diffusion time (as the solvers)."""
    total = sum(la.thickness for la in layers)
    return max(la.porosity * total**2 / la.effective_diffusivity for la in layers)


def _trap_storage(layers: Sequence[Layer], c0: float) -> float:
    """``max(1 + dX/dc-)`` at the bulk over the trap layers (Oriani slowing of the transient)."""
    out = 1.0
    for la in layers:
        if la.traps is not None:
            out = max(out, 1.0 + float(la.traps.d_trapped(c0)))
    return min(out, 1e6)


def time_to_steady_state(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    fraction: float = 0.99,
    *,
    cells: int | Sequence[int] = 400,
    rtol: float = 1e-7,
) -> float:
    """Time [s] at which Li+ at the plating electrode has first gone ``fraction`` of the way
    from its initial (equilibrium) value to its steady value (module docstring); nan if no
    steady state exists, inf if the level is not reached within the simulated time.

    One neutral layer: ``(eps L^2/(pi^2 D_eff)) ln(8/(pi^2 (1 - fraction)))`` (the slowest
    mode; the next is smaller by ``exp(-8 pi^2 D_eff t/(eps L^2))``, < 1e-15 at 99 %).
    """
    layers = _check(layers, c0, current_density)
    prof = steady_profile(layers, c0, current_density)
    return _time_to_steady(layers, c0, current_density, fraction, prof, cells, rtol)


def _time_to_steady(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    fraction: float,
    prof: SteadyProfile | None,
    cells: int | Sequence[int],
    rtol: float,
) -> float:
    if not 0 < fraction < 1:
        raise AtomisticsError(f"fraction must lie in (0, 1), got {fraction!r}")
    if prof is None:
        return math.nan
    start = _equilibrium_li(layers[0], c0)
    target = start - fraction * (start - prof.electrode_li)
    t_end = 5.0 * _slowest(layers) * _trap_storage(layers, c0)
    if not any(la.charged for la in layers):
        disc = discretise(layers, _cells(layers, cells), 1.01)
        exp = modal_expansion(disc, c0, current_density, 0.0)
        grid = t_end * 2.0 ** (-np.arange(60, -1, -1) / 2.0)
        surf = exp.surface(grid)
        below = np.flatnonzero(surf <= target)
        if not below.size:
            return math.inf
        i = int(below[0])
        if i == 0:
            return float(grid[0])
        return float(
            brentq(
                lambda t: float(exp.surface(t)) - target,
                grid[i - 1],
                grid[i],
                xtol=1e-14 * grid[i],
                rtol=1e-14,
            )
        )
    disc = discretise(layers, _cells(layers, cells), 1.01)
    system = FixedChargeSystem(tuple(layers), disc, cell_properties(layers, disc), current_density)
    y0 = system.state(initial_state(layers, disc, c0))
    system = replace(system, typical=system.typical_scale(y0, c0))

    def level(_t, y):
        return system.electrode_li(y) - target

    level.terminal = True
    level.direction = -1
    sol = solve_ivp(
        system.rhs,
        (0.0, t_end),
        y0,
        method="BDF",
        jac=system.jacobian,
        events=[level],
        rtol=rtol,
        atol=system.absolute_tolerance(y0, rtol, c0),
        first_step=1e-9 * t_end,
    )
    if sol.status < 0:
        raise AtomisticsError(f"fixed-charge solver failed: {sol.message}")
    times = sol.t_events[0]
    return float(times[0]) if times.size else math.inf


def threshold_amplification(layers: Sequence[Layer], c0: float, current_density: float) -> float:
    """``A* = J_lim / J``: the factor by which a protrusion must concentrate the current for
    the real cell to reach a Sand's time (J_lim of the real cell,
    :func:`atomistics.continuum.transport.limiting_current`)."""
    layers = _check(layers, c0, current_density)
    return float(limiting_current(layers, c0) / current_density)


@dataclass(frozen=True)
class Depletion:
    """The real cell's depletion events at one local current density (times in s).

    ``sand_time``: Li+ depletion at the plating electrode (Sand's time proper, the dendrite
    criterion); ``interface_depletion_time``: the salt running out at a layer interface
    (its own event; the electroneutral model ends there); both inf when not reached.
    ``event`` names what ends the transient: ``"sand"``, ``"interface"``, ``"below J_lim"``
    (a steady state, no depletion), ``"electrode cannot deplete"`` (a constant X at the wall
    below the interface limit), or ``"not reached"`` (within the simulated time).
    """

    local_current_density: float
    limiting_current: float
    sand_time: float = math.inf
    interface_depletion_time: float = math.inf
    electrode_can_deplete: bool = True
    electrode_li_at_interface_depletion: float = math.nan
    interface_limiting_current: float = math.inf
    event: str = "below J_lim"


def real_cell_depletion(
    layers: Sequence[Layer],
    c0: float,
    local_current_density: float,
    *,
    cells: int | Sequence[int] = 400,
    rtol: float = 1e-7,
    limiting_current_density: float | None = None,
    sand_cells: int | Sequence[int] | None = None,
) -> Depletion:
    """Depletion events of the real finite cell at ``local_current_density`` (module docstring).

    ``sand_cells``: when the event on ``cells`` is Li+ depletion at the electrode (Sand),
    it is solved again on this finer mesh. Measured on the LiMMT coating: the Sand's time
    needs ~800 coating cells for 1e-5 (50 cells were 3 % off) and costs < 1 s there, while
    an interface depletion is already converged to 6e-5 on 50 coating cells but costs
    20 s on 800; so the coarse mesh finds the event and the fine one refines a Sand's time.

    Below J_lim (a neutral or trap wall) nothing depletes: ``event = "below J_lim"``. A
    constant X at the wall never depletes Li+ there; below the interface limit it holds a
    steady state (``"electrode cannot deplete"``), above it the salt runs out at the interface.
    ``limiting_current_density``: the stack's J_lim when already known (it is computed
    otherwise). ``cells`` per layer (one count, or one each) and ``rtol`` go to the solver.
    """
    layers = _check(layers, c0, local_current_density)
    j_lim = (
        float(limiting_current(layers, c0))
        if limiting_current_density is None
        else float(limiting_current_density)
    )
    wall_x = layers[0].fixed_charge > 0
    j_int = float(interface_limiting_current(layers, c0)) if wall_x else math.inf
    base = Depletion(
        float(local_current_density),
        j_lim,
        electrode_can_deplete=not wall_x,
        interface_limiting_current=j_int,
    )
    if not wall_x and local_current_density <= j_lim:
        return base
    if wall_x and local_current_density <= j_int:
        return replace(base, event="electrode cannot deplete")
    if any(la.charged for la in layers):
        res = simulate(
            layers,
            c0,
            local_current_density,
            5.0 * _slowest(layers) * _trap_storage(layers, c0),
            cells_per_layer=_cells(layers, cells),
            rtol=rtol,
        )
    else:
        res = simulate(
            layers, c0, local_current_density, cells_per_layer=_cells(layers, cells), rtol=rtol
        )
    sand, t_int = float(res.sand_time), float(res.interface_depletion_time)
    if math.isfinite(sand) and sand_cells is not None:
        fine = real_cell_depletion(
            layers,
            c0,
            local_current_density,
            cells=sand_cells,
            rtol=rtol,
            limiting_current_density=j_lim,
        )
        if fine.event == "sand":
            return fine
    event = "sand" if math.isfinite(sand) else "interface" if math.isfinite(t_int) else ""
    return replace(
        base,
        sand_time=sand,
        interface_depletion_time=t_int,
        electrode_li_at_interface_depletion=float(res.electrode_li_at_interface_depletion),
        event=event or ("electrode cannot deplete" if wall_x else "not reached"),
    )


def real_cell_sand_time(
    layers: Sequence[Layer],
    c0: float,
    local_current_density: float,
    *,
    cells: int | Sequence[int] = 400,
    rtol: float = 1e-7,
) -> float:
    """The real cell's Sand's time [s] (Li+ depletion at the plating electrode) at a local
    current density; inf below J_lim, or when the electrode cannot deplete, or when the salt
    runs out at an interface first (:func:`real_cell_depletion` names which).

    One neutral layer: :func:`atomistics.continuum.sand.finite_cell_sand_time`.
    """
    return real_cell_depletion(layers, c0, local_current_density, cells=cells, rtol=rtol).sand_time


@dataclass
class RealCellNumbers:
    """The real finite cell's numbers at the applied current and at a local current."""

    current_density: float  # A/m^2, applied
    limiting_current: float  # A/m^2, J_lim of the real cell
    threshold_amplification: float  # A* = J_lim / J
    steady_electrode_li: float  # mol/m^3, Li+ at the plating electrode at steady state
    concentration_overpotential: float  # V (positive = loss), zero-current voltage
    overpotential_nernst: float  # V, the parts of it
    overpotential_diffusion: float
    overpotential_donnan: float
    time_to_steady_state: float  # s, to ``steady_fraction`` of the way (definition above)
    steady_fraction: float
    local_current_density: float  # A/m^2, where the depletion events are computed
    local_amplification: float  # local / applied
    sand_time: float  # s, Li+ out at the electrode at the local current (inf: not reached)
    interface_depletion_time: float  # s, salt out at an interface at the local current
    electrode_can_deplete: bool
    electrode_li_at_interface_depletion: float
    interface_limiting_current: float  # A/m^2 (constant X at the wall; inf otherwise)
    event: str  # what ends the transient at the local current (:class:`Depletion`)


def real_cell_numbers(
    layers: Sequence[Layer],
    c0: float,
    current_density: float,
    local_current_density: float,
    *,
    temperature: float = 298.15,
    fraction: float = 0.99,
    cells: int | Sequence[int] = 400,
    rtol: float = 1e-7,
    local_cells: int | Sequence[int] | None = None,
    sand_cells: int | Sequence[int] | None = None,
    limiting_current_density: float | None = None,
) -> RealCellNumbers:
    """Everything above for one stack: steady state, overpotential and time to steady state
    at ``current_density``; the depletion events at ``local_current_density`` (on
    ``local_cells`` per layer, default ``cells``). ``limiting_current_density``: the
    stack's J_lim when already known."""
    layers = _check(layers, c0, current_density)
    prof = steady_profile(layers, c0, current_density)
    parts = _parts(layers, prof, temperature)
    dep = real_cell_depletion(
        layers,
        c0,
        local_current_density,
        cells=cells if local_cells is None else local_cells,
        sand_cells=sand_cells,
        rtol=rtol,
        limiting_current_density=limiting_current_density,
    )
    nan = math.nan
    return RealCellNumbers(
        current_density=float(current_density),
        limiting_current=dep.limiting_current,
        threshold_amplification=dep.limiting_current / current_density,
        steady_electrode_li=nan if prof is None else float(prof.electrode_li),
        concentration_overpotential=nan if parts is None else parts.total,
        overpotential_nernst=nan if parts is None else parts.nernst,
        overpotential_diffusion=nan if parts is None else parts.diffusion,
        overpotential_donnan=nan if parts is None else parts.donnan,
        # the last 1 % of an exponential approach is flat: its time needs a tight solver
        # tolerance (at rtol 1e-6 a constant-X coating's came out 2.8e-3 short; 1e-8 is
        # converged to 1e-6 on any mesh, at 0.1-0.2 s)
        time_to_steady_state=_time_to_steady(
            layers, c0, current_density, fraction, prof, cells, min(rtol, STEADY_RTOL)
        ),
        steady_fraction=float(fraction),
        local_current_density=float(local_current_density),
        local_amplification=float(local_current_density / current_density),
        sand_time=dep.sand_time,
        interface_depletion_time=dep.interface_depletion_time,
        electrode_can_deplete=dep.electrode_can_deplete,
        electrode_li_at_interface_depletion=dep.electrode_li_at_interface_depletion,
        interface_limiting_current=dep.interface_limiting_current,
        event=dep.event,
    )
