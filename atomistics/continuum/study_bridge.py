"""The study file's ``bridge:`` section → :func:`atomistics.continuum.bridge.run_bridge`.

The section names which of the study's binding energies is the surface–anion
and which the cation–anion one, and the electrolyte / separator / coating /
current parameters, each a number in SI or a string with units (parsed with
:func:`atomistics.units.parse_quantity`). Omitted values take the defaults of
:mod:`atomistics.continuum.bridge` (the paper's 6 M LiFSI/DME, 0.57 mg cm⁻²
2 µm LiMMT:PVDF 80:20 coating, 1 mA cm⁻²). Example::

    bridge:
      surface_anion: limmt_fsi
      cation_anion: li_fsi
      current_density: 1 mA/cm^2
      calibrate: [0.32, 0.63]
      calibrate_target: coating
      coating: {thickness: 2 um, loading: 0.57 mg/cm^2, porosity: 0.35}
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atomistics.continuum.bridge import (
    DME_DIELECTRIC_CONSTANT,
    MODELS,
    BridgeResult,
    Coating,
    Electrolyte,
    Separator,
    run_bridge,
)
from atomistics.errors import StudySpecError
from atomistics.units import parse_quantity

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
}


class BridgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    surface_anion: str = "limmt_fsi"
    cation_anion: str = "li_fsi"
    current_density: str | float = "1 mA/cm^2"
    screening: float = Field(1.0 / DME_DIELECTRIC_CONSTANT, gt=0, le=1)
    model: Literal["oriani", "barrier"] = "oriani"
    calibrate: tuple[float, float] | None = None
    calibrate_target: Literal["stack", "coating"] = "coating"
    electrolyte: dict[str, Any] = Field(default_factory=dict)
    separator: dict[str, Any] = Field(default_factory=dict)
    coating: dict[str, Any] = Field(default_factory=dict)


def _build(cls: type, values: dict[str, Any], section: str):
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise StudySpecError(
            f"bridge.{section}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    parsed = {
        k: parse_quantity(v, _KINDS.get(k, "dimensionless"), f"bridge.{section}.{k}")
        for k, v in values.items()
    }
    return cls(**parsed)


def parse_bridge_spec(section: dict[str, Any] | None) -> BridgeSpec:
    """Validate a study's ``bridge:`` mapping (``None`` → all defaults)."""
    try:
        return BridgeSpec.model_validate(section or {})
    except ValidationError as exc:
        msgs = [f"bridge.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise StudySpecError("invalid bridge section: " + "; ".join(msgs)) from None


def run_study_bridge(
    section: dict[str, Any] | None, binding_energies_ev: dict[str, float]
) -> BridgeResult:
    """Run the bridge on a study's binding energies (name → E_bind in eV)."""
    spec = parse_bridge_spec(section)
    for role, name in (("surface_anion", spec.surface_anion), ("cation_anion", spec.cation_anion)):
        if name not in binding_energies_ev:
            raise StudySpecError(
                f"bridge.{role} = {name!r} is not a computed binding energy "
                f"(have: {sorted(binding_energies_ev) or 'none'}); run the study first."
            )
    return run_bridge(
        binding_energies_ev[spec.surface_anion],
        binding_energies_ev[spec.cation_anion],
        electrolyte=_build(Electrolyte, spec.electrolyte, "electrolyte"),
        separator=_build(Separator, spec.separator, "separator"),
        coating=_build(Coating, spec.coating, "coating"),
        current_density=parse_quantity(
            spec.current_density, "current_density", "bridge.current_density"
        ),
        screening=spec.screening,
        model=MODELS[spec.model],
        calibrate=spec.calibrate,
        calibrate_target=spec.calibrate_target,
    )


def run_study_bridge_from_db(study, db_path: str | Path) -> BridgeResult:
    """Read the study's binding energies from the results DB and run its bridge section."""
    from atomistics.continuum.resultsdb import read_all_binding_energies

    return run_study_bridge(study.bridge, read_all_binding_energies(db_path, study.name))
