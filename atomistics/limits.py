"""Ceilings on the work one command may ask for, and finite-number checks.

A typo (``--supercell 1000 1000``), a hostile study file (a YAML "billion
laughs" alias bomb) or a huge placement screen would otherwise run for
minutes and take gigabytes before anything stops it. Each ceiling below is
checked *before* the work starts (from the counts alone), so a refusal
comes in well under a second with a message that names the override.

=====================  =========  ============================================
ceiling                default    override
=====================  =========  ============================================
atoms per structure    5 000      ``--max-atoms N`` (build), env ATOMISTICS_MAX_ATOMS
placements screened    2 000      ``--max-placements N`` (build placements)
study file size        1 MiB      env ATOMISTICS_MAX_YAML_BYTES
YAML nodes (aliases    100 000    env ATOMISTICS_MAX_YAML_NODES
expanded)
=====================  =========  ============================================

The atom ceiling is far above what DFT of this study needs (the 2×2 LiMMT
slab with FSI⁻ has 171 atoms) and still builds and checks in seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from atomistics.errors import AtomisticsError

DEFAULT_MAX_ATOMS = 5_000
DEFAULT_MAX_PLACEMENTS = 2_000
DEFAULT_MAX_YAML_BYTES = 1 << 20
DEFAULT_MAX_YAML_NODES = 100_000


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AtomisticsError(
            f"{name}={raw!r} is not an integer: unset it or give e.g. {default}."
        ) from None
    if value < 1:
        raise AtomisticsError(f"{name}={value} must be a positive integer (default {default}).")
    return value


def max_atoms(override: int | None = None) -> int:
    """The atom ceiling: ``override`` if given, else $ATOMISTICS_MAX_ATOMS, else 5 000."""
    if override is not None:
        return positive_int(override, "--max-atoms")
    return _env_int("ATOMISTICS_MAX_ATOMS", DEFAULT_MAX_ATOMS)


def max_yaml_bytes() -> int:
    return _env_int("ATOMISTICS_MAX_YAML_BYTES", DEFAULT_MAX_YAML_BYTES)


def max_yaml_nodes() -> int:
    return _env_int("ATOMISTICS_MAX_YAML_NODES", DEFAULT_MAX_YAML_NODES)


def check_atom_count(n_atoms: int, what: str, limit: int | None = None) -> None:
    """Refuse a structure of ``n_atoms`` atoms above the ceiling (before building it)."""
    ceiling = max_atoms(limit)
    if n_atoms > ceiling:
        raise AtomisticsError(
            f"{what} would have {n_atoms} atoms, above the ceiling of {ceiling}: use a smaller "
            "supercell, or raise the ceiling with --max-atoms N (or ATOMISTICS_MAX_ATOMS=N) if "
            "you really mean it."
        )


def check_placement_count(n: int, limit: int | None = None) -> None:
    ceiling = DEFAULT_MAX_PLACEMENTS if limit is None else positive_int(limit, "--max-placements")
    if n > ceiling:
        raise AtomisticsError(
            f"the screen would try {n} placements, above the ceiling of {ceiling}: give fewer "
            "--sites/--orientations/--azimuths or a smaller supercell, or raise the ceiling "
            "with --max-placements N."
        )


def positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AtomisticsError(f"{name} must be a positive integer, got {value!r}.")
    return value


def finite(value: object, name: str) -> float:
    """``value`` as a float if it is a finite real number; NaN/inf/non-numbers are refused."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise AtomisticsError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise AtomisticsError(f"{name} must be a finite number, got {value!r}: give a real value.")
    return number


def all_finite(values: Iterable[float], name: str) -> None:
    import numpy as np

    arr = np.asarray(list(values) if not hasattr(values, "__array__") else values, dtype=float)
    if not np.isfinite(arr).all():
        raise AtomisticsError(
            f"{name} contains NaN or infinite numbers: every value must be finite."
        )


__all__ = [
    "DEFAULT_MAX_ATOMS",
    "DEFAULT_MAX_PLACEMENTS",
    "DEFAULT_MAX_YAML_BYTES",
    "DEFAULT_MAX_YAML_NODES",
    "all_finite",
    "check_atom_count",
    "check_placement_count",
    "finite",
    "max_atoms",
    "max_yaml_bytes",
    "max_yaml_nodes",
    "positive_int",
]
