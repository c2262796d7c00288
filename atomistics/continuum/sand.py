r"""Analytic results for a binary electrolyte between two Li electrodes at constant current.

Model and conventions (used by every function here and by the numerical solver)
-------------------------------------------------------------------------------
A 1:1 salt (LiFSI) at concentration ``c(x, t)`` fills the pores (porosity ``eps``,
tortuosity ``tau_t``) between the plating electrode at ``x = 0`` and the
stripping electrode at ``x = L``; a constant current density ``J`` (> 0) plates Li
at ``x = 0``. Dilute-solution theory with electroneutrality (Newman & Thomas-Alyea,
*Electrochemical Systems*, 3rd ed., 2004, sec. 11.7 and 22.3) gives

    eps dc/dt = d/dx(D_eff dc/dx),   D_eff dc/dx = J (1 - t+) / F  at x = 0 and x = L,

with ``D`` the ambipolar (salt) diffusivity ``2 D+ D- / (D+ + D-)``, ``t+ = D+/(D+ + D-)``
and the effective diffusivity of the porous medium ``D_eff = eps D / tau_t``
(tortuosity factor convention; Bruggeman: ``tau_t = eps^(1 - b)``, b = 1.5).
The pore diffusivity that sets the time scale is ``D_eff/eps = D/tau_t``.

Sand's time (Sand, Phil. Mag. 1, 45 (1901); Chazalviel, Phys. Rev. A 42, 7355
(1990), eq. 7) is the time at which the surface concentration ``c(0, t)``
reaches zero. In a free electrolyte (eps = tau_t = 1)

    tau = pi D (F c0)^2 / (4 J^2 (1 - t+)^2),

and in a porous medium ``D`` is replaced by ``eps * D_eff = eps^2 D / tau_t``.

The paper's printed eq 1, ``tau = pi D e C0 (mu_a + mu_Li)^2 / (2 j mu_a)``, is
dimensionally wrong (with C0 a number density it has units of metres): the
square belongs over the whole fraction, ``tau = pi D [e C0 (mu_a + mu_Li) / (2 j
mu_a)]^2``, which is Sand's formula with ``1 - t+ = mu_a / (mu_a + mu_Li)``.
:func:`sand_time_from_mobilities` implements the corrected form.

Which diffusivity is held fixed when t+ changes
-----------------------------------------------
``t+`` and ``D`` are not independent if both come from ionic diffusivities:
holding the ambipolar ``D`` fixed, ``tau ∝ 1/(1 - t+)^2``; holding the cation
diffusivity ``D+`` fixed (only the anion slows down, the anion-braking picture),
``D = 2 D+ (1 - t+)`` and ``tau ∝ 1/(1 - t+)``. Functions here take ``D`` and
``t+`` as given, i.e. **D is held fixed by default**; :func:`sand_time_vs_t_plus`
offers both.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfc

from atomistics.continuum.constants import FARADAY
from atomistics.errors import AtomisticsError

FloatOrArray = float | NDArray[np.float64]

#: Electrode spacings L [m] the finite-cell models accept (``atomistics sand --length``):
#: 1 um to 10 cm. Below, L is thinner than any separator or coating (a few um) and nears
#: the Debye length of a dilute electrolyte (0.3 um at 1 uM), where electroneutrality,
#: the model's premise, fails; the solver's time scale L^2/D also underflows (1e-300 m).
#: Above, L exceeds the electrode spacing of any laboratory cell (H-cells, beakers: a few
#: cm), and over the Sand's time (hours) natural convection, not diffusion, moves the salt.
CELL_LENGTH_RANGE_M = (1e-6, 0.1)

#: The range of every other input of ``atomistics sand`` (SI): (low, high, as shown, why).
#: Values outside are no Li cell's and would only push the closed forms and the solver
#: past floating-point range (overflowing powers, a zero domain, a solve that never ends).
SAND_INPUT_RANGES: dict[str, tuple[float, float, str, str]] = {
    "concentration": (
        1e-3,
        2e4,
        "1 uM to 20 mol/L",
        "from a trace electrolyte to beyond the solubility of any Li salt",
    ),
    "diffusivity": (
        1e-16,
        1e-7,
        "1e-16 to 1e-7 m^2/s",
        "from solid polymer electrolytes (~1e-13) to far above any liquid's (~1e-9)",
    ),
    "current_density": (
        1e-6,
        1e5,
        "0.1 nA/cm^2 to 10 A/cm^2",
        "from a leak current to 1000 times a fast charge of ~10 mA/cm^2",
    ),
    "porosity": (0.01, 1.0, "0.01 to 1", "1 is free electrolyte; below 0.01 no pore percolates"),
    "tortuosity": (
        1.0,
        1000.0,
        "1 to 1000",
        "a tortuosity factor is >= 1 by definition; separators have ~1-20",
    ),
    "rtol": (1e-12, 1e-2, "1e-12 to 1e-2", "the solver's local error relative to c0"),
}


def check_cell_length(length: float, name: str = "length", text: object = None) -> float:
    """Refuse an electrode spacing outside :data:`CELL_LENGTH_RANGE_M`; return it in m."""
    lo, hi = CELL_LENGTH_RANGE_M
    if not (np.isfinite(length) and lo <= length <= hi):
        shown = f"{str(text).strip()!r} = {length:g} m" if text is not None else f"{length:g} m"
        raise AtomisticsError(
            f"{name}: {shown} is not an electrode spacing this model describes; give 1 um to "
            "10 cm, e.g. '25 um' (thinner is below any separator and nears the Debye length; "
            "thicker is transported by convection, not diffusion)"
        )
    return float(length)


def check_sand_input(value: float, kind: str, name: str, text: object = None) -> float:
    """Refuse ``value`` (SI) outside ``SAND_INPUT_RANGES[kind]``; return it as a float."""
    lo, hi, shown_range, why = SAND_INPUT_RANGES[kind]
    if not (np.isfinite(value) and lo <= value <= hi):
        shown = f"{str(text).strip()!r}" if text is not None else f"{value:g}"
        raise AtomisticsError(
            f"{name}: {shown} is outside {shown_range} ({why}); give a value in it"
        )
    return float(value)


def _check_positive(name: str, value: ArrayLike, allow_zero: bool = False) -> None:
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if np.any(bad):
        relation = ">= 0" if allow_zero else "> 0"
        raise AtomisticsError(f"{name} must be finite and {relation}, got {value!r}")


def _check_t_plus(t_plus: ArrayLike, upper_open: bool = True) -> None:
    arr = np.asarray(t_plus, dtype=float)
    if np.any(~np.isfinite(arr) | (arr < 0) | ((arr >= 1) if upper_open else (arr > 1))):
        raise AtomisticsError(
            f"transference number t+ must lie in [0, 1), got {t_plus!r}; a value of 1 means "
            "no concentration polarisation (infinite Sand's time)"
        )


def _scalar(x: NDArray[np.float64]) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x


def ambipolar_diffusivity(d_plus: ArrayLike, d_minus: ArrayLike) -> FloatOrArray:
    """Salt (ambipolar) diffusivity ``2 D+ D- / (D+ + D-)`` of a 1:1 electrolyte [m^2/s].

    Newman & Thomas-Alyea (2004), eq. 11.17 with z+ = -z- = 1.
    """
    _check_positive("D+", d_plus)
    _check_positive("D-", d_minus)
    dp, dm = np.asarray(d_plus, float), np.asarray(d_minus, float)
    return _scalar(2.0 * dp * dm / (dp + dm))


def transference_number(d_plus: ArrayLike, d_minus: ArrayLike) -> FloatOrArray:
    """Cation transference number ``D+ / (D+ + D-)`` of a dilute 1:1 electrolyte.

    Nernst-Einstein (mobility proportional to diffusivity); Newman & Thomas-Alyea eq. 11.16.
    """
    _check_positive("D+", d_plus)
    _check_positive("D-", d_minus)
    dp, dm = np.asarray(d_plus, float), np.asarray(d_minus, float)
    return _scalar(dp / (dp + dm))


def ion_diffusivities(d_salt: ArrayLike, t_plus: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Invert the two relations above: ``D+ = D / (2 (1 - t+))``, ``D- = D / (2 t+)``."""
    _check_positive("D", d_salt)
    arr = np.asarray(t_plus, float)
    if np.any((arr <= 0) | (arr >= 1)):
        raise AtomisticsError(
            f"t+ must lie strictly in (0, 1) to split D into D+ and D-, got {t_plus!r}"
        )
    d = np.asarray(d_salt, float)
    return _scalar(d / (2.0 * (1.0 - arr))), _scalar(d / (2.0 * arr))


def bruggeman_tortuosity(porosity: ArrayLike, exponent: float = 1.5) -> FloatOrArray:
    """Tortuosity factor ``tau_t = eps^(1 - b)`` so that ``D_eff = eps D / tau_t = eps^b D``.

    Bruggeman, Ann. Phys. 416, 636 (1935); b = 1.5 for spheres (Tjaden et al., Curr. Opin.
    Chem. Eng. 12, 44 (2016) review the exponent for separators).
    """
    eps = np.asarray(porosity, float)
    if np.any((eps <= 0) | (eps > 1)):
        raise AtomisticsError(f"porosity must lie in (0, 1], got {porosity!r}")
    return _scalar(eps ** (1.0 - exponent))


def effective_diffusivity(
    d: ArrayLike, porosity: ArrayLike = 1.0, tortuosity: ArrayLike = 1.0
) -> FloatOrArray:
    """Effective (superficial) diffusivity ``eps D / tau_t`` of a porous medium [m^2/s]."""
    _check_positive("diffusivity", d)
    _check_positive("tortuosity", tortuosity)
    eps = np.asarray(porosity, float)
    if np.any((eps <= 0) | (eps > 1)):
        raise AtomisticsError(f"porosity must lie in (0, 1], got {porosity!r}")
    if np.any(np.asarray(tortuosity, float) < 1):
        raise AtomisticsError(f"tortuosity factor must be >= 1, got {tortuosity!r}")
    return _scalar(eps * np.asarray(d, float) / np.asarray(tortuosity, float))


def sand_time(
    c0: ArrayLike,
    diffusivity: ArrayLike,
    current_density: ArrayLike,
    t_plus: ArrayLike,
    porosity: ArrayLike = 1.0,
    tortuosity: ArrayLike = 1.0,
) -> FloatOrArray:
    """Sand's time of a semi-infinite electrolyte [s] (broadcasts over array inputs).

    ``tau = pi eps D_eff (F c0)^2 / (4 J^2 (1 - t+)^2)``, with ``eps D_eff = D`` in a free
    electrolyte: Sand (1901); Chazalviel, Phys. Rev. A 42, 7355 (1990), eq. 7. The
    porous form follows from the same derivation with storage ``eps`` and flux
    ``D_eff dc/dx`` (see module docstring). ``diffusivity`` is the free-solution
    ambipolar D; D is held fixed when t+ varies.
    """
    _check_positive("c0", c0)
    _check_positive("current density", current_density)
    _check_t_plus(t_plus)
    d_eff = np.asarray(effective_diffusivity(diffusivity, porosity, tortuosity), float)
    eps = np.asarray(porosity, float)
    c0a, ja, tp = (np.asarray(v, float) for v in (c0, current_density, t_plus))
    return _scalar(np.pi * eps * d_eff * (FARADAY * c0a) ** 2 / (4.0 * ja**2 * (1.0 - tp) ** 2))


def sand_time_from_mobilities(
    c0: float, diffusivity: float, current_density: float, mu_anion: float, mu_cation: float
) -> float:
    """The paper's eq 1 with the square restored: ``tau = pi D [F c0 (mu_a + mu_Li)/(2 J mu_a)]^2``.

    The paper prints ``tau = pi D e C0 (mu_a + mu_Li)^2 / (2 j mu_a)``, whose units are
    m^2/s * C/m^3 / (A/m^2) = m (a length): the square over the whole bracket is
    missing (compare Sand 1901 / Chazalviel 1990). With ``e C0`` written as ``F c0``
    (molar concentration) and ``mu_a/(mu_a + mu_Li) = 1 - t+`` this is :func:`sand_time`.
    """
    _check_positive("anion mobility", mu_anion)
    _check_positive("cation mobility", mu_cation, allow_zero=True)
    one_minus_t = mu_anion / (mu_anion + mu_cation)
    return float(sand_time(c0, diffusivity, current_density, 1.0 - one_minus_t))


def sand_time_vs_t_plus(
    c0: float,
    diffusivity: float,
    current_density: float,
    t_plus: ArrayLike,
    *,
    hold: Literal["D", "D_plus"] = "D",
    t_plus_ref: float = 0.32,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
) -> FloatOrArray:
    """Sand's time as a function of t+ with either D or D+ held fixed.

    ``hold="D"``: the ambipolar ``diffusivity`` is used for every t+ (tau ∝ 1/(1-t+)^2).
    ``hold="D_plus"``: ``diffusivity`` is the ambipolar D at ``t_plus_ref``; the cation
    diffusivity ``D+ = D/(2(1 - t_ref))`` is kept and ``D(t+) = 2 D+ (1 - t+)``
    (only the anion changes; tau ∝ 1/(1-t+)).
    """
    tp = np.asarray(t_plus, float)
    _check_t_plus(tp)
    if hold == "D":
        d = np.full_like(tp, float(diffusivity))
    elif hold == "D_plus":
        d_plus, _ = ion_diffusivities(diffusivity, t_plus_ref)
        d = 2.0 * float(d_plus) * (1.0 - tp)
        if np.any(d <= 0):
            raise AtomisticsError("t+ must be < 1 when D+ is held fixed")
    else:
        raise AtomisticsError(f"hold must be 'D' or 'D_plus', got {hold!r}")
    return sand_time(c0, d, current_density, tp, porosity, tortuosity)


def surface_concentration_semi_infinite(
    t: ArrayLike,
    c0: float,
    diffusivity: float,
    current_density: float,
    t_plus: float,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
) -> FloatOrArray:
    """``c(0, t) = c0 - 2 J (1 - t+) sqrt(t) / (F sqrt(pi eps D_eff))`` [mol/m^3].

    Constant-flux solution of the diffusion equation (Carslaw & Jaeger, *Conduction
    of Heat in Solids*, 2nd ed. 1959, sec. 2.9, eq. 2); becomes negative after
    Sand's time (the model stops being physical there).
    """
    _check_positive("time", t, allow_zero=True)
    _check_t_plus(t_plus)
    d_eff = float(effective_diffusivity(diffusivity, porosity, tortuosity))
    ta = np.asarray(t, float)
    flux = current_density * (1.0 - t_plus) / FARADAY
    return _scalar(c0 - 2.0 * flux * np.sqrt(ta) / np.sqrt(np.pi * porosity * d_eff))


def _ierfc(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """First repeated integral of erfc: ``exp(-z^2)/sqrt(pi) - z erfc(z)``."""
    return np.exp(-(z**2)) / np.sqrt(np.pi) - z * erfc(z)


def finite_cell_concentration(
    x: ArrayLike,
    t: float,
    c0: float,
    diffusivity: float,
    current_density: float,
    t_plus: float,
    length: float,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
) -> FloatOrArray:
    """Concentration ``c(x, t)`` in a finite cell ``0 <= x <= L`` (both ends flux-driven).

    Series solution (separation of variables; Carslaw & Jaeger 1959, sec. 3.4),
    with ``g = J (1 - t+) / (F D_eff)`` the boundary gradient and ``Dp = D_eff/eps``:

        c = c0 + g [ (x - L/2) + (4L/pi^2) sum_{n odd} cos(n pi x/L) exp(-n^2 pi^2 Dp t/L^2) / n^2 ].

    For ``Dp t / L^2 < 0.25`` the cosine series converges slowly, so the equivalent
    method-of-images form (sinks at x = 2kL, sources at x = (2k+1)L, each the
    semi-infinite constant-flux solution ``2 g sqrt(Dp t) ierfc(|x - x_k| / (2 sqrt(Dp t)))``)
    is summed instead; both are exact and agree (tested).
    """
    _check_positive("length", length)
    _check_positive("time", t, allow_zero=True)
    _check_t_plus(t_plus)
    d_eff = float(effective_diffusivity(diffusivity, porosity, tortuosity))
    dp = d_eff / porosity
    g = current_density * (1.0 - t_plus) / (FARADAY * d_eff)
    xa = np.asarray(x, float)
    if np.any((xa < -1e-12 * length) | (xa > length * (1 + 1e-12))):
        raise AtomisticsError("x must lie inside the cell [0, L]")
    tau_d = dp * float(t) / length**2
    if tau_d == 0.0:
        return _scalar(np.full_like(xa, c0))
    if tau_d < 0.25:
        s = 2.0 * np.sqrt(dp * t)
        k = np.arange(-4, 5)[:, None]
        xs = xa[None, ...] if xa.ndim else xa[None]
        sinks = _ierfc(np.abs(xs - 2 * k * length) / s).sum(axis=0)
        sources = _ierfc(np.abs(xs - (2 * k + 1) * length) / s).sum(axis=0)
        out = c0 - g * s * (sinks - sources)
        return _scalar(out.reshape(xa.shape))
    n = np.arange(1, 200, 2)[:, None]
    xs = xa.reshape(1, -1)
    series = (np.cos(n * np.pi * xs / length) * np.exp(-(n**2) * np.pi**2 * tau_d) / n**2).sum(
        axis=0
    )
    out = c0 + g * ((xs[0] - length / 2) + 4 * length / np.pi**2 * series)
    return _scalar(out.reshape(xa.shape))


def steady_state_profile(
    x: ArrayLike,
    c0: float,
    diffusivity: float,
    current_density: float,
    t_plus: float,
    length: float,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
) -> FloatOrArray:
    """Steady linear profile ``c = c0 + J (1 - t+) (x - L/2) / (F D_eff)`` (mean c0 conserved)."""
    _check_positive("length", length)
    _check_t_plus(t_plus)
    d_eff = float(effective_diffusivity(diffusivity, porosity, tortuosity))
    xa = np.asarray(x, float)
    return _scalar(c0 + current_density * (1.0 - t_plus) * (xa - length / 2) / (FARADAY * d_eff))


def limiting_current_density(
    c0: ArrayLike,
    diffusivity: ArrayLike,
    t_plus: ArrayLike,
    length: ArrayLike,
    porosity: ArrayLike = 1.0,
    tortuosity: ArrayLike = 1.0,
) -> FloatOrArray:
    """Limiting current density ``J_lim = 2 F D_eff c0 / ((1 - t+) L)`` [A/m^2].

    The steady profile's surface concentration reaches zero at J_lim (Newman &
    Thomas-Alyea 2004, sec. 22.3; Chazalviel 1990). Below J_lim a finite cell has no
    Sand's time; ``D_eff = D`` in a free electrolyte.
    """
    _check_positive("c0", c0)
    _check_positive("length", length)
    _check_t_plus(t_plus)
    d_eff = np.asarray(effective_diffusivity(diffusivity, porosity, tortuosity), float)
    c0a, tp, la = (np.asarray(v, float) for v in (c0, t_plus, length))
    return _scalar(2.0 * FARADAY * d_eff * c0a / ((1.0 - tp) * la))


def finite_cell_sand_time(
    c0: float,
    diffusivity: float,
    current_density: float,
    t_plus: float,
    length: float,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
) -> float:
    """Sand's time of the finite cell from the exact series solution [s]; ``inf`` if J <= J_lim.

    Root of ``c(0, t) = 0`` (:func:`finite_cell_concentration`) by Brent's method.
    The surface concentration decreases monotonically (all series terms have the
    same sign at x = 0), so the root is unique when it exists.
    """
    from scipy.optimize import brentq

    j_lim = float(limiting_current_density(c0, diffusivity, t_plus, length, porosity, tortuosity))
    if current_density <= j_lim:
        return float("inf")
    args = (c0, diffusivity, current_density, t_plus, length, porosity, tortuosity)

    def surface(t: float) -> float:
        return float(finite_cell_concentration(0.0, t, *args))

    hi = float(sand_time(c0, diffusivity, current_density, t_plus, porosity, tortuosity))
    while surface(hi) > 0:  # finite cell depletes no faster than the semi-infinite one
        hi *= 2.0
    return float(brentq(surface, 0.0, hi, xtol=1e-14 * hi, rtol=1e-14))
