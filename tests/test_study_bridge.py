"""The study's bridge section drives the continuum bridge."""

import pytest

from atomistics.continuum.bridge import Coating, run_bridge
from atomistics.continuum.study_bridge import parse_bridge_spec, run_study_bridge
from atomistics.errors import AtomisticsError, StudySpecError
from atomistics.study import load_study, parse_study

PAPER = {"limmt_fsi": -10.39, "li_fsi": -8.35}


def test_study_bridge_calibrates_to_the_papers_transference_numbers(study_file):
    study = load_study(study_file)
    result = run_study_bridge(study.bridge, PAPER)
    assert result.calibration is not None and result.calibration.reachable
    assert result.transport.t_plus_coating == pytest.approx(0.63, abs=1e-6)
    assert any("FITTED" in note for note in result.notes)
    # same as calling the bridge directly with the section's numbers in SI
    direct = run_bridge(
        -10.39,
        -8.35,
        coating=Coating(thickness=2e-6, loading=0.57e-2, porosity=0.35),
        current_density=10.0,
        calibrate=(0.32, 0.63),
        calibrate_target="coating",
    )
    assert result.sand_time_bare == pytest.approx(direct.sand_time_bare, rel=1e-12)
    assert result.transport.t_plus_stack == pytest.approx(direct.transport.t_plus_stack, rel=1e-9)


def test_missing_binding_energy_is_reported(study_file):
    study = load_study(study_file)
    with pytest.raises(
        StudySpecError, match="bridge.surface_anion = 'limmt_fsi' is not a computed"
    ):
        run_study_bridge(study.bridge, {"li_fsi": -8.35})


@pytest.mark.parametrize(
    "section,message",
    [
        ({"coating": {"thicknes": "2 um"}}, "unknown key"),
        ({"coating": {"thickness": "2 kg"}}, "bridge.coating.thickness"),
        ({"model": "magic"}, "bridge.model"),
        ({"screening": 3.0}, "bridge.screening"),
    ],
)
def test_bad_bridge_sections(section, message):
    with pytest.raises(AtomisticsError, match=message):
        run_study_bridge(section, PAPER) if "coating" in section else parse_bridge_spec(section)


def test_bridge_reference_checked_at_load(study_file):
    text = study_file.read_text().replace("surface_anion: limmt_fsi", "surface_anion: nope")
    with pytest.raises(StudySpecError, match="bridge.surface_anion = 'nope'"):
        parse_study(text, "x.yaml")


def test_run_prints_the_bridge_for_the_runs_binding_energies(study_file, capsys):
    from atomistics import binding as bind
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
    assert "COMPUTED  competitive adsorption dE = -5.5 eV" in out
    assert "FITTED" in out and "Continuum bridge (study limmt_fsi, xtb" in out


def test_run_reports_a_bridge_that_does_not_apply(study_file, capsys):
    from atomistics import binding as bind
    from atomistics.cli.run import _print_bridge

    study = load_study(study_file)
    # the surface binds FSI⁻ less than Li⁺ does: nothing to calibrate, reported, not raised
    energies = {"li_fsi": -8.0, "li": -1.0, "fsi": -2.0, "limmt_fsi": -9.5, "limmt": -7.5}
    computed = [
        bind.compute("li_fsi", "li_fsi", ["li", "fsi"], energies),
        bind.compute("limmt_fsi", "limmt_fsi", ["limmt", "fsi"], energies),
    ]
    _print_bridge(study, computed, "xtb")
    assert "not evaluated: dE = +5.000 eV >= 0" in capsys.readouterr().out
