"""Fixed-charge (Teorell-Meyer-Sievers) layers: analytic limits, independent derivations, conservation."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from atomistics.continuum import fixedcharge as fc
from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.continuum.mesh import Layer, TrapSites, depletion_zone, discretise
from atomistics.continuum.sand import ion_diffusivities
from atomistics.continuum.transport import limiting_current, simulate
from atomistics.errors import AtomisticsError

C0, D, TP = 1000.0, 3e-10, 0.32
DP, DM = (float(v) for v in ion_diffusivities(D, TP))
T = 298.15


def _donnan_from_scratch(c, x):
    """c- from c- (c- + X) = c^2 by bisection (not the closed form)."""
    cm = brentq(lambda m: m * (m + x) - c * c, 0.0, c, xtol=1e-14 * c)
    return cm + x, cm


@pytest.mark.parametrize("x", [0.0, 10.0, 500.0, 5000.0, 1e5])
def test_donnan_partition_and_tms_transference_number(x):
    cp, cm = fc.donnan_partition(C0, x)
    cp2, cm2 = _donnan_from_scratch(C0, x)
    assert cp == pytest.approx(cp2, rel=1e-12) and cm == pytest.approx(cm2, rel=1e-10)
    t = fc.tms_transference_number(C0, x, DP, DM)
    assert t == pytest.approx(DP * cp2 / (DP * cp2 + DM * cm2), rel=1e-12)


def test_tms_transference_number_limits():
    assert fc.tms_transference_number(C0, 0.0, DP, DM) == pytest.approx(TP, rel=1e-12)
    assert fc.tms_transference_number(C0, 1e9, DP, DM) == pytest.approx(1.0, abs=1e-10)


def _membrane_potential_by_shooting(c1, c2, x, d=1e-6, n=4000):
    """Steady zero-current Nernst-Planck across a uniform membrane, integrated numerically.

    Unknown: the common salt flux N = N+ = N-. For given N the two flux equations
    N- = -D-(c-' - c- psi), N+ = -D+(c-' + (c- + X) psi) (psi = f dphi/dx) give c-' and
    psi; N is shot so that c- reaches its Donnan value at x = d. The potential is the
    two Donnan jumps (from scratch) plus the integral of psi.
    """
    cp1, cm1 = _donnan_from_scratch(c1, x)
    cp2, cm2 = _donnan_from_scratch(c2, x)

    def rates(cm, flux):
        a = np.array([[DM, -DM * cm], [DP, DP * (cm + x)]])
        return np.linalg.solve(a, [-flux, -flux])  # (c-', psi)

    def shoot(flux):
        sol = solve_ivp(
            lambda _x, y: [rates(y[0], flux)[0], rates(y[0], flux)[1]],
            (0, d),
            [cm1, 0.0],
            rtol=1e-11,
            atol=[1e-9, 1e-12],
        )
        return sol

    scale = DM * abs(cm2 - cm1) / d + 1e-30
    flux = brentq(lambda f: shoot(f).y[0, -1] - cm2, -10 * scale, 10 * scale, xtol=1e-14 * scale)
    psi_integral = shoot(flux).y[1, -1]
    rt_f = GAS_CONSTANT * T / FARADAY
    return rt_f * (np.log(c1 / cp1) + psi_integral + np.log(cp2 / c2))


@pytest.mark.parametrize("x", [30.0, 300.0, 3000.0])
def test_membrane_potential_matches_numerical_nernst_planck(x):
    c1, c2 = 1000.0, 100.0
    mp = fc.tms_membrane_potential(c1, c2, x, DP, DM, T)
    assert mp.total == pytest.approx(_membrane_potential_by_shooting(c1, c2, x), rel=1e-6)


def test_membrane_potential_limits():
    rt_f = GAS_CONSTANT * T / FARADAY
    c1, c2 = 1000.0, 100.0
    junction = fc.tms_membrane_potential(c1, c2, 0.0, DP, DM, T).total
    assert junction == pytest.approx((1 - 2 * TP) * rt_f * np.log(c2 / c1), rel=1e-12)
    nernst = fc.tms_membrane_potential(c1, c2, 1e9, DP, DM, T)
    assert nernst.total == pytest.approx(rt_f * np.log(c1 / c2), rel=1e-5)
    assert abs(nernst.diffusion) < 1e-6 * abs(nernst.total)


def test_x_zero_limit_reproduces_the_neutral_layered_solver():
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating")
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    j = 20 * limiting_current([coat, sep], C0)
    disc = discretise([coat, sep], 400, 1.01, depletion_zone([coat, sep], C0, j))
    modal = simulate([coat, sep], C0, j, disc=disc, profile_times=[1e-4])
    general = fc.simulate_fixed_charge(
        [coat, sep], C0, j, disc=disc, rtol=1e-10, profile_times=[1e-4]
    )
    assert general.sand_time == pytest.approx(modal.sand_time, rel=1e-7)
    np.testing.assert_allclose(general.profiles, modal.profiles, atol=1e-6 * C0)
    assert fc.limiting_current_fixed_charge([coat, sep], C0) == pytest.approx(
        limiting_current([coat, sep], C0), rel=1e-8
    )


@pytest.mark.parametrize("kind", ["constant", "traps"])
def test_li_and_anion_conserved_in_a_closed_cell_with_a_charged_coating(kind):
    traps = TrapSites(800.0, -0.25, T, 9635.0)
    extra = {"fixed_charge": 600.0} if kind == "constant" else {"traps": traps}
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating", **extra)
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    j = 2.0 * limiting_current([coat, sep], C0)
    disc = discretise([coat, sep], 200, 1.01)
    u0 = fc.initial_state([coat, sep], disc, C0)
    start = fc.inventory([coat, sep], disc, u0)
    t_run = 5 * 0.4 * (22e-6) ** 2 / (0.4 * D / 1.6)
    res = fc.simulate_fixed_charge([coat, sep], C0, j, t_run, disc=disc)  # up to Sand's time
    assert np.isfinite(res.sand_time)
    end = fc.inventory([coat, sep], disc, res.final)
    assert end["li"] == pytest.approx(start["li"], rel=1e-10)
    assert end["anion"] == pytest.approx(start["anion"], rel=1e-10)
    assert start["li"] == pytest.approx(start["anion"], rel=1e-12)  # electroneutral cell
    assert np.min(res.final_anion) >= -1e-6 * C0  # no undershoot beyond the tolerance
    # the run did something: the profile is far from uniform
    assert np.ptp(res.final[disc.layer_index == 1]) > 0.2 * C0
    if kind == "traps":  # trapped anions were released near the electrode
        assert end["trapped"] < start["trapped"] * (1 - 1e-3)


@pytest.mark.parametrize("dg", [-2.04, -0.3, 0.0, 0.3])
def test_trapped_fraction_never_exceeds_site_over_salt(dg):
    traps = TrapSites(521.0, dg, T, 9635.0)
    for c0 in (100.0, 1000.0, 6000.0):
        cp = fc.equilibrium_li(traps, c0)
        cm = cp - float(traps.trapped(fc.anion_from_total(traps, np.array([cp]))[0]))
        trapped = cp - cm
        assert trapped <= traps.site_concentration * (1 + 1e-12)
        assert trapped / cp <= traps.site_concentration / c0 * (1 + 1e-12)
    c = np.geomspace(1e-6, 9000.0, 200)
    theta = traps.occupancy(c)
    assert np.all((theta >= 0) & (theta <= 1))


def test_occupancy_is_fermi_dirac_and_its_slope_is_oriani():
    traps = TrapSites(500.0, -0.1, T, 9635.0)
    k = np.exp(traps.log_k)
    c = np.array([1.0, 100.0, 5000.0])
    th_l = c / 9635.0
    expected = k * th_l / (1 - th_l + k * th_l)
    np.testing.assert_allclose(traps.occupancy(c), expected, rtol=1e-12)
    h = 1e-4 * c
    fd = (traps.trapped(c + h) - traps.trapped(c - h)) / (2 * h)
    np.testing.assert_allclose(traps.d_trapped(c), fd, rtol=1e-6)
    # Oriani's general form: (N_T/N_L) K / (1 + (K - 1) theta_L)^2
    np.testing.assert_allclose(
        traps.d_trapped(c), (500.0 / 9635.0) * k / (1 + (k - 1) * th_l) ** 2, rtol=1e-10
    )


def test_constant_charge_limiting_current_is_set_by_the_separator():
    x = 500.0
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating", fixed_charge=x)
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    # depleted coating keeps X, releases its co-ions; the separator's profile starts at 0
    _, cm0 = fc.donnan_partition(C0, x)
    gdp = 0.4 / 1.6 * DP
    expected = 4 * FARADAY * gdp * (0.4 * 20e-6 * C0 + 0.35 * 2e-6 * cm0) / (0.4 * (20e-6) ** 2)
    j_lim = limiting_current([coat, sep], C0)
    assert j_lim == pytest.approx(expected, rel=1e-9)
    # the transient agrees: no depletion just below, depletion just above
    t_long = 20 * 0.4 * (22e-6) ** 2 / (0.4 * D / 1.6)
    assert simulate([coat, sep], C0, 0.95 * j_lim, t_long).sand_time == np.inf
    assert np.isfinite(simulate([coat, sep], C0, 1.05 * j_lim, t_long).sand_time)


def test_trap_limiting_current_brackets_the_transient():
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating", traps=TrapSites(500.0, -0.2, T, 9635.0))
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    j_lim = limiting_current([coat, sep], C0)
    t_long = 20 * 0.4 * (22e-6) ** 2 / (0.4 * D / 1.6)
    assert simulate([coat, sep], C0, 0.97 * j_lim, t_long).sand_time == np.inf
    assert np.isfinite(simulate([coat, sep], C0, 1.03 * j_lim, t_long).sand_time)


def test_steady_profile_in_a_charged_layer_follows_the_tms_solution():
    """At steady state 2 c- + X ln c- - J x / (F g D+) is constant inside the coating."""
    x = 300.0
    coat = Layer(5e-6, D, TP, 0.35, 1.7, "coating", fixed_charge=x)
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    j = 0.5 * limiting_current([coat, sep], C0)
    disc = discretise([coat, sep], 300, 1.01)
    res = fc.simulate_fixed_charge(
        [coat, sep], C0, j, 40 * 0.4 * (25e-6) ** 2 / (0.4 * D / 1.6), disc=disc, stop_at_sand=False
    )
    inside = disc.layer_index == 0
    cm = res.final_anion[inside]
    xs = disc.centres[inside]
    invariant = 2 * cm + x * np.log(cm) - j * xs / (FARADAY * (0.35 / 1.7) * DP)
    assert np.ptp(invariant) < 2e-4 * C0
    assert np.ptp(cm) > 0.05 * C0  # and the profile is not flat


def test_charged_layer_validation():
    with pytest.raises(AtomisticsError, match="not both"):
        Layer(1e-6, D, TP, fixed_charge=1.0, traps=TrapSites(1.0, -0.1))
    with pytest.raises(AtomisticsError, match="fixed charge"):
        Layer(1e-6, D, TP, fixed_charge=-1.0)
    with pytest.raises(AtomisticsError, match="0 < t\\+ < 1"):
        Layer(1e-6, D, 0.0, fixed_charge=1.0)
    with pytest.raises(AtomisticsError):
        TrapSites(100.0, float("nan"))


@pytest.mark.parametrize("dg", [-2.04, -0.283, 0.0, 1.5])
def test_occupancy_inversion_closed_form(dg):
    """c- + c_T(c-) = u is solved to round-off for K from 1e-25 to 1e34, u from 0 to 7000."""
    traps = TrapSites(521.0, dg, T, 9635.0)
    u = np.concatenate([[0.0], np.geomspace(1e-9, 7000.0, 300)])
    c = fc.anion_from_total(traps, u)
    assert np.all((c >= np.maximum(u - 521.0, 0.0)) & (c <= u))
    np.testing.assert_allclose(c + traps.trapped(c), u, rtol=1e-12, atol=1e-300)
    # against bisection on the monotone function, from scratch
    ref = brentq(
        lambda x: x + float(traps.trapped(x)) - u[150], 0.0, u[150], xtol=1e-300, rtol=1e-15
    )
    assert c[150] == pytest.approx(ref, rel=1e-9, abs=1e-300)
