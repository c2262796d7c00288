"""Content hash of a calculation: (structure, settings, engine, engine version).

The hash is the key of a calculation in the results database and the name of
its work directory, so it must be stable across runs, processes and machines:
positions are rounded to 1e-5 Å (:func:`round_positions`, applied to every stage
input as well, so the hashed geometry is the computed one) and the settings are
serialised as sorted JSON. Every per-atom array (the adsorbate mask that selects
what relaxes, ghost atoms, tags, initial charges...) is part of the fingerprint.
Names (study, system) are *not* hashed, so the same fragment needed by two
binding energies (or two studies) is computed once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from ase import Atoms

#: Bump when the meaning of hashed fields changes (invalidates old cache keys).
HASH_SCHEMA = 2
#: Å; 1e-5 Å moves an energy by < 1e-6 eV at 0.05 eV/Å, far below any reported digit.
POSITION_DECIMALS = 5
_DECIMALS = POSITION_DECIMALS


def structure_fingerprint(atoms: Atoms) -> dict[str, Any]:
    """Everything about a structure that changes the physics of a calculation."""
    fixed: list[int] = []
    for constraint in atoms.constraints:
        fixed.extend(int(i) for i in constraint.get_indices())
    extra = {}
    for key in sorted(atoms.arrays):
        if key in ("numbers", "positions"):
            continue
        values = np.asarray(atoms.arrays[key])
        if values.dtype == bool:
            extra[key] = [int(i) for i in np.flatnonzero(values)]
        elif np.issubdtype(values.dtype, np.number):
            extra[key] = np.round(values.astype(float), _DECIMALS).tolist()
        else:
            extra[key] = values.tolist()
    return {
        "numbers": [int(z) for z in atoms.numbers],
        "positions": np.round(atoms.positions, _DECIMALS).tolist(),
        "cell": np.round(np.asarray(atoms.cell), _DECIMALS).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "charge": int(atoms.info.get("charge", 0)),
        "multiplicity": int(atoms.info.get("spin_multiplicity", 1)),
        "arrays": extra,  # adsorbate (relax region), ghost, ... masks as index lists
        "fixed": sorted(set(fixed)),
    }


def round_positions(atoms: Atoms) -> Atoms:
    """``atoms`` with positions rounded to the hash's precision (in place, returned)."""
    atoms.positions = np.round(atoms.positions, _DECIMALS)
    return atoms


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"cannot hash settings value {obj!r} of type {type(obj).__name__}")


def calculation_hash(
    atoms: Atoms, stage: str, engine: str, engine_version: str, settings: dict[str, Any]
) -> str:
    """SHA-256 hex digest identifying one calculation."""
    payload = {
        "schema": HASH_SCHEMA,
        "structure": structure_fingerprint(atoms),
        "stage": stage,
        "engine": engine,
        "engine_version": engine_version,
        "settings": settings,
    }
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def combine_hashes(*hashes: str) -> str:
    """Hash of derived quantities (binding energies) from their inputs' hashes."""
    return hashlib.sha256("|".join(hashes).encode()).hexdigest()
