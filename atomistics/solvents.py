"""The study's solvent, defined once: DME's permittivity and the rule for any permittivity.

Every implicit-solvent model (tblite's CPCM/COSMO, CP2K's SCCS) and the bridge's FITTED
screening take the relative permittivity from here.
"""

from __future__ import annotations

import math

from atomistics.errors import AtomisticsError

#: Static relative permittivity of 1,2-dimethoxyethane (DME), the study's solvent, at
#: 25 °C (CRC Handbook of Chemistry and Physics, "Permittivity of liquids").
DME_PERMITTIVITY = 7.2


def is_permittivity(eps: float) -> bool:
    """A solvent's relative permittivity: finite and > 1 (ε = 1 is vacuum: no solvent)."""
    return math.isfinite(eps) and eps > 1.0


def check_permittivity(eps: float, where: str) -> float:
    """``eps`` as a float, or one clear error naming ``where`` (see :func:`is_permittivity`)."""
    value = float(eps)
    if not is_permittivity(value):
        raise AtomisticsError(
            f"{where}: the relative permittivity must be a finite number > 1 (1 is vacuum), "
            f"got {eps!r} (DME: {DME_PERMITTIVITY})."
        )
    return value
