"""The study's bridge section drives the continuum bridge."""

from types import SimpleNamespace

import pytest

from atomistics.continuum.bridge import run_bridge
from atomistics.continuum.coating_model import Coating, free_energy_from_screening
from atomistics.continuum.study_bridge import parse_bridge_spec, parse_spread, run_study_bridge
from atomistics.errors import AtomisticsError, StudySpecError
from atomistics.study import load_study, parse_study

PAPER = {"limmt_fsi": -10.39, "li_fsi": -8.35}
#: the bridge's numerics for tests of the section's plumbing (the physics tests use the defaults)
CHEAP = {"cells": 120, "band_points": 3}


def test_study_bridge_falls_back_to_the_fitted_screening_and_says_so(study_file):
    study = load_study(study_file)
    assert study.bridge["exchange"] == "limmt_exchange"
    result = run_study_bridge(study.bridge, PAPER, **CHEAP)
    assert result.free_energy.origin == "screening" and result.free_energy.fitted
    assert any("not computed" in n and "FITTED" in n for n in result.notes)
    # the study calibrates the whole stack to 0.63, which this geometry cannot reach
    assert result.calibration is not None and result.calibration.target == "stack"
    assert not result.calibration.reachable and "CANNOT REACH" in result.calibration.note
    # same as calling the bridge directly with the section's numbers in SI
    direct = run_bridge(
        free_energy_from_screening(-10.39, -8.35),
        # the section gives loading and porosity (thickness derived: 2 um cannot hold 0.57 mg/cm^2)
        coating=Coating(loading=0.57e-2, porosity=0.35),
        current_density=10.0,
        calibrate=(0.32, 0.63),
        **CHEAP,
    )
    # (rel 1e-9: the section's quantities pass through pint, e.g. "20 um" -> 1.9999999999999998e-05 m)
    assert result.pe.sand_time_semi_infinite == pytest.approx(
        direct.pe.sand_time_semi_infinite, rel=1e-9
    )
    assert result.transport.t_plus_stack == pytest.approx(direct.transport.t_plus_stack, rel=1e-9)


def test_study_bridge_uses_the_exchange_reaction_when_computed(study_file):
    study = load_study(study_file)
    rx = SimpleNamespace(name="limmt_exchange", energy_ev=-0.3, converged=True, engine="xtb")
    result = run_study_bridge(study.bridge, PAPER, {"limmt_exchange": rx}, **CHEAP)
    fe = result.free_energy
    assert fe.origin == "exchange" and fe.delta_g_ev == pytest.approx(-0.3) and fe.engine == "xtb"
    assert "gas-phase" in fe.solvation
    with pytest.raises(AtomisticsError, match="unconverged"):
        run_study_bridge(
            study.bridge, None, {"limmt_exchange": -0.3}, converged={"limmt_exchange": False}
        )
    ok = run_study_bridge(
        study.bridge,
        None,
        {"limmt_exchange": -0.3},
        converged={"limmt_exchange": False},
        allow_unconverged=True,
        **CHEAP,
    )
    assert "UNCONVERGED" in ok.free_energy.solvation


def test_missing_energies_are_reported(study_file):
    study = load_study(study_file)
    with pytest.raises(
        StudySpecError, match="bridge.surface_anion = 'limmt_fsi' is not a computed"
    ):
        run_study_bridge(study.bridge, {"li_fsi": -8.35})


def test_spread_parsing():
    assert parse_spread(None, "exchange") == {
        "site-to-site": 0.10,
        "xtb-vs-DFT": 0.15,
        "D3-variant": 0.05,
    }
    assert parse_spread("0.2 eV", "exchange") == {"total": 0.2}
    assert parse_spread("site-to-site=0.1 eV, D3=50 meV", "x") == pytest.approx(
        {"site-to-site": 0.1, "D3": 0.05}
    )
    with pytest.raises(AtomisticsError, match=">= 0"):
        parse_spread({"a": "-0.1 eV"}, "x")


@pytest.mark.parametrize(
    "section,message",
    [
        ({"coating": {"thicknes": "2 um"}}, "unknown key"),
        ({"coating": {"thickness": "2 kg"}}, "bridge.coating.thickness"),
        ({"model": "magic"}, "bridge.model"),
        ({"screening": 3.0}, "bridge.screening"),
        ({"surface": "side"}, "bridge.surface"),
        ({"calibrate_target": "cell"}, "bridge.calibrate_target"),
    ],
)
def test_bad_bridge_sections(section, message):
    with pytest.raises(AtomisticsError, match=message):
        run_study_bridge(section, PAPER) if "coating" in section else parse_bridge_spec(section)


def test_calibration_target_defaults_to_the_stack():
    assert parse_bridge_spec({}).calibrate_target == "stack"


def test_bridge_reference_checked_at_load(study_file):
    text = study_file.read_text().replace("surface_anion: limmt_fsi", "surface_anion: nope")
    with pytest.raises(StudySpecError, match="bridge.surface_anion = 'nope'"):
        parse_study(text, "x.yaml")


def test_run_prints_the_bridge_for_the_runs_binding_energies(study_file, capsys):
    from atomistics import reactions as bind
    from atomistics.cli.run import _print_bridge

    study = load_study(study_file)
    energies = {"li_fsi": -8.0, "li": -1.0, "fsi": -2.0, "limmt_fsi": -20.0, "limmt": -7.5}
    computed = [
        bind.compute("li_fsi", "li_fsi", ["li", "fsi"], energies),
        bind.compute("limmt_fsi", "limmt_fsi", ["limmt", "fsi"], energies),
    ]
    _print_bridge(study, computed, "xtb")
    out = capsys.readouterr().out
    # dE = E_bind(limmt_fsi) - E_bind(li_fsi) = (-20 + 7.5 + 2) - (-8 + 1 + 2) = -5.5 eV
    assert "competitive dE = -5.5 eV" in out
    assert "FITTED" in out and "Continuum bridge (study limmt_fsi, xtb" in out
    assert "VERDICT" in out and "CANNOT REACH" in out
