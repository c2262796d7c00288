"""Engines: CP2K through custodian, GFN2-xTB (tblite) and any ASE calculator.

``get_engine("xtb")`` / ``get_engine("cp2k", protocol="paper")`` build the two
engines the CLI knows; from Python any :class:`ASECalculatorEngine` (or any
object following :class:`Engine`) can be passed to the runner instead.
"""

from __future__ import annotations

from typing import Any

from atomistics.engines.ase_engine import ASECalculatorEngine
from atomistics.engines.base import (
    CP_STAGES,
    STAGES,
    CalculationFailed,
    Engine,
    EngineResult,
)
from atomistics.errors import AtomisticsError

ENGINE_NAMES = ("xtb", "cp2k")

__all__ = [
    "ASECalculatorEngine",
    "CP_STAGES",
    "CalculationFailed",
    "ENGINE_NAMES",
    "Engine",
    "EngineResult",
    "STAGES",
    "get_engine",
]


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name`` ("xtb" or "cp2k"); options go to its constructor."""
    if name == "xtb":
        from atomistics.engines.xtb import XtbEngine

        options.pop("protocol", None)
        options.pop("overrides", None)
        return XtbEngine(**options)
    if name == "cp2k":
        from atomistics.engines.cp2k import Cp2kEngine

        return Cp2kEngine(**options)
    raise AtomisticsError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}.")
