"""A bad value in the study's bridge: section fails when the study loads (exit 2, one line),
before `build` writes or `run`/`submit`/`inputs` compute anything."""

from __future__ import annotations

import pytest
from mini_study import MINI_STUDY

BAD = {
    "temperature": ("electrolyte: {temperature: -5 K}", "bridge.electrolyte.temperature"),
    "porosity": ("separator: {porosity: .nan}", "bridge.separator.porosity"),
    "current": ("current_density: -1 mA/cm^2", "bridge.current_density"),
    # issue 19: a c0 other than 6 M without its D and t+; the paper's impossible coating
    "c0": ("electrolyte: {c0: 1 mol/L}", "bridge.electrolyte.diffusivity"),
    "geometry": (
        "coating: {thickness: 2 um, loading: 0.57 mg/cm^2}",
        "bridge.coating.thickness",
    ),
}


def _study(tmp_path, bad: str):
    text = MINI_STUDY + f"bridge:\n  cation_anion: li_fsi\n  surface_anion: li_fsi\n  {bad}\n"
    (tmp_path / "mini.yaml").write_text(text)


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["run", "build", "submit"])
def test_bad_bridge_value_fails_before_any_work(run_cli, tmp_path, case, command):
    bad, key = BAD[case]
    _study(tmp_path, bad)
    args = {
        "run": ["run", "mini.yaml", "--workdir", "work", "--db", "r.db", "--no-progress"],
        "build": ["build", "mini.yaml", "-o", "built"],
        "submit": ["submit", "mini.yaml", "--db", "r.db", "--workdir", "work"],
    }[command]
    rc, out, err = run_cli(*args)
    assert rc == 2 and "Traceback" not in err, err
    (line,) = err.strip().splitlines()
    assert key in line
    # nothing computed, built or submitted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.yaml"]


def test_good_bridge_section_still_loads(tmp_path):
    from atomistics.cli.study_check import load_checked_study

    _study(tmp_path, "electrolyte: {temperature: 25 degC}")
    assert load_checked_study(tmp_path / "mini.yaml").bridge["electrolyte"]["temperature"]
