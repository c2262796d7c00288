"""An SCF that stops keeps its history, and the parser says where it stopped.

Fixtures are real CP2K 2023.1 outputs (tests/data/outputs/make_fixtures.py):
``h2o_killed_in_scf`` was killed with SIGKILL (as a scheduler does) once SCF step 4 was
printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atomistics.parse.cp2k import parse_cp2k_output

DATA = Path(__file__).parent / "data" / "outputs"


def _parse(tmp_path: Path, name: str):
    shutil.copy(DATA / f"{name}.out", tmp_path / "cp2k.out")
    shutil.copy(DATA / f"{name}.inp", tmp_path / "cp2k.inp")
    return parse_cp2k_output(tmp_path)


def _is_scf_row(words: list[str]) -> bool:
    """'4 Broy./Diag. 0.50E-01 0.8 0.01429314 -17.5986216098 -1.39E+00' and the like."""
    if len(words) not in (7, 8) or not words[0].isdigit() or "E" not in words[-1]:
        return False
    try:
        float(words[-3]), float(words[-2]), float(words[-1])
    except ValueError:
        return False
    return "E" in words[-5]  # the step size column


def _convergence_columns(name: str) -> list[list[float]]:
    """The 'Convergence' column of every SCF run, read by splitting the text: runs end at
    CP2K's 'SCF run ... converged' lines."""
    runs, current = [], []
    for line in (DATA / f"{name}.out").read_text().splitlines():
        if _is_scf_row(line.split()):
            current.append(float(line.split()[-3]))
        if "SCF run converged in" in line or "SCF run NOT converged" in line:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def test_killed_inside_the_scf_keeps_its_steps_and_says_where(tmp_path):
    parsed = _parse(tmp_path, "h2o_killed_in_scf")
    assert parsed.stopped_in_scf and not parsed.completed
    assert parsed.scf_history == [False] and parsed.scf_converged is False
    assert parsed.scf_steps == _convergence_columns("h2o_killed_in_scf")
    assert len(parsed.scf_steps[0]) == 4
    assert any("stopped inside SCF run 1 after 4 step(s)" in w for w in parsed.warnings)


def test_finished_runs_are_unchanged(tmp_path):
    li = _parse(tmp_path, "li_single_point")
    assert li.scf_history == [True] and not li.stopped_in_scf
    assert li.scf_steps == _convergence_columns("li_single_point")
    assert li.scf_steps[0][-1] < 1e-6  # EPS_SCF of the quick preset


@pytest.mark.parametrize(
    "name, runs",
    [("h2o_geo_first_scf_unconverged", 7), ("fsi_scf_unconverged", 1)],
)
def test_one_step_list_per_scf_run(tmp_path, name, runs):
    parsed = _parse(tmp_path, name)
    assert len(parsed.scf_steps) == len(parsed.scf_history) == runs
    assert not parsed.stopped_in_scf
    assert parsed.scf_steps == _convergence_columns(name)
