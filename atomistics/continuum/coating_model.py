r"""The coating model: adsorption free energy -> trapped anions (fixed charge) -> t+, J_lim, Sand's time.

The physics of the bridge, as pure functions in SI units (energies in eV): the inputs
(:class:`Electrolyte`, :class:`Separator`, :class:`Coating`, :class:`FreeEnergy`), the
coating's equilibrium and transport numbers, the cells compared (:func:`cell_numbers`)
and the calibration of dG to a measured t+. The uncertainty bands and the run are
:mod:`atomistics.continuum.bridge`'s, the sentences for the user
:mod:`atomistics.continuum.bridge_report`'s.

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
6. **Uncertainty** (sampled by :mod:`atomistics.continuum.bridge`). A spread in ``dG``
   (site-to-site, xtb vs DFT, D3 variant, charged-cell residual; combined in
   quadrature) is carried through every output:
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

import copy
import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
from scipy.optimize import brentq

from atomistics.continuum import clay_charge as cc
from atomistics.continuum import double_layer as dbl
from atomistics.continuum.constants import BOLTZMANN_EV
from atomistics.continuum.fixedcharge import (
    anion_from_total,
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


#: 1-sigma spread of a DFT (PBE-D3) adsorption energy against the true one [eV]: ASSUMED,
#: the order of GGA-D3 errors on measured adsorption energies (Wellendorff et al.,
#: Surf. Sci. 640, 36 (2015)); it takes the place of "xtb-vs-DFT" for CP2K energies
DFT_FUNCTIONAL_SPREAD_EV = 0.15


def default_spread(origin: str, engine: str | None = None) -> dict[str, float]:
    """The ASSUMED 1-sigma spread components for a free energy of this origin.

    ``engine``: the engine of the reaction energy. For a CP2K (DFT) energy the
    "xtb-vs-DFT" component does not describe it; it is replaced by "DFT-functional"
    (:data:`DFT_FUNCTIONAL_SPREAD_EV`), so the label says what the error is of.
    """
    out = dict(DEFAULT_DG_SPREAD)
    if origin == "exchange":
        out.pop("charged-cell-residual")  # a neutral reaction: no charged cell
    if engine == "cp2k":
        out = {("DFT-functional" if k == "xtb-vs-DFT" else k): v for k, v in out.items()}
        out["DFT-functional"] = DFT_FUNCTIONAL_SPREAD_EV
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
    spread = default_spread("exchange", engine) if spread_ev is None else dict(spread_ev)
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


def _kept_as_copies(fn):
    """``fn``'s last 256 results kept (``functools.lru_cache``) and handed out as deep copies,
    so that no caller can change a kept result; for pure functions of hashable arguments."""
    kept = functools.lru_cache(maxsize=256)(fn)

    @functools.wraps(fn)
    def copies(*args, **kwargs):
        return copy.deepcopy(kept(*args, **kwargs))

    copies.cache_info, copies.cache_clear = kept.cache_info, kept.cache_clear
    return copies


@_kept_as_copies
def cell_numbers(
    delta_g_ev: float | None,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating | None,
    current_density: float,
    model: str = "tms",
    cells: int = 600,
    rtol: float = 1e-5,
    fixed_charge: float | None = None,
    local_current_density: float | None = None,
    real_cell_rtol: float = 1e-6,
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
    600 separator cells the depletion times are converged to ~1e-5 (mesh) relative and
    agree with a semi-analytic Volterra solution to ~1e-5
    (tests/test_continuum_fixedcharge.py). ``rtol`` 1e-5 puts the solver's error a tenth
    below that: against rtol 1e-8, over dG from -3 to +0.9 eV, the structural charge and
    J = 10 and 100 A/m^2, the event times moved by at most 2.1e-6 at 1e-5 (2.4e-7 at 1e-6,
    which took 1.5x as long; benchmarks/bench_layered_rtol.py). The real cell's
    transients use ``real_cell_rtol``.

    A pure function of its (hashable, frozen) arguments, so its last results are kept
    (:func:`_kept_as_copies`): the PE, uncoated and structural columns do not depend on
    dG and are the same in every bridge run on one cell (a dG sweep, a calibration, a
    test suite); each costs transient solves of ~0.1-1 s.
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
                [sep],
                electrolyte,
                current_density,
                local_current_density,
                j_pe,
                cells,
                real_cell_rtol,
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
            [first, sep],
            electrolyte,
            current_density,
            local_current_density,
            j_lim,
            cells,
            real_cell_rtol,
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
    on the real thicknesses, or ``None`` without a local current. Mesh: ``cells // 12``
    coating and ``cells // 4`` separator cells (50 and 150 at the default 600) find the
    event; a Sand's time is then solved again on ``4 cells / 3`` and ``cells`` (800 and
    600), because with trapped anions Li+ runs out inside the thin coating, whose mesh
    sets its error: converged to ~1e-5 there (50 coating cells were 3 % off), and an
    interface depletion to ~6e-5 on the coarse mesh, where the fine one would cost 20 s
    (tests/test_continuum_real_cell.py)."""
    if local_current_density is None:
        return None
    coarse = [max(cells // 12, 20)] * (len(layers) - 1) + [max(cells // 4, 40)]
    fine = [max(4 * cells // 3, 40)] * (len(layers) - 1) + [max(cells, 40)]
    return real_cell_numbers(
        layers,
        electrolyte.c0,
        current_density,
        local_current_density,
        temperature=electrolyte.temperature,
        cells=coarse,
        rtol=rtol,
        limiting_current_density=j_lim,
        sand_cells=fine,
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
# Uncertainty intervals, and where TMS holds
# ---------------------------------------------------------------------------


@dataclass
class Interval:
    """Central value and 95 % interval of one output."""

    central: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


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
