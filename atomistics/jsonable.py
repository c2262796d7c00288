"""Plain JSON types from results: the one converter the CLI (``--json``) and the Firetasks
(launch ``stored_data``, ``bridge-<engine>.json``) share."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def jsonable(obj: Any) -> Any:
    """Dataclasses/NumPy -> plain JSON types; inf and nan -> None (strict JSON has neither)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


__all__ = ["jsonable"]
