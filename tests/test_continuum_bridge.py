"""The adsorption -> mobility -> t+ -> Sand's time bridge, and reading the results DB."""

import numpy as np
import pytest

from atomistics.continuum import bridge as br
from atomistics.continuum.constants import BOLTZMANN_EV
from atomistics.continuum.resultsdb import read_all_binding_energies, read_binding_energy
from atomistics.errors import AtomisticsError

DE = br.competitive_adsorption_energy(-10.39, -8.35)


def test_competitive_adsorption_energy():
    assert DE == pytest.approx(-2.04)


def test_oriani_factor_hand_value():
    kt = BOLTZMANN_EV * 300.0
    factor = br.OrianiTrapping().anion_factor(-0.1, 300.0, 0.05)
    assert factor == pytest.approx(1.0 / (1.0 + 0.05 * np.exp(0.1 / kt)))
    # no overflow for the raw gas-phase energy
    assert 0.0 <= br.OrianiTrapping().anion_factor(-2.04, 300.0, 0.05) < 1e-30


def test_stack_transference_single_layer_and_series():
    one = br.LayerIons(20e-6, 1.0, 2.0, 0.4, 1.5)
    assert br.stack_transference_number([one]) == pytest.approx(1.0 / 3.0)
    blocked = br.LayerIons(20e-6, 1.0, 1e-12, 0.4, 1.5)  # anion immobile in an equal layer
    # num = L tau/eps (1/3 + 1/1), den = L tau/eps (1 + 1): t = (4/3)/2
    assert br.stack_transference_number([one, blocked]) == pytest.approx(2.0 / 3.0, rel=1e-9)


def test_trap_concentration_from_loading():
    c = br.Coating()
    sites_per_area = 0.57e-2 * 0.8 * 0.08  # kg/m^2 * - * mol/kg
    assert c.trap_concentration == pytest.approx(sites_per_area / (2e-6 * 0.35))
    assert c.implied_solid_fraction > 1.0  # 0.57 mg/cm^2 cannot fit in 2 um of solid


def test_calibration_to_coating_t_plus_reproduces_measurement():
    ely, sep, coat = br.Electrolyte(), br.Separator(), br.Coating()
    cal = br.calibrate_screening(0.32, 0.63, DE, ely, sep, coat, target="coating")
    assert cal.reachable and 0 < cal.screening < 1
    tr = br.coating_transport(DE, cal.screening, ely, sep, coat)
    assert tr.t_plus_coating == pytest.approx(0.63, abs=1e-9)


def test_stack_calibration_reports_unreachable_target():
    cal = br.calibrate_screening(0.32, 0.63, DE, br.Electrolyte(), br.Separator(), br.Coating())
    assert not cal.reachable and cal.screening is None
    assert cal.t_plus_range[1] < 0.63
    # a thick, tortuous coating can reach it
    thick = br.Coating(thickness=20e-6, porosity=0.2, loading=5.7e-2)
    cal2 = br.calibrate_screening(0.32, 0.63, DE, br.Electrolyte(), br.Separator(), thick)
    assert cal2.reachable
    tr = br.coating_transport(DE, cal2.screening, br.Electrolyte(), br.Separator(), thick)
    assert tr.t_plus_stack == pytest.approx(0.63, abs=1e-9)


def test_run_bridge_outputs_are_consistent():
    res = br.run_bridge(-10.39, -8.35)
    tr = res.transport
    assert tr.screening == pytest.approx(1 / 7.2)
    assert 0.32 < tr.t_plus_stack < tr.t_plus_coating < 1
    assert res.sand_time_effective_medium > res.sand_time_bare
    assert res.sand_time_layered == pytest.approx(res.sand_time_bare, rel=0.05)
    assert any("GIVEN" in n for n in res.notes)


def test_positive_delta_e_cannot_be_calibrated():
    with pytest.raises(AtomisticsError):
        br.calibrate_screening(0.32, 0.63, +0.5, br.Electrolyte(), br.Separator(), br.Coating())


def _write_db(path):
    import ase.db
    from ase import Atoms

    db = ase.db.connect(str(path))
    db.write(Atoms("Li"), study="limmt_fsi", kind="binding_energy", name="li_fsi", e_bind_ev=-8.35)
    db.write(
        Atoms("Li"), study="limmt_fsi", kind="binding_energy", name="limmt_fsi", e_bind_ev=-10.39
    )
    db.write(Atoms("Li"), study="other", kind="binding_energy", name="li_fsi", e_bind_ev=-1.0)
    db.write(Atoms("Li"), study="limmt_fsi", kind="energy", name="li_fsi", e_bind_ev=99.0)


def test_read_binding_energies_from_ase_db(tmp_path):
    path = tmp_path / "results.db"
    _write_db(path)
    assert read_binding_energy(path, "limmt_fsi", "li_fsi") == -8.35
    assert read_binding_energy(path, "limmt_fsi", "limmt_fsi") == -10.39
    assert read_all_binding_energies(path, "limmt_fsi") == {"li_fsi": -8.35, "limmt_fsi": -10.39}
    with pytest.raises(AtomisticsError, match="no binding energy 'nope'"):
        read_binding_energy(path, "limmt_fsi", "nope")
    with pytest.raises(AtomisticsError, match="not found"):
        read_binding_energy(tmp_path / "missing.db", "limmt_fsi", "li_fsi")
