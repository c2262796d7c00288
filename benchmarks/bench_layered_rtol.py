"""Benchmark: the bridge's layered Sand transient (coating + 10 diffusion lengths of
separator, ``coating_model.cell_numbers``) at its tolerance, rtol 1e-5, against rtol 1e-6
(the baseline, the former default, measured in this run) and against rtol 1e-8 (the
reference for the error), and the trap occupancy's rational form against its log form.

For each case it prints the time at 1e-6 and 1e-5, their ratio, and how far each moves
the depletion times (Sand's time, interface depletion) from the 1e-8 reference. The
600-cell mesh's own error is ~1e-5 relative (``cell_numbers``' docstring): 1e-5 keeps the
solver's error a tenth of that.

Run:  .venv/bin/python benchmarks/bench_layered_rtol.py
"""

from __future__ import annotations

import math
from dataclasses import replace
from unittest import mock

import numpy as np
from bench_continuum import best_of  # the benchmarks' one timer (this folder is on sys.path)

from atomistics.continuum import coating_model as cm
from atomistics.continuum import mesh


def _transient(first, long_sep, electrolyte, j, tau, rtol):
    return cm.simulate(
        [first, long_sep],
        electrolyte.c0,
        j,
        t_end=20 * tau,
        cells_per_layer=(200, 600),
        rtol=rtol,
    )


def _moved(res, ref) -> float:
    worst = 0.0
    for key in ("sand_time", "interface_depletion_time"):
        a, b = getattr(res, key), getattr(ref, key)
        if math.isfinite(b):
            worst = max(worst, abs(a - b) / b)
        elif math.isfinite(a):
            return math.inf
    return worst


def main() -> None:
    electrolyte, separator, coating = cm.Electrolyte(), cm.Separator(), cm.Coating()
    structural = float(coating.structural_charge().fixed_charge)
    print(
        f"{'J A/m2':>7} {'dG eV':>7} {'1e-6 s':>7} {'1e-5 s':>7} {'ratio':>6} "
        f"{'moved 1e-6':>10} {'moved 1e-5':>10}"
    )
    totals = [0.0, 0.0]
    worst = 0.0
    for j in (10.0, 100.0):
        bulk, tau = cm._sand_domain(electrolyte, separator, j)
        long_sep = cm.separator_layer(electrolyte, separator, bulk)
        cases = [
            (f"{dg:+.2f}", cm.coating_layer(float(dg), electrolyte, coating, "tms"))
            for dg in np.linspace(-2.98, 0.94, 7)
        ]
        neutral = cm.coating_layer(None, electrolyte, coating, "tms")
        cases.append(("X", replace(neutral, fixed_charge=structural)))
        for label, first in cases:
            ref = _transient(first, long_sep, electrolyte, j, tau, 1e-8)
            args = (first, long_sep, electrolyte, j, tau)
            t6, r6 = best_of(lambda args=args: _transient(*args, 1e-6), 2)
            t5, r5 = best_of(lambda args=args: _transient(*args, 1e-5), 2)
            totals[0] += t6
            totals[1] += t5
            worst = max(worst, _moved(r5, ref))
            print(
                f"{j:7.0f} {label:>7} {t6:7.3f} {t5:7.3f} {t6 / t5:6.2f} "
                f"{_moved(r6, ref):10.1e} {_moved(r5, ref):10.1e}"
            )
    print(
        f"all cases: 1e-6 {totals[0]:.2f} s, 1e-5 {totals[1]:.2f} s, "
        f"{totals[0] / totals[1]:.2f}x faster; largest move at 1e-5 {worst:.1e}"
    )

    # the occupancy: the rational form (|ln K| <= 300) against the log form (baseline)
    c = np.linspace(0.0, 6000.0, 200)
    traps = mesh.TrapSites(300.0, -1.019)
    t_rational, fast = best_of(lambda: [traps.trapped_and_slope(c) for _ in range(2000)], 3)
    with mock.patch.object(mesh, "_RATIONAL_LOG_K", -1.0):
        t_log, slow = best_of(lambda: [traps.trapped_and_slope(c) for _ in range(2000)], 3)
    diff = max(
        float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
        for a, b in zip(fast[0], slow[0], strict=True)
    )
    print(
        f"trapped_and_slope on 200 cells: log form {t_log / 2000 * 1e6:.1f} us, rational "
        f"{t_rational / 2000 * 1e6:.1f} us ({t_log / t_rational:.1f}x); largest relative "
        f"difference {diff:.1e}"
    )


if __name__ == "__main__":
    main()
