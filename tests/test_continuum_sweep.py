"""Vectorised sweeps agree with the per-case analytic results."""

import numpy as np
import pytest

from atomistics.continuum import sand
from atomistics.continuum.sweep import sand_time_sweep


def test_sweep_matches_finite_cell_series():
    rng = np.random.default_rng(1)
    n = 40
    c0 = rng.uniform(500, 6000, n)
    d = rng.uniform(1e-10, 1e-9, n)
    tp = rng.uniform(0.2, 0.8, n)
    length = 25e-6
    j = sand.limiting_current_density(c0, d, tp, length) * rng.uniform(0.5, 30, n)
    got = sand_time_sweep(c0, d, j, tp, length)
    for k in range(n):
        exact = sand.finite_cell_sand_time(c0[k], d[k], j[k], tp[k], length)
        if np.isinf(exact):
            assert np.isinf(got[k])
        else:
            assert got[k] == pytest.approx(exact, rel=1e-4)


def test_semi_infinite_sweep_broadcasts():
    j = np.array([1.0, 10.0, 100.0])[:, None]
    tp = np.array([0.32, 0.63])[None, :]
    out = sand_time_sweep(1000.0, 3e-10, j, tp)
    assert out.shape == (3, 2)
    assert out[0, 0] / out[1, 0] == pytest.approx(100.0)
    assert out[1, 1] == pytest.approx(sand.sand_time(1000.0, 3e-10, 10.0, 0.63))
