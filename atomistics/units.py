"""Parse quantities with units ("1 mA/cm^2", "25 um", "6 M") into SI floats.

The CLI and CSV readers accept physical quantities as text with units; the
physics functions take plain SI floats. This module is the single place where
the conversion happens (with :mod:`pint`), so a wrong or missing unit fails
early with a message that says what was expected.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pint

from atomistics.errors import AtomisticsError

# Dimension name -> (pint dimensionality, SI unit used for the float, an example spelling)
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "concentration": ("[substance] / [length] ** 3", "mol/m^3", "1 mol/L"),
    "diffusivity": ("[length] ** 2 / [time]", "m^2/s", "3e-10 m^2/s"),
    "current_density": ("[current] / [length] ** 2", "A/m^2", "1 mA/cm^2"),
    "current": ("[current]", "A", "50 uA"),
    "length": ("[length]", "m", "25 um"),
    "time": ("[time]", "s", "10 s"),
    "voltage": ("[electric_potential]", "V", "10 mV"),
    "resistance": ("[electric_potential] / [current]", "ohm", "100 ohm"),
    "temperature": ("[temperature]", "K", "298.15 K"),
    "energy": ("[energy]", "eV", "-8.35 eV"),
    "molar_energy": ("[energy] / [substance]", "J/mol", "13.7 kJ/mol"),
    "areal_mass": ("[mass] / [length] ** 2", "kg/m^2", "0.57 mg/cm^2"),
    "specific_amount": ("[substance] / [mass]", "mol/kg", "0.08 mmol/g"),
    "density": ("[mass] / [length] ** 3", "kg/m^3", "0.534 g/cm^3"),
    "molar_mass": ("[mass] / [substance]", "kg/mol", "6.94 g/mol"),
    "dimensionless": ("", "", "0.32"),
}


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The shared unit registry (created once; pint registries are expensive)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    return ureg


def parse_quantity(text: str | float | int, kind: str, name: str = "value") -> float:
    """Convert ``text`` (e.g. ``"1 mA/cm^2"``) to a float in the SI unit of ``kind``.

    ``kind`` is a key of :data:`DIMENSIONS`. A bare number is accepted only for
    dimensionless quantities and for energies (taken as eV), temperatures
    (taken as K). Everything else needs an explicit unit so that "1" never
    silently means 1 mol/m^3 instead of 1 mol/L. Energies are returned in eV
    (the unit the binding-energy code uses), all others in SI.

    Non-finite values (``nan``, ``inf``) are refused for every kind, and a
    temperature must be an absolute temperature above 0 K (third law: T = 0 K
    is unreachable and every Boltzmann factor or RT/F in the package divides
    by, or is meaningless at, T ≤ 0).
    """
    value = _parse(text, kind, name)
    if not math.isfinite(value):
        raise AtomisticsError(
            f"{name}: {str(text).strip()!r} is not a finite number; give a real value."
        )
    if kind == "temperature":
        check_temperature(value, name, text)
    return value


def check_temperature(kelvin: float, name: str = "temperature", text: object = None) -> float:
    """Refuse an absolute temperature that is not finite or not above 0 K; return it."""
    shown = f"{str(text).strip()!r} = {kelvin:g} K" if text is not None else f"{kelvin!r} K"
    if not math.isfinite(kelvin) or kelvin <= 0.0:
        raise AtomisticsError(
            f"{name}: {shown} is not an absolute temperature above 0 K; give e.g. '298.15 K' "
            "or '25 degC'."
        )
    return float(kelvin)


#: Absolute temperatures [K] at which the package's electrochemical-cell models apply: the
#: continuum bridge (a liquid electrolyte), Tafel/Butler-Volmer and Arrhenius analyses of
#: a cell. See :func:`check_cell_temperature`.
CELL_TEMPERATURE_RANGE_K = (150.0, 500.0)


def check_cell_temperature(kelvin: float, name: str = "temperature", text: object = None) -> float:
    """Refuse a cell temperature outside :data:`CELL_TEMPERATURE_RANGE_K`; return it in K.

    One rule for every model of an electrochemical cell with a liquid electrolyte (the
    bridge's DME electrolyte, Tafel/Butler-Volmer kinetics ``alpha = 2.303 RT/(b F)``,
    Arrhenius fits of a cell's resistances). Liquid electrolytes of Li cells are used
    between about -100 degC (173 K, low-temperature electrolytes; DME itself freezes at
    -58 degC) and about +150 degC (thermal-abuse tests; Li melts at 180.5 degC = 454 K),
    so 150-500 K holds every such measurement with a margin. Outside it the models do
    not describe a liquid cell (a frozen or boiled electrolyte, molten Li), and the
    numbers that reach it are almost always unit slips: 25 read as K instead of degC
    (25 K), or 298 degC for 298 K (571 K). Below a few kelvin every Boltzmann factor
    ``exp(-dG/kT)`` also leaves floating-point range.
    """
    kelvin = check_temperature(kelvin, name, text)
    lo, hi = CELL_TEMPERATURE_RANGE_K
    if not lo <= kelvin <= hi:
        shown = f"{str(text).strip()!r} = {kelvin:g} K" if text is not None else f"{kelvin:g} K"
        raise AtomisticsError(
            f"{name}: {shown} is outside {lo:g}-{hi:g} K, the range of a liquid-electrolyte "
            "cell this model describes; give the cell's temperature with its unit, e.g. "
            "'298.15 K' or '25 degC'."
        )
    return kelvin


def _parse(text: str | float | int, kind: str, name: str) -> float:
    if kind not in DIMENSIONS:
        raise AtomisticsError(f"unknown quantity kind {kind!r}; use one of {sorted(DIMENSIONS)}")
    dim, unit, example = DIMENSIONS[kind]
    if isinstance(text, int | float):
        text = repr(float(text))
    stripped = str(text).strip()
    if not stripped:
        raise AtomisticsError(f"{name}: empty quantity; give e.g. {example!r}")
    ureg = registry()
    try:
        quantity = ureg.Quantity(stripped.replace("µ", "u").replace("μ", "u"))
    except Exception as exc:  # pint raises several unrelated exception types
        raise AtomisticsError(
            f"{name}: cannot parse {stripped!r} as a quantity ({exc}); give e.g. {example!r}"
        ) from None
    if not isinstance(quantity, pint.Quantity):  # a bare number
        quantity = ureg.Quantity(float(quantity), "dimensionless")
    if quantity.dimensionless and kind in ("energy", "temperature"):
        quantity = ureg.Quantity(quantity.magnitude, unit)
    if kind == "dimensionless":
        if not quantity.dimensionless:
            raise AtomisticsError(f"{name}: {stripped!r} has units but must be a pure number")
        return float(quantity.to("dimensionless").magnitude)
    if quantity.dimensionless:
        raise AtomisticsError(
            f"{name}: {stripped!r} has no unit; give the unit explicitly, e.g. {example!r}"
        )
    if not quantity.check(dim):
        raise AtomisticsError(
            f"{name}: {stripped!r} has dimension {quantity.dimensionality}, expected {dim} "
            f"(e.g. {example!r})"
        )
    return float(quantity.to(unit).magnitude)


def parse_unit_factor(unit: str, kind: str, name: str = "unit") -> tuple[float, float]:
    """Return ``(scale, offset)`` so that ``SI = scale * value + offset`` for values in ``unit``.

    Used for CSV columns whose header names a unit (``temperature [degC]``).
    The offset is non-zero only for offset units such as degC.
    """
    zero = _parse(f"0 {unit}", kind, name) if kind != "dimensionless" else 0.0
    one = _parse(f"1 {unit}", kind, name) if kind != "dimensionless" else 1.0
    return one - zero, zero
