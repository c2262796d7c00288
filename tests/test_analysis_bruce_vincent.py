import pytest

from atomistics.analysis.bruce_vincent import bruce_vincent_t_plus
from atomistics.errors import AtomisticsError


def test_hand_value():
    # 20e-6 (0.01 - 50e-6*100) / (50e-6 (0.01 - 20e-6*120)) = 1e-7 / 3.8e-7
    assert bruce_vincent_t_plus(0.01, 50e-6, 20e-6, 100.0, 120.0) == pytest.approx(1 / 3.8)


def test_no_interface_resistance_is_current_ratio():
    assert bruce_vincent_t_plus(0.01, 50e-6, 16e-6, 0.0, 0.0) == pytest.approx(0.32)


@pytest.mark.parametrize(
    "args", [(0.01, 50e-6, 60e-6, 1, 1), (0.01, 50e-6, 20e-6, 1e3, 1), (-0.01, 1, 1, 1, 1)]
)
def test_bad_input(args):
    with pytest.raises(AtomisticsError):
        bruce_vincent_t_plus(*args)
