"""The study file's ``bridge:`` section → :func:`atomistics.continuum.bridge.run_bridge`.

The section names where the adsorption free energy comes from and the electrolyte /
separator / coating / current parameters, each a number in SI or a string with units
(parsed with :func:`atomistics.units.parse_quantity`). Omitted values take the defaults
of :mod:`atomistics.continuum.coating_model` (the paper's 6 M LiFSI/DME, 0.57 mg cm⁻²
LiMMT:PVDF 80:20 coating of porosity 0.35, its thickness derived, 1 mA cm⁻²). A c0 other
than 6 M needs diffusivity and t_plus. The coating takes two of thickness, loading and
porosity (the third is derived); its structural charge comes from ``layer_charge`` and
``accessible_fraction``, or is set by ``fixed_charge`` [mol/m^3 of pore liquid]. Example::

    bridge:
      exchange: limmt_exchange      # neutral exchange reaction (primary source of dG)
      solvation_correction: null    # eV, from an implicit-solvent calculation, if any
      # or computed by `atomistics run` (atomistics.reactions.solvation), not both:
      # solvation: {model: cpcm:7.2, approximation: cluster, error: [edge, model]}
      surface: basal                # surface of the adsorption energy: basal | edge
      surface_anion: limmt_fsi      # FITTED fallback: charged-fragment binding energies
      cation_anion: li_fsi          #   screened by `screening` (not a free energy)
      current_density: 1 mA/cm^2
      dg_spread: {site-to-site: 0.10 eV, xtb-vs-DFT: 0.15 eV}
      calibrate: [0.32, 0.63]       # fit dG to Bruce-Vincent (the whole stack by default)
      coating: {loading: 0.57 mg/cm^2, porosity: 0.35, site_surface: edge, fixed_charge: 250 mol/m^3}

The exchange reaction is used when its energy is available; otherwise the two binding
energies are used through the labelled FITTED screening path, and the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atomistics.continuum import clay_charge as cc
from atomistics.continuum.bridge import BridgeResult, run_bridge
from atomistics.continuum.coating_model import (
    DME_DIELECTRIC_CONSTANT,
    Coating,
    Electrolyte,
    FreeEnergy,
    Separator,
    check_neutral_exchange,
    check_spread,
    default_spread,
    free_energy_from_exchange,
    free_energy_from_screening,
)
from atomistics.continuum.electrolyte_inputs import resolve_electrolyte
from atomistics.errors import AtomisticsError, StudySpecError
from atomistics.units import check_cell_temperature, parse_quantity

# Unit kind of every dataclass field that may be given with units.
_KINDS = {
    "c0": "concentration",
    "diffusivity": "diffusivity",
    "t_plus": "dimensionless",
    "temperature": "temperature",
    "liquid_site_concentration": "concentration",
    "thickness": "length",
    "porosity": "dimensionless",
    "bruggeman": "dimensionless",
    "loading": "areal_mass",
    "active_fraction": "dimensionless",
    "site_density": "specific_amount",
    "active_density": "density",
    "binder_density": "density",
    "layer_charge": "dimensionless",
    "accessible_fraction": "dimensionless",
    "fixed_charge": "concentration",
}
_TEXT = {"site_surface"}
#: dataclass fields that are results, not inputs (Coating.derived: which geometry value
#: was derived)
_NOT_INPUTS = {"derived"}


class BridgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exchange: str | None = None
    solvation_correction: str | float | None = None
    solvation_model: str | None = None
    #: computed ΔΔG_solv (validated by atomistics.study.check_bridge_solvation)
    solvation: dict[str, Any] | None = None
    surface: Literal["basal", "edge"] = "basal"
    allow_unconverged: bool = False
    surface_anion: str = "limmt_fsi"
    cation_anion: str = "li_fsi"
    current_density: str | float = "1 mA/cm^2"
    screening: float = Field(1.0 / DME_DIELECTRIC_CONSTANT, gt=0, le=1)
    model: Literal["tms", "tms-frozen"] = "tms"
    calibrate: tuple[float, float] | None = None
    calibrate_target: Literal["stack", "coating"] = "stack"
    dg_spread: dict[str, str | float] | str | float | None = None
    electrolyte: dict[str, Any] = Field(default_factory=dict)
    separator: dict[str, Any] = Field(default_factory=dict)
    coating: dict[str, Any] = Field(default_factory=dict)


def _build(cls: type, values: dict[str, Any], section: str):
    allowed = {f.name for f in fields(cls)} - _NOT_INPUTS
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise StudySpecError(
            f"bridge.{section}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    parsed = {
        k: (
            v
            if k in _TEXT
            else parse_quantity(v, _KINDS.get(k, "dimensionless"), f"bridge.{section}.{k}")
        )
        for k, v in values.items()
    }
    if "temperature" in parsed:  # the shared cell-temperature rule, naming the key
        check_cell_temperature(
            parsed["temperature"], f"bridge.{section}.temperature", values["temperature"]
        )
    if cls is Coating:  # two of thickness, loading, porosity; the third derived
        geometry = cc.consistent_geometry(
            parsed.get("thickness"),
            parsed.get("loading"),
            parsed.get("porosity"),
            active_fraction=parsed.get("active_fraction", Coating.active_fraction),
            active_density=parsed.get("active_density", Coating.active_density),
            binder_density=parsed.get("binder_density", Coating.binder_density),
            names={k: f"bridge.coating.{k}" for k in cc.GEOMETRY_KEYS},
        )
        for key in cc.GEOMETRY_KEYS:
            parsed[key] = getattr(geometry, key)
        parsed["derived"] = geometry.derived
        for key, check in (
            ("layer_charge", cc.check_layer_charge),
            ("accessible_fraction", cc.check_accessible_fraction),
            ("fixed_charge", cc.check_fixed_charge),
        ):
            if key in parsed:
                check(parsed[key], f"bridge.coating.{key}")
    return cls(**parsed)


def _electrolyte(spec: BridgeSpec) -> tuple[Electrolyte, dict[str, str]]:
    """The section's electrolyte and where c0, D and t+ came from: a c0 other than the
    paper's 6 M needs diffusivity and t_plus
    (:func:`atomistics.continuum.electrolyte_inputs.resolve_electrolyte`)."""
    given = dict(spec.electrolyte)
    parsed = {
        k: parse_quantity(given[k], _KINDS[k], f"bridge.electrolyte.{k}")
        for k in ("c0", "diffusivity", "t_plus")
        if k in given
    }
    values, origin = resolve_electrolyte(
        parsed.get("c0"),
        parsed.get("diffusivity"),
        parsed.get("t_plus"),
        t_plus_calibrated=spec.calibrate is not None,
        names={k: f"bridge.electrolyte.{k}" for k in ("c0", "diffusivity", "t_plus")},
        c0_text=str(given["c0"]) if "c0" in given else None,
    )
    rest = _build(Electrolyte, {k: v for k, v in given.items() if k not in values}, "electrolyte")
    return replace(rest, **values), origin


def parse_spread(value: Any, origin: str, where: str = "dg_spread") -> dict[str, float]:
    """A dG spread: ``None`` (the ASSUMED defaults), one number/quantity, a mapping of
    sources, or text ``"site-to-site=0.1 eV, xtb-vs-DFT=0.15 eV"``; 1 sigma, in eV.

    Each component must lie in 0 to :data:`~atomistics.continuum.coating_model.MAX_DG_SPREAD_EV`
    (10 eV; :func:`~atomistics.continuum.coating_model.check_spread` says why); ``where`` names
    the input in the messages."""
    if value is None:
        return default_spread(origin)
    if isinstance(value, str) and "=" in value:
        items = {}
        for part in value.split(","):
            if "=" not in part:
                raise AtomisticsError(
                    f"{where}: cannot read {part.strip()!r}; give name=value pairs, e.g. "
                    "'site-to-site=0.1 eV,xtb-vs-DFT=0.15 eV'"
                )
            k, v = part.split("=", 1)
            items[k.strip()] = v.strip()
        value = items
    if isinstance(value, Mapping):
        out = {str(k): parse_quantity(v, "energy", f"{where}.{k}") for k, v in value.items()}
    else:
        out = {"total": parse_quantity(value, "energy", where)}
    return check_spread(out, where)


def parse_bridge_spec(section: dict[str, Any] | None) -> BridgeSpec:
    """Validate a study's ``bridge:`` mapping (``None`` → all defaults)."""
    try:
        return BridgeSpec.model_validate(section or {})
    except ValidationError as exc:
        msgs = [f"bridge.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise StudySpecError("invalid bridge section: " + "; ".join(msgs)) from None


def check_bridge_section(section: dict[str, Any] | None) -> BridgeSpec:
    """Validate every value of a study's ``bridge:`` section without running the bridge.

    The spec's keys and types (:func:`parse_bridge_spec`) and every quantity the bridge
    would read: electrolyte, separator and coating (units, finite, physical ranges: a cell
    temperature of 150-500 K (:func:`atomistics.units.check_cell_temperature`), a porosity
    in (0, 1), ...), current density, solvation correction and dG spread (each source 0 to
    10 eV, :func:`atomistics.continuum.coating_model.check_spread`). Commands that load a study call it first, so a bad value
    fails before any calculation, not at the bridge step after all of them.
    """
    spec = parse_bridge_spec(section)
    _electrolyte(spec)
    _build(Separator, spec.separator, "separator")
    _build(Coating, spec.coating, "coating")
    current = parse_quantity(spec.current_density, "current_density", "bridge.current_density")
    if not current > 0:
        raise StudySpecError(
            f"bridge.current_density = {spec.current_density!r} must be positive, e.g. '1 mA/cm^2'."
        )
    if spec.solvation_correction is not None:
        parse_quantity(spec.solvation_correction, "energy", "bridge.solvation_correction")
    if spec.solvation is not None and spec.solvation_correction is not None:
        raise StudySpecError(
            "bridge.solvation and bridge.solvation_correction both given: keep the computed one "
            "(solvation) or the number (solvation_correction), not both"
        )
    if spec.dg_spread is not None:
        parse_spread(spec.dg_spread, "exchange", "bridge.dg_spread")
    return spec


def exchange_solvation_options(correction) -> dict:
    """``free_energy_from_exchange`` keywords for a computed ΔΔG_solv (one place, used by
    ``atomistics run``'s bridge, the FireWorks bridge task and ``atomistics bridge --db``)."""
    return {
        "solvation_correction_ev": float(correction.ddg_ev),
        "solvation_sigma_ev": float(correction.sigma_ev),
        "solvation_converged": bool(correction.converged),
        "solvation_model": correction.description,
    }


def study_free_energy(
    spec: BridgeSpec,
    binding_energies_ev: Mapping[str, float] | None,
    reaction_energies: Mapping[str, Any] | None,
    converged: Mapping[str, bool] | None = None,
    allow_unconverged: bool | None = None,
    solvation=None,
) -> tuple[FreeEnergy, list[str]]:
    """The free energy the section asks for, from what has been computed.

    ``solvation``: the computed ΔΔG_solv of the exchange reaction
    (:class:`atomistics.reactions.solvation.SolvationCorrection`: ``reaction``,
    ``ddg_ev``, ``sigma_ev``, ``description``, ``converged``, ``notes``), required when
    the section has ``solvation:``.
    """
    notes: list[str] = []
    reactions = dict(reaction_energies or {})
    allow = spec.allow_unconverged if allow_unconverged is None else allow_unconverged
    if spec.exchange is not None and spec.exchange in reactions:
        check_neutral_exchange(
            reactions[spec.exchange],
            f"bridge.exchange = {spec.exchange!r}",
            "name such a reaction under reactions: and in bridge.exchange, or drop "
            "bridge.exchange to use the charged-fragment binding energies through the FITTED "
            "screening (bridge.surface_anion, bridge.cation_anion)",
        )
        solv = (
            None
            if spec.solvation_correction is None
            else parse_quantity(spec.solvation_correction, "energy", "bridge.solvation_correction")
        )
        if spec.solvation is not None:
            if solvation is None:
                raise AtomisticsError(
                    f"bridge.solvation: the solvation correction of {spec.exchange!r} has not "
                    "been computed (`atomistics run` on the study computes it)"
                )
            if solvation.reaction != spec.exchange:
                raise AtomisticsError(
                    f"the solvation correction is for {solvation.reaction!r}, the bridge's "
                    f"exchange reaction is {spec.exchange!r}"
                )
            computed = exchange_solvation_options(solvation)
            notes += [f"solvation: {n}" for n in solvation.notes]
        else:
            computed = {"solvation_correction_ev": solv, "solvation_model": spec.solvation_model}
        fe = free_energy_from_exchange(
            reactions[spec.exchange],
            converged=(converged or {}).get(spec.exchange),
            allow_unconverged=allow,
            surface=spec.surface,
            spread_ev=None
            if spec.dg_spread is None
            else parse_spread(spec.dg_spread, "exchange", "bridge.dg_spread"),
            name=spec.exchange,
            **computed,
        )
        return fe, notes
    energies = dict(binding_energies_ev or {})
    for role, name in (("surface_anion", spec.surface_anion), ("cation_anion", spec.cation_anion)):
        if name not in energies:
            wanted = f"exchange reaction {spec.exchange!r} nor " if spec.exchange else ""
            raise StudySpecError(
                f"bridge.{role} = {name!r} is not a computed binding energy and there is no "
                f"{wanted or 'exchange reaction; '}"
                f"(have binding energies: {sorted(energies) or 'none'}, reactions: {sorted(reactions) or 'none'}); "
                "run the study first."
            )
    if spec.exchange is not None:
        notes.append(
            f"exchange reaction {spec.exchange!r} not computed: dG from the FITTED screening of the "
            "charged-fragment binding energies instead"
        )
    fe = free_energy_from_screening(
        energies[spec.surface_anion],
        energies[spec.cation_anion],
        spec.screening,
        surface=spec.surface,
        spread_ev=None
        if spec.dg_spread is None
        else parse_spread(spec.dg_spread, "screening", "bridge.dg_spread"),
    )
    return fe, notes


def run_study_bridge(
    section: dict[str, Any] | None,
    binding_energies_ev: Mapping[str, float] | None = None,
    reaction_energies: Mapping[str, Any] | None = None,
    *,
    converged: Mapping[str, bool] | None = None,
    allow_unconverged: bool | None = None,
    solvation=None,
    cells: int = 600,
    band_points: int = 7,
) -> BridgeResult:
    """Run the bridge on a study's computed energies.

    ``reaction_energies``: name → reaction energy (an object with ``.energy_ev``,
    ``.converged``, ``.engine``, or a float in eV with ``converged`` saying whether its
    calculations converged). ``binding_energies_ev``: name → E_bind in eV (the FITTED
    fallback). ``solvation``: the computed ΔΔG_solv when the section asks for one
    (``bridge.solvation``; see :func:`study_free_energy`). ``cells`` and ``band_points``
    are :func:`~atomistics.continuum.bridge.run_bridge`'s numerics.
    """
    spec = check_bridge_section(section)
    fe, notes = study_free_energy(
        spec, binding_energies_ev, reaction_energies, converged, allow_unconverged, solvation
    )
    electrolyte, origin = _electrolyte(spec)
    result = run_bridge(
        fe,
        electrolyte=electrolyte,
        electrolyte_origin=origin,
        separator=_build(Separator, spec.separator, "separator"),
        coating=_build(Coating, spec.coating, "coating"),
        current_density=parse_quantity(
            spec.current_density, "current_density", "bridge.current_density"
        ),
        model=spec.model,
        calibrate=spec.calibrate,
        calibrate_target=spec.calibrate_target,
        cells=cells,
        band_points=band_points,
    )
    result.notes[:0] = notes
    return result
