"""Every folder the tool writes resolves inside the folder the user chose (issue 12, item 2):
calculation folders (run and FireWorks), `inputs` system folders; names or symlinks that
would lead out are refused with one line, exit 2, nothing written outside."""

from __future__ import annotations

import pytest
from ase import Atoms
from mini_study import MINI_STUDY

from atomistics.errors import AtomisticsError
from atomistics.execution.steps import Calculation, calc_directory


def _calc(study: str, name: str) -> Calculation:
    return Calculation(
        study=study, name=name, stage="relax", atoms=Atoms("Li"), engine="xtb",
        engine_version="x", protocol="xtb", settings={}, calc_hash="0123456789abcdef",
    )  # fmt: skip


def test_calc_directory_refuses_names_that_escape(tmp_path):
    assert (
        calc_directory(_calc("s", "li"), tmp_path) == tmp_path / "s" / "li" / "relax-0123456789ab"
    )
    for study, name in (("..", "x"), ("s", "../../x"), ("/etc", "x"), ("s", "/tmp/x")):
        with pytest.raises(AtomisticsError, match="outside the output folder"):
            calc_directory(_calc(study, name), tmp_path / "work")


def test_run_refuses_a_study_folder_symlinked_out_of_the_workdir(run_cli, tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "mini").symlink_to(outside)
    rc, _, err = run_cli("run", "mini.yaml", "--workdir", "work", "--db", "r.db")
    assert rc == 2 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]  # (and a progress bar)
    assert "outside the output folder" in line and "work" in line
    assert not list(outside.iterdir())


@pytest.mark.cp2k
def test_inputs_refuses_a_system_folder_symlinked_out(run_cli, tmp_path):
    (tmp_path / "mini.yaml").write_text(MINI_STUDY.replace("engine: xtb", "engine: cp2k"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "li").symlink_to(outside)
    rc, _, err = run_cli("inputs", "mini.yaml", "-o", "out", "--system", "li", "--no-validate")
    assert rc == 2 and "Traceback" not in err and "outside the output folder" in err
    assert not list(outside.iterdir())
