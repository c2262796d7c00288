"""The finite-volume solver against the analytic results."""

import numpy as np
import pytest

from atomistics.continuum import sand
from atomistics.continuum.constants import FARADAY
from atomistics.continuum.transport import (
    Layer,
    depletion_zone,
    discretise,
    limiting_current,
    simulate,
    steady_state,
)
from atomistics.errors import AtomisticsError

C0, D, TP = 1000.0, 3e-10, 0.32
LENGTH = 25e-6


def test_semi_infinite_sand_time_within_1e4():
    j = 100.0
    tau = sand.sand_time(C0, D, j, TP)
    long_cell = Layer(10 * np.sqrt(D * tau), D, TP)
    res = simulate([long_cell], C0, j)
    assert res.sand_time == pytest.approx(tau, rel=1e-4)


def test_porous_semi_infinite_sand_time():
    eps, tort, j = 0.4, 0.4**-0.5, 100.0
    tau = sand.sand_time(C0, D, j, TP, eps, tort)
    layer = Layer(10 * np.sqrt(D / tort * tau), D, TP, eps, tort)
    assert simulate([layer], C0, j).sand_time == pytest.approx(tau, rel=1e-4)


def test_finite_cell_profiles_and_sand_time_match_series():
    j = 2 * sand.limiting_current_density(C0, D, TP, LENGTH)
    tau = sand.finite_cell_sand_time(C0, D, j, TP, LENGTH)
    times = [0.1 * tau, 0.5 * tau]
    res = simulate([Layer(LENGTH, D, TP)], C0, j, profile_times=times)
    assert res.sand_time == pytest.approx(tau, rel=1e-4)
    for t, c in zip(res.profile_times, res.profiles, strict=True):
        exact = sand.finite_cell_concentration(res.x, t, C0, D, j, TP, LENGTH)
        assert np.max(np.abs(c - exact)) < 1e-4 * C0


def test_limiting_current_and_steady_state():
    layer = Layer(LENGTH, D, TP, 0.4, 1.6)
    j_lim = sand.limiting_current_density(C0, D, TP, LENGTH, 0.4, 1.6)
    assert limiting_current([layer], C0) == pytest.approx(j_lim, rel=1e-10)
    x, c, cs = steady_state([layer], C0, 0.5 * j_lim)
    np.testing.assert_allclose(
        c, sand.steady_state_profile(x, C0, D, 0.5 * j_lim, TP, LENGTH, 0.4, 1.6), rtol=1e-10
    )
    assert cs == pytest.approx(0.5 * C0)
    # below J_lim the transient approaches the steady state and never depletes
    res = simulate([layer], C0, 0.5 * j_lim)
    assert res.sand_time == np.inf
    np.testing.assert_allclose(res.final, c, atol=1e-5 * C0)


def test_identical_layers_equal_one_layer():
    j = 3 * sand.limiting_current_density(C0, D, TP, LENGTH)
    one = simulate([Layer(LENGTH, D, TP)], C0, j).sand_time
    two = simulate([Layer(0.1 * LENGTH, D, TP), Layer(0.9 * LENGTH, D, TP)], C0, j).sand_time
    assert two == pytest.approx(one, rel=1e-4)


def test_layered_steady_state_slopes_follow_each_layer_t_plus():
    coat = Layer(2e-6, 1e-10, 0.8, 0.35, 1.7)
    sep = Layer(20e-6, D, TP, 0.4, 1.6)
    j = 10.0
    x, c, _ = steady_state([coat, sep], C0, j)
    disc = discretise([coat, sep])
    for k, layer in enumerate((coat, sep)):
        xs, cs = x[disc.layer_index == k], c[disc.layer_index == k]
        slope = np.polyfit(xs, cs, 1)[0]
        assert slope == pytest.approx(
            j * (1 - layer.t_plus) / (FARADAY * layer.effective_diffusivity), rel=1e-8
        )


def test_migration_term_conserves_salt_and_changes_the_answer():
    coat_high = Layer(2e-6, D, 0.9)
    sep = Layer(20e-6, D, TP)
    j = 20 * sand.limiting_current_density(C0, D, TP, 22e-6)
    res = simulate([coat_high, sep], C0, j, profile_times=[1e-3])
    disc = discretise([coat_high, sep])
    assert np.sum(disc.storage * res.profiles[0]) == pytest.approx(
        C0 * np.sum(disc.storage), rel=1e-12
    )
    plain = simulate([Layer(2e-6, D, TP), sep], C0, j).sand_time
    assert res.sand_time > 1.5 * plain  # higher t+ at the electrode delays depletion


def test_bad_layer_raises():
    with pytest.raises(AtomisticsError):
        Layer(-1e-6, D, TP)
    with pytest.raises(AtomisticsError):
        Layer(1e-6, D, 1.2)
    with pytest.raises(AtomisticsError):
        simulate([Layer(1e-6, D, TP)], -1.0, 10.0)


def test_modal_sand_time_matches_bdf2_and_analytic():
    j = 100.0
    tau = sand.sand_time(C0, D, j, TP)
    long_cell = Layer(10 * np.sqrt(D * tau), D, TP)
    modal = simulate([long_cell], C0, j)
    assert modal.method == "modal" and modal.n_modes > 0
    assert modal.sand_time == pytest.approx(tau, rel=1e-4)
    bdf2 = simulate([long_cell], C0, j, method="bdf2", rtol=1e-10)
    assert modal.sand_time == pytest.approx(bdf2.sand_time, rel=1e-6)


def test_modal_profiles_match_series_and_stay_exact_at_early_times():
    j = 2 * sand.limiting_current_density(C0, D, TP, LENGTH)
    tau = sand.finite_cell_sand_time(C0, D, j, TP, LENGTH)
    times = [0.0, 1e-4 * tau, 0.1 * tau, 0.5 * tau, 2 * tau]  # the last is after Sand's time
    res = simulate([Layer(LENGTH, D, TP)], C0, j, profile_times=times, method="modal")
    assert res.sand_time == pytest.approx(tau, rel=1e-4)
    np.testing.assert_array_equal(res.profile_times, times[:4])
    np.testing.assert_array_equal(res.profiles[0], C0)
    for t, c in zip(res.profile_times[1:], res.profiles[1:], strict=True):
        exact = sand.finite_cell_concentration(res.x, t, C0, D, j, TP, LENGTH)
        assert np.max(np.abs(c - exact)) < 1e-4 * C0


def test_modal_layered_stack_matches_bdf2():
    coat = Layer(2e-6, 1e-10, 0.8, 0.35, 1.7, "coating")
    sep = Layer(20e-6, D, TP, 0.4, 1.6, "separator")
    j = 20 * limiting_current([coat, sep], C0)
    modal = simulate([coat, sep], C0, j, profile_times=[1e-3])
    bdf2 = simulate([coat, sep], C0, j, profile_times=[1e-3], method="bdf2", rtol=1e-10)
    assert np.isfinite(modal.sand_time)
    assert modal.sand_time == pytest.approx(bdf2.sand_time, rel=1e-6)
    np.testing.assert_allclose(modal.profiles, bdf2.profiles, atol=1e-6 * C0)
    # the modal solution conserves salt exactly (the source only redistributes it)
    disc = discretise([coat, sep], 400, 1.01, depletion_zone([coat, sep], C0, j))
    assert np.sum(disc.storage * modal.final) == pytest.approx(C0 * np.sum(disc.storage), rel=1e-12)


def test_modal_below_limiting_current_reaches_steady_state():
    layer = Layer(LENGTH, D, TP)
    j = 0.5 * limiting_current([layer], C0)
    res = simulate([layer], C0, j, method="modal")
    assert res.sand_time == np.inf
    _, c_ss, _ = steady_state([layer], C0, j)
    np.testing.assert_allclose(res.final, c_ss, atol=1e-9 * C0)


def test_unknown_method_raises():
    with pytest.raises(AtomisticsError):
        simulate([Layer(1e-6, D, TP)], C0, 10.0, method="rk4")


def test_module_layering_no_cycle_no_backend_switch(tmp_path):
    """modal does not import transport; plots neither imports analysis nor switches backend."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, matplotlib\n"
        "import atomistics.continuum.modal\n"
        "assert 'atomistics.continuum.transport' not in sys.modules\n"
        "import numpy as np\n"
        "from atomistics.continuum import plots\n"
        "from atomistics.continuum.transport import Layer, simulate\n"
        "assert not [m for m in sys.modules if m.startswith('atomistics.analysis')]\n"
        "res = simulate([Layer(1e-4, 3e-10, 0.32)], 1000.0, 100.0, profile_times=[1.0])\n"
        f"plots.plot_profiles(res, {str(tmp_path / 'p.png')!r})\n"
        "assert matplotlib.get_backend().lower() == 'svg', matplotlib.get_backend()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p.png").stat().st_size > 5_000


def test_dead_code_is_gone():
    from atomistics.continuum import study_bridge, transport

    assert not hasattr(transport, "sand_time_numerical")
    assert not hasattr(study_bridge, "run_study_bridge_from_db")


@pytest.mark.parametrize("layered", [False, True])
def test_krylov_modes_match_the_eigensolver(layered):
    """The shift-invert Krylov expansion equals the eigen-decomposition past t_valid."""
    from atomistics.continuum.modal import modal_expansion

    if layered:
        layers = [Layer(2e-6, 1e-10, 0.8, 0.35, 1.7), Layer(20e-6, D, TP, 0.4, 1.6)]
        j = 20 * limiting_current(layers, C0)
    else:
        j = 100.0
        layers = [Layer(10 * np.sqrt(D * sand.sand_time(C0, D, j, TP)), D, TP)]
    disc = discretise(layers, 400, 1.01, depletion_zone(layers, C0, j))
    t_valid = 0.5 * simulate(layers, C0, j, disc=disc).sand_time
    fast = modal_expansion(disc, C0, j, t_valid)
    ref = modal_expansion(disc, C0, j, t_valid, method="eigh")
    assert fast.n_modes < ref.n_modes + 5
    times = t_valid * 2.0 ** np.linspace(0, 12, 60)
    np.testing.assert_allclose(fast.surface(times), ref.surface(times), atol=1e-9 * C0)
    np.testing.assert_allclose(
        fast.concentration(times[::10]), ref.concentration(times[::10]), atol=1e-8 * C0
    )
