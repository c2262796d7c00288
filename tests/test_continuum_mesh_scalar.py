"""The one-float trap functions (``TrapSites.*_scalar``) equal the array ones, and the
slope is the derivative of the occupancy even where the sites are saturated."""

import math

import numpy as np
import pytest

from atomistics.continuum.mesh import TrapSites

# weak, moderate, the demo's, strong and absurd binding; N_T as in the LiMMT coating
CASES = [TrapSites(300.0, dg) for dg in (50.0, 2.0, 0.3, 0.0, -0.3, -1.019, -5.0, -30.0, -1e5)]
CONCENTRATIONS = np.concatenate([[0.0, 1e-300, 1e-200, 1e-20, 1e-8], np.logspace(-6, 4.1, 120)])


@pytest.mark.parametrize("traps", CASES, ids=lambda t: f"dG={t.delta_g_ev:g}")
def test_scalar_functions_equal_the_array_ones(traps):
    for c in CONCENTRATIONS:
        assert traps.trapped_scalar(c) == pytest.approx(float(traps.trapped(c)), rel=1e-13, abs=0)
        assert traps.d_trapped_scalar(c) == pytest.approx(
            float(traps.d_trapped(c)), rel=1e-13, abs=1e-300
        )
        x, slope = traps.trapped_and_slope_scalar(c)
        xa, slope_a = traps.trapped_and_slope(c)
        assert x == pytest.approx(float(xa), rel=1e-13, abs=0)
        assert slope == pytest.approx(float(slope_a), rel=1e-13, abs=1e-300)


def test_slope_is_the_derivative_near_saturation():
    """With 1 - theta_T taken by subtraction the slope lost every digit once theta_T ~ 1.
    Written independently here from theta_T = K c / (N_L + (K - 1) c), the derivative is
    N_T K N_L / (N_L + (K - 1) c)^2 (in long double where the platform has it)."""
    traps = TrapSites(300.0, -1.019)  # K ~ 2e17: saturated above c ~ 1e-13 mol/m^3
    k = np.longdouble(math.exp(traps.log_k))
    n_l, n_t = np.longdouble(traps.liquid_sites), np.longdouble(traps.site_concentration)
    for c in (1e-12, 1e-6, 1e-3, 1e-1, 10.0, 300.0, 3000.0):
        exact = float(n_t * k * n_l / (n_l + (k - 1) * np.longdouble(c)) ** 2)
        assert traps.d_trapped_scalar(c) == pytest.approx(exact, rel=1e-9)
        assert float(traps.d_trapped(c)) == pytest.approx(exact, rel=1e-9)


def test_slope_at_zero_is_n_t_k_over_n_l():
    traps = TrapSites(300.0, 0.1)
    expected = 300.0 * math.exp(traps.log_k) / traps.liquid_sites
    assert traps.slope_at_zero == pytest.approx(expected, rel=1e-14)
    assert traps.trapped_and_slope_scalar(0.0) == (0.0, traps.slope_at_zero)
    assert float(traps.trapped_and_slope(0.0)[1]) == pytest.approx(expected, rel=1e-14)


def test_cell_numbers_are_kept_and_handed_out_as_copies():
    """cell_numbers keeps its last results (a pure function of frozen arguments): the kept
    result equals a fresh solve, and a caller changing its copy changes nothing kept."""
    from atomistics.continuum import coating_model as cm

    args = (-0.3, cm.Electrolyte(), cm.Separator(), cm.Coating(), 10.0, "tms", 80)
    cm.cell_numbers.cache_clear()
    first = cm.cell_numbers(*args, local_current_density=5000.0)
    assert cm.cell_numbers.cache_info().misses == 1
    first.limiting_current = -1.0
    kept = cm.cell_numbers(*args, local_current_density=5000.0)
    assert cm.cell_numbers.cache_info().hits == 1
    cm.cell_numbers.cache_clear()
    fresh = cm.cell_numbers(*args, local_current_density=5000.0)
    assert kept == fresh and kept.limiting_current > 0 and kept.real_cell is not None


def test_a_strongly_bound_site_at_a_vanishing_concentration_warns_nothing():
    """dG = -20 eV (K = e^778) at c- ~ 1e-300: the slope N_T K/N_L is not a float; the
    array functions return inf for it without a RuntimeWarning (a warning is an error in
    the bridge CLI's tests), and the occupancy is exactly 1."""
    import warnings

    traps = TrapSites(300.0, -20.0)
    c = np.array([0.0, 1e-300, 1e-200, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, slope = traps.trapped_and_slope(c)
        d = traps.d_trapped(c)
    assert np.all(x[1:] == 300.0) and x[0] == 0.0
    # saturated (K c >> N_L): dc_T/dc- = N_T N_L / (K c^2), 2.5e268 at 1e-300 and 2.5e68 at
    # 1e-200 (the subtraction 1 - theta_T gave 0 here)
    for k, ck in ((1, 1e-300), (2, 1e-200)):
        exact = math.exp(math.log(300.0 * traps.liquid_sites) - traps.log_k - 2 * math.log(ck))
        assert slope[k] == pytest.approx(exact, rel=1e-9)
        assert d[k] == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("delta_g", [2.0, 0.3, -0.3, -1.019, -5.0])
def test_rational_occupancy_equals_the_log_form_and_the_closed_form(delta_g):
    """Where |ln K| <= 300 trapped_and_slope takes c_T = N_T c/(c + v), v = (N_L - c)/K,
    without logs. It equals the log form (occupancy, d_trapped) wherever that one is
    representable, and the closed form theta_T = K c/(N_L + (K - 1) c), slope
    N_T K N_L/(N_L + (K - 1) c)^2 (written here apart, in long double) everywhere,
    including a weak site at c ~ 1e-300, where the log form's e^-x underflows to 0."""
    traps = TrapSites(300.0, delta_g)
    k = np.exp(np.longdouble(traps.log_k))
    n_l, n_t = np.longdouble(traps.liquid_sites), np.longdouble(traps.site_concentration)
    cs = np.concatenate([[1e-300, 1e-200, 1e-20], np.logspace(-8, np.log10(9000.0), 60)])
    x, slope = traps.trapped_and_slope(cs)
    for c, xi, si in zip(cs, x, slope, strict=True):
        cl = np.longdouble(c)
        den = n_l + (k - 1) * cl
        assert xi == pytest.approx(float(n_t * k * cl / den), rel=1e-12, abs=0)
        assert si == pytest.approx(float(n_t * k * n_l / den**2), rel=1e-12, abs=0)
        log_x, log_slope = float(traps.trapped(c)), float(traps.d_trapped(c))
        if log_x > 1e-280 and log_slope > 1e-280:
            assert xi == pytest.approx(log_x, rel=1e-12)
            assert si == pytest.approx(log_slope, rel=1e-12)
