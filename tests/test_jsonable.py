"""The one JSON converter shared by the CLI and the Firetasks."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from atomistics.jsonable import jsonable


@dataclass
class _R:
    x: float
    arr: np.ndarray


def test_jsonable_plain_types_and_no_nan():
    out = jsonable({1: _R(float("nan"), np.array([1.5, np.inf])), "t": (np.int64(3), -np.inf)})
    assert out == {"1": {"x": None, "arr": [1.5, None]}, "t": [3, None]}
    json.dumps(out, allow_nan=False)  # strict JSON


def test_cli_and_firetasks_share_it():
    from atomistics.cli import continuum
    from atomistics.fireworks import tasks

    assert continuum.jsonable is jsonable and tasks.jsonable is jsonable
