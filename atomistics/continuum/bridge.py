r"""The bridge: adsorption free energy -> trapped anions (fixed charge) -> t+, J_lim, Sand's time.

Model (every step is an assumption; the output labels each number COMPUTED, GIVEN or FITTED)
-------------------------------------------------------------------------------------------
1. **Adsorption free energy** ``dG`` of FSI- on a coating site relative to the
   Li+-FSI- ion pair in solution. Primary source: the neutral exchange reaction
   ``slab + [Li+ FSI-] -> slab.(FSI- + Li+)`` (``dE_exch``, eV, negative = the surface
   wins), plus a solvation correction ``ddG_solv`` when one was computed (implicit
   solvent: CP2K SCCS or tblite ALPB/GBSA; the output names the model, or says
   "none: gas-phase energy"). Both sides of the reaction are neutral, so no
   charged-cell correction and no screening enters. Fallback, labelled FITTED: the
   paper's two binding energies of charged fragments, ``dE = E_bind(surface-anion) -
   E_bind(cation-anion)``, scaled by a screening factor ``dG = s dE``: that is not a
   free energy and ``s`` is a fitted number (default ``1/eps_r(DME) = 1/7.2``).
2. **Occupancy.** Sites (``N_T`` per pore volume, from loading x active fraction x
   site density / (thickness x porosity)) are filled with Fermi-Dirac occupancy
   ``theta_T`` in equilibrium with the mobile anion (``theta_L = c-/N_L``,
   ``K = exp(-dG/kT)``; :class:`~atomistics.continuum.mesh.TrapSites`). The trapped
   anions are at most ``N_T``: at the paper's 6 M and the default edge-site density
   that is < 9 % of the anions, whatever ``dG`` is (every site filled: ``N_T/(N_T +
   c-)`` with the Donnan co-ions ``c-``, :func:`~atomistics.continuum.fixedcharge.max_trapped_fraction`).
3. **Fixed-charge coating** (Teorell-Meyer-Sievers, :mod:`atomistics.continuum.fixedcharge`):
   trapped anions are immobile negative charge X, Li+ is in excess (c+ = c- + X), the
   coating is in Donnan equilibrium with the separator, and the trapped anions are
   stored and released in the transient. At X = 0 everything reduces to the neutral
   layered model.
4. **t+ of the coating and of the stack** (:func:`stack_transference_number`,
   Bruce-Vincent ``R_0/R_ss`` of layers in series with their Donnan concentrations).
   Bruce-Vincent measures the whole cell (coating + separator): calibration fits
   the stack by default.
5. **J_lim and the layered Sand's time** with and without the coating, from the
   fixed-charge solver (the depletion layer at Sand's time is much thicker than the
   cell at the paper's 1 mA/cm^2, so these Sand's times are for a SEMI-INFINITE
   separator, ``sand_time_semi_infinite``; the real cell runs below J_lim and has none).
   Sand's time is Li+ depletion at the plating electrode, the dendrite
   criterion and the only event the VERDICT calls dendrite onset; the salt running out
   at the coating/separator interface is its own event (``interface_depletion_time``:
   a voltage rise; the electroneutral model ends there). A constant X keeps ``c+ >= X``
   at the electrode, which then never depletes (``sand_time_semi_infinite`` infinite,
   null in JSON). The real cell's own numbers (``CellNumbers.real_cell``,
   :mod:`atomistics.continuum.real_cell`): at the applied J its steady Li+ at the
   electrode, concentration overpotential and time to steady state; the threshold
   amplification ``A* = J_lim/J`` of a protrusion; and the real cell's depletion events
   at one local current above it (default twice the PE cell's J_lim, the same for
   every column).
6. **Uncertainty.** A spread in ``dG`` (site-to-site, xtb vs DFT, D3 variant,
   charged-cell residual; combined in quadrature) is carried through every output:
   ``dG`` is taken normal, and the 95 % interval of each output is its range over the
   95 % interval of ``dG``: t+ on a vectorised grid of 201 values (closed form), J_lim
   and Sand's time on ``band_points`` values (one fixed-charge solve each). Sand's time
   is NOT monotone in ``dG``: trapped anions buffer the depletion only if they are
   released at the concentrations reached near the electrode, so very strong binding
   helps less than moderate binding; hence a sampled range, not the two ends.
7. **Where TMS holds** (:mod:`atomistics.continuum.double_layer`, :func:`_double_layer_check`).
   The uniform-X Donnan partition needs overlapping double layers (Debye length >~ the
   pores' hydraulic radius); at 6 M in DME the Debye length (0.04 nm) is ~1 % of the
   coating's r_h (3.6 nm), the thin-double-layer limit, where the co-ion is not
   excluded (``c- = c0, c+ = c0 + X``). The coating's and the stack's t+ of the charged
   columns are reported as a bracket [thin double layer, TMS] (``t_plus_bracket``),
   with the regime and a WARNING saying which end the model supports; J_lim and the
   depletion times are TMS only.

Trapping as a mobility (Oriani's effective diffusivity) is reported only for
comparison, with occupancy (:func:`oriani_anion_factor`): at the defaults the traps
are saturated and it is ~1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from scipy.optimize import brentq

from atomistics.continuum import clay_charge as cc
from atomistics.continuum import double_layer as dbl
from atomistics.continuum.constants import BOLTZMANN_EV
from atomistics.continuum.electrolyte_inputs import is_paper_concentration, origin_from_values
from atomistics.continuum.fixedcharge import (
    anion_from_total,
    depleted_layer_voltage,
    donnan_partition,
    equilibrium_li,
    interface_limiting_current,
    max_trapped_fraction,
)
from atomistics.continuum.mesh import Layer, TrapSites, log_equilibrium_constant
from atomistics.continuum.real_cell import RealCellNumbers, real_cell_numbers
from atomistics.continuum.sand import bruggeman_tortuosity, ion_diffusivities, sand_time
from atomistics.continuum.transport import limiting_current, simulate
from atomistics.errors import AtomisticsError
from atomistics.solvents import DME_PERMITTIVITY
from atomistics.units import check_cell_temperature, parse_quantity, registry

DME_DIELECTRIC_CONSTANT = DME_PERMITTIVITY  # one definition: atomistics.solvents
# N_L: molar concentration of DME (density 0.8683 g/cm^3, M = 90.12 g/mol), mol/m^3
DME_SITE_CONCENTRATION = parse_quantity("0.8683 g/cm^3", "density") / parse_quantity(
    "90.12 g/mol", "molar_mass"
)

SURFACES = {
    "edge": "clay edge, (010)/(110) with amphoteric Al-OH/Al-OH2 and Si-OH groups",
    "basal": "(001) basal siloxane surface (Al-OH buried in the octahedral sheet)",
}

# 1-sigma spread of dG by source [eV] (ASSUMED defaults; --dg-spread replaces them)
DEFAULT_DG_SPREAD = {
    "site-to-site": 0.10,
    "xtb-vs-DFT": 0.15,
    "D3-variant": 0.05,
    "charged-cell-residual": 0.05,  # only where charged fragments are used
}
Z95 = 1.959963984540054  # two-sided 95 % normal quantile

#: Largest accepted 1-sigma component of a dG spread [eV]. 10 eV is above the strongest
#: chemical bond (CO, 11.1 eV, is the only one beyond it) and far above any estimate of
#: an adsorption energy's error (xtb vs DFT, cell size: tenths of an eV to ~2 eV); its
#: 95 % band (+-20 eV = +-460 kT at 500 K) already spans empty to saturated sites at
#: every cell temperature, so a larger spread carries no information and is a unit slip.
MAX_DG_SPREAD_EV = 10.0

#: |dG| [eV] beyond which the bridge warns that the value is no adsorption free energy of
#: a molecular anion (the same bound as the spread: the strongest chemical bonds).
IMPLAUSIBLE_DG_EV = 10.0


def ev_to_kj_per_mol(value_ev: float) -> float:
    """eV per particle -> kJ/mol (pint, times the Avogadro constant)."""
    ureg = registry()
    return float((ureg.Quantity(value_ev, "eV") * ureg.N_A).to("kJ/mol").magnitude)


@dataclass(frozen=True)
class Electrolyte:
    """Bulk electrolyte (defaults: the paper's 6.0 M LiFSI in DME; D is an assumption)."""

    c0: float = 6000.0  # mol/m^3
    diffusivity: float = 3e-10  # ambipolar, free solution, m^2/s (assumed)
    t_plus: float = 0.32  # measured with the bare PE separator (Bruce-Vincent)
    temperature: float = 298.15  # K
    liquid_site_concentration: float = DME_SITE_CONCENTRATION  # N_L, mol/m^3

    def __post_init__(self) -> None:
        # the shared cell-temperature rule (atomistics.units.check_cell_temperature)
        check_cell_temperature(self.temperature, "electrolyte temperature")
        for name in ("c0", "diffusivity", "liquid_site_concentration"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise AtomisticsError(f"electrolyte {name} must be finite and > 0, got {v!r}")
        if not 0 < self.t_plus < 1:
            raise AtomisticsError(f"bulk t+ must lie in (0, 1), got {self.t_plus!r}")


@dataclass(frozen=True)
class Separator:
    """Bulk separator (PE; thickness and porosity are typical values, not from the paper)."""

    thickness: float = 20e-6
    porosity: float = 0.40
    bruggeman: float = 1.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.thickness) and self.thickness > 0):
            raise AtomisticsError(f"separator thickness must be > 0, got {self.thickness!r}")
        if not 0 < self.porosity <= 1:
            raise AtomisticsError(f"separator porosity must lie in (0, 1], got {self.porosity!r}")

    @property
    def tortuosity(self) -> float:
        return float(bruggeman_tortuosity(self.porosity, self.bruggeman))


@dataclass(frozen=True)
class Coating:
    """LiMMT:PVDF coating next to the plating electrode (paper: 0.57 mg/cm^2, 80:20, ~2 um).

    ``site_density``: anion-binding sites per mass of LiMMT [mol/kg]. Default 0.08 mol/kg,
    the EDGE-site (amphoteric Al-OH/Si-OH) capacity of montmorillonite from Bradbury &
    Baeyens, J. Contam. Hydrol. 27, 223 (1997) (two weak site types of 4e-2 mol/kg
    each); ``site_surface`` says which surface it describes ("edge" or "basal").

    Geometry (:func:`atomistics.continuum.clay_charge.consistent_geometry`): thickness,
    loading and porosity obey ``loading (w/rho_clay + (1-w)/rho_binder) = (1 - porosity)
    thickness``; give two (``None`` = not given), the third is derived and named in
    ``derived``. Default: the paper's weighed 0.57 mg/cm^2 and an ASSUMED porosity 0.35,
    thickness derived (3.58 um; the paper's "about 2 um" would need a solid fraction of
    1.16). All three given must agree; a solid fraction above 1 is refused. Clay density
    :data:`~atomistics.continuum.clay_charge.LIMMT_SKELETAL_DENSITY` (2.70 g/cm^3, X-ray
    density of the collapsed layer), PVDF 1.78 g/cm^3.

    Structural charge (:func:`atomistics.continuum.clay_charge.structural_charge`): the
    clay's layer charge ``layer_charge`` x per O10(OH)2 (the slab builder's default 0.25)
    gives CEC = x/M_fu; the fraction ``accessible_fraction`` of it (external tactoid
    faces, default 0.10, band 0.05-0.20) is a constant TMS fixed charge X_s of the pore
    liquid. ``fixed_charge`` sets X_s directly [mol/m^3 of pore liquid] instead (0: off).
    """

    thickness: float | None = None  # m; None: derived (default)
    loading: float | None = None  # kg/m^2; None: the paper's 0.57 mg/cm^2 (or derived)
    active_fraction: float = 0.80
    site_density: float = 0.08  # mol/kg LiMMT
    porosity: float | None = None  # None: 0.35 ASSUMED (or derived from thickness + loading)
    bruggeman: float = 1.5
    active_density: float = cc.LIMMT_SKELETAL_DENSITY  # kg/m^3, skeletal density of LiMMT
    binder_density: float = cc.PVDF_DENSITY  # kg/m^3 (PVDF)
    site_surface: str = "edge"
    layer_charge: float = cc.DEFAULT_LAYER_CHARGE  # x per O10(OH)2
    accessible_fraction: float = cc.ACCESSIBLE_FRACTION
    fixed_charge: float | None = None  # structural X_s given directly, mol/m^3 pore liquid
    derived: str = ""  # which of thickness/loading/porosity was derived (set here)

    def __post_init__(self) -> None:
        for name in (
            "thickness",
            "loading",
            "porosity",
            "site_density",
            "active_density",
            "binder_density",
        ):
            v = getattr(self, name)
            if v is None and name in cc.GEOMETRY_KEYS:
                continue
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise AtomisticsError(f"coating {name} must be > 0, got {v!r}")
        if not 0 < self.active_fraction <= 1:
            raise AtomisticsError(
                f"coating active mass fraction must lie in (0, 1], got {self.active_fraction!r}"
            )
        if self.site_surface not in SURFACES:
            raise AtomisticsError(
                f"coating site_surface must be one of {sorted(SURFACES)}, got {self.site_surface!r}"
            )
        if self.derived not in ("", *cc.GEOMETRY_KEYS):
            raise AtomisticsError(
                f"coating derived must be one of {list(cc.GEOMETRY_KEYS)} or empty, got {self.derived!r}"
            )
        geometry = cc.consistent_geometry(
            self.thickness,
            self.loading,
            self.porosity,
            active_fraction=self.active_fraction,
            active_density=self.active_density,
            binder_density=self.binder_density,
            tolerance=1e-9 if self.derived else 1e-6,
        )
        for name in cc.GEOMETRY_KEYS:
            object.__setattr__(self, name, float(getattr(geometry, name)))
        if geometry.derived or not self.derived:  # a round trip (asdict -> Coating), all
            object.__setattr__(self, "derived", geometry.derived)  # three given, keeps it
        cc.check_layer_charge(self.layer_charge, "coating layer_charge")
        cc.check_accessible_fraction(self.accessible_fraction, "coating accessible_fraction")
        if self.fixed_charge is not None:
            cc.check_fixed_charge(self.fixed_charge, "coating fixed_charge")
        self.structural_charge()  # refuses a derived X_s beyond MAX_FIXED_CHARGE

    def structural_charge(self) -> cc.StructuralCharge:
        """The clay's structural fixed charge X_s (from the composition, or given)."""
        return cc.structural_charge(
            loading=self.loading,
            active_fraction=self.active_fraction,
            thickness=self.thickness,
            porosity=self.porosity,
            layer_charge=self.layer_charge,
            accessible_fraction=self.accessible_fraction,
            given=self.fixed_charge,
        )

    @property
    def tortuosity(self) -> float:
        return float(bruggeman_tortuosity(self.porosity, self.bruggeman))

    @property
    def implied_solid_fraction(self) -> float:
        """Solid volume fraction implied by loading, thickness and the solid densities."""
        vol = self.loading * (
            self.active_fraction / self.active_density
            + (1 - self.active_fraction) / self.binder_density
        )
        return vol / self.thickness

    @property
    def trap_concentration(self) -> float:
        """Binding sites per volume of pore liquid, N_T [mol/m^3]."""
        sites_per_area = self.loading * self.active_fraction * self.site_density
        return sites_per_area / (self.thickness * self.porosity)


# ---------------------------------------------------------------------------
# The free energy and where it came from
# ---------------------------------------------------------------------------


class ReactionEnergy(Protocol):
    """What the results database provides for a reaction (architecture contract)."""

    name: str
    energy_ev: float
    converged: bool
    engine: str


@dataclass(frozen=True)
class FreeEnergy:
    """The adsorption free energy used by the bridge, with its provenance."""

    delta_g_ev: float
    origin: str  # "exchange", "screening", "given"
    fitted: bool
    delta_e_ev: float  # the underlying energy (dE_exch, or the competitive dE)
    surface: str  # which surface the energy refers to
    solvation: str  # the solvation model used, or what stands in for it
    solvation_correction_ev: float | None = None
    screening: float | None = None
    name: str | None = None
    engine: str | None = None
    spread_ev: dict[str, float] = field(default_factory=dict)  # 1-sigma components

    def __post_init__(self) -> None:
        if not math.isfinite(self.delta_g_ev):
            raise AtomisticsError(f"dG must be a finite number in eV, got {self.delta_g_ev!r}")
        check_spread(self.spread_ev)

    @property
    def sigma_ev(self) -> float:
        """Combined 1-sigma spread (components in quadrature)."""
        return float(math.sqrt(sum(v * v for v in self.spread_ev.values())))

    def label(self) -> str:
        if self.origin == "exchange":
            head = "COMPUTED" if not self.fitted else "FITTED  "
            return (
                f"{head}  dG_ads = dE_exch {self.delta_e_ev:+.4g} eV"
                + (
                    f" + ddG_solv {self.solvation_correction_ev:+.4g} eV"
                    if self.solvation_correction_ev is not None
                    else ""
                )
                + f" = {self.delta_g_ev:+.4g} eV (neutral exchange reaction"
                + (f" '{self.name}'" if self.name else "")
                + (f", {self.engine}" if self.engine else "")
                + f"; solvation: {self.solvation})"
            )
        if self.origin == "screening":
            return (
                f"FITTED    dG = s dE = {self.screening:.4g} x {self.delta_e_ev:+.4g} eV = "
                f"{self.delta_g_ev:+.4g} eV (screened gas-phase energies of charged fragments: "
                "NOT a free energy; s is a fitted number)"
            )
        return f"GIVEN     dG = {self.delta_g_ev:+.4g} eV ({self.solvation})"


def check_spread(spread_ev: dict[str, float], where: str = "dG spread") -> dict[str, float]:
    """Each 1-sigma component finite and in ``[0, MAX_DG_SPREAD_EV]`` eV; returned as floats.

    ``where`` names the input in the message (``bridge.dg_spread``, ``--dg-spread``); a
    component is named ``where.key``, except a single ``total`` given as one value.
    """
    out = {}
    for key, value in spread_ev.items():
        v = float(value)
        name = where if key == "total" and len(spread_ev) == 1 else f"{where}.{key}"
        if not v >= 0:
            raise AtomisticsError(f"{name}: a spread must be >= 0 eV, got {v!r}")
        if not (math.isfinite(v) and v <= MAX_DG_SPREAD_EV):
            raise AtomisticsError(
                f"{name}: {v:g} eV is no 1-sigma spread of an adsorption free energy; give "
                f"0 to {MAX_DG_SPREAD_EV:g} eV, e.g. '0.15 eV' ({MAX_DG_SPREAD_EV:g} eV already "
                "exceeds the strongest chemical bond, and its 95 % band spans empty to "
                "saturated sites)"
            )
        out[str(key)] = v
    return out


def check_neutral_exchange(
    reaction: object,
    subject: str | None = None,
    instead: str = "use free_energy_from_screening for charged-fragment binding energies",
) -> None:
    """Refuse a reaction record with a charged participant as the bridge's exchange energy.

    The bridge's primary dG is the NEUTRAL exchange reaction ``slab + [Li+FSI-] ->
    slab.(FSI- + Li+)`` (module docstring, step 1). A binding energy of charged
    fragments (Li+ + FSI- -> LiFSI, the paper's definition; ``ReactionEnergy.charged``)
    is a gas-phase Coulomb energy of several eV, not an exchange energy: used as one it
    would be labelled COMPUTED. ``subject`` names the input (``"bridge.exchange =
    'be'"``; default: the record's name), ``instead`` says what to use.
    """
    if not getattr(reaction, "charged", False):
        return
    if subject is None:
        subject = f"reaction {getattr(reaction, 'name', None) or ''}".strip()
    equation = getattr(reaction, "equation", None)
    what = f" ({equation})" if equation else ""
    raise AtomisticsError(
        f"{subject} is a binding energy of charged fragments{what}, not an exchange energy: "
        "the bridge's exchange must be a neutral reaction, slab + [Li+FSI-] -> "
        f"slab.(FSI- + Li+) (workflows/limmt_exchange_2x1.yaml); {instead}"
    )


def default_spread(origin: str) -> dict[str, float]:
    """The ASSUMED 1-sigma spread components for a free energy of this origin."""
    out = dict(DEFAULT_DG_SPREAD)
    if origin == "exchange":
        out.pop("charged-cell-residual")  # a neutral reaction: no charged cell
    return out


def free_energy_from_exchange(
    reaction: ReactionEnergy | float,
    *,
    converged: bool | None = None,
    allow_unconverged: bool = False,
    solvation_correction_ev: float | None = None,
    solvation_model: str | None = None,
    surface: str = "basal",
    spread_ev: dict[str, float] | None = None,
    name: str | None = None,
    engine: str | None = None,
    solvation_sigma_ev: float | None = None,
    solvation_converged: bool | None = None,
) -> FreeEnergy:
    """``dG_ads = dE_exch + ddG_solv`` from the neutral exchange reaction.

    ``reaction`` is an object with ``.name``, ``.energy_ev``, ``.converged`` and
    ``.engine`` (the results database's reaction energies), or a number in eV (then
    ``converged`` may say whether its calculations converged). An unconverged energy
    is refused unless ``allow_unconverged``. ``solvation_correction_ev`` is the
    implicit-solvent difference (or ``None``: the gas-phase energy is used and
    labelled as such); ``solvation_sigma_ev`` its 1-sigma uncertainty, which enters the
    spread as its own source ``"solvation"``; ``solvation_converged=False`` (its single
    points did not converge) is refused like an unconverged energy.
    """
    if isinstance(reaction, int | float):
        energy, conv = float(reaction), converged
    else:
        check_neutral_exchange(reaction)
        energy = float(reaction.energy_ev)
        conv = bool(getattr(reaction, "converged", True)) if converged is None else converged
        name = name or getattr(reaction, "name", None)
        engine = engine or getattr(reaction, "engine", None)
        # (a stored reaction's ``solvation`` is its ΔΔG_solv record, applied by the caller
        # through solvation_correction_ev; only a plain label is taken from here)
        label = getattr(reaction, "solvation", None)
        solvation_model = solvation_model or (label if isinstance(label, str) else None)
    if not math.isfinite(energy):
        raise AtomisticsError(
            f"exchange reaction energy must be a finite number in eV, got {energy!r}"
        )
    if conv is False and not allow_unconverged:
        raise AtomisticsError(
            f"exchange reaction {name or ''} energy {energy:+.4g} eV comes from unconverged "
            "calculations; rerun them, or pass --allow-unconverged (allow_unconverged=True) to use it anyway"
        )
    if surface not in SURFACES:
        raise AtomisticsError(f"surface must be one of {sorted(SURFACES)}, got {surface!r}")
    if solvation_correction_ev is not None:
        if not math.isfinite(solvation_correction_ev):
            raise AtomisticsError("solvation correction must be a finite number in eV")
        solv = solvation_model or "implicit solvent (model not named by the caller)"
        dg = energy + solvation_correction_ev
    else:
        solv = solvation_model or "none: gas-phase energy, labelled (no implicit solvent)"
        dg = energy
    spread = default_spread("exchange") if spread_ev is None else dict(spread_ev)
    if solvation_sigma_ev is not None:
        if solvation_correction_ev is None:
            raise AtomisticsError("a solvation uncertainty needs the solvation correction itself")
        check_spread({"solvation": solvation_sigma_ev}, "solvation uncertainty")
        if "solvation" in spread:
            raise AtomisticsError(
                "the dG spread already names a 'solvation' source and the solvation correction "
                "carries its own uncertainty: remove one of the two"
            )
        spread["solvation"] = float(solvation_sigma_ev)
    if solvation_converged is False:
        if not allow_unconverged:
            raise AtomisticsError(
                f"the solvation correction of {name or 'the exchange reaction'} comes from "
                "unconverged calculations; rerun them, or pass --allow-unconverged "
                "(allow_unconverged=True) to use it anyway"
            )
        solv += "; UNCONVERGED solvation single points used on request"
    if conv is False:
        solv += "; UNCONVERGED energy used on request"
    return FreeEnergy(
        delta_g_ev=float(dg),
        origin="exchange",
        fitted=False,
        delta_e_ev=energy,
        surface=surface,
        solvation=solv,
        solvation_correction_ev=solvation_correction_ev,
        name=name,
        engine=engine,
        spread_ev=spread,
    )


def competitive_adsorption_energy(e_surface_anion_ev: float, e_cation_anion_ev: float) -> float:
    """``dE = E_bind(surface-anion) - E_bind(cation-anion)`` [eV] (negative: surface preferred)."""
    for name, v in (("surface-anion", e_surface_anion_ev), ("cation-anion", e_cation_anion_ev)):
        if not np.isfinite(v):
            raise AtomisticsError(f"E_bind({name}) must be a finite number in eV, got {v!r}")
    return float(e_surface_anion_ev - e_cation_anion_ev)


def free_energy_from_screening(
    e_surface_anion_ev: float,
    e_cation_anion_ev: float,
    screening: float = 1.0 / DME_DIELECTRIC_CONSTANT,
    *,
    surface: str = "basal",
    spread_ev: dict[str, float] | None = None,
) -> FreeEnergy:
    """The FITTED fallback: ``dG = s (E_bind(surface-anion) - E_bind(cation-anion))``."""
    if not (math.isfinite(screening) and 0 < screening <= 1):
        raise AtomisticsError(f"screening factor must lie in (0, 1], got {screening!r}")
    de = competitive_adsorption_energy(e_surface_anion_ev, e_cation_anion_ev)
    return FreeEnergy(
        delta_g_ev=screening * de,
        origin="screening",
        fitted=True,
        delta_e_ev=de,
        surface=surface,
        solvation=f"none: Coulomb screening by s = {screening:.4g} stands in for the solvent",
        screening=screening,
        spread_ev=default_spread("screening") if spread_ev is None else dict(spread_ev),
    )


def given_free_energy(
    delta_g_ev: float, *, surface: str = "basal", spread_ev: dict[str, float] | None = None
) -> FreeEnergy:
    if not math.isfinite(delta_g_ev):
        raise AtomisticsError(f"dG must be a finite number in eV, got {delta_g_ev!r}")
    return FreeEnergy(
        delta_g_ev=float(delta_g_ev),
        origin="given",
        fitted=False,
        delta_e_ev=float(delta_g_ev),
        surface=surface,
        solvation="given directly by the user",
        spread_ev=default_spread("exchange") if spread_ev is None else dict(spread_ev),
    )


# ---------------------------------------------------------------------------
# Occupancy, Oriani with occupancy, the coating's transport numbers
# ---------------------------------------------------------------------------


def trap_sites(delta_g_ev: float, electrolyte: Electrolyte, coating: Coating) -> TrapSites:
    return TrapSites(
        site_concentration=coating.trap_concentration,
        delta_g_ev=float(delta_g_ev),
        temperature=electrolyte.temperature,
        liquid_sites=electrolyte.liquid_site_concentration,
    )


def oriani_anion_factor(traps: TrapSites, c_minus: float) -> float:
    """Oriani's effective/lattice diffusivity ratio with occupancy, ``1 / (1 + dc_T/dc_L)``.

    Oriani, Acta Metall. 18, 147 (1970), in its general (occupancy) form
    ``D_eff = D_L / (1 + (N_T/N_L) K / (1 + (K - 1) theta_L)^2)`` (= ``1/(1 + dc_T/dc_L)``
    with Fermi-Dirac occupancy); its low-occupancy limit ``1/(1 + (N_T/N_L) K)`` is
    what a low-occupancy bridge would use while the traps are saturated.
    """
    return float(1.0 / (1.0 + traps.d_trapped(c_minus)))


def oriani_low_occupancy_factor(traps: TrapSites) -> float:
    """The low-occupancy limit ``1/(1 + (N_T/N_L) K)`` (valid only for theta_T << 1).

    Underflows to 0.0 for ``(N_T/N_L) K > 1e308``; its size is
    :func:`oriani_low_occupancy_log10_slowing`.
    """
    x = np.log(traps.site_concentration / traps.liquid_sites) + traps.log_k
    return float(np.exp(-np.logaddexp(0.0, x)))


def oriani_low_occupancy_log10_slowing(traps: TrapSites) -> float:
    """``log10(1 + (N_T/N_L) K)``: the low-occupancy Oriani slowing as a power of ten.

    Computed as ``logaddexp(0, ln(N_T/N_L) + ln K) / ln 10``, finite for every finite dG
    (K = exp(-dG/kT) itself overflows beyond |dG| ~ 700 kT, e.g. -18 eV at 298 K).
    """
    x = np.log(traps.site_concentration / traps.liquid_sites) + traps.log_k
    return float(np.logaddexp(0.0, x) / np.log(10.0))


def format_slowing(log10_factor: float, digits: int = 4) -> str:
    """``"1.23x"``, or ``"10^345x"`` when the factor is beyond 1e15 (``digits`` significant)."""
    if log10_factor < 15:
        return f"{10.0**log10_factor:.{digits}g}x"
    return f"10^{log10_factor:.{digits}g}x"


@dataclass(frozen=True)
class LayerIons:
    """Ionic diffusivities, microstructure and (Donnan) ion concentrations of one layer."""

    thickness: float
    d_plus: float
    d_minus: float
    porosity: float
    tortuosity: float
    c_plus: float = 1.0
    c_minus: float = 1.0


def stack_transference_number(layers: list[LayerIons]) -> float:
    """Bruce-Vincent t+ of layers in series, ``R_0 / R_ss``, with fixed charge.

    Dilute 1:1 electrolyte, small polarisation about the equilibrium (Donnan)
    concentrations ``c+_k, c-_k``. Initially the cell is ohmic: ``R_0 = sum L_k /
    kappa_k``, ``kappa_k = (F^2/RT) (eps/tau)_k (D+ c+ + D- c-)_k`` (Nernst-Einstein).
    At steady state the anion flux vanishes everywhere (``grad mu~- = 0``), so the
    measured voltage, the Li+ electrochemical-potential difference (continuous across
    Donnan interfaces), is ``sum_k i L_k / ((F^2/RT) (eps/tau)_k D+_k c+_k)``. Hence

        t+ = [sum L tau / (eps (D+ c+ + D- c-))] / [sum L tau / (eps D+ c+)],

    which is ``D+ c+/(D+ c+ + D- c-)`` (the TMS transference number) for one layer and
    ``D+/(D+ + D-)`` for a neutral one (Bruce & Vincent, J. Electroanal. Chem. 225, 1
    (1987); layered and fixed-charge form derived here).
    """
    num = sum(
        la.thickness
        * la.tortuosity
        / (la.porosity * (la.d_plus * la.c_plus + la.d_minus * la.c_minus))
        for la in layers
    )
    den = sum(la.thickness * la.tortuosity / (la.porosity * la.d_plus * la.c_plus) for la in layers)
    return float(num / den)


@dataclass
class CoatingTransport:
    """Equilibrium state and transport numbers of the coating for one dG."""

    delta_g_ev: float
    log10_k: float
    site_concentration: float  # N_T, mol/m^3 pore liquid
    trap_occupancy: float  # theta_T in the coating at equilibrium with the bulk
    lattice_occupancy: float  # theta_L = c-/N_L in the coating
    fixed_charge: float  # X = trapped anions, mol/m^3 pore liquid
    trapped_fraction: float  # trapped / all anions in the coating (<= the bound below)
    #: the largest trapped fraction at any dG, every site filled: N_T/(N_T + c-_Donnan) < 1
    #: (:func:`~atomistics.continuum.fixedcharge.max_trapped_fraction`; ~N_T/c0 for N_T << c0)
    trapped_fraction_bound: float
    c_plus_coating: float
    c_minus_coating: float
    d_plus: float
    d_minus: float
    t_plus_coating: float  # TMS transference number of the coating
    t_plus_stack: float  # Bruce-Vincent t+ of coating + separator
    t_plus_stack_neutral: float  # the same with X = 0 (geometry only)
    oriani_factor: float  # D_eff/D_L with occupancy (comparison only)
    oriani_low_occupancy_factor: float  # the low-occupancy number (invalid when saturated)
    #: log10 of that slowing, 1/factor (finite when the factor underflows to 0)
    oriani_low_occupancy_log10_slowing: float = 0.0


def coating_transport(
    delta_g_ev: float, electrolyte: Electrolyte, separator: Separator, coating: Coating
) -> CoatingTransport:
    """Equilibrium occupancy, fixed charge, Donnan concentrations and t+ for one dG."""
    d_plus, d_minus = (
        float(v) for v in ion_diffusivities(electrolyte.diffusivity, electrolyte.t_plus)
    )
    traps = trap_sites(delta_g_ev, electrolyte, coating)
    c0 = electrolyte.c0
    c_plus = equilibrium_li(traps, c0)
    # mobile anion from the Li+ density: c- (c- + X(c-)) = c0^2
    c_minus = float(anion_from_total(traps, np.array([c_plus]))[0])
    x = c_plus - c_minus
    theta_t = float(traps.occupancy(c_minus))
    sep = LayerIons(
        separator.thickness, d_plus, d_minus, separator.porosity, separator.tortuosity, c0, c0
    )
    coat = LayerIons(
        coating.thickness, d_plus, d_minus, coating.porosity, coating.tortuosity, c_plus, c_minus
    )
    coat0 = replace(coat, c_plus=c0, c_minus=c0)
    return CoatingTransport(
        delta_g_ev=float(delta_g_ev),
        log10_k=float(traps.log_k / np.log(10)),
        site_concentration=traps.site_concentration,
        trap_occupancy=theta_t,
        lattice_occupancy=c_minus / traps.liquid_sites,
        fixed_charge=x,
        trapped_fraction=x / c_plus,
        trapped_fraction_bound=max_trapped_fraction(c0, traps.site_concentration),
        c_plus_coating=c_plus,
        c_minus_coating=c_minus,
        d_plus=d_plus,
        d_minus=d_minus,
        t_plus_coating=d_plus * c_plus / (d_plus * c_plus + d_minus * c_minus),
        t_plus_stack=stack_transference_number([coat, sep]),
        t_plus_stack_neutral=stack_transference_number([coat0, sep]),
        oriani_factor=oriani_anion_factor(traps, c_minus),
        oriani_low_occupancy_factor=oriani_low_occupancy_factor(traps),
        oriani_low_occupancy_log10_slowing=oriani_low_occupancy_log10_slowing(traps),
    )


def structural_transference(
    x_struct: float,
    delta_g_ev: float | None,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
) -> tuple[float, float]:
    """``(t+ coating, t+ stack)`` with the structural charge ``x_struct`` and, when
    ``delta_g_ev`` is given, the adsorption sites in equilibrium as well.

    Donnan partition of both charges (:func:`atomistics.continuum.clay_charge.donnan_with_traps`),
    then the TMS t+ of the coating and the Bruce-Vincent t+ of coating + separator
    (:func:`stack_transference_number`).
    """
    d_plus, d_minus = (
        float(v) for v in ion_diffusivities(electrolyte.diffusivity, electrolyte.t_plus)
    )
    traps = None if delta_g_ev is None else trap_sites(delta_g_ev, electrolyte, coating)
    c_plus, c_minus, _ = cc.donnan_with_traps(electrolyte.c0, x_struct, traps)
    c0 = electrolyte.c0
    sep = LayerIons(
        separator.thickness, d_plus, d_minus, separator.porosity, separator.tortuosity, c0, c0
    )
    coat = LayerIons(
        coating.thickness, d_plus, d_minus, coating.porosity, coating.tortuosity, c_plus, c_minus
    )
    t_coat = d_plus * c_plus / (d_plus * c_plus + d_minus * c_minus)
    return float(t_coat), stack_transference_number([coat, sep])


def t_plus_sweep(
    delta_g_ev, electrolyte: Electrolyte, separator: Separator, coating: Coating
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised ``(t+ coating, t+ stack)`` over an array of dG (closed forms only)."""
    dg = np.atleast_1d(np.asarray(delta_g_ev, float))
    d_plus, d_minus = (
        float(v) for v in ion_diffusivities(electrolyte.diffusivity, electrolyte.t_plus)
    )
    c0 = electrolyte.c0
    n_t, n_l = coating.trap_concentration, electrolyte.liquid_site_concentration
    log_k = log_equilibrium_constant(dg, electrolyte.temperature)
    # bisection on c- in (0, c0] for c- (c- + N_T theta_T(c-)) = c0^2, vectorised
    lo, hi = np.zeros_like(dg), np.full_like(dg, c0)
    for _ in range(80):
        cm = 0.5 * (lo + hi)
        th_l = np.clip(cm / n_l, 1e-300, 1 - 1e-15)
        theta = np.exp(-np.logaddexp(0.0, np.log1p(-th_l) - np.log(th_l) - log_k))
        f = cm * (cm + n_t * theta) - c0**2
        lo, hi = np.where(f < 0, cm, lo), np.where(f < 0, hi, cm)
    cm = 0.5 * (lo + hi)
    th_l = np.clip(cm / n_l, 1e-300, 1 - 1e-15)
    cp = cm + n_t * np.exp(-np.logaddexp(0.0, np.log1p(-th_l) - np.log(th_l) - log_k))
    t_c = d_plus * cp / (d_plus * cp + d_minus * cm)
    r_c = coating.thickness * coating.tortuosity / coating.porosity
    r_s = separator.thickness * separator.tortuosity / separator.porosity
    num = r_c / (d_plus * cp + d_minus * cm) + r_s / ((d_plus + d_minus) * c0)
    den = r_c / (d_plus * cp) + r_s / (d_plus * c0)
    return t_c, num / den


# ---------------------------------------------------------------------------
# Cells: PE separator alone, coated neutral (X = 0), coated with trapped anions
# ---------------------------------------------------------------------------


def coating_layer(
    delta_g_ev: float | None,
    electrolyte: Electrolyte,
    coating: Coating,
    model: str = "tms",
) -> Layer:
    """The coating as a transport layer: traps in equilibrium ("tms"), frozen X ("tms-frozen"),
    or neutral (``delta_g_ev=None``)."""
    common = dict(
        thickness=coating.thickness,
        diffusivity=electrolyte.diffusivity,
        t_plus=electrolyte.t_plus,
        porosity=coating.porosity,
        tortuosity=coating.tortuosity,
        name="coating",
    )
    if delta_g_ev is None:
        return Layer(**common)
    traps = trap_sites(delta_g_ev, electrolyte, coating)
    if model == "tms-frozen":
        c_plus = equilibrium_li(traps, electrolyte.c0)
        cm = float(anion_from_total(traps, np.array([c_plus]))[0])
        return Layer(**common, fixed_charge=c_plus - cm)
    return Layer(**common, traps=traps)


def separator_layer(
    electrolyte: Electrolyte, separator: Separator, length: float | None = None
) -> Layer:
    return Layer(
        separator.thickness if length is None else length,
        electrolyte.diffusivity,
        electrolyte.t_plus,
        separator.porosity,
        separator.tortuosity,
        "separator",
    )


@dataclass
class CellNumbers:
    """What the output compares for one cell."""

    t_plus_coating: float | None
    t_plus_stack: float
    limiting_current: float  # A/m^2, the real (finite) cell
    #: s, SEMI-INFINITE separator (10 diffusion lengths; the real cell below J_lim has
    #: none, see ``real_cell``): Li+ depletion at the plating electrode (Sand's time
    #: proper, the dendrite criterion); inf when not reached while the model holds
    sand_time_semi_infinite: float
    #: s, the salt running out at the coating/separator interface (inf: not first / never);
    #: the electroneutral model ends there, so an electrode depletion after it is not known
    interface_depletion_time: float = math.inf
    #: False: a constant fixed charge at the electrode keeps c+ >= X there (never depletes)
    electrode_can_deplete: bool = True
    #: mol/m^3 of Li+ left at the electrode when the interface depleted (nan: it did not)
    electrode_li_at_interface_depletion: float = math.nan
    #: A/m^2: salt depletion at the interface behind a constant-X coating (inf: none)
    interface_limiting_current: float = math.inf
    #: the real finite cell's own numbers (:mod:`atomistics.continuum.real_cell`): steady
    #: state, concentration overpotential and time to steady state at the applied J, the
    #: threshold amplification J_lim/J and the depletion events at a local current
    real_cell: RealCellNumbers | None = None


def _sand_domain(electrolyte: Electrolyte, separator: Separator, current_density: float) -> float:
    tau = float(
        sand_time(
            electrolyte.c0,
            electrolyte.diffusivity,
            current_density,
            electrolyte.t_plus,
            separator.porosity,
            separator.tortuosity,
        )
    )
    ell = math.sqrt(electrolyte.diffusivity / separator.tortuosity * tau)
    return max(separator.thickness, 10.0 * ell), tau


def cell_numbers(
    delta_g_ev: float | None,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating | None,
    current_density: float,
    model: str = "tms",
    cells: int = 600,
    rtol: float = 1e-6,
    fixed_charge: float | None = None,
    local_current_density: float | None = None,
) -> CellNumbers:
    """t+, J_lim and the layered Sand's time of the PE cell (``coating=None``), the
    coated cell without trapping (``delta_g_ev=None``) or the coated cell with traps.
    ``fixed_charge`` (with ``delta_g_ev=None``): the coating with a constant fixed charge
    X [mol/m^3 of pore liquid] instead, the clay's structural charge (TMS, as "tms-frozen").
    ``local_current_density`` [A/m^2]: also the real cell's own numbers
    (``real_cell``, :func:`_real_cell`), its depletion events at that local current.

    The Sand's times are numerical on the same mesh for all three (the PE cell's first
    ``coating.thickness`` is a separator-material layer), so their ratios carry no
    mesh error; the semi-infinite separator is 10 diffusion lengths long. At the default
    600 separator cells and rtol 1e-6 the depletion times are converged to ~1e-5
    (mesh) and ~2e-7 (tolerance) relative, and agree with a semi-analytic Volterra
    solution to ~1e-5 (tests/test_continuum_fixedcharge.py).
    """
    bulk, tau_bare = _sand_domain(electrolyte, separator, current_density)
    sep = separator_layer(electrolyte, separator)
    long_sep = separator_layer(electrolyte, separator, bulk)
    ref = coating or Coating()
    if coating is None:
        first = replace(long_sep, thickness=ref.thickness, name="separator (coating-thick slice)")
    else:
        first = coating_layer(delta_g_ev, electrolyte, coating, model)
        if fixed_charge is not None and delta_g_ev is None and fixed_charge > 0:
            first = replace(first, fixed_charge=float(fixed_charge))
    res = simulate(
        [first, long_sep],
        electrolyte.c0,
        current_density,
        t_end=20 * tau_bare,
        cells_per_layer=(max(cells // 3, 40), cells),
        rtol=rtol,
    )
    if coating is None:
        j_pe = limiting_current([sep], electrolyte.c0)
        return CellNumbers(
            None,
            electrolyte.t_plus,
            j_pe,
            float(res.sand_time),
            float(res.interface_depletion_time),
            real_cell=_real_cell(
                [sep], electrolyte, current_density, local_current_density, j_pe, cells, rtol
            ),
        )
    j_lim = limiting_current([first, sep], electrolyte.c0)
    if delta_g_ev is None and fixed_charge:
        tr_t, stack = structural_transference(fixed_charge, None, electrolyte, separator, coating)
    elif delta_g_ev is None:
        tr_t = stack = electrolyte.t_plus
    else:
        tr = coating_transport(delta_g_ev, electrolyte, separator, coating)
        tr_t, stack = tr.t_plus_coating, tr.t_plus_stack
    return CellNumbers(
        tr_t,
        stack,
        j_lim,
        float(res.sand_time),
        float(res.interface_depletion_time),
        bool(res.electrode_can_deplete),
        float(res.electrode_li_at_interface_depletion),
        interface_limiting_current([first, sep], electrolyte.c0),
        _real_cell(
            [first, sep], electrolyte, current_density, local_current_density, j_lim, cells, rtol
        ),
    )


def _real_cell(
    layers: list[Layer],
    electrolyte: Electrolyte,
    current_density: float,
    local_current_density: float | None,
    j_lim: float,
    cells: int,
    rtol: float,
) -> RealCellNumbers | None:
    """The real cell's numbers (:func:`atomistics.continuum.real_cell.real_cell_numbers`)
    on the real thicknesses, or ``None`` without a local current. Mesh: ``cells``
    separator cells and ``4 cells / 3`` coating cells (600 and 800 at the default 600): with
    trapped anions the depletion happens in the thin coating, whose mesh sets the error;
    there the Sand's time is converged to ~1e-5 relative (50 coating cells were 3 % off;
    tests/test_continuum_real_cell.py), at ~1 s per transient."""
    if local_current_density is None:
        return None
    counts = [max(4 * cells // 3, 40)] * (len(layers) - 1) + [max(cells, 40)]
    return real_cell_numbers(
        layers,
        electrolyte.c0,
        current_density,
        local_current_density,
        temperature=electrolyte.temperature,
        cells=counts,
        rtol=rtol,
        limiting_current_density=j_lim,
    )


# ---------------------------------------------------------------------------
# Calibration: fit dG to what Bruce-Vincent measures
# ---------------------------------------------------------------------------


@dataclass
class Calibration:
    """Result of fitting dG to a measured pair of transference numbers."""

    target: str
    t_plus_bare: float
    t_plus_coated: float
    reachable: bool
    delta_g_ev: float | None
    screening: float | None  # the implied s = dG/dE on the FITTED screening path
    t_plus_range: tuple[float, float]  # achievable over all dG (traps empty .. full)
    needed_site_density: float | None  # mol/kg at the given thickness (None: none can)
    needed_thickness: float | None  # m at the given site concentration (None: none can)
    needed_fixed_charge: float | None  # mol/m^3: X at which the coating alone has the target t+
    note: str


def _t_stack_at_charge(x, electrolyte, separator, coating, thickness=None):
    """Stack t+ for a coating with constant fixed charge ``x`` (vectorised over x)."""
    x = np.asarray(x, float)
    d_plus, d_minus = (
        float(v) for v in ion_diffusivities(electrolyte.diffusivity, electrolyte.t_plus)
    )
    c0 = electrolyte.c0
    cp, cm = donnan_partition(c0, x)
    lc = coating.thickness if thickness is None else thickness
    r_c = lc * coating.tortuosity / coating.porosity
    r_s = separator.thickness * separator.tortuosity / separator.porosity
    num = r_c / (d_plus * cp + d_minus * cm) + r_s / ((d_plus + d_minus) * c0)
    den = r_c / (d_plus * cp) + r_s / (d_plus * c0)
    return num / den


def _unreachable(
    target: str,
    t_plus_bare: float,
    t_plus_coated: float,
    ely: Electrolyte,
    separator: Separator,
    coating: Coating,
    grid: np.ndarray,
    reach: tuple[float, float],
    needed_x: float,
) -> Calibration:
    """The calibration that cannot reach its target: what site density, thickness or fixed
    charge would (:func:`calibrate_free_energy`)."""
    lo, hi = reach
    c0 = ely.c0
    needed_sd = needed_l = None
    n_t = coating.trap_concentration
    if target == "stack":
        xs = np.geomspace(n_t, 1e4 * c0, 4000)
        ts = _t_stack_at_charge(xs, ely, separator, coating)
        k = int(np.argmax(ts >= t_plus_coated)) if np.any(ts >= t_plus_coated) else None
        if k is not None and k > 0:
            x_need = brentq(
                lambda x: float(_t_stack_at_charge(x, ely, separator, coating)) - t_plus_coated,
                xs[k - 1],
                xs[k],
            )
            needed_sd = coating.site_density * x_need / n_t
        t_coat_full = float(t_plus_sweep(grid[-1:], ely, separator, coating)[0][0])
        if t_coat_full > t_plus_coated:
            x_full = n_t

            def g(lc: float) -> float:
                return (
                    float(_t_stack_at_charge(x_full, ely, separator, coating, lc)) - t_plus_coated
                )

            upper = coating.thickness
            while g(upper) < 0 and upper < 1.0:
                upper *= 2
            if g(upper) >= 0:
                needed_l = float(brentq(g, coating.thickness, upper))
    else:
        if needed_x > 0:
            needed_sd = coating.site_density * needed_x / n_t
    parts = [
        f"CANNOT REACH the measured {target} t+ = {t_plus_coated:.3f}: with this geometry the model "
        f"gives {lo:.3f} (traps empty) to {hi:.3f} (every site filled, X = N_T = {n_t:.4g} mol/m^3, "
        f"at most {max_trapped_fraction(c0, n_t):.1%} of the anions trapped)"
    ]
    if needed_x > 0:
        parts.append(
            f"the coating alone reaches t+ = {t_plus_coated:.3f} only with a fixed charge "
            f"X >= {needed_x:.4g} mol/m^3 ({needed_x / n_t:.3g}x the site concentration)"
        )
    if target == "stack":
        parts.append(
            f"at the given thickness ({coating.thickness * 1e6:.3g} um) "
            + (
                f"it would need a site density of {needed_sd:.3g} mol/kg "
                f"({needed_sd / coating.site_density:.3g}x the given {coating.site_density:g} mol/kg)"
                if needed_sd is not None
                else "no site density suffices (a thin coating adds too little resistance next to "
                "the separator, and more fixed charge makes it a better conductor)"
            )
        )
        parts.append(
            "at the given site concentration "
            + (
                f"it would need a coating {needed_l * 1e6:.3g} um thick (loading scaled with thickness)"
                if needed_l is not None
                else "no coating thickness suffices (the coating's own t+ at full occupancy, "
                f"{t_coat_full:.3f}, is below the target)"
            )
        )
    elif needed_sd is not None:
        parts.append(f"that needs a site density of {needed_sd:.3g} mol/kg at the given loading")
    return Calibration(
        target,
        t_plus_bare,
        t_plus_coated,
        False,
        None,
        None,
        (lo, hi),
        needed_sd,
        needed_l,
        needed_x if needed_x > 0 else None,
        "; ".join(parts),
    )


def calibrate_free_energy(
    t_plus_bare: float,
    t_plus_coated: float,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    target: Literal["stack", "coating"] = "stack",
    delta_e_ev: float | None = None,
) -> Calibration:
    """Fit dG so that the model gives the measured t+ of the coated cell.

    ``t_plus_bare`` (bare PE cell) sets the bulk t+. ``target="stack"`` (default) fits
    the Bruce-Vincent t+ of coating + separator, which is what the measurement sees;
    ``"coating"`` the coating layer alone. The t+ rises monotonically as dG falls
    (more sites filled) up to full occupancy, X = N_T. When the target lies outside
    the reachable range, the result says so and computes what would reach it: the
    site density at the given thickness, the thickness at the given site
    concentration (loading scaled with thickness), and the fixed charge at which the
    coating alone has the target t+ (a bound: the stack t+ never exceeds the larger
    of the coating's and the separator's).
    """
    for name, v in (("bare", t_plus_bare), ("coated", t_plus_coated)):
        if not 0 < v < 1:
            raise AtomisticsError(f"measured t+ ({name}) must lie in (0, 1), got {v!r}")
    if target not in ("stack", "coating"):
        raise AtomisticsError(f"calibration target must be 'stack' or 'coating', got {target!r}")
    ely = replace(electrolyte, t_plus=t_plus_bare)
    idx = 1 if target == "stack" else 0
    kt = BOLTZMANN_EV * ely.temperature
    grid = np.linspace(-60 * kt, 60 * kt, 2401)[::-1]  # traps empty -> full
    tp = t_plus_sweep(grid, ely, separator, coating)[idx]
    lo, hi = float(tp[0]), float(tp[-1])
    d_plus, d_minus = (float(v) for v in ion_diffusivities(ely.diffusivity, ely.t_plus))
    c0 = ely.c0
    # the fixed charge at which the coating's own t+ equals the target
    ratio = t_plus_coated * d_minus / ((1 - t_plus_coated) * d_plus)  # c+/c- needed
    needed_x = c0 * (math.sqrt(ratio) - 1 / math.sqrt(ratio)) if ratio > 1 else 0.0
    if lo <= t_plus_coated <= hi:

        def f(dg: float) -> float:
            return float(t_plus_sweep(dg, ely, separator, coating)[idx][0]) - t_plus_coated

        k = int(np.argmax(tp >= t_plus_coated))
        a, b = (grid[k - 1], grid[k]) if k > 0 else (grid[0], grid[0])
        dg = float(brentq(f, b, a, xtol=1e-12)) if k > 0 else float(grid[0])
        s = dg / delta_e_ev if delta_e_ev else None
        note = (
            f"fitted dG = {dg:+.4f} eV ({ev_to_kj_per_mol(dg):+.2f} kJ/mol) gives the {target} "
            f"t+ = {t_plus_coated:.3f}"
            + (f" (implied screening s = {s:.4g}, 1/s = {1 / s:.3g})" if s else "")
        )
        return Calibration(
            target, t_plus_bare, t_plus_coated, True, dg, s, (lo, hi), None, None, needed_x, note
        )
    return _unreachable(
        target, t_plus_bare, t_plus_coated, ely, separator, coating, grid, (lo, hi), needed_x
    )


# ---------------------------------------------------------------------------
# The bridge
# ---------------------------------------------------------------------------


@dataclass
class Interval:
    """Central value and 95 % interval of one output."""

    central: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _interval(values: list[float], central: float) -> Interval:
    vals = [v for v in values if v is not None]
    return Interval(central, float(min(vals)), float(max(vals)))


def _direction(what: str, coated: float, reference: float, by: str) -> str:
    """``"<what>: <by> raises it by +x %"`` (or lowers, or leaves unchanged)."""
    if not (math.isfinite(coated) and math.isfinite(reference)):
        if math.isfinite(reference):
            return f"{what}: not reached with {by.split(' (')[0]} while the model holds"
        return f"{what}: undefined (no finite value)"
    rel = coated / reference - 1
    if abs(rel) < 5e-4:
        return f"{what}: {by} leaves it unchanged (|change| < 0.05 %)"
    return f"{what}: {by} {'RAISES' if rel > 0 else 'LOWERS'} it by {rel:+.2%}"


@dataclass
class BridgeResult:
    """Everything the bridge computed, in SI units (energies in eV)."""

    inputs: dict
    free_energy: FreeEnergy
    transport: CoatingTransport
    pe: CellNumbers  # the PE separator alone
    coated_neutral: CellNumbers  # the coating as a layer without trapped anions (X = 0)
    coated: CellNumbers  # the coating with trapped anions (fixed charge)
    bands: dict[str, Interval]  # 95 % intervals from the dG spread
    delta_g_interval: Interval
    directions: dict[str, str]
    verdict: str
    surfaces: dict[str, str]
    #: V, tms-frozen only (None for tms): ohmic cost of carrying J_lim through a coating
    #: depleted of co-ions by the constant X's counter-ions alone (the frozen-X picture)
    depleted_coating_voltage: float | None
    coating_implied_solid_fraction: float
    calibration: Calibration | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the clay's structural (layer) charge X_s and the coating with it alone (constant X)
    structural: cc.StructuralCharge | None = None
    coated_structural: CellNumbers | None = None
    structural_bands: dict[str, Interval] = field(default_factory=dict)  # accessible-fraction range
    #: which mechanism moves t+ and by how much (:func:`_mechanism`)
    mechanism: dict[str, Any] = field(default_factory=dict)
    #: thickness, loading, porosity and which one was derived
    coating_geometry: dict[str, Any] = field(default_factory=dict)
    #: where c0, D and t+ came from (GIVEN, PAPER, ASSUMED, CALIBRATION)
    electrolyte_origin: dict[str, str] = field(default_factory=dict)
    #: Debye length at c0 against the coating's pore hydraulic radius, and the regime
    #: (:func:`_double_layer_check`, :mod:`atomistics.continuum.double_layer`)
    double_layer: dict[str, Any] = field(default_factory=dict)
    #: t+ of the charged columns ("structural", "trapped") as a bracket
    #: ``{"coating": (thin, TMS), "stack": (thin, TMS), "fixed_charge": (thin, TMS)}``
    t_plus_bracket: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: bands of the real cell's numbers (:data:`REAL_CELL_BAND_KEYS`) of the charged
    #: columns, ``{"coated": {...}, "coated_structural": {...}}``, over the ends of their bands
    real_cell_bands: dict[str, dict[str, Interval]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["free_energy"]["sigma_ev"] = self.free_energy.sigma_ev
        return out


def _electrode_status(cell: CellNumbers) -> str:
    """Why a cell has no dendrite onset (Li+ depletion at the plating electrode) in the model."""
    if not cell.electrode_can_deplete:
        return (
            "a constant fixed charge keeps Li+ at the electrode at c+ >= X, so the electrode "
            "never runs out of Li+ in this model (no Sand's time)"
        )
    if math.isfinite(cell.interface_depletion_time):
        return (
            f"Li+ at the electrode is still {cell.electrode_li_at_interface_depletion:.3g} mol/m^3 "
            "when the salt runs out at the coating/separator interface, where the electroneutral "
            "model ends (it cannot say when, or whether, the electrode runs out after that)"
        )
    return "Li+ at the electrode does not run out within the simulated time"


def _verdict(
    res_bare: CellNumbers,
    coated: CellNumbers,
    bands: dict[str, Interval],
    tr: CoatingTransport,
    current_density: float,
    c0: float = 6000.0,
    real_bands: dict[str, Interval] | None = None,
) -> str:
    """The verdict on the paper's claim, for the REAL cell (its own thickness; ``real_cell``).

    Only Li+ depletion at the plating electrode (Sand's time proper) is called dendrite
    onset; salt depletion at the coating/separator interface is a voltage rise, reported as
    such. The judgement is made at the local current of a protrusion (``real_cell``'s
    ``local_current_density``, the same for both cells), because at the applied current the
    real cell reaches a steady state and has no Sand's time; the threshold amplification
    A* = J_lim/J of both cells says how much a protrusion must concentrate the current.
    Without real-cell numbers (``real_cell=None``) it falls back to the semi-infinite
    separator (:func:`_semi_infinite_verdict`).
    """
    pe, co = res_bare.real_cell, coated.real_cell
    if pe is None or co is None:
        return _semi_infinite_verdict(res_bare, coated, bands, tr, current_density)
    onset = "dendrite onset (Li+ depletion at the plating electrode)"
    at = (
        f"at a protrusion's local current J_loc = {co.local_current_density / 10:.5g} mA/cm^2 "
        f"({co.local_amplification:.4g}x the applied)"
    )
    t_pe, t_co = pe.sand_time, co.sand_time
    pe_text = (
        f"the PE cell reaches it after {t_pe:.4g} s"
        if math.isfinite(t_pe)
        else "the PE cell does not reach it (J_loc below its J_lim)"
    )
    if math.isfinite(t_pe) and math.isfinite(t_co):
        rel = t_co / t_pe - 1
        band = (real_bands or {}).get("sand_time")
        lo, hi = (band.low / t_pe - 1, band.high / t_pe - 1) if band is not None else (rel, rel)
        lo, hi = min(lo, rel), max(hi, rel)
        hi_t = f"{hi:+.1%}" if math.isfinite(hi) else "no onset within the model"
        span = f" (95 % band {lo:+.1%} to {hi_t})" if (lo, hi) != (rel, rel) else ""
        if lo > 0.10:
            head = (
                f"The model SUPPORTS the claim: {at} the coating delays {onset} by {rel:+.1%}{span}"
            )
        elif hi < -0.01:
            head = f"The model CONTRADICTS the claim: {at} the coating brings {onset} forward by {rel:+.1%}{span}"
        elif lo >= -0.01 and hi <= 0.10:
            head = f"The model does NOT support the claim: {at} the coating moves {onset} by {rel:+.2%}{span}"
        else:  # the band straddles: the sign of the effect is not known
            head = (
                f"The model CANNOT TELL whether the coating delays {onset}: {at} it moves it by "
                f"{rel:+.1%} at the central dG, but by {lo:+.1%} to {hi_t} over dG's 95 % band"
            )
        head += f" ({t_co:.4g} s against {t_pe:.4g} s)"
    elif co.event == "below J_lim" and math.isfinite(t_pe):
        head = (
            f"The model SUPPORTS the claim: {at} the coated cell stays below its J_lim "
            f"({co.limiting_current / 10:.5g} mA/cm^2) and never reaches {onset}, while {pe_text}"
        )
    elif co.event == "interface":
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; in the "
            f"coated cell the salt runs out at the coating/separator interface first, after "
            f"{co.interface_depletion_time:.4g} s, with Li+ at the electrode still "
            f"{co.electrode_li_at_interface_depletion:.3g} mol/m^3: a rise of the cell voltage, "
            "not dendrite onset, where the electroneutral model ends"
        )
    elif not co.electrode_can_deplete:
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; in the "
            "coated cell a constant fixed charge keeps Li+ at the electrode at c+ >= X, so the "
            "electrode never runs out of Li+ in this model"
        )
    else:
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; the "
            f"coated cell does not reach it within the simulated time ({co.event})"
        )
    a_pe, a_co = pe.threshold_amplification, co.threshold_amplification
    applied = f"at the applied {current_density / 10:.4g} mA/cm^2 "
    if a_pe > 1 and a_co > 1:
        applied += (
            "neither cell reaches dendrite onset (both reach a steady state); a protrusion must "
            f"concentrate the current {a_pe:.4g}x (PE) or {a_co:.4g}x (coated) to reach it: the "
            f"coating {'RAISES' if a_co > a_pe else 'LOWERS'} that threshold by {a_co / a_pe - 1:+.1%}"
        )
    else:
        applied += f"the current is above J_lim (A* = {a_pe:.3g} PE, {a_co:.3g} coated)"
    limits = (
        f"; at c0 = {c0 / 1000:.3g} M the model is dilute-solution theory (no activity "
        "coefficients, ideal Donnan partition): trends, not numbers"
        if c0 >= 1000
        else ""
    )
    return f"{head}; {applied}{limits}."


def _semi_infinite_verdict(
    res_bare: CellNumbers,
    coated: CellNumbers,
    bands: dict[str, Interval],
    tr: CoatingTransport,
    current_density: float,
) -> str:
    """The verdict on a semi-infinite separator (``sand_time_semi_infinite``): used only
    when the real cell's numbers are not computed."""
    tau_pe = res_bare.sand_time_semi_infinite
    t_i = coated.interface_depletion_time
    iface = (
        f"; the salt runs out at the coating/separator interface after {t_i / 3600:.4g} h "
        f"({t_i / tau_pe - 1:+.2%} against the PE cell's dendrite onset): a rise of the cell "
        "voltage, not dendrite onset"
        if math.isfinite(t_i)
        else ""
    )
    if not math.isfinite(coated.sand_time_semi_infinite):
        return (
            "The model CANNOT TELL whether the coating delays dendrite onset (Li+ depletion at "
            f"the plating electrode): in the coated cell {_electrode_status(coated)}{iface}."
        )
    rel_tau = coated.sand_time_semi_infinite / tau_pe - 1
    lo = bands["sand_time_semi_infinite"].low / tau_pe - 1
    hi = bands["sand_time_semi_infinite"].high / tau_pe - 1
    lo_t = f"{lo:+.1%}"
    hi_t = f"{hi:+.1%}" if math.isfinite(hi) else "no onset within the model"
    why = (
        f"at most {tr.trapped_fraction_bound:.1%} of the anions can sit on the sites "
        f"(every site filled), so trapping moves the stack t+ only from "
        f"{res_bare.t_plus_stack:.3f} to {coated.t_plus_stack:.3f}"
    )
    onset = "dendrite onset (Li+ depletion at the plating electrode)"
    if lo > 0.10:
        return (
            f"The model SUPPORTS the claim that the coating delays dendrite onset: {onset} comes "
            f"{rel_tau:+.1%} later (95 % band {lo_t} to {hi_t})."
        )
    if math.isfinite(hi) and hi < -0.01:
        return (
            f"The model CONTRADICTS the claim: the coating brings {onset} forward by "
            f"{rel_tau:+.1%} (95 % band {lo_t} to {hi_t}); {why}."
        )
    j_note = (
        f"; J_lim moves by {coated.limiting_current / res_bare.limiting_current - 1:+.1%}, "
        f"but the cell runs at 1/{res_bare.limiting_current / current_density:.0f} of it"
        if current_density < res_bare.limiting_current
        else ""
    )
    hi_t = f"{hi:+.2%}" if math.isfinite(hi) else "no onset within the model"
    return (
        f"The model does NOT support the claim that anion trapping in the coating delays dendrite "
        f"onset: {onset} moves by {rel_tau:+.2%} (95 % band {lo:+.2%} to {hi_t}), because "
        f"{why}, and the thin coating holds far less salt than the depletion layer{j_note}."
    )


def _structural_column(
    coating: Coating,
    electrolyte: Electrolyte,
    separator: Separator,
    current_density: float,
    model: str,
    cells: int,
    band_points: int,
    neutral: CellNumbers,
    local_current_density: float | None = None,
) -> tuple[cc.StructuralCharge, CellNumbers, dict[str, Interval], dict[str, Interval]]:
    """The coating with the clay's structural charge X_s alone (constant X, TMS), and its
    band over the accessible-fraction range (t+ closed form at the ends, which bound it:
    t+ rises with X; J_lim and Sand's time sampled on up to 3 values of X). The real
    cell's numbers (``local_current_density`` given) at X_s and the band's two ends: the
    fourth item, their bands (:func:`_real_cell_bands`)."""
    sc = coating.structural_charge()
    x = sc.fixed_charge

    def numbers(xv: float, local: float | None = None) -> CellNumbers:
        if xv <= 0:
            return neutral
        return cell_numbers(
            None,
            electrolyte,
            separator,
            coating,
            current_density,
            model,
            cells,
            fixed_charge=xv,
            local_current_density=local,
        )

    col = numbers(x, local_current_density)
    lo, hi = sc.band
    n = min(2 * (band_points // 2) + 1, 3)
    samples = [float(v) for v in np.linspace(lo, hi, n)] if (hi > lo and n > 1) else []
    ends = [numbers(v, local_current_density if v in (lo, hi) else None) for v in samples if v != x]
    t_ends = [
        structural_transference(v, None, electrolyte, separator, coating) if v > 0 else None
        for v in (lo, hi)
    ]
    t_c = [col.t_plus_coating] + [t[0] if t else electrolyte.t_plus for t in t_ends]
    t_s = [col.t_plus_stack] + [t[1] if t else electrolyte.t_plus for t in t_ends]
    bands = {
        "fixed_charge": Interval(x, lo, hi),
        "t_plus_coating": _interval(t_c, col.t_plus_coating),
        "t_plus_stack": _interval(t_s, col.t_plus_stack),
        "limiting_current": _interval(
            [col.limiting_current] + [e.limiting_current for e in ends], col.limiting_current
        ),
        "sand_time_semi_infinite": _interval(
            [col.sand_time_semi_infinite] + [e.sand_time_semi_infinite for e in ends],
            col.sand_time_semi_infinite,
        ),
        "interface_depletion_time": _interval(
            [col.interface_depletion_time] + [e.interface_depletion_time for e in ends],
            col.interface_depletion_time,
        ),
    }
    return sc, col, bands, _real_cell_bands(col, ends)


#: the real cell's numbers that get a band (:class:`~atomistics.continuum.real_cell.RealCellNumbers`)
REAL_CELL_BAND_KEYS = (
    "steady_electrode_li",
    "concentration_overpotential",
    "time_to_steady_state",
    "threshold_amplification",
    "sand_time",
    "interface_depletion_time",
)


def _real_cell_bands(central: CellNumbers, ends: list[CellNumbers]) -> dict[str, Interval]:
    """Bands of the real cell's numbers over the samples that carry them (nan: no value);
    the threshold amplification J_lim/J over every sample's J_lim (the J_lim band's)."""
    if central.real_cell is None:
        return {}
    cells = [central.real_cell] + [e.real_cell for e in ends if e.real_cell is not None]
    out = {}
    for key in REAL_CELL_BAND_KEYS:
        c = getattr(central.real_cell, key)
        vals = [v for v in (getattr(r, key) for r in cells) if not math.isnan(v)]
        if key == "threshold_amplification":
            j = central.real_cell.current_density
            vals = [e.limiting_current / j for e in [central, *ends]]
        out[key] = Interval(c, min(vals), max(vals)) if vals else Interval(c, c, c)
    return out


def _mechanism(
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    delta_g_ev: float,
    tr: CoatingTransport,
    sc: cc.StructuralCharge,
    structural_bands: dict[str, Interval],
    adsorption_bands: dict[str, Interval],
) -> dict[str, Any]:
    """Which mechanism moves t+, structural charge or adsorption, and by how much.

    Changes of t+ against the same coating without charge (X = 0, t+ = the bulk's): the
    structural charge alone (X_s), adsorption alone (trapped FSI-, as in the adsorption
    column), and both together (one Donnan partition with ``c+ = c- + X_s + c_T``,
    :func:`structural_transference`), each for the stack (what Bruce-Vincent measures)
    and the coating; bands from the accessible-fraction range and the dG spread.
    """
    t0 = electrolyte.t_plus
    x = sc.fixed_charge
    both = structural_transference(x, delta_g_ev, electrolyte, separator, coating)
    t_struct = (
        structural_transference(x, None, electrolyte, separator, coating) if x > 0 else (t0, t0)
    )
    out: dict[str, Any] = {"reference_t_plus": t0}
    for k, what in enumerate(("coating", "stack")):
        key = f"t_plus_{what}"
        s_band, a_band = structural_bands[key], adsorption_bands[key]
        out[what] = {
            "structural": t_struct[k] - t0,
            "structural_band": (s_band.low - t0, s_band.high - t0),
            "adsorption": (tr.t_plus_coating, tr.t_plus_stack)[k] - t0,
            "adsorption_band": (a_band.low - t0, a_band.high - t0),
            "both": both[k] - t0,
            "adsorption_on_structural": both[k] - t_struct[k],
            "t_plus_both": both[k],
        }
    d_s, d_a = out["stack"]["structural"], out["stack"]["adsorption"]
    if max(abs(d_s), abs(d_a)) < 5e-5:
        dominant, ratio = "neither", None
    elif abs(d_s) >= abs(d_a):
        dominant, ratio = "structural charge", abs(d_s) / abs(d_a) if d_a else math.inf
    else:
        dominant, ratio = "adsorption", abs(d_a) / abs(d_s) if d_s else math.inf
    out["dominant"], out["ratio"] = dominant, ratio
    st = out["stack"]
    if dominant == "neither":
        verdict = "neither moves the stack t+ by 5e-5 or more"
    else:
        other = "adsorption" if dominant == "structural charge" else "the structural charge"
        times = f"{ratio:.3g}x" if ratio is not None and math.isfinite(ratio) else "alone"
        verdict = f"the {dominant} moves the stack t+ more ({times} {other})"
    out["summary"] = (
        f"stack t+ {t0:.4f} -> {st['t_plus_both']:.4f} with both: structural charge "
        f"(X_s = {x:.4g} mol/m^3) {st['structural']:+.4f} "
        f"[{st['structural_band'][0]:+.4f}, {st['structural_band'][1]:+.4f}], adsorption "
        f"(X = {tr.fixed_charge:.4g} mol/m^3 trapped FSI-) {st['adsorption']:+.4f} "
        f"[{st['adsorption_band'][0]:+.4f}, {st['adsorption_band'][1]:+.4f}], both "
        f"{st['both']:+.4f} (adsorption on top of the structural charge "
        f"{st['adsorption_on_structural']:+.4f}); coating t+ {out['coating']['structural']:+.4f} "
        f"/ {out['coating']['adsorption']:+.4f} / {out['coating']['both']:+.4f}: {verdict}"
    )
    return out


def _double_layer_check(
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    tr: CoatingTransport,
    x_struct: float,
    delta_g_ev: float,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Debye length vs the coating's pore size, and t+ of the charged columns as a bracket.

    Returns ``(double_layer, t_plus_bracket)``. The Debye length is at c0 with DME's
    permittivity; the pore hydraulic radius is pore volume / external clay surface with
    the coating's accessible fraction (band: the accessible-fraction range)
    (:mod:`atomistics.continuum.double_layer`). Each bracket is ``(thin double layer,
    TMS)``: the thin-double-layer partition ``c- = c0, c+ = c0 + X`` against the Donnan
    one, in the coating's t+ and in the Bruce-Vincent t+ of coating + separator
    (:func:`stack_transference_number`); ideal Poisson-Boltzmann puts the truth between
    them. Trapped anions: occupancy at the pore-core concentration c0 in the thin limit
    (at the Donnan c- in TMS). J_lim, the depletion times and the real cell's numbers stay
    TMS only.
    """
    c0 = electrolyte.c0
    eps_r = DME_DIELECTRIC_CONSTANT
    lam = dbl.debye_length(c0, eps_r, electrolyte.temperature)
    geometry = dict(
        thickness=coating.thickness,
        porosity=coating.porosity,
        loading=coating.loading,
        active_fraction=coating.active_fraction,
        layer_charge=coating.layer_charge,
    )
    f = coating.accessible_fraction
    r_h = dbl.pore_hydraulic_radius(**geometry, accessible_fraction=f)
    f_lo = min(f, cc.ACCESSIBLE_FRACTION_RANGE[0])
    f_hi = max(f, cc.ACCESSIBLE_FRACTION_RANGE[1])
    r_band = (
        dbl.pore_hydraulic_radius(**geometry, accessible_fraction=f_hi),
        dbl.pore_hydraulic_radius(**geometry, accessible_fraction=f_lo),
    )
    regime = dbl.double_layer_regime(lam, r_h)
    supported = {"thin": "thin-double-layer", "overlapping": "TMS", "intermediate": "between"}
    double_layer = {
        "relative_permittivity": eps_r,
        "debye_length": lam,
        "total_specific_surface": dbl.clay_specific_surface(coating.layer_charge),
        "external_specific_surface": dbl.external_specific_surface(f, coating.layer_charge),
        "accessible_fraction": f,
        "pore_hydraulic_radius": r_h,
        "pore_hydraulic_radius_band": r_band,
        "ratio": lam / r_h,
        "ratio_band": (lam / r_band[1], lam / r_band[0]),
        "thresholds": (dbl.THIN_LIMIT, dbl.OVERLAP_LIMIT),
        "regime": regime,
        "meaning": dbl.REGIMES[regime],
        "supported_end": supported[regime],
        "bracket_order": ("thin-double-layer", "TMS"),
        "tms_only": "J_lim, the depletion times and the real cell's numbers",
    }
    d_plus, d_minus = tr.d_plus, tr.d_minus
    sep = LayerIons(
        separator.thickness, d_plus, d_minus, separator.porosity, separator.tortuosity, c0, c0
    )

    def thin(x: float) -> tuple[float, float]:
        cp, cm = dbl.thin_double_layer_partition(c0, x)
        coat = LayerIons(
            coating.thickness, d_plus, d_minus, coating.porosity, coating.tortuosity, cp, cm
        )
        return (
            dbl.thin_double_layer_transference_number(c0, x, d_plus, d_minus),
            stack_transference_number([coat, sep]),
        )

    if x_struct > 0:
        s_tms = structural_transference(x_struct, None, electrolyte, separator, coating)
    else:
        s_tms = (electrolyte.t_plus, electrolyte.t_plus)
    s_thin = thin(x_struct)
    x_trap = float(trap_sites(delta_g_ev, electrolyte, coating).trapped(c0))
    t_thin = thin(x_trap)
    bracket = {
        "structural": {
            "fixed_charge": (x_struct, x_struct),
            "coating": (s_thin[0], s_tms[0]),
            "stack": (s_thin[1], s_tms[1]),
        },
        "trapped": {
            "fixed_charge": (x_trap, tr.fixed_charge),
            "coating": (t_thin[0], tr.t_plus_coating),
            "stack": (t_thin[1], tr.t_plus_stack),
        },
    }
    return double_layer, bracket


def _double_layer_warning(dl: dict[str, Any], bracket: dict[str, dict[str, Any]], c0: float) -> str:
    """The WARNING (thin regime) or note (otherwise) on TMS's validity at c0."""
    lam, r_h, ratio = dl["debye_length"], dl["pore_hydraulic_radius"], dl["ratio"]
    lo, hi = dl["thresholds"]
    s, t = bracket["structural"]["stack"], bracket["trapped"]["stack"]
    head = (
        f"Debye length at c0 = {c0 / 1000:.4g} M (eps_r {dl['relative_permittivity']:g}) "
        f"{lam * 1e9:.3g} nm = {ratio:.3g} x the coating's pore hydraulic radius "
        f"{r_h * 1e9:.3g} nm"
    )
    ends = (
        f"stack t+ {s[0]:.5f} with X_s and {t[0]:.5f} with trapped anions, against TMS's "
        f"{s[1]:.5f} and {t[1]:.5f}"
    )
    if dl["regime"] == "thin":
        return (
            f"TMS outside its validity: {head} (< {lo:g}: thin double layers), where the "
            "uniform-X Donnan partition over-states co-ion exclusion; the model supports the "
            f"THIN-DOUBLE-LAYER end of the t+ brackets ({ends}); J_lim, the depletion "
            "times and the real cell's numbers are TMS only. Caveat: measured screening "
            "lengths in concentrated electrolytes are nm-scale (underscreening); one above "
            f"{lo * r_h * 1e9:.2g} nm would make the regime intermediate, with t+ between "
            "the two ends"
        )
    if dl["regime"] == "overlapping":
        return f"TMS within its validity: {head} (> {hi:g}: overlapping double layers)"
    return (
        f"TMS only partly valid: {head} (between {lo:g} and {hi:g}): neither limit holds and "
        f"t+ lies between the two ends of the brackets ({ends}); J_lim, the depletion "
        "times and the real cell's numbers are TMS only"
    )


#: The default local current of the real-cell depletion rows, as a multiple of the PE
#: cell's J_lim: twice the smallest current at which the bare cell reaches a Sand's time,
#: so that the PE column has one (its finite-cell Sand's time is then ~0.6 of the
#: semi-infinite one at that current), the same local current for every column.
DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT = 2.0


def _real_cell_note(pe: CellNumbers, separator: Separator) -> str:
    """What the real (finite) PE cell does at the applied current, in one sentence."""
    rc = pe.real_cell
    if rc is None:
        return "the Sand's times are for a semi-infinite separator"
    head = f"real cell ({separator.thickness * 1e6:.3g} um PE) at J = {rc.current_density / 10:.4g} mA/cm^2: "
    if math.isnan(rc.steady_electrode_li):
        return head + (
            "above its limiting current, no steady state; the 'semi-inf.' Sand's times are "
            "for a semi-infinite separator"
        )
    return head + (
        f"steady state with Li+ at the electrode {rc.steady_electrode_li:.5g} mol/m^3 and a "
        f"concentration overpotential of {rc.concentration_overpotential * 1e3:.3g} mV, "
        f"{rc.steady_fraction:.0%} of the way there in {rc.time_to_steady_state:.3g} s; no "
        "Sand's time below J_lim: a protrusion reaches one only where it concentrates the "
        f"current by A* = J_lim/J = {rc.threshold_amplification:.4g}x; the 'semi-inf.' "
        "Sand's times are for a semi-infinite separator, not this cell"
    )


def _geometry_note(coating: Coating) -> str:
    """Which of thickness, loading and porosity was derived, and from what."""
    given = [k for k in cc.GEOMETRY_KEYS if k != coating.derived]
    shown = {
        "thickness": f"thickness {coating.thickness * 1e6:.3g} um",
        "loading": f"loading {coating.loading * 100:.3g} mg/cm^2",
        "porosity": f"porosity {coating.porosity:.3g}",
    }
    densities = (
        f"solid fraction {1 - coating.porosity:.3g}; LiMMT {coating.active_density / 1000:.3g} "
        f"g/cm^3, PVDF {coating.binder_density / 1000:.3g} g/cm^3"
    )
    if not coating.derived:
        return (
            f"coating geometry: {', '.join(shown.values())}, all given and consistent ({densities})"
        )
    text = (
        f"coating geometry: {shown[coating.derived]} DERIVED from {shown[given[0]]} and "
        f"{shown[given[1]]} ({densities})"
    )
    if coating.derived == "thickness" and math.isclose(coating.loading, cc.PAPER_LOADING):
        paper_solid = coating.implied_solid_fraction * coating.thickness / cc.PAPER_THICKNESS
        text += (
            f"; the paper's ~2 um (SEM) cannot hold 0.57 mg/cm^2: solid fraction {paper_solid:.3g}"
        )
    return text


def _calibrated(
    fe: FreeEnergy,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    calibrate: tuple[float, float],
    target: str,
    notes: list[str],
) -> tuple[FreeEnergy, Electrolyte, Calibration]:
    """dG fitted to the measured pair ``calibrate`` (bulk t+ set to its first value); the
    given dG is kept, with a note, when the pair is unreachable."""
    cal = calibrate_free_energy(
        calibrate[0],
        calibrate[1],
        electrolyte,
        separator,
        coating,
        target,
        fe.delta_e_ev if fe.origin == "screening" else None,
    )
    electrolyte = replace(electrolyte, t_plus=calibrate[0])
    if cal.reachable and cal.delta_g_ev is not None:
        fe = replace(
            fe,
            delta_g_ev=cal.delta_g_ev,
            fitted=True,
            screening=cal.screening if fe.origin == "screening" else fe.screening,
        )
        notes.append(f"dG FITTED to t+ {calibrate[0]} -> {calibrate[1]} ({target})")
    else:
        notes.append(
            f"calibration not reachable (see the calibration line): dG kept at the given "
            f"{fe.delta_g_ev:+.4g} eV"
        )
    return fe, electrolyte, cal


def _local_current(
    given: float | None, electrolyte: Electrolyte, separator: Separator, current_density: float
) -> float:
    """The local current of the real cell's depletion events: ``given``, else twice the PE
    cell's J_lim (or the applied J if that is larger, which then reaches a Sand's time)."""
    local = given
    if local is None:
        j_pe = limiting_current([separator_layer(electrolyte, separator)], electrolyte.c0)
        local = max(DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT * j_pe, current_density)
    if not (math.isfinite(local) and local > 0):
        raise AtomisticsError(f"local current density must be > 0, got {local!r}")
    return float(local)


def _adsorption_bands(
    fe: FreeEnergy,
    tr: CoatingTransport,
    coated: CellNumbers,
    cell_at: Callable[[float, bool], CellNumbers],
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    band_points: int,
) -> tuple[dict[str, Interval], list[CellNumbers], float, float]:
    """The outputs over the 95 % interval of dG: t+ on a fine grid (closed form), J_lim and
    the depletion times on ``band_points`` samples (``cell_at(dG, with_real_cell)``, the
    real cell at the two ends only: each is a transient solve)."""
    sigma = fe.sigma_ev
    dg_lo, dg_hi = fe.delta_g_ev - Z95 * sigma, fe.delta_g_ev + Z95 * sigma
    t_c, t_s = t_plus_sweep(np.linspace(dg_lo, dg_hi, 201), electrolyte, separator, coating)
    samples = np.linspace(dg_lo, dg_hi, 2 * (band_points // 2) + 1)
    ends = [
        cell_at(float(dg), dg in (samples[0], samples[-1]))
        for dg in (samples if sigma > 0 else ())
        if dg != fe.delta_g_ev
    ]
    if sigma > 0:
        t_c_lo, t_c_hi = float(t_c.min()), float(t_c.max())
        t_s_lo, t_s_hi = float(t_s.min()), float(t_s.max())
    else:  # no spread: the band is the central value
        t_c_lo = t_c_hi = tr.t_plus_coating
        t_s_lo = t_s_hi = tr.t_plus_stack

    def over(key: str) -> Interval:
        return _interval(
            [getattr(coated, key)] + [getattr(e, key) for e in ends], getattr(coated, key)
        )

    bands = {
        "t_plus_coating": Interval(
            tr.t_plus_coating, min(t_c_lo, tr.t_plus_coating), max(t_c_hi, tr.t_plus_coating)
        ),
        "t_plus_stack": Interval(
            tr.t_plus_stack, min(t_s_lo, tr.t_plus_stack), max(t_s_hi, tr.t_plus_stack)
        ),
        **{
            k: over(k)
            for k in ("limiting_current", "sand_time_semi_infinite", "interface_depletion_time")
        },
    }
    return bands, ends, dg_lo, dg_hi


def _directions(pe: CellNumbers, neutral: CellNumbers, coated: CellNumbers) -> dict[str, str]:
    """Which way the coating (vs PE) and the trapping alone (vs X = 0) move each output."""
    by_coat, by_trap = "the coating (vs PE)", "trapping (vs the same coating with X = 0)"
    onset = "dendrite onset (Li+ out at the electrode)"
    return {
        "t_plus_stack": _direction("stack t+", coated.t_plus_stack, pe.t_plus_stack, by_coat),
        "limiting_current": _direction(
            "J_lim", coated.limiting_current, pe.limiting_current, by_coat
        ),
        "sand_time_semi_infinite": _direction(
            onset, coated.sand_time_semi_infinite, pe.sand_time_semi_infinite, by_coat
        ),
        "limiting_current_trapping_only": _direction(
            "J_lim", coated.limiting_current, neutral.limiting_current, by_trap
        ),
        "sand_time_trapping_only": _direction(
            onset, coated.sand_time_semi_infinite, neutral.sand_time_semi_infinite, by_trap
        ),
    }


def _input_warnings(
    coating: Coating, fe: FreeEnergy, tr: CoatingTransport, electrolyte: Electrolyte
) -> list[str]:
    """Inputs that do not fit together or put the model at a limit (mismatched surfaces,
    saturated traps, an implausible dG, too few sites)."""
    warnings = []
    if coating.site_surface != fe.surface:
        warnings.append(
            f"the site density describes the {coating.site_surface} surface but the adsorption energy "
            f"the {fe.surface} surface: they are not the same sites (the paper's Al-OH Lewis-acid "
            "argument applies to the clay's edges); compute dG on an edge model or give the matching site density"
        )
    if tr.trap_occupancy > 0.9:
        warnings.append(
            f"traps saturated (theta_T = {tr.trap_occupancy:.6f}): at most "
            f"{tr.trapped_fraction_bound:.1%} of the anions can be trapped whatever dG is (every "
            "site filled, N_T/(N_T + c-) with the Donnan co-ions c-); "
            f"the low-occupancy Oriani factor "
            f"({format_slowing(tr.oriani_low_occupancy_log10_slowing, 3)} slowing) does "
            f"not apply, with occupancy it is {1 / tr.oriani_factor:.7f}x"
        )
    if abs(fe.delta_g_ev) > IMPLAUSIBLE_DG_EV:
        warnings.append(
            f"|dG| = {abs(fe.delta_g_ev):.4g} eV is beyond any adsorption free energy of a "
            f"molecular anion (|dG| > {IMPLAUSIBLE_DG_EV:g} eV exceeds the strongest chemical "
            "bonds): check the reaction (coefficients, that its total energies cancel) and its "
            f"unit; the sites are {'saturated' if fe.delta_g_ev < 0 else 'empty'} whatever its "
            "exact value, so the outputs are that limit"
        )
    if tr.site_concentration < 0.1 * electrolyte.c0:
        warnings.append(
            f"N_T = {tr.site_concentration:.4g} mol/m^3 << c0 = {electrolyte.c0:.4g} mol/m^3: the sites "
            "can hold only a small fraction of the anions"
        )
    return warnings


def _origin(
    electrolyte: Electrolyte, given: dict[str, str] | None, calibrated: bool, warnings: list[str]
) -> dict[str, str]:
    """Where c0, D and t+ came from; a warning when c0 is not 6 M but D or t+ are 6 M's."""
    origin = dict(given or {}) or origin_from_values(
        electrolyte.c0, electrolyte.diffusivity, electrolyte.t_plus
    )
    if calibrated:
        origin["t_plus"] = "CALIBRATION: the measured bare-PE t+"
    at_6m = [k for k in ("diffusivity", "t_plus") if "6 M" in origin.get(k, "")]
    if not is_paper_concentration(electrolyte.c0) and at_6m:
        warnings.append(
            f"c0 = {electrolyte.c0 / 1000:.4g} M but {' and '.join(at_6m)} "
            f"{'is the 6 M default' if len(at_6m) == 1 else 'are the 6 M defaults'}: give the "
            f"values measured at {electrolyte.c0 / 1000:.4g} M"
        )
    return origin


def _frozen_coating_voltage(
    model: str, coating: Coating, electrolyte: Electrolyte, tr: CoatingTransport, j_lim: float
) -> float | None:
    """tms-frozen only: the ohmic cost of carrying J_lim through a co-ion-depleted coating."""
    if model != "tms-frozen":
        return None
    frozen_coat = Layer(
        coating.thickness,
        electrolyte.diffusivity,
        electrolyte.t_plus,
        coating.porosity,
        coating.tortuosity,
        "coating",
        fixed_charge=max(tr.fixed_charge, 1e-300),
    )
    return depleted_layer_voltage(frozen_coat, j_lim, electrolyte.temperature)


def run_bridge(
    free_energy: FreeEnergy,
    *,
    electrolyte: Electrolyte | None = None,
    separator: Separator | None = None,
    coating: Coating | None = None,
    current_density: float = 10.0,
    model: str = "tms",
    calibrate: tuple[float, float] | None = None,
    calibrate_target: Literal["stack", "coating"] = "stack",
    cells: int = 600,
    band_points: int = 7,
    electrolyte_origin: dict[str, str] | None = None,
    local_current_density: float | None = None,
) -> BridgeResult:
    """Free energy -> fixed charge -> t+, J_lim, Sand's time with bands (module docstring).

    Each column also gets the real cell's own numbers (``CellNumbers.real_cell``, bands in
    ``real_cell_bands``): at ``current_density`` its steady state, concentration
    overpotential and time to steady state; the threshold amplification J_lim/J; and its
    depletion events at ``local_current_density`` [A/m^2], the same for every column
    (default: twice the PE cell's J_lim, :data:`DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT`,
    or the applied J if that is larger).

    The clay's structural charge (``coating.structural_charge()``) is its own column
    (``coated_structural``, constant X) beside the adsorption column (``coated``), and
    ``mechanism`` says which of the two moves t+ and by how much.
    ``electrolyte_origin``: where c0, D and t+ came from (CLI/study,
    :func:`atomistics.continuum.electrolyte_inputs.resolve_electrolyte`); default: a
    value equal to the 6 M default is labelled as that default.

    ``current_density`` in A/m^2. ``model``: "tms" (traps in equilibrium, default) or
    "tms-frozen" (constant X: trapped anions never released). With
    ``calibrate=(t_bare, t_coated)`` dG is fitted (bulk t+ set to ``t_bare``); if the
    pair is unreachable the given dG is used and the calibration says what would be
    needed.

    Long because its second half is the BridgeResult's constructor, one keyword per field; the computations are the helpers above it (_calibrated, _adsorption_bands, _structural_column, _directions, _input_warnings, _origin).
    """
    electrolyte = electrolyte or Electrolyte()
    separator = separator or Separator()
    coating = coating or Coating()
    if model not in ("tms", "tms-frozen"):
        raise AtomisticsError(f"unknown bridge model {model!r}; use 'tms' or 'tms-frozen'")
    if not (math.isfinite(current_density) and current_density > 0):
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    notes: list[str] = []
    cal, fe = None, free_energy
    if calibrate is not None:
        fe, electrolyte, cal = _calibrated(
            fe, electrolyte, separator, coating, calibrate, calibrate_target, notes
        )
    tr = coating_transport(fe.delta_g_ev, electrolyte, separator, coating)
    local = _local_current(local_current_density, electrolyte, separator, current_density)

    def cell(dg: float | None, coat: Coating | None, with_real_cell: bool = True) -> CellNumbers:
        return cell_numbers(
            dg,
            electrolyte,
            separator,
            coat,
            current_density,
            model,
            cells,
            local_current_density=local if with_real_cell else None,
        )

    pe, neutral, coated = cell(None, None), cell(None, coating), cell(fe.delta_g_ev, coating)
    sc, structural_cell, structural_bands, structural_real = _structural_column(
        coating, electrolyte, separator, current_density, model, cells, band_points, neutral, local
    )
    bands, ends, dg_lo, dg_hi = _adsorption_bands(
        fe,
        tr,
        coated,
        lambda dg, real: cell(dg, coating, real),
        electrolyte,
        separator,
        coating,
        band_points,
    )
    warnings = _input_warnings(coating, fe, tr, electrolyte)
    double_layer, t_plus_bracket = _double_layer_check(
        electrolyte, separator, coating, tr, sc.fixed_charge, fe.delta_g_ev
    )
    (warnings if double_layer["regime"] == "thin" else notes).append(
        _double_layer_warning(double_layer, t_plus_bracket, electrolyte.c0)
    )
    notes.append(_geometry_note(coating))
    origin = _origin(electrolyte, electrolyte_origin, calibrate is not None, warnings)
    notes.append(_real_cell_note(pe, separator))
    notes.append(
        f"dilute-solution theory at c0 = {electrolyte.c0 / 1000:.4g} M (no activity "
        "coefficients, ideal Donnan partition): trends, not numbers; "
        "the effective-medium Sand's time (stack t+ in a uniform cell) is not reported: it is not physical"
    )
    solid = coating.implied_solid_fraction
    return BridgeResult(
        inputs={
            "current_density": current_density,
            "model": model,
            "electrolyte": asdict(electrolyte),
            "separator": asdict(separator),
            "coating": asdict(coating),
            "trap_concentration": coating.trap_concentration,
            "structural_charge": sc.fixed_charge,
        },
        free_energy=fe,
        transport=tr,
        pe=pe,
        coated_neutral=neutral,
        coated=coated,
        bands=bands,
        delta_g_interval=Interval(fe.delta_g_ev, dg_lo, dg_hi),
        directions=_directions(pe, neutral, coated),
        verdict=_verdict(
            pe, coated, bands, tr, current_density, electrolyte.c0, _real_cell_bands(coated, ends)
        ),
        surfaces={
            "site_density": f"{coating.site_surface}: {SURFACES[coating.site_surface]}",
            "adsorption_energy": f"{fe.surface}: {SURFACES[fe.surface]}",
        },
        depleted_coating_voltage=_frozen_coating_voltage(
            model, coating, electrolyte, tr, coated.limiting_current
        ),
        coating_implied_solid_fraction=solid,
        calibration=cal,
        notes=notes,
        warnings=warnings,
        structural=sc,
        coated_structural=structural_cell,
        structural_bands=structural_bands,
        mechanism=_mechanism(
            electrolyte, separator, coating, fe.delta_g_ev, tr, sc, structural_bands, bands
        ),
        coating_geometry={
            "thickness": coating.thickness,
            "loading": coating.loading,
            "porosity": coating.porosity,
            "derived": coating.derived,
            "solid_fraction": solid,
        },
        electrolyte_origin=origin,
        double_layer=double_layer,
        t_plus_bracket=t_plus_bracket,
        real_cell_bands={
            "coated": _real_cell_bands(coated, ends),
            "coated_structural": structural_real,
        },
    )
