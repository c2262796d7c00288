"""Benchmark: the steady-profile limiting current of the LiMMT trap stack with the one-float
trap function (``TrapSites.trapped_and_slope_scalar``, in ``math``) against
the same solve through the NumPy array functions (the baseline, measured in this run), and
a whole default ``run_bridge``.

The steady-profile ODE (``fixedcharge.trap_profile_end``) calls X(c-) and dX/dc- on
one float at a time, ~10^5 times per bridge run, where NumPy's per-call overhead dominated.
Both paths give the same J_lim (printed: the relative difference).

Run:  .venv/bin/python benchmarks/bench_trap_scalar.py
"""

from __future__ import annotations

from unittest import mock

from bench_continuum import best_of  # the benchmarks' one timer (this folder is on sys.path)

from atomistics.continuum import bridge, coating_model, fixedcharge, mesh


def _array_pair(traps, c):
    """The baseline: the array function, called on one float (as before the scalar ones)."""
    trapped, slope = traps.trapped_and_slope(c)
    return float(trapped), float(slope)


def main() -> None:
    electrolyte = coating_model.Electrolyte()
    coating = coating_model.Coating()
    layers = [
        coating_model.coating_layer(-1.019, electrolyte, coating),
        coating_model.separator_layer(electrolyte, coating_model.Separator()),
    ]

    def j_lim():
        return fixedcharge.limiting_current_fixed_charge(layers, electrolyte.c0)

    t_scalar, j_scalar = best_of(j_lim, repeat=3)
    with mock.patch.object(mesh.TrapSites, "trapped_and_slope_scalar", _array_pair):
        t_array, j_array = best_of(j_lim, repeat=3)
    print(f"J_lim of the trap stack (dG = -1.019 eV): {j_scalar:.6g} A/m^2")
    print(f"  array functions (baseline) {t_array * 1e3:8.1f} ms")
    print(
        f"  scalar functions           {t_scalar * 1e3:8.1f} ms   "
        f"speed-up x{t_array / t_scalar:.1f}, |dJ|/J = {abs(j_scalar / j_array - 1):.1e}"
    )

    fe = coating_model.given_free_energy(-1.019, spread_ev={"tail": 1.0})
    t_bridge, _ = best_of(lambda: bridge.run_bridge(fe), repeat=1)
    print(f"run_bridge at the defaults (7 band points, 600 cells): {t_bridge:.2f} s")


if __name__ == "__main__":
    main()
