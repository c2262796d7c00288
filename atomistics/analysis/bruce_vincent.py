"""Bruce-Vincent / Evans transference number from DC polarisation plus impedance."""

from __future__ import annotations

import numpy as np

from atomistics.errors import AtomisticsError


def bruce_vincent_t_plus(delta_v: float, i0: float, i_ss: float, r0: float, r_ss: float) -> float:
    """``t+ = I_s (dV - I_0 R_0) / (I_0 (dV - I_s R_s))`` (paper eq 3).

    Evans, Vincent & Bruce, Polymer 28, 2324 (1987); Bruce & Vincent, J. Electroanal.
    Chem. 225, 1 (1987). ``delta_v`` [V] is the applied polarisation, ``i0``/``i_ss`` the
    initial/steady-state currents [A], ``r0``/``r_ss`` the interfacial resistances
    before/after polarisation [ohm]. Without interfacial resistance this is I_s/I_0.
    """
    for name, v in (("delta V", delta_v), ("I0", i0), ("I_ss", i_ss)):
        if not (np.isfinite(v) and v > 0):
            raise AtomisticsError(f"{name} must be > 0, got {v!r}")
    for name, v in (("R0", r0), ("R_ss", r_ss)):
        if not (np.isfinite(v) and v >= 0):
            raise AtomisticsError(f"{name} must be >= 0, got {v!r}")
    if i_ss > i0:
        raise AtomisticsError(
            f"steady-state current {i_ss!r} A exceeds the initial current {i0!r} A; swap them?"
        )
    drive0 = delta_v - i0 * r0
    drive_s = delta_v - i_ss * r_ss
    if drive0 <= 0 or drive_s <= 0:
        raise AtomisticsError(
            f"the interfacial drop exceeds the applied voltage (dV - I0 R0 = {drive0:.3g} V, "
            f"dV - Is Rs = {drive_s:.3g} V); check the units of the currents and resistances"
        )
    return float(i_ss * drive0 / (i0 * drive_s))
