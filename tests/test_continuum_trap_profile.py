"""The steady anion profile of a trap layer (``fixedcharge.trap_profile_end``) against its
closed form, and the limiting current of strongly bound traps, which must not depend on dG
once the sites are saturated.

The closed form is derived here apart from the code. With ``X = N_T K c/D``, ``D = N_L +
(K - 1) c`` (Fermi-Dirac occupancy) the profile ``dc/dx = rate c/(2c + X + c X')`` is
separable, ``rate dx = (2 + X/c + X') dc``, and with ``a = K - 1``:

    rate x   = 2 (c - c_s) + X(c) - X(c_s) + (N_T K/a) ln(D(c)/D(c_s)),
    rate I   = [c^2 + c X + X^2/2 + 2 (N_T K/a)(c - (N_L/a) ln D)
                + (N_T K/a)^2 (ln D + N_L/D)] from c_s to c,

where ``I = int (c + X) dx`` (``(c + X)(2 + X/c + X') = 2c + X + c X' + 2X + X^2/c + X X'``,
``int X/c = (N_T K/a) ln D``, ``int c/D^2 = (ln D + N_L/D)/a^2``, ``int c/D = (c - (N_L/a)
ln D)/a``). It is evaluated in 60-digit arithmetic (mpmath, which sympy, a pymatgen
dependency, requires).
"""

import math

import mpmath
import pytest

from atomistics.continuum import coating_model as cm
from atomistics.continuum import fixedcharge as fc
from atomistics.continuum.mesh import TrapSites

mpmath.mp.dps = 60


def _closed_form(traps: TrapSites, c_start: float, c_end: float) -> tuple[float, float]:
    """``(rate x, rate I)`` between ``c_start`` and ``c_end`` (module docstring)."""
    k = mpmath.exp(mpmath.mpf(traps.log_k))
    n_t, n_l = mpmath.mpf(traps.site_concentration), mpmath.mpf(traps.liquid_sites)
    a = k - 1

    def parts(c):
        c = mpmath.mpf(c)
        d = n_l + a * c
        x = n_t * k * c / d
        q = n_t * k / a
        position = 2 * c + x + q * mpmath.log(d)
        inventory = (
            c * c
            + c * x
            + x * x / 2
            + 2 * q * (c - n_l / a * mpmath.log(d))
            + q * q * (mpmath.log(d) + n_l / d)
        )
        return position, inventory

    (p0, i0), (p1, i1) = parts(c_start), parts(c_end)
    return float(p1 - p0), float(i1 - i0)


RATE = 7453.5 / (fc.FARADAY * 0.35 / 1.69 * 2.2e-10)  # mol/m^4 near the LiMMT coating's J_lim
LENGTH = 3.58e-6


@pytest.mark.parametrize("delta_g", [0.3, -0.3, -1.019, -3.0, -10.0])
@pytest.mark.parametrize("c_start", [1e-6, 10.0, 3000.0])
def test_profile_end_and_inventory_equal_the_closed_form(delta_g, c_start):
    traps = TrapSites(290.85, delta_g)
    c_end, integral = fc.trap_profile_end(traps, c_start, RATE, LENGTH)
    position, inventory = _closed_form(traps, c_start, c_end)
    assert position == pytest.approx(RATE * LENGTH, rel=1e-8)
    assert integral == pytest.approx(inventory / RATE, rel=1e-8)


@pytest.mark.parametrize("delta_g", [-0.3, -1.019, -3.0])
def test_profile_from_a_depleted_wall_equals_the_closed_form(delta_g):
    """c_start = 0 (the limiting current): the profile leaves the wall on its tangent line;
    the closed form from c = 0 holds to the 1e-9 L where the integration starts."""
    traps = TrapSites(290.85, delta_g)
    c_end, integral = fc.trap_profile_end(traps, 0.0, RATE, LENGTH)
    position, inventory = _closed_form(traps, 0.0, c_end)
    assert position == pytest.approx(RATE * LENGTH, rel=1e-7)
    assert integral == pytest.approx(inventory / RATE, rel=1e-7)


def test_strongly_bound_end_value_is_resolved():
    """At dG = -3 eV c- stays below 1e-30 mol/m^3 through the coating (~1e-38 at its end).
    An absolute tolerance of 1e-12 c0 put its end value off by a factor 1e10; it is now
    within 1e-6 of the closed form's root."""
    traps = TrapSites(290.85, -3.0)
    c_end, _ = fc.trap_profile_end(traps, 0.0, RATE, LENGTH)
    assert 0 < c_end < 1e-30
    lo, hi = c_end * (1 - 1e-6), c_end * (1 + 1e-6)
    assert _closed_form(traps, 0.0, lo)[0] < RATE * LENGTH < _closed_form(traps, 0.0, hi)[0]


def test_limiting_current_of_saturated_traps_does_not_depend_on_dg():
    """Past dG ~ -2 eV the sites are full and the coating's J_lim is constant; it used to
    jump by up to 0.5 % between neighbouring dG (7453.5, 7484.9, 7473.9, 7491.3 A/m^2 at
    -2.3, -2.98, -2.5, -10 eV) and to 7450.0 A/m^2 beyond -18 eV."""
    ely, sep, coat = cm.Electrolyte(), cm.Separator(), cm.Coating()
    separator = cm.separator_layer(ely, sep)
    values = [
        fc.limiting_current_fixed_charge(
            [cm.coating_layer(dg, ely, coat, "tms"), separator], ely.c0
        )
        for dg in (-2.0, -2.3, -2.5, -2.98, -5.0, -10.0, -20.0, -50.0)
    ]
    assert max(values) - min(values) <= 1e-9 * values[0]
    assert all(math.isfinite(v) for v in values)
