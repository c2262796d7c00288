r"""Scharifker-Hills analysis of potentiostatic current transients (3D nucleation, diffusion-controlled growth).

Dimensionless transients (Scharifker & Hills, Electrochim. Acta 28, 879 (1983), eqs. 10-11):

    instantaneous:  (i/i_m)^2 = 1.9542 (t_m/t) [1 - exp(-1.2564 t/t_m)]^2
    progressive:    (i/i_m)^2 = 1.2254 (t_m/t) [1 - exp(-2.3367 (t/t_m)^2)]^2

The paper's eq 4 prints ``t^2/t_m^2`` in the instantaneous exponent (a mix-up with
the progressive form): the original, implemented here, has ``t/t_m``.

Number density of nuclei (Scharifker & Mostany, J. Electroanal. Chem. 177, 13
(1984)), instantaneous case, from ``t_m = 1.2564/(N pi k D)`` and ``i_m^2 t_m = 0.1629
(zFc)^2 D`` with ``k = (8 pi c M/rho)^(1/2)``:

    N_0 = 0.065 (z F c / (i_m t_m))^2 (rho / (8 pi c M))^(1/2)      [m^-2]

(0.065 ≈ 1.2564 x 0.1629 / pi). The paper's eq 5 drops the square on the first
bracket, which leaves N_0 with units of 1/m; the original squared form is used.
Progressive case, from ``t_m = (4.6733/(A N_inf pi k' D))^(1/2)``, ``k' = (4/3) k`` and
``i_m^2 t_m = 0.2598 (zFc)^2 D``:

    A N_inf = 0.2898 (z F c)^2 / (i_m^2 t_m^3) (rho / (8 pi c M))^(1/2)   [m^-2 s^-1]

(0.2898 = 4.6733 x 0.2598 x 3 / (4 pi)). Currents here are current densities [A/m^2].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit

from atomistics.continuum.constants import FARADAY
from atomistics.errors import AtomisticsError

Model = Literal["instantaneous", "progressive"]
LI_DENSITY = 534.0  # kg/m^3 (CRC Handbook)
LI_MOLAR_MASS = 6.94e-3  # kg/mol


def instantaneous(tau: ArrayLike) -> NDArray[np.float64]:
    """``(i/i_m)^2`` for instantaneous nucleation at reduced time ``tau = t/t_m``."""
    x = np.asarray(tau, float)
    return 1.9542 / x * (1.0 - np.exp(-1.2564 * x)) ** 2


def progressive(tau: ArrayLike) -> NDArray[np.float64]:
    """``(i/i_m)^2`` for progressive nucleation at reduced time ``tau = t/t_m``."""
    x = np.asarray(tau, float)
    return 1.2254 / x * (1.0 - np.exp(-2.3367 * x**2)) ** 2


MODELS = {"instantaneous": instantaneous, "progressive": progressive}


def nucleation_density_instantaneous(
    i_max: float,
    t_max: float,
    concentration: float,
    z: int = 1,
    density: float = LI_DENSITY,
    molar_mass: float = LI_MOLAR_MASS,
) -> float:
    """``N_0 = 0.065 (zFc/(i_m t_m))^2 (rho/(8 pi c M))^(1/2)`` [m^-2] (Scharifker & Mostany 1984)."""
    _check(i_max, t_max, concentration, density, molar_mass)
    return float(
        0.065
        * (z * FARADAY * concentration / (i_max * t_max)) ** 2
        * np.sqrt(density / (8 * np.pi * concentration * molar_mass))
    )


def nucleation_rate_density_progressive(
    i_max: float,
    t_max: float,
    concentration: float,
    z: int = 1,
    density: float = LI_DENSITY,
    molar_mass: float = LI_MOLAR_MASS,
) -> float:
    """``A N_inf = 0.2898 (zFc)^2/(i_m^2 t_m^3) (rho/(8 pi c M))^(1/2)`` [m^-2 s^-1] (see module)."""
    _check(i_max, t_max, concentration, density, molar_mass)
    return float(
        0.2898
        * (z * FARADAY * concentration) ** 2
        / (i_max**2 * t_max**3)
        * np.sqrt(density / (8 * np.pi * concentration * molar_mass))
    )


def diffusion_coefficient(
    i_max: float, t_max: float, concentration: float, model: Model, z: int = 1
) -> float:
    """``D = i_m^2 t_m / (a (zFc)^2)`` with a = 0.1629 (instantaneous) or 0.2598 (progressive) [m^2/s]."""
    a = {"instantaneous": 0.1629, "progressive": 0.2598}[model]
    return float(i_max**2 * t_max / (a * (z * FARADAY * concentration) ** 2))


def _check(i_max: float, t_max: float, c: float, rho: float, m: float) -> None:
    for name, v in (
        ("i_max", i_max),
        ("t_max", t_max),
        ("concentration", c),
        ("density", rho),
        ("molar mass", m),
    ):
        if not (np.isfinite(v) and v > 0):
            raise AtomisticsError(f"{name} must be > 0, got {v!r}")


@dataclass
class TransientFit:
    """Fit of one model to a transient: peak parameters and goodness of fit."""

    model: str
    i_max: float
    t_max: float
    rms_relative: float  # RMS of (i_fit - i)/i_max


@dataclass
class NucleationAnalysis:
    fits: dict[str, TransientFit]
    best: str
    nucleation_density: float | None  # instantaneous N0 [1/m^2]
    nucleation_rate_density: float | None  # progressive A N_inf [1/(m^2 s)]
    diffusivity: float | None


def fit_transient(
    time: ArrayLike, current: ArrayLike, t_min: float = 0.0
) -> dict[str, TransientFit]:
    """Least-squares fit of both models, ``i(t) = i_m sqrt(f(t/t_m))``, to a measured transient.

    ``current`` may be cathodic (negative): its magnitude is used. Points with ``t <= t_min``
    (double-layer charging) are ignored. Both ``i_m`` and ``t_m`` are free (started at the
    data's maximum), so a noisy peak does not bias them.
    """
    t = np.asarray(time, float)
    i = np.abs(np.asarray(current, float))
    if t.shape != i.shape or t.ndim != 1:
        raise AtomisticsError("time and current must be 1D arrays of equal length")
    keep = (t > t_min) & np.isfinite(t) & np.isfinite(i)
    t, i = t[keep], i[keep]
    if t.size < 5:
        raise AtomisticsError(
            f"need at least 5 points after t_min = {t_min} s to fit a transient, got {t.size}"
        )
    k = int(np.argmax(i))
    if k == 0 or k == t.size - 1:
        raise AtomisticsError(
            "the transient has no interior current maximum; record past the peak (or raise t_min)"
        )
    p0 = (i[k], t[k])
    fits = {}
    for name, f in MODELS.items():

        def model(tt, i_m, t_m, f=f):
            return i_m * np.sqrt(f(tt / abs(t_m)))

        try:
            (i_m, t_m), _ = curve_fit(model, t, i, p0=p0, maxfev=10000)
        except RuntimeError as exc:
            raise AtomisticsError(f"{name} fit did not converge: {exc}") from None
        t_m = abs(t_m)
        rms = float(np.sqrt(np.mean((model(t, i_m, t_m) - i) ** 2)) / i_m)
        fits[name] = TransientFit(name, float(i_m), float(t_m), rms)
    return fits


def analyze_transient(
    time: ArrayLike,
    current_density: ArrayLike,
    concentration: float,
    *,
    z: int = 1,
    density: float = LI_DENSITY,
    molar_mass: float = LI_MOLAR_MASS,
    t_min: float = 0.0,
) -> NucleationAnalysis:
    """Fit both models, pick the better one (lower RMS) and compute its nucleation density."""
    if isinstance(z, bool) or not isinstance(z, int | np.integer) or z < 1:
        raise AtomisticsError(
            f"z (electrons per deposited ion) must be a positive integer, got {z!r}"
        )
    fits = fit_transient(time, current_density, t_min)
    best = min(fits, key=lambda n: fits[n].rms_relative)
    f = fits[best]
    n0 = rate = None
    if best == "instantaneous":
        n0 = nucleation_density_instantaneous(
            f.i_max, f.t_max, concentration, z, density, molar_mass
        )
    else:
        rate = nucleation_rate_density_progressive(
            f.i_max, f.t_max, concentration, z, density, molar_mass
        )
    d = diffusion_coefficient(f.i_max, f.t_max, concentration, best, z)  # type: ignore[arg-type]
    return NucleationAnalysis(fits, best, n0, rate, d)
