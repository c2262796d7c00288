import numpy as np
import pytest

from atomistics.analysis import nucleation as nu
from atomistics.continuum.constants import FARADAY


@pytest.mark.parametrize("f", [nu.instantaneous, nu.progressive])
def test_curves_peak_at_one(f):
    x = np.linspace(0.2, 3, 28001)
    y = f(x)
    assert x[np.argmax(y)] == pytest.approx(1.0, abs=2e-3)
    assert f(1.0) == pytest.approx(1.0, abs=2e-4)


def test_nucleation_density_hand_value():
    im, tm, c = 120.0, 0.8, 6000.0  # A/m^2, s, mol/m^3
    expected = 0.065 * (FARADAY * c / (im * tm)) ** 2 * np.sqrt(534.0 / (8 * np.pi * c * 6.94e-3))
    assert nu.nucleation_density_instantaneous(im, tm, c) == pytest.approx(expected)
    # constant: 0.065 ≈ 1.2564 * 0.1629 / pi from t_m and i_m^2 t_m (Scharifker & Mostany)
    assert 1.2564 * 0.1629 / np.pi == pytest.approx(0.065, rel=3e-3)
    rate = nu.nucleation_rate_density_progressive(im, tm, c)
    assert rate == pytest.approx(
        0.2898 * (FARADAY * c) ** 2 / (im**2 * tm**3) * np.sqrt(534.0 / (8 * np.pi * c * 6.94e-3))
    )


@pytest.mark.parametrize("model", ["instantaneous", "progressive"])
def test_fit_recovers_parameters_from_noisy_transient(model):
    rng = np.random.default_rng(7)
    tm, im = 1.7, 85.0
    t = np.linspace(0.1, 6.0, 150)
    i = im * np.sqrt(nu.MODELS[model](t / tm)) * (1 + 0.02 * rng.standard_normal(t.size))
    res = nu.analyze_transient(t, -i, 6000.0)
    assert res.best == model
    fit = res.fits[model]
    assert fit.t_max == pytest.approx(tm, rel=0.02)
    assert fit.i_max == pytest.approx(im, rel=0.02)
    other = "progressive" if model == "instantaneous" else "instantaneous"
    assert res.fits[other].rms_relative > 2 * fit.rms_relative
