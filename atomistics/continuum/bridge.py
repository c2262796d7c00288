r"""The bridge: binding energies -> anion mobility in the coating -> t+ -> Sand's time.

Default model (every step is an assumption; the output says which numbers were
computed and which were fitted)
---------------------------------------------------------------------------------
1. **Competitive adsorption.** An FSI- anion in the coating either stays paired
   with Li+ in solution or binds to a LiMMT site. The energy of moving it from the
   ion pair to the surface is ``dE = E_bind(surface-anion) - E_bind(cation-anion)``
   (paper: -10.39 - (-8.35) = -2.04 eV; negative = the surface wins).
2. **Solvent screening.** Gas-phase binding energies of charged fragments are
   Coulomb-dominated; in the electrolyte they are screened. We scale to a free
   energy ``dG = s dE`` with one factor ``s`` (0 < s <= 1). Default
   ``s = 1/eps_r(DME) = 1/7.2`` (static dielectric constant of 1,2-dimethoxyethane
   at 25 °C, CRC Handbook of Chemistry and Physics): Coulomb screening of a point-charge
   interaction, nothing more. Raw ``s = 1`` would give Boltzmann factors ~1e34 and
   is not physical; ``s`` is the key unknown and can be fitted (:func:`calibrate_screening`).
3. **Local-equilibrium trapping** (Oriani, Acta Metall. 18, 147 (1970), eq. 13, in
   the low-occupancy limit; McNabb & Foster 1963): anions hop between "lattice"
   sites in the pore liquid (concentration ``N_L``) and trap sites on LiMMT (``N_T``
   per pore volume) with ``K = exp(-dG/kT)``, so the anion's effective transport
   coefficient (time fraction spent mobile) in the coating is
   ``D-_c = D- / (1 + (N_T/N_L) K)``. The cation is not trapped: ``D+`` is held
   fixed. ``N_T`` follows from loading x LiMMT fraction x site density / (thickness x
   porosity); ``N_L`` defaults to the molar concentration of DME (9.64 mol/L: every
   solvent position is a candidate anion site), an assumption.
4. **t+ of the coating and of the stack.** ``t+_c = D+/(D+ + D-_c)``. For layers in
   series the Bruce-Vincent ratio is ``I_ss/I_0 = R_0/R_ss`` with ``R_0 = sum L_k /
   (kappa_k)`` ∝ ``sum L_k tau_k / (eps_k (D+ + D-)_k)`` and, at steady state with the
   anion at equilibrium, ``R_ss`` ∝ ``sum L_k tau_k / (eps_k D+_k)`` (dilute theory,
   derived in :func:`stack_transference_number`).
5. **Sand's time** with and without the coating: the semi-infinite closed form with
   the bulk t+ (bare) and with the stack t+ as a uniform effective medium (D held
   fixed: the paper's reading of eq 1), and the layered numerical solution
   (coating + bulk separator, :mod:`atomistics.continuum.transport`).

Trapped anions are assumed not to add salt storage (only ``eps c`` is stored) and
the coating/separator interface has no partitioning (c continuous). Other mobility
models plug in through :class:`MobilityModel`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import numpy as np
from scipy.optimize import brentq

from atomistics.continuum.constants import BOLTZMANN_EV
from atomistics.continuum.sand import (
    ambipolar_diffusivity,
    bruggeman_tortuosity,
    ion_diffusivities,
    sand_time,
    transference_number,
)
from atomistics.continuum.transport import Layer, limiting_current, simulate
from atomistics.errors import AtomisticsError

DME_DIELECTRIC_CONSTANT = 7.2  # 25 °C, CRC Handbook
DME_SITE_CONCENTRATION = 868.3 / 0.09012  # mol/m^3: density 0.8683 g/cm^3, M = 90.12 g/mol


@dataclass(frozen=True)
class Electrolyte:
    """Bulk electrolyte (defaults: the paper's 6.0 M LiFSI in DME; D is an assumption)."""

    c0: float = 6000.0  # mol/m^3
    diffusivity: float = 3e-10  # ambipolar, free solution, m^2/s (assumed)
    t_plus: float = 0.32  # measured with the bare PE separator (Bruce-Vincent)
    temperature: float = 298.15  # K
    liquid_site_concentration: float = DME_SITE_CONCENTRATION  # N_L, mol/m^3


@dataclass(frozen=True)
class Separator:
    """Bulk separator (PE; thickness and porosity are typical values, not from the paper)."""

    thickness: float = 20e-6
    porosity: float = 0.40
    bruggeman: float = 1.5


@dataclass(frozen=True)
class Coating:
    """LiMMT:PVDF coating next to the plating electrode (paper: 0.57 mg/cm^2, 80:20, ~2 um).

    ``site_density``: anion-binding sites per mass of LiMMT [mol/kg]. Default 0.08 mol/kg,
    the edge (amphoteric Al-OH/Si-OH) site capacity of montmorillonite from Bradbury &
    Baeyens, J. Contam. Hydrol. 27, 223 (1997) (two weak site types of 4e-2 mol/kg each).
    ``porosity`` is given, not derived: 0.57 mg/cm^2 in 2 um implies a solid volume
    fraction above 1 with clay (2.6 g/cm^3) and PVDF (1.78 g/cm^3) densities, so the
    thickness or loading is not exact (see :attr:`implied_solid_fraction`).
    """

    thickness: float = 2e-6
    loading: float = 0.57e-2  # kg/m^2 (0.57 mg/cm^2)
    active_fraction: float = 0.80
    site_density: float = 0.08  # mol/kg LiMMT
    porosity: float = 0.35
    bruggeman: float = 1.5
    active_density: float = 2600.0  # kg/m^3 (montmorillonite grain density)
    binder_density: float = 1780.0  # kg/m^3 (PVDF)

    def __post_init__(self) -> None:
        for name in ("thickness", "loading", "site_density", "active_density", "binder_density"):
            if not getattr(self, name) > 0:
                raise AtomisticsError(f"coating {name} must be > 0, got {getattr(self, name)!r}")
        if not 0 < self.active_fraction <= 1:
            raise AtomisticsError(
                f"coating active mass fraction must lie in (0, 1], got {self.active_fraction!r}"
            )
        if not 0 < self.porosity <= 1:
            raise AtomisticsError(f"coating porosity must lie in (0, 1], got {self.porosity!r}")

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


class MobilityModel(Protocol):
    """Maps a binding free energy to the coating/bulk ratio of anion transport coefficients."""

    name: str

    def anion_factor(self, delta_g_ev: float, temperature: float, trap_ratio: float) -> float: ...


@dataclass(frozen=True)
class OrianiTrapping:
    """``D-_c/D- = 1 / (1 + (N_T/N_L) exp(-dG/kT))`` (Oriani 1970, low occupancy)."""

    name: str = "oriani"

    def anion_factor(self, delta_g_ev: float, temperature: float, trap_ratio: float) -> float:
        x = np.log(trap_ratio) - delta_g_ev / (BOLTZMANN_EV * temperature)
        return float(np.exp(-np.logaddexp(0.0, x)))  # 1/(1 + e^x) without overflow


@dataclass(frozen=True)
class BarrierHopping:
    """Alternative: the binding raises the hopping barrier, ``D-_c/D- = exp(min(dG, 0)/kT)``.

    Ignores the site ratio (every hop is from a binding site): an upper bound on braking.
    """

    name: str = "barrier"

    def anion_factor(self, delta_g_ev: float, temperature: float, trap_ratio: float) -> float:
        return float(np.exp(min(delta_g_ev, 0.0) / (BOLTZMANN_EV * temperature)))


MODELS: dict[str, MobilityModel] = {"oriani": OrianiTrapping(), "barrier": BarrierHopping()}


def competitive_adsorption_energy(e_surface_anion_ev: float, e_cation_anion_ev: float) -> float:
    """``dE = E_bind(surface-anion) - E_bind(cation-anion)`` [eV] (negative: surface preferred)."""
    for name, v in (("surface-anion", e_surface_anion_ev), ("cation-anion", e_cation_anion_ev)):
        if not np.isfinite(v):
            raise AtomisticsError(f"E_bind({name}) must be a finite number in eV, got {v!r}")
    return float(e_surface_anion_ev - e_cation_anion_ev)


@dataclass(frozen=True)
class LayerIons:
    """Ionic diffusivities (free-solution equivalent) and microstructure of one layer."""

    thickness: float
    d_plus: float
    d_minus: float
    porosity: float
    tortuosity: float


def stack_transference_number(layers: list[LayerIons]) -> float:
    """Bruce-Vincent t+ of layers in series, ``R_0 / R_ss``.

    Dilute 1:1 electrolyte, small polarisation. Initially the cell is ohmic: ``R_0 =
    sum L_k / kappa_k`` with ``kappa_k = (F^2 c/RT) (eps/tau)_k (D+ + D-)_k``
    (Nernst-Einstein). At steady state the anion flux vanishes, so ``d ln c/dx = f
    dphi/dx`` and the cation flux is ``-2 D+ dc/dx``; the measured voltage (cation
    electrochemical potential difference) is then ``sum_k i L_k / ((F^2 c/RT) (eps/tau)_k
    D+_k)``. Hence ``t+ = [sum L_k tau_k/(eps_k (D+ + D-)_k)] / [sum L_k tau_k/(eps_k D+_k)]``,
    which reduces to ``D+/(D+ + D-)`` for one layer (Bruce & Vincent, J. Electroanal.
    Chem. 225, 1 (1987); layered form derived here).
    """
    num = sum(
        la.thickness * la.tortuosity / (la.porosity * (la.d_plus + la.d_minus)) for la in layers
    )
    den = sum(la.thickness * la.tortuosity / (la.porosity * la.d_plus) for la in layers)
    return float(num / den)


@dataclass
class CoatingTransport:
    """Computed transport properties of the coating for one screening factor."""

    delta_e_ev: float
    screening: float
    delta_g_ev: float
    log10_boltzmann: float
    trap_ratio: float
    anion_factor: float
    d_plus: float
    d_minus_bulk: float
    d_minus_coating: float
    t_plus_coating: float
    diffusivity_coating: float
    t_plus_stack: float


def coating_transport(
    delta_e_ev: float,
    screening: float,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    model: MobilityModel | None = None,
) -> CoatingTransport:
    """Steps 2-4 of the module docstring for one screening factor."""
    if not 0 <= screening <= 1:
        raise AtomisticsError(f"screening factor must lie in [0, 1], got {screening!r}")
    model = model or OrianiTrapping()
    d_plus, d_minus = (
        float(v) for v in ion_diffusivities(electrolyte.diffusivity, electrolyte.t_plus)
    )
    delta_g = screening * delta_e_ev
    trap_ratio = coating.trap_concentration / electrolyte.liquid_site_concentration
    factor = model.anion_factor(delta_g, electrolyte.temperature, trap_ratio)
    d_minus_c = d_minus * factor
    t_c = float(transference_number(d_plus, d_minus_c))
    stack = stack_transference_number(
        [
            LayerIons(
                coating.thickness,
                d_plus,
                d_minus_c,
                coating.porosity,
                float(bruggeman_tortuosity(coating.porosity, coating.bruggeman)),
            ),
            LayerIons(
                separator.thickness,
                d_plus,
                d_minus,
                separator.porosity,
                float(bruggeman_tortuosity(separator.porosity, separator.bruggeman)),
            ),
        ]
    )
    return CoatingTransport(
        delta_e_ev=delta_e_ev,
        screening=screening,
        delta_g_ev=delta_g,
        log10_boltzmann=float(-delta_g / (BOLTZMANN_EV * electrolyte.temperature) / np.log(10)),
        trap_ratio=trap_ratio,
        anion_factor=factor,
        d_plus=d_plus,
        d_minus_bulk=d_minus,
        d_minus_coating=d_minus_c,
        t_plus_coating=t_c,
        diffusivity_coating=float(ambipolar_diffusivity(d_plus, d_minus_c)),
        t_plus_stack=stack,
    )


@dataclass
class Calibration:
    """Result of fitting the screening factor to a measured pair of transference numbers."""

    target: str
    t_plus_bare: float
    t_plus_coated: float
    reachable: bool
    screening: float | None
    t_plus_range: tuple[float, float]  # achievable over screening in [0, 1]
    note: str


def calibrate_screening(
    t_plus_bare: float,
    t_plus_coated: float,
    delta_e_ev: float,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    model: MobilityModel | None = None,
    target: Literal["stack", "coating"] = "stack",
) -> Calibration:
    """Fit the screening factor ``s`` so that the model reproduces the measured t+ pair.

    ``t_plus_bare`` (bare PE cell) sets the bulk electrolyte's t+; ``s`` is chosen so
    that the coated cell's t+ (the whole stack, as Bruce-Vincent measures it, or the
    coating layer alone with ``target="coating"``) equals ``t_plus_coated``. Brent's
    method on ``s`` in [0, 1] (t+ increases monotonically with ``s`` when dE < 0).
    """
    for name, v in (("bare", t_plus_bare), ("coated", t_plus_coated)):
        if not 0 < v < 1:
            raise AtomisticsError(f"measured t+ ({name}) must lie in (0, 1), got {v!r}")
    if delta_e_ev >= 0:
        raise AtomisticsError(
            f"dE = {delta_e_ev:+.3f} eV >= 0: the surface does not bind the anion more strongly than Li+, "
            "so no screening factor can raise t+; check the signs (E_bind < 0 means bound)"
        )
    ely = Electrolyte(**{**asdict(electrolyte), "t_plus": t_plus_bare})
    attr = "t_plus_stack" if target == "stack" else "t_plus_coating"
    if target not in ("stack", "coating"):
        raise AtomisticsError(f"calibration target must be 'stack' or 'coating', got {target!r}")

    def t_of(s: float) -> float:
        return getattr(coating_transport(delta_e_ev, s, ely, separator, coating, model), attr)

    lo, hi = t_of(0.0), t_of(1.0)
    if not lo <= t_plus_coated <= hi:
        note = (
            f"measured t+ = {t_plus_coated:.3f} is outside what the model can give for the {target} "
            f"({lo:.3f} to {hi:.3f} for screening 0..1)"
        )
        if target == "stack" and t_plus_coated > hi:
            note += (
                "; even a fully immobilised anion in the coating cannot raise the stack t+ that far "
                "because the coating's resistance is small next to the separator's: the coating would "
                "need a larger thickness x tortuosity / porosity (or the measured t+ reflects the "
                "interface, not bulk transport)"
            )
        return Calibration(target, t_plus_bare, t_plus_coated, False, None, (lo, hi), note)
    s = float(brentq(lambda s: t_of(s) - t_plus_coated, 0.0, 1.0, xtol=1e-14))
    ct = coating_transport(delta_e_ev, s, ely, separator, coating, model)
    note = (
        f"fitted screening s = {s:.4g} (1/s = {1 / s:.3g}, compare eps_r(DME) = {DME_DIELECTRIC_CONSTANT}): "
        f"dG = {ct.delta_g_ev:+.4f} eV ({ct.delta_g_ev * 96.485:+.2f} kJ/mol), Boltzmann factor "
        f"10^{ct.log10_boltzmann:.2f}, anion slowed {1 / ct.anion_factor:.3g}x in the coating"
    )
    return Calibration(target, t_plus_bare, t_plus_coated, True, s, (lo, hi), note)


@dataclass
class BridgeResult:
    """Everything the bridge computed, in SI units (energies in eV)."""

    inputs: dict
    transport: CoatingTransport
    sand_time_bare: float
    sand_time_effective_medium: float
    sand_time_layered: float
    layered_domain_length: float
    limiting_current_bare: float
    limiting_current_coated: float
    coating_implied_solid_fraction: float
    calibration: Calibration | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        return out


def run_bridge(
    e_surface_anion_ev: float,
    e_cation_anion_ev: float,
    *,
    electrolyte: Electrolyte | None = None,
    separator: Separator | None = None,
    coating: Coating | None = None,
    current_density: float = 10.0,
    screening: float = 1.0 / DME_DIELECTRIC_CONSTANT,
    model: MobilityModel | None = None,
    calibrate: tuple[float, float] | None = None,
    calibrate_target: Literal["stack", "coating"] = "stack",
) -> BridgeResult:
    """Binding energies -> t+ -> Sand's time (module docstring). ``current_density`` in A/m^2.

    With ``calibrate=(t_bare, t_coated)`` the screening factor is fitted (bulk t+ set to
    ``t_bare``) instead of taken from ``screening``; if the pair is unreachable the
    given ``screening`` is used and the calibration result says why.
    """
    electrolyte = electrolyte or Electrolyte()
    separator = separator or Separator()
    coating = coating or Coating()
    model = model or OrianiTrapping()
    if not current_density > 0:
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    delta_e = competitive_adsorption_energy(e_surface_anion_ev, e_cation_anion_ev)
    notes = []
    cal = None
    if calibrate is not None:
        cal = calibrate_screening(
            calibrate[0],
            calibrate[1],
            delta_e,
            electrolyte,
            separator,
            coating,
            model,
            calibrate_target,
        )
        electrolyte = Electrolyte(**{**asdict(electrolyte), "t_plus": calibrate[0]})
        if cal.reachable and cal.screening is not None:
            screening = cal.screening
            notes.append(
                f"screening factor FITTED to t+ {calibrate[0]} -> {calibrate[1]} ({calibrate_target})"
            )
        else:
            notes.append(
                f"calibration failed ({cal.note}); screening factor kept at the given {screening:.4g}"
            )
    else:
        notes.append(f"screening factor GIVEN (not fitted): {screening:.4g}")
    tr = coating_transport(delta_e, screening, electrolyte, separator, coating, model)
    tau_sep = float(bruggeman_tortuosity(separator.porosity, separator.bruggeman))
    tau_coat = float(bruggeman_tortuosity(coating.porosity, coating.bruggeman))
    c0, d = electrolyte.c0, electrolyte.diffusivity
    tau_bare = float(
        sand_time(c0, d, current_density, electrolyte.t_plus, separator.porosity, tau_sep)
    )
    tau_eff = float(sand_time(c0, d, current_density, tr.t_plus_stack, separator.porosity, tau_sep))
    # Layered, semi-infinite bulk: extend the separator far beyond the depletion length.
    ell = np.sqrt(d / tau_sep * tau_bare)
    bulk_length = max(separator.thickness, 10.0 * ell)
    coat_layer = Layer(
        coating.thickness,
        tr.diffusivity_coating,
        tr.t_plus_coating,
        coating.porosity,
        tau_coat,
        "coating",
    )
    sep_layer = Layer(
        separator.thickness, d, electrolyte.t_plus, separator.porosity, tau_sep, "separator"
    )
    long_sep = Layer(bulk_length, d, electrolyte.t_plus, separator.porosity, tau_sep, "separator")
    tau_layered = simulate(
        [coat_layer, long_sep], c0, current_density, t_end=20 * tau_eff
    ).sand_time
    j_bare = limiting_current([sep_layer], c0)
    j_coat = limiting_current([coat_layer, sep_layer], c0)
    solid = coating.implied_solid_fraction
    if solid >= 1 - coating.porosity + 0.05 or solid > 1:
        notes.append(
            f"coating loading and thickness imply a solid volume fraction of {solid:.2f} "
            f"(porosity {1 - solid:.2f}); the given porosity {coating.porosity} was used instead"
        )
    if current_density < j_bare:
        notes.append(
            "the real cell runs below its limiting current, so its concentration reaches a steady "
            "state and it has no Sand's time; the Sand's times are for a semi-infinite electrolyte"
        )
    inputs = {
        "e_bind_surface_anion_ev": e_surface_anion_ev,
        "e_bind_cation_anion_ev": e_cation_anion_ev,
        "current_density": current_density,
        "model": model.name,
        "electrolyte": asdict(electrolyte),
        "separator": asdict(separator),
        "coating": asdict(coating),
    }
    return BridgeResult(
        inputs=inputs,
        transport=tr,
        sand_time_bare=tau_bare,
        sand_time_effective_medium=tau_eff,
        sand_time_layered=float(tau_layered),
        layered_domain_length=coating.thickness + bulk_length,
        limiting_current_bare=j_bare,
        limiting_current_coated=j_coat,
        coating_implied_solid_fraction=solid,
        calibration=cal,
        notes=notes,
    )
