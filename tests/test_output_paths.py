"""The one rule for output paths (README, "Output paths").

Every output option (``--db``, ``--workdir``, ``-o``, ``--plot``, ``--bridge-plot``)
creates the folders missing on its path, like ``mkdir -p``; only a part of the path that
is an existing file is refused (exit 2, one line; the catalogue holds those cases).
"""

from __future__ import annotations

import pytest

from atomistics.cli import main

LI_STUDY = "name: one\nengine: xtb\nsystems:\n  li: {kind: molecule, species: Li+}\n"


def test_run_creates_every_missing_output_folder(tmp_path, monkeypatch, capsys):
    pytest.importorskip("tblite")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (tmp_path / "s.yaml").write_text(LI_STUDY)
    argv = ["run", "s.yaml", "--db", "a/b/r.db", "--workdir", "c/d", "--no-progress"]
    rc = main([*argv, "--plot", "e/f/energies.png"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert (tmp_path / "a" / "b" / "r.db").stat().st_size > 0
    assert any((tmp_path / "c" / "d").rglob("ase_result.json"))
    assert (tmp_path / "e" / "f" / "energies.png").read_bytes()[:4] == b"\x89PNG"


def test_results_and_bridge_plots_create_their_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(
        [
            "bridge",
            "--e-surface-anion=-10.39 eV",
            "--e-cation-anion=-8.35 eV",
            "--plot",
            "new/deeper/bands.png",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "new" / "deeper" / "bands.png").read_bytes()[:4] == b"\x89PNG"


def test_inputs_and_build_create_their_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(LI_STUDY)
    assert main(["inputs", "s.yaml", "-o", "x/y/inputs"]) == 0, capsys.readouterr().err
    assert list((tmp_path / "x" / "y" / "inputs").rglob("*.inp"))
    assert main(["build", "molecule", "Li+", "-o", "p/q/li.xyz"]) == 0
    assert (tmp_path / "p" / "q" / "li.xyz").is_file()
