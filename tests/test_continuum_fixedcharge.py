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
    res = fc.simulate_fixed_charge([coat, sep], C0, j, t_run, disc=disc)  # up to a depletion
    # the run ends at the first depletion: Li+ at the electrode (neutral or trap wall) or the
    # salt at the interface; a constant X at the wall keeps c+ >= X there: never the electrode
    assert np.isfinite(min(res.sand_time, res.interface_depletion_time))
    if kind == "constant":
        assert res.sand_time == np.inf and not res.electrode_can_deplete
        assert res.electrode_li_at_interface_depletion >= 600.0
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


def test_constant_charge_interface_limit_is_set_by_the_separator():
    """The hard limit behind a constant-X coating: the salt runs out at the interface."""
    x = 500.0
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating", fixed_charge=x)
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    # depleted coating keeps X, releases its co-ions; the separator's profile starts at 0
    _, cm0 = fc.donnan_partition(C0, x)
    gdp = 0.4 / 1.6 * DP
    expected = 4 * FARADAY * gdp * (0.4 * 20e-6 * C0 + 0.35 * 2e-6 * cm0) / (0.4 * (20e-6) ** 2)
    j_dep = fc.interface_limiting_current([coat, sep], C0)
    assert j_dep == pytest.approx(expected, rel=1e-9)
    # the electrode's limit (the salt at the wall runs out, c- -> floor) lies just below it
    j_lim = limiting_current([coat, sep], C0)
    assert 0.99 * j_dep < j_lim < j_dep
    # the transient agrees: no interface depletion just below J_dep, depletion just above;
    # Li+ at the electrode never runs out (c+ >= X there)
    t_long = 20 * 0.4 * (22e-6) ** 2 / (0.4 * D / 1.6)
    below = simulate([coat, sep], C0, 0.95 * j_dep, t_long)
    above = simulate([coat, sep], C0, 1.05 * j_dep, t_long)
    assert below.interface_depletion_time == np.inf and below.sand_time == np.inf
    assert np.isfinite(above.interface_depletion_time) and above.sand_time == np.inf
    assert above.electrode_li_at_interface_depletion > x


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


# ---------------------------------------------------------------------------
# Issue 19, items 7 (numerics) and 3 (the dendrite criterion)
# ---------------------------------------------------------------------------

SIX_M = 6000.0
BULK_D = 3e-10
TAU_COAT, TAU_SEP = 0.35**-0.5, 0.4**-0.5  # Bruggeman, b = 1.5


def _semi_infinite_stack(coat_extra: dict, j: float = 10.0, thickness: float = 2e-6):
    """The bridge's Sand's-time cell: coating + a separator 10 diffusion lengths long."""
    from atomistics.continuum.sand import sand_time

    tau = float(sand_time(SIX_M, BULK_D, j, TP, 0.4, TAU_SEP))
    ell = np.sqrt(BULK_D / TAU_SEP * tau)
    coat = Layer(thickness, BULK_D, TP, 0.35, TAU_COAT, "coating", **coat_extra)
    sep = Layer(10 * ell, BULK_D, TP, 0.4, TAU_SEP, "separator")
    return [coat, sep], tau


# X of the band sample dG = -0.030303070957001466 eV at which `atomistics bridge --model
# tms-frozen` hung (N_T = 521.1 mol/m^3 of the former 2 um / 0.35 coating, N_L = 9.635 M)
HUNG_X = 432.7042369541223


@pytest.mark.parametrize("x", [HUNG_X, 901.0])
def test_constant_charge_runs_that_hung_finish(x):
    """The depleted coating's co-ions (c- ~ 1e-7 next to X ~ 900) stalled the integrator:
    the flux in s = sqrt(c+ c-) has an infinite slope there, the state u = c+ held c- as a
    difference of two large numbers, and the tolerance rtol c0 did not resolve it. Now the
    run takes a few hundred steps; the electrode never depletes (c+ >= X), the interface
    salt runs out just after the bare separator's Sand's time."""
    layers, tau = _semi_infinite_stack({"fixed_charge": x})
    res = simulate(layers, SIX_M, 10.0, t_end=20 * tau, cells_per_layer=(100, 300), rtol=1e-6)
    assert res.n_evaluations < 5000
    assert res.sand_time == np.inf and not res.electrode_can_deplete
    assert 1.0 < res.interface_depletion_time / tau < 1.01
    assert res.electrode_li_at_interface_depletion >= x * (1 - 1e-9)  # c+ >= X, to round-off


def test_trap_coating_at_the_hung_band_sample_finishes():
    traps = TrapSites(521.1428571428571, -0.030303070957001466, T, 9635.0)
    layers, tau = _semi_infinite_stack({"traps": traps})
    res = simulate(layers, SIX_M, 10.0, t_end=20 * tau, cells_per_layer=(100, 300), rtol=1e-6)
    assert res.n_evaluations < 5000
    assert 0.99 < min(res.sand_time, res.interface_depletion_time) / tau < 1.01


def test_a_stalled_integration_is_an_error_not_a_hang():
    layers, tau = _semi_infinite_stack({"fixed_charge": 901.0})
    with pytest.raises(fc.SolverStalled, match="stalled"):
        fc.simulate_fixed_charge(layers, SIX_M, 10.0, 20 * tau, max_evaluations=50)


def _volterra_interface_depletion_time(x: float, j: float = 10.0, n: int = 2000) -> float:
    """Semi-analytic time at which the salt runs out at the coating/separator interface.

    Independent of the finite-volume solver. The separator is semi-infinite and neutral:
    its salt at the interface obeys the constant-coefficient diffusion equation with the
    flux condition ``-D_eff dc/dy = q(t) - t- J/F`` (``q``: the anion flux out of the
    coating), whose exact solution is the Abel-Volterra equation (Carslaw & Jaeger 1959,
    sec. 2.9; with ``q = 0`` it is Sand's ``c0 - 2 t- J sqrt(t)/(F sqrt(pi eps D_eff))``)

        c_s(t) = c0 + [int_0^t q(s) ds / sqrt(t - s) - 2 t- (J/F) sqrt(t)] / sqrt(pi eps D_eff).

    The coating (2 um, its diffusion time ~0.05 s against ~2 days) is quasi-steady: no
    anion flux (``N- = 0``), so ``c-' (2 + X/c-) = J/(F g D+)`` from the Nernst-Planck
    equations, with ``c-`` at the interface in Donnan equilibrium with ``c_s``; its mobile
    anion inventory ``M(c_s)`` is tabulated by integrating that ODE (scipy), and ``q =
    -dM/dt``. Product integration with ``M`` piecewise linear in time on a grid graded
    as ``t^2``; the scalar equation of each step is solved by Brent's method.
    """
    from scipy.interpolate import PchipInterpolator

    dp = BULK_D / (2 * (1 - TP))
    eps_c, eps_s = 0.35, 0.4
    rate = j / (FARADAY * eps_c / TAU_COAT * dp)
    lc = 2e-6

    def donnan_minus(c):
        if c <= 0:
            return 0.0
        return brentq(lambda m: m * (m + x) - c * c, 0.0, c, xtol=1e-15 * c, rtol=1e-15)

    def inventory(cs):
        cl = donnan_minus(cs)
        if cl <= 0:
            return 0.0
        sol = solve_ivp(
            lambda _x, y: [-rate * y[0] / (2 * y[0] + x), y[0]],
            (0.0, lc),
            [cl, 0.0],
            method="LSODA",
            rtol=1e-11,
            atol=[1e-14 * SIX_M, 1e-20],
        )
        return eps_c * sol.y[1, -1]

    grid = np.concatenate([[0.0], np.geomspace(1e-8 * SIX_M, SIX_M, 300)])
    m_of = PchipInterpolator(grid, [inventory(c) for c in grid])
    d_eff = eps_s * BULK_D / TAU_SEP
    k = 1.0 / np.sqrt(np.pi * eps_s * d_eff)
    sand = np.pi * eps_s * d_eff * (FARADAY * SIX_M) ** 2 / (4 * j**2 * (1 - TP) ** 2)
    t = 1.05 * sand * (np.arange(n + 1) / n) ** 2
    c, m = np.empty(n + 1), np.empty(n + 1)
    c[0], m[0] = SIX_M, float(m_of(SIX_M))
    jump = eps_c * lc * donnan_minus(SIX_M) - m[0]  # the profile's tilt at t = 0+ (tiny)
    for i in range(1, n + 1):
        w = 2 * (np.sqrt(t[i] - t[:i]) - np.sqrt(t[i] - t[1 : i + 1]))
        known = float(np.dot(-(m[1:i] - m[: i - 1]) / (t[1:i] - t[: i - 1]), w[: i - 1]))
        base = SIX_M + k * (
            jump / np.sqrt(t[i]) + known - 2 * (1 - TP) * j / FARADAY * np.sqrt(t[i])
        )

        def residual(cn, i=i, base=base, w=w):
            last = -(float(m_of(max(cn, 0.0))) - m[i - 1]) / (t[i] - t[i - 1]) * w[i - 1]
            return cn - base - k * last

        c[i] = brentq(residual, -SIX_M, 1.01 * SIX_M, xtol=1e-12, rtol=1e-14)
        m[i] = float(m_of(max(c[i], 0.0)))
        if c[i] <= 0:
            return float(t[i - 1] + (t[i] - t[i - 1]) * c[i - 1] / (c[i - 1] - c[i]))
    return float("inf")


def test_constant_x_depletion_time_converges_and_matches_a_volterra_solution():
    """Issue 19 item 7: the constant-X depletion time converges with mesh and tolerance to
    1e-4 (it carried noise of 1e-4..2e-3), and agrees with the semi-analytic value."""
    layers, tau = _semi_infinite_stack({"fixed_charge": HUNG_X})

    def depletion(cells, rtol):
        res = simulate(layers, SIX_M, 10.0, t_end=20 * tau, cells_per_layer=cells, rtol=rtol)
        assert res.sand_time == np.inf  # the electrode never depletes with a constant X
        return res.interface_depletion_time

    coarse = depletion((100, 300), 1e-6)  # the former bridge mesh
    default = depletion((200, 600), 1e-6)  # the bridge's mesh now
    fine = depletion((400, 1200), 1e-6)
    tight = depletion((200, 600), 1e-8)
    assert abs(coarse / fine - 1) < 1e-4
    assert abs(default / fine - 1) < 2e-5
    assert abs(default / tight - 1) < 1e-6  # the tolerance's share is negligible
    semi_analytic = _volterra_interface_depletion_time(HUNG_X)
    assert fine == pytest.approx(semi_analytic, rel=5e-5)
    assert default == pytest.approx(semi_analytic, rel=1e-4)
    # the coating's co-ions released into the separator delay the depletion a little
    assert semi_analytic > tau


@pytest.mark.parametrize("tiny", [1e-9, 1e-3])
def test_limiting_current_is_continuous_as_the_constant_charge_vanishes(tiny):
    """J_lim jumped from 559.9 to 702.7 mA/cm^2 at X = 1e-3 (the fully depleted coating's
    interface limit, reached only when c- at the wall is e^-(10^6) of X)."""
    sep = Layer(20e-6, BULK_D, TP, 0.4, TAU_SEP, "separator")
    neutral = Layer(2e-6, BULK_D, TP, 0.35, TAU_COAT, "coating")
    charged = Layer(2e-6, BULK_D, TP, 0.35, TAU_COAT, "coating", fixed_charge=tiny)
    j0 = limiting_current([neutral, sep], SIX_M)
    assert j0 / 10 == pytest.approx(559.8676, rel=1e-6)
    assert limiting_current([charged, sep], SIX_M) == pytest.approx(j0, rel=1e-5)
    # the hard limit behind it (the depleted coating's interface) is what jumped
    assert fc.interface_limiting_current([charged, sep], SIX_M) > 1.2 * j0
    # and J_lim rises smoothly with X towards that limit
    values = [
        limiting_current([Layer(2e-6, BULK_D, TP, 0.35, TAU_COAT, fixed_charge=x), sep], SIX_M)
        for x in (1e-3, 1.0, 10.0, 100.0)
    ]
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("x", [1e-3, 30.0, 432.7, 5000.0])
def test_constant_charge_steady_profile_closed_form(x):
    """``2 c- + X ln c- = const + rate x`` and its exact integral against a numerical
    integration of the two Nernst-Planck flux equations (N- = 0, N+ = -J/F) for c-' and
    the field psi = f dphi/dx, solved as a 2x2 linear system at every point."""
    rate, length, c_start = 3e6, 2e-6, 0.7

    def rhs(_x, y):
        cm = y[0]
        a = np.array([[DM, -DM * cm], [DP, DP * (cm + x)]])
        dcm, _psi = np.linalg.solve(a, [0.0, rate * DP])  # N- = 0; N+ = -J/F = -rate g D+
        return [dcm, cm + x]

    sol = solve_ivp(rhs, (0.0, length), [c_start, 0.0], method="LSODA", rtol=1e-12, atol=1e-14)
    c_end, integral = fc.constant_charge_profile_end(c_start, x, rate, length)
    assert c_end == pytest.approx(sol.y[0, -1], rel=1e-8)
    assert integral == pytest.approx(sol.y[1, -1], rel=1e-8)


def test_trapped_fraction_bound_is_a_fraction():
    """Issue 19 item 7: N_T/c0 was printed as the bound, 450.7 % at 1 M with 0.69 mol/kg."""
    n_t = np.array([1.0, 521.0, 4507.0, 1e5])
    for c in (1000.0, 6000.0):
        bound = fc.max_trapped_fraction(c, n_t)
        _, cm = fc.donnan_partition(c, n_t)
        np.testing.assert_allclose(bound, 1 - (cm / c) ** 2, rtol=1e-12)
        assert np.all((bound > 0) & (bound < 1) & (bound < n_t / c))
    assert fc.max_trapped_fraction(6000.0, 1e-3) == pytest.approx(1e-3 / 6000.0, rel=1e-6)
    assert fc.max_trapped_fraction(1000.0, 4507.0) == pytest.approx(0.955093, rel=1e-6)
    # a trap layer at dG = -1 eV (every site filled) reaches it, and never exceeds it
    for dg in (-1.0, -0.2, 0.0):
        traps = TrapSites(4507.0, dg, T, 9635.0)
        cp = fc.equilibrium_li(traps, 1000.0)
        trapped = float(traps.trapped(fc.anion_from_total(traps, np.array([cp]))[0]))
        assert trapped / cp <= fc.max_trapped_fraction(1000.0, 4507.0) * (1 + 1e-12)
    assert trapped / cp < 0.5
    traps = TrapSites(4507.0, -1.0, T, 9635.0)
    cp = fc.equilibrium_li(traps, 1000.0)
    trapped = float(traps.trapped(fc.anion_from_total(traps, np.array([cp]))[0]))
    assert trapped / cp == pytest.approx(fc.max_trapped_fraction(1000.0, 4507.0), rel=1e-9)


@pytest.mark.parametrize(
    ("dg", "first"),
    [(0.1, "electrode"), (-0.1, "electrode"), (-0.3, "interface"), (-0.6, "interface")],
)
def test_electrode_and_interface_depletion_are_separate_events(dg, first):
    """Issue 19 item 3: the dendrite criterion is Li+ depletion at the plating electrode;
    the salt running out at the coating/separator interface is its own event. Weakly bound
    traps release their anions and Li+ runs out at the electrode; strongly bound ones keep
    c+ ~ N_T there, and the interface runs out first (the run ends: the model holds no
    longer), with that Li+ still at the electrode."""
    coat = Layer(2e-6, 1e-10, 0.5, 0.35, 1.7, "coating", traps=TrapSites(500.0, dg, T, 9635.0))
    sep = Layer(200e-6, D, TP, 0.4, 1.6, "separator")
    res = simulate([coat, sep], C0, 3 * limiting_current([coat, sep], C0))
    assert res.electrode_can_deplete
    if first == "electrode":
        assert np.isfinite(res.sand_time) and res.interface_depletion_time == np.inf
        assert res.surface[-1] == pytest.approx(0.0, abs=1e-6 * C0)  # Li+ at the wall
        assert np.isnan(res.electrode_li_at_interface_depletion)
    else:
        assert res.sand_time == np.inf and np.isfinite(res.interface_depletion_time)
        assert 0.5 * 500.0 < res.electrode_li_at_interface_depletion < C0
        assert res.surface[-1] == pytest.approx(res.electrode_li_at_interface_depletion, rel=1e-3)
