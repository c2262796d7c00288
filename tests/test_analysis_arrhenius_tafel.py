from pathlib import Path

import numpy as np
import pytest

from atomistics.analysis.arrhenius import arrhenius_fit
from atomistics.analysis.csvdata import read_columns
from atomistics.analysis.tafel import tafel_fit
from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.errors import AtomisticsError

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("ea", [7320.0, 13730.0])
def test_arrhenius_recovers_activation_energy(ea):
    t = np.array([283.0, 298.0, 313.0, 328.0])
    r = 3.0 * np.exp(ea / (GAS_CONSTANT * t))
    fit = arrhenius_fit(t, r)
    assert fit.activation_energy == pytest.approx(ea, rel=1e-9)
    assert fit.r_squared == pytest.approx(1.0)


def test_arrhenius_rejects_nonpositive():
    with pytest.raises(AtomisticsError):
        arrhenius_fit([0.0, 300.0], [1.0, 2.0])


def test_csv_units_are_converted():
    cols = read_columns(
        DATA / "arrhenius.csv",
        {"t": (("temperature",), "temperature", None), "r": (("resistance",), "resistance", None)},
    )
    assert cols["t"][0] == pytest.approx(298.15)
    assert arrhenius_fit(cols["t"], cols["r"]).activation_energy == pytest.approx(13730.0, rel=1e-6)


def test_tafel_recovers_exchange_current_from_butler_volmer():
    i0, alpha, temp = 13.0, 0.5, 298.15  # A/m^2
    f = FARADAY / (GAS_CONSTANT * temp)
    eta = np.linspace(-0.3, 0.3, 121)
    i = i0 * (np.exp(alpha * f * eta) - np.exp(-(1 - alpha) * f * eta))
    fit = tafel_fit(eta, i, (0.15, 0.3))
    assert fit.exchange_current_density == pytest.approx(i0, rel=5e-3)
    assert fit.branches["cathodic"].transfer_coefficient == pytest.approx(0.5, rel=1e-2)


def test_tafel_window_without_points_raises():
    with pytest.raises(AtomisticsError, match="window"):
        tafel_fit([0.01, 0.02, 0.03], [1.0, 2.0, 3.0])


def test_csv_missing_column_names_fix(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("foo [s],bar [A]\n1,2\n")
    with pytest.raises(AtomisticsError, match="no column"):
        read_columns(p, {"time": (("time",), "time", None)})
