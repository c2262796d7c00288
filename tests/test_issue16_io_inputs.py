"""Issue 16, io part: outcomes beyond "exit 2, one line" (the catalogue holds those cases).

11. ``start_from`` geometries outside the cell are refused naming the system and the
    numbers, a good one still builds, and ``build`` never prints a negative vacuum;
12. ``inputs --ranks 0`` is refused like ``--ranks -3``, and a refused ``inputs`` leaves
    the output folder as it found it (no new folders, replaced files restored);
13. a binary LaunchPad file is named as "not a YAML LaunchPad file";
14. a corrupt ``FW_config.yaml`` written by ``submit`` is detected by ``atomistics status``
    (before FireWorks' own tools crash on it), and the fix the message names works;
20. a CP2K input with a Latin-1 byte in a comment is accepted, as the real CP2K accepts it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from catalogue_cases_io import (
    BROKEN_FW_CONFIG,
    GOOD_STUDY,
    START_FROM_STUDY,
    placed_file,
    random_bytes,
)
from cli_helpers import atomistics, venv_script
from mini_study import MINI_STUDY

from atomistics.cli import main
from atomistics.cp2k import find_cp2k_command
from atomistics.cp2k.validate import validate_input
from atomistics.errors import AtomisticsError, StructureCheckError
from atomistics.structures import clay
from atomistics.structures.checks import check_structure

CP2K = find_cp2k_command(required=False)


def _one_line(rc: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run commands in tmp_path, with no user-wide FireWorks config in the way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FW_CONFIG_FILE", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


# --- 11: start_from and the printed vacuum -------------------------------------------------


@pytest.mark.parametrize(
    ("dz", "cell_height", "needles"),
    [
        (500.0, None, ["systems.ads: start_from placed.extxyz", "z = 520.70 Å", "0 to 23.43 Å"]),
        (500.0, 600.0, ["systems.ads", "adsorbate starts 502.80 Å above", "not adsorbed"]),
        (4.0, 40.0, ["systems.ads", "the placed system", "z = 24.70 Å", "vacuum:"]),
    ],
    ids=["outside-the-file-cell", "not-adsorbed", "outside-the-slab-cell"],
)
def test_start_from_refusal_names_system_and_numbers(here, capsys, dz, cell_height, needles):
    (here / "s.yaml").write_text(START_FROM_STUDY)
    placed_file(dz, cell_height)(here)
    line = _one_line(main(["build", "s.yaml", "-o", "out"]), capsys.readouterr().err)
    for needle in needles:
        assert needle in line, line
    assert not (here / "out").exists()


def test_start_from_inside_the_cell_still_builds(here, capsys):
    (here / "s.yaml").write_text(START_FROM_STUDY)
    placed_file(0.5)(here)  # the adsorbate half an Å higher: a fine starting geometry
    assert main(["build", "s.yaml", "-o", "out", "--json"]) == 0, capsys.readouterr().err
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert 7.5 <= rows["ads"]["vacuum"] < rows["slab"]["vacuum"] == 15.0


def test_check_structure_refuses_atoms_outside_the_cell():
    """No path through `build` can print a negative vacuum: such a structure is refused."""
    slab = clay.build_limmt_slab((2, 2))
    assert check_structure(slab).vacuum == pytest.approx(15.0)
    top = int(slab.positions[:, 2].argmax())
    slab.positions[top, 2] += 500.0  # vacuum_along_z would be -485 Å
    with pytest.raises(StructureCheckError, match=r"lies 492\.\d\d Å outside the cell"):
        check_structure(slab)


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "limmt-slab", "--vacuum", "0.1"],
        ["build", "adsorbate", "--vacuum", "12", "--height", "6"],
        ["build", "adsorbate", "--height", "0.5"],
    ],
    ids=["slab-thin-vacuum", "adsorbate-high", "adsorbate-low"],
)
def test_build_prints_no_negative_vacuum(argv, capsys):
    rc = main([*argv, "--json"])
    out, err = capsys.readouterr()
    if rc == 2:  # refused as not fitting: one line, never a structure
        _one_line(rc, err)
        return
    assert rc == 0, err
    assert json.loads(out)["vacuum"] >= 0


# --- 12: inputs --ranks 0, and nothing left behind -------------------------------------------

TWO_SYSTEMS = GOOD_STUDY + "  slab: {kind: limmt-slab}\n"  # li fits 2 GB, the slab does not


def test_ranks_zero_is_refused_like_negative(here, capsys):
    (here / "s.yaml").write_text(GOOD_STUDY)
    lines = []
    for ranks in ("0", "-3"):
        rc = main(["inputs", "s.yaml", "-o", "inp", "--ranks", ranks, "--no-validate"])
        lines.append(_one_line(rc, capsys.readouterr().err))
    assert "--ranks 0: give the number of MPI ranks per node, at least 1" in lines[0]
    assert "--ranks -3:" in lines[1]
    assert not (here / "inp").exists()


def test_write_cp2k_input_refuses_zero_ranks(tmp_path):
    from atomistics.cp2k import write_cp2k_input
    from atomistics.structures.molecules import build_molecule

    with pytest.raises(AtomisticsError, match="mpi_ranks 0 must be a positive integer"):
        write_cp2k_input(build_molecule("Li+"), "relax", tmp_path, validate=False, ranks=0)
    assert list(tmp_path.iterdir()) == []


def test_refused_inputs_creates_no_folder(here, capsys):
    """The slab is refused after li's folder was written: li's folder goes too."""
    (here / "s.yaml").write_text(TWO_SYSTEMS)
    argv = ["inputs", "s.yaml", "-o", "inp/deeper", "--node-memory", "2GB", "--no-validate"]
    line = _one_line(main(argv), capsys.readouterr().err)
    assert "slab (relax): needs about" in line and "a node has 2 GB" in line
    assert not (here / "inp").exists()


def test_refused_inputs_restores_what_it_replaced(here, capsys):
    """With --force a refused run puts back the files it overwrote and keeps the user's own."""
    (here / "s.yaml").write_text(TWO_SYSTEMS)
    li = here / "inp" / "li"
    li.mkdir(parents=True)
    (li / "relax.inp").write_text("! edited by hand\n")
    (li / "notes.txt").write_text("mine")
    argv = ["inputs", "s.yaml", "-o", "inp", "--node-memory", "2GB", "--no-validate", "--force"]
    _one_line(main(argv), capsys.readouterr().err)
    assert sorted(p.name for p in li.iterdir()) == ["notes.txt", "relax.inp"]
    assert (li / "relax.inp").read_text() == "! edited by hand\n"
    assert sorted(p.name for p in (here / "inp").iterdir()) == ["li"]
    # accepted, the same command writes everything
    assert main(argv[:4] + ["--no-validate", "--force", "--system", "li"]) == 0
    assert (li / "single_point.inp").is_file() and (li / "calculation.json").is_file()


# --- 13 and 14: LaunchPad and FireWorks config files --------------------------------------


def test_binary_launchpad_file_is_named(here, capsys):
    (here / "lp.yaml").write_bytes(random_bytes(200, 13))
    (here / "mini.yaml").write_text(MINI_STUDY)
    for argv in (["status", "--launchpad", "lp.yaml"], ["submit", "mini.yaml", "-l", "lp.yaml"]):
        line = _one_line(main(argv), capsys.readouterr().err)
        assert line.startswith("error: lp.yaml is not a YAML LaunchPad file"), line
    (here / "my_launchpad.yaml").write_bytes(random_bytes(200, 14))
    line = _one_line(main(["status"]), capsys.readouterr().err)
    assert f"{here / 'my_launchpad.yaml'} is not a YAML LaunchPad file" in line
    assert "mv " in line and "atomistics submit" in line


def test_status_detects_a_corrupt_fw_config(here):
    """Processes, as a user runs them: submit holds the embedded store until it exits."""
    (here / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = atomistics("submit", "mini.yaml", "--db", "results.db", cwd=here)
    assert rc == 0, err
    config = here / "FW_config.yaml"
    good = config.read_text()
    config.write_text(BROKEN_FW_CONFIG)
    rc, out, err = venv_script("lpad", "get_fws", cwd=here)
    assert rc != 0 and "Traceback" in err  # FireWorks' own tool: not ours to change
    rc, out, err = atomistics("status", cwd=here)
    line = _one_line(rc, err)
    assert f"FireWorks config file {config} is not valid YAML (line 3, column 3:" in line
    assert "rlaunch, lpad and qlaunch" in line and f"mv {config} {config}.broken" in line
    assert config.read_text() == BROKEN_FW_CONFIG  # nothing rewrote it
    # the fix the message names: move it away, submit again (it writes a new one)
    config.rename(here / "FW_config.yaml.broken")
    rc, out, err = atomistics("submit", "mini.yaml", "--db", "results.db", cwd=here)
    assert rc == 2 and "already has unfinished Fireworks" in err  # nothing submitted twice
    assert "wrote FW_config.yaml" in out and config.read_text() == good
    rc, out, err = atomistics("status", cwd=here)
    assert rc == 0 and "READY 3" in out, err
    rc, out, err = venv_script("lpad", "get_fws", "-d", "count", cwd=here)
    assert rc == 0 and out.strip().endswith("7"), err[-2000:]


# --- 20: a Latin-1 comment in a CP2K input --------------------------------------------------

H2_INPUT = """\
! réglages : molécule H2, test µ (ISO-8859-1)
&GLOBAL
  PROJECT h2   ! commentaire é
  RUN_TYPE ENERGY
  PRINT_LEVEL LOW
&END GLOBAL
&FORCE_EVAL
  METHOD Quickstep
  &DFT
    BASIS_SET_FILE_NAME BASIS_MOLOPT
    POTENTIAL_FILE_NAME GTH_POTENTIALS
    &MGRID
      CUTOFF 150  # énergie de coupure
    &END MGRID
    &XC
      &XC_FUNCTIONAL PBE
      &END XC_FUNCTIONAL
    &END XC
  &END DFT
  &SUBSYS
    &CELL
      ABC 5.0 5.0 5.0
    &END CELL
    &COORD
      H1 0.0 0.0 0.0
      H1 0.0 0.0 0.74
    &END COORD
    &KIND H1
      ELEMENT H
      BASIS_SET SZV-MOLOPT-GTH
      POTENTIAL GTH-PBE-q1
    &END KIND
  &END SUBSYS
&END FORCE_EVAL
"""


@pytest.fixture
def latin1_input(tmp_path) -> Path:
    path = tmp_path / "h2.inp"
    path.write_bytes(H2_INPUT.encode("latin-1"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    return path


def test_latin1_comment_is_accepted(latin1_input, capsys):
    warnings = validate_input(latin1_input)  # with CP2K installed: + `cp2k --check`
    assert all("no CP2K found" in w for w in warnings), warnings
    assert main(["validate", str(latin1_input)]) == 0
    assert f"{latin1_input}: valid" in capsys.readouterr().out


@pytest.mark.skipif(CP2K is None, reason="needs the CP2K binary")
def test_real_cp2k_runs_the_latin1_input(latin1_input):
    """Grounding: CP2K itself parses and runs the file (a 3 s H2 single point)."""
    binary = shutil.which("cp2k") or CP2K[-1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [binary, "-i", latin1_input.name, "-o", "h2.out"],
        cwd=latin1_input.parent,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    log = (latin1_input.parent / "h2.out").read_text(errors="replace")
    assert run.returncode == 0, run.stderr[-2000:] + log[-2000:]
    assert "ENERGY| Total FORCE_EVAL ( QS ) energy [a.u.]:" in log and "PROGRAM ENDED" in log


def test_binary_input_is_still_refused(tmp_path):
    path = tmp_path / "b.inp"
    path.write_bytes(random_bytes(2048, 2))  # the catalogue's validate-binary bytes
    with pytest.raises(AtomisticsError, match=r"not a CP2K input \(binary byte 0x"):
        validate_input(path)
