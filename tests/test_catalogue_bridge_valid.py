"""Issue 19 item 7: bridge inputs that are valid physics but hung or printed nonsense.

The cases live with the bridge's bad-input cases (``tests/catalogue_cases_bridge.py``,
``VALID_CASES``). Each runs the real console entry point in-process from a fresh folder and
must exit 0 without a traceback, answer within 60 s (``--model tms-frozen`` at the
defaults ran for > 14 min before), and pass its own check of the printed text.
"""

from __future__ import annotations

import time

import pytest
from catalogue_cases_bridge import VALID_CASES

from atomistics.cli import main


@pytest.mark.parametrize(("argv", "check"), [pytest.param(a, c, id=i) for i, a, c in VALID_CASES])
def test_valid_bridge_input_answers(argv, check, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    rc = main(list(argv))
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert rc == 0, f"exit {rc}\nstderr: {err}"
    assert elapsed < 60, f"took {elapsed:.1f} s"
    check(out)
