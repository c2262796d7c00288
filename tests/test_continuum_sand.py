"""Analytic continuum results: Sand's time, diffusion solutions, steady state, limiting current."""

import numpy as np
import pint
import pytest

from atomistics.continuum import sand
from atomistics.continuum.constants import FARADAY
from atomistics.errors import AtomisticsError

C0, D, J, TP = 1000.0, 3e-10, 10.0, 0.32  # 1 M, 3e-10 m^2/s, 1 mA/cm^2


def test_sand_time_hand_value():
    # pi * 3e-10 * (96485.332 * 1000)^2 / (4 * 10^2 * 0.68^2), evaluated by hand: 47436.9 s
    expected = np.pi * 3e-10 * (96485.33212 * 1000) ** 2 / (4 * 100 * 0.68**2)
    assert sand.sand_time(C0, D, J, TP) == pytest.approx(expected, rel=1e-9)
    assert sand.sand_time(C0, D, J, TP) == pytest.approx(47436.9, rel=1e-5)


def test_surface_concentration_vanishes_at_sand_time():
    tau = sand.sand_time(C0, D, J, TP)
    assert sand.surface_concentration_semi_infinite(tau, C0, D, J, TP) == pytest.approx(
        0.0, abs=1e-9
    )
    assert sand.surface_concentration_semi_infinite(0.0, C0, D, J, TP) == C0


def test_paper_eq1_as_printed_has_units_of_length_and_corrected_form_matches():
    ureg = pint.UnitRegistry()
    d = ureg.Quantity(D, "m^2/s")
    e_c0 = ureg.Quantity(FARADAY * C0, "C/m^3")
    j = ureg.Quantity(J, "A/m^2")
    printed = np.pi * d * e_c0 * 1.0**2 / (2 * j * 0.5)
    assert printed.to_base_units().dimensionality == ureg.m.dimensionality
    corrected = np.pi * d * (e_c0 * 1.0 / (2 * j * 0.5)) ** 2
    assert corrected.to_base_units().dimensionality == ureg.s.dimensionality
    mu_a, mu_li = 0.68, 0.32
    assert sand.sand_time_from_mobilities(C0, D, J, mu_a, mu_li) == pytest.approx(
        sand.sand_time(C0, D, J, 0.32)
    )


def test_d_vs_d_plus_held_fixed_scalings():
    t = np.array([0.32, 0.63])
    tau_d = sand.sand_time_vs_t_plus(C0, D, J, t, hold="D")
    tau_dp = sand.sand_time_vs_t_plus(C0, D, J, t, hold="D_plus", t_plus_ref=0.32)
    assert tau_d[1] / tau_d[0] == pytest.approx((0.68 / 0.37) ** 2)
    assert tau_dp[1] / tau_dp[0] == pytest.approx(0.68 / 0.37)
    assert tau_dp[0] == pytest.approx(tau_d[0])  # same cell at the reference t+


def test_ambipolar_and_transference_round_trip():
    dp, dm = sand.ion_diffusivities(D, TP)
    assert sand.ambipolar_diffusivity(dp, dm) == pytest.approx(D)
    assert sand.transference_number(dp, dm) == pytest.approx(TP)
    assert sand.ambipolar_diffusivity(1e-9, 1e-9) == pytest.approx(1e-9)


def test_porous_sand_time_uses_eps_times_deff():
    eps, b = 0.4, 1.5
    tort = sand.bruggeman_tortuosity(eps, b)
    assert sand.effective_diffusivity(D, eps, tort) == pytest.approx(eps**b * D)
    porous = sand.sand_time(C0, D, J, TP, eps, tort)
    assert porous == pytest.approx(sand.sand_time(C0, eps**2.5 * D, J, TP))


def test_finite_cell_series_and_images_agree_and_limits():
    length = 25e-6
    x = np.linspace(0, length, 11)
    jj = 3 * sand.limiting_current_density(C0, D, TP, length)
    t_cross = 0.25 * length**2 / D
    below = sand.finite_cell_concentration(x, t_cross * (1 - 1e-7), C0, D, jj, TP, length)
    above = sand.finite_cell_concentration(x, t_cross * (1 + 1e-7), C0, D, jj, TP, length)
    np.testing.assert_allclose(below, above, rtol=1e-6)
    # early times: semi-infinite surface value
    t_small = 1e-4 * length**2 / D
    assert sand.finite_cell_concentration(0.0, t_small, C0, D, jj, TP, length) == pytest.approx(
        sand.surface_concentration_semi_infinite(t_small, C0, D, jj, TP), rel=1e-12
    )
    # late times: the steady linear profile, salt conserved
    late = sand.finite_cell_concentration(x, 5 * length**2 / D, C0, 0.5 * D, J, TP, length)
    np.testing.assert_allclose(
        late, sand.steady_state_profile(x, C0, 0.5 * D, J, TP, length), rtol=1e-9
    )


def test_limiting_current_zeroes_the_steady_surface_concentration():
    length = 25e-6
    j_lim = sand.limiting_current_density(C0, D, TP, length)
    assert j_lim == pytest.approx(2 * FARADAY * D * C0 / (0.68 * length))
    assert sand.steady_state_profile(0.0, C0, D, j_lim, TP, length) == pytest.approx(0.0, abs=1e-9)
    assert sand.finite_cell_sand_time(C0, D, 0.99 * j_lim, TP, length) == np.inf
    tau = sand.finite_cell_sand_time(C0, D, 2 * j_lim, TP, length)
    assert sand.finite_cell_concentration(0.0, tau, C0, D, 2 * j_lim, TP, length) == pytest.approx(
        0, abs=1e-9
    )
    assert tau > sand.sand_time(C0, D, 2 * j_lim, TP)  # the far electrode feeds salt back


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(t_plus=1.0),
        dict(t_plus=-0.1),
        dict(c0=-1.0),
        dict(current_density=0.0),
        dict(porosity=1.5),
    ],
)
def test_bad_input_raises(kwargs):
    args = dict(c0=C0, diffusivity=D, current_density=J, t_plus=TP) | kwargs
    with pytest.raises(AtomisticsError):
        sand.sand_time(**args)
