"""Catalogue of bad inputs (issue 12): each must end in one message, exit code 2, no traceback.

Every case runs the real console entry point (:func:`atomistics.cli.main`,
in-process to keep the catalogue fast; a few run as subprocesses too) from a
fresh temporary folder and asserts:

- exit code 2 and a message on stderr that starts with ``error:`` (or an
  argparse usage error);
- no ``Traceback`` anywhere in the output;
- nothing written outside that folder (the rest of the temporary tree and the
  repository's top level are unchanged).

A case whose fix lies in a file owned by another part of the project is
marked ``xfail(strict=True)`` with the owner in the reason; it turns into a
failure (and the mark must go) as soon as the fix lands.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from catalogue_setup import both as _both
from catalogue_setup import write as _write

from atomistics.cli import build_parser, main

BACKTRACE = re.compile(r"#\d+\s+0x[0-9a-f]+ in ")  # a native (gfortran) stack frame
REPO = Path(__file__).resolve().parents[1]
TAFEL_CSV = REPO / "tests" / "data" / "tafel.csv"
ARRHENIUS_CSV = REPO / "tests" / "data" / "arrhenius.csv"

GOOD_STUDY = """\
name: {name}
engine: xtb
systems:
  li: {{kind: molecule, species: Li+}}
  slab: {{kind: limmt-slab, supercell: [1, 1], mg: 1}}
"""

SLAB_STUDY = """\
name: s
systems:
  slab: {{kind: limmt-slab, {extra}}}
"""

ADSORBATE_STUDY = """\
name: s
systems:
  slab: {{kind: limmt-slab}}
  ads: {{kind: adsorbate, slab: slab, adsorbate: FSI-, {extra}}}
"""

ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)

QUICK_STUDY = (REPO / "workflows" / "limmt_exchange_2x1.yaml").read_text()
VACUUM_STUDY = (REPO / "workflows" / "examples" / "charged_vacuum_series.yaml").read_text()
assert "model: cpcm:7.2" in QUICK_STUDY and "  surface: basal\n" in QUICK_STUDY
assert "[10, 15, 20, 30]" in VACUUM_STUDY

TAFEL_ARGS = ("analyze", "tafel")
BRIDGE_OK = ("bridge", "--e-surface-anion=-10.39 eV", "--e-cation-anion=-8.35 eV")
SAND_OK = ("--c0", "1 mol/L", "--diffusivity", "3e-10 m^2/s", "--current-density", "1 mA/cm^2")


def _random_bytes(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def _tafel_cp1252() -> bytes:
    text = TAFEL_CSV.read_text().replace("# synthetic", "# synthétique µ")
    return text.encode("cp1252")


def _arrhenius_with(value: str) -> str:
    lines = ARRHENIUS_CSV.read_text().splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("temperature"))
    lines[header + 1] = value
    return "\n".join(lines) + "\n"


def _owned(owner: str, what: str):
    return pytest.mark.xfail(strict=True, reason=f"fix belongs to the {owner}: {what}")


# (no case is waiting for another owner's fix at the moment; mark new ones with _owned)

# (id, argv, setup or None, marks)
CASES = [
    # --- build: numbers, sizes, paths -------------------------------------------------
    ("slab-supercell-1000", ["build", "limmt-slab", "--supercell", "1000", "1000"], None),
    ("slab-supercell-0", ["build", "limmt-slab", "--supercell", "0", "2"], None),
    ("slab-vacuum-inf", ["build", "limmt-slab", "--vacuum", "inf"], None),
    ("slab-vacuum-nan", ["build", "limmt-slab", "--vacuum", "nan"], None),
    ("slab-vacuum-negative", ["build", "limmt-slab", "--vacuum", "-3"], None),
    ("slab-vacuum-1e6", ["build", "limmt-slab", "--vacuum", "1e6"], None),
    ("slab-seed-negative", ["build", "limmt-slab", "--seed", "-5"], None),
    ("slab-li-height-nan", ["build", "limmt-slab", "--li-height", "nan"], None),
    ("slab-mg-too-many", ["build", "limmt-slab", "--mg", "100"], None),
    ("slab-max-atoms", ["build", "limmt-slab", "--max-atoms", "100"], None),
    ("slab-max-atoms-zero", ["build", "limmt-slab", "--max-atoms", "0"], None),
    ("adsorbate-azimuth-nan", ["build", "adsorbate", "--azimuth", "nan", "-o", "a.xyz"], None),
    ("adsorbate-azimuth-inf", ["build", "adsorbate", "--azimuth=-inf"], None),
    ("adsorbate-height-inf", ["build", "adsorbate", "--height", "inf"], None),
    ("adsorbate-bad-orientation", ["build", "adsorbate", "--orientation", "X-down"], None),
    ("adsorbate-site-index", ["build", "adsorbate", "--site-index", "99"], None),
    ("molecule-unknown", ["build", "molecule", "XYZ-"], None),
    ("molecule-conformer", ["build", "molecule", "FSI-", "--conformer", "C3"], None),
    ("bulk-d001-nan", ["build", "bulk", "--d001", "nan"], None),
    ("bulk-d001-small", ["build", "bulk", "--d001", "3"], None),
    ("bulk-seed-negative", ["build", "bulk", "--seed", "-1"], None),
    ("output-suffix", ["build", "molecule", "Li+", "-o", "li.pdb"], None),
    (
        "output-parent-is-file",
        ["build", "molecule", "Li+", "-o", "afile/li.xyz"],
        _write("afile", "x"),
    ),
    ("output-is-folder", ["build", "molecule", "Li+", "-o", "adir"], _write("adir/keep", "x")),
    (
        "placements-nonempty-folder",
        ["build", "placements", "--sites", "li", "-o", "pl"],
        _write("pl/000_old.extxyz", "old"),
    ),
    ("placements-ceiling", ["build", "placements", "--max-placements", "2", "-o", "pl"], None),
    ("placements-azimuth-nan", ["build", "placements", "--azimuths", "0", "nan", "-o", "pl"], None),
    (
        "study-output-is-file",
        ["build", "s.yaml", "-o", "out"],
        _both(_write("s.yaml", GOOD_STUDY.format(name="ok")), _write("out", "x")),
    ),
    # --- study files -------------------------------------------------------------------
    (
        "study-name-dotdot",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", GOOD_STUDY.format(name="..")),
    ),
    (
        "study-name-dot",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", GOOD_STUDY.format(name=".")),
    ),
    (
        "study-name-slash",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", GOOD_STUDY.format(name="a/../../b")),
    ),
    (
        "study-duplicate-key",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", GOOD_STUDY.format(name="ok") + "name: other\n"),
    ),
    (
        "study-random-bytes",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", _random_bytes(4096, 1)),
    ),
    (
        "study-binary-nul",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", b"name: x\x00\x01\x02"),
    ),
    (
        "study-cp1252",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", "name: caf\xe9\n".encode("cp1252")),
    ),
    ("study-recursive-alias", ["build", "s.yaml", "-o", "out"], _write("s.yaml", "a: &a [*a]\n")),
    ("study-alias-bomb", ["build", "s.yaml", "-o", "out"], _write("s.yaml", ALIAS_BOMB)),
    (
        "study-too-large",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", GOOD_STUDY.format(name="ok") + "#" * (1 << 20) + "\n"),
    ),
    ("study-empty", ["build", "s.yaml", "-o", "out"], _write("s.yaml", "")),
    ("study-a-list", ["build", "s.yaml", "-o", "out"], _write("s.yaml", "- 1\n- 2\n")),
    ("study-missing", ["build", "nope.yaml", "-o", "out"], None),
    (
        "study-supercell-50",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", SLAB_STUDY.format(extra="supercell: [50, 50]")),
    ),
    (
        "study-vacuum-inf",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", SLAB_STUDY.format(extra="vacuum: .inf")),
    ),
    (
        "study-seed-negative",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", SLAB_STUDY.format(extra="seed: -5")),
    ),
    (
        "study-azimuth-nan",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", ADSORBATE_STUDY.format(extra="azimuth: .nan")),
    ),
    (
        "study-height-nan",
        ["build", "s.yaml", "-o", "out"],
        _write("s.yaml", ADSORBATE_STUDY.format(extra="height: .nan")),
    ),
    # --- inputs / validate -------------------------------------------------------------
    (
        "inputs-azimuth-nan",
        ["inputs", "s.yaml", "-o", "inp"],
        _write("s.yaml", ADSORBATE_STUDY.format(extra="azimuth: .nan")),
    ),
    (
        "inputs-study-name-dotdot",
        ["inputs", "s.yaml", "-o", "inp"],
        _write("s.yaml", GOOD_STUDY.format(name="..")),
    ),
    (
        "inputs-output-is-file",
        ["inputs", "s.yaml", "-o", "inp", "--system", "li"],
        _both(_write("s.yaml", GOOD_STUDY.format(name="ok")), _write("inp", "x")),
    ),
    (
        "validate-binary",
        ["validate", "b.inp"],
        _write("b.inp", _random_bytes(2048, 2)),
    ),
    (
        "validate-empty",
        ["validate", "e.inp"],
        _write("e.inp", ""),
    ),
    ("validate-missing", ["validate", "missing.inp"], None),
    # --- run / results -------------------------------------------------------------------
    (
        "run-sp-supercell-zero",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write(
            "s.yaml",
            GOOD_STUDY.format(name="ok") + "calculation:\n  xtb: {sp_supercell: [0, 2]}\n",
        ),
    ),
    (
        "run-sp-supercell-inf",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write(
            "s.yaml",
            GOOD_STUDY.format(name="ok") + "calculation:\n  xtb: {sp_supercell: [.inf, 1]}\n",
        ),
    ),
    (
        "run-solvation-permittivity-inf",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write("s.yaml", QUICK_STUDY.replace("model: cpcm:7.2", "model: cpcm:inf")),
    ),
    (
        "run-bridge-plot-format",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--bridge-plot", "b.txt"],
        _write("s.yaml", QUICK_STUDY),
    ),
    (
        "run-plot-parent-is-file",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--plot", "afile/e.png"],
        _both(_write("s.yaml", QUICK_STUDY), _write("afile", "x")),
    ),
    (
        "run-db-parent-is-file",
        ["run", "s.yaml", "--workdir", "runs", "--db", "afile/r.db", "--no-progress"],
        _both(_write("s.yaml", GOOD_STUDY.format(name="ok")), _write("afile", "x")),
    ),
    ("bridge-plot-format", [*BRIDGE_OK, "--plot", "bands.txt"], None),
    (
        "run-solvation-permittivity-below-1",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write("s.yaml", QUICK_STUDY.replace("model: cpcm:7.2", "model: cpcm:0.5")),
    ),
    (
        "run-solvation-and-given-correction",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write(
            "s.yaml",
            QUICK_STUDY.replace(
                "  surface: basal\n", "  surface: basal\n  solvation_correction: -0.1 eV\n"
            ),
        ),
    ),
    (
        "run-vacuum-series-repeated-heights",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write("s.yaml", VACUUM_STUDY.replace("[10, 15, 20, 30]", "[15, 15, 15]")),
    ),
    (
        "run-study-name-dotdot",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write("s.yaml", GOOD_STUDY.format(name="..")),
    ),
    (
        "run-workdir-is-file",
        ["run", "s.yaml", "--workdir", "wd", "--db", "r.db", "--no-progress"],
        _both(_write("s.yaml", GOOD_STUDY.format(name="ok")), _write("wd", "x")),
    ),
    (
        "run-random-bytes-study",
        ["run", "s.yaml", "--workdir", "runs", "--db", "r.db", "--no-progress"],
        _write("s.yaml", _random_bytes(1000, 3)),
    ),
    (
        "run-db-suffix",
        ["run", "s.yaml", "--db", "r.txt"],
        _write("s.yaml", GOOD_STUDY.format(name="ok")),
    ),
    ("results-db-text", ["results", "--db", "t.db"], _write("t.db", "hello\nworld\n" * 50)),
    ("results-db-random", ["results", "--db", "t.db"], _write("t.db", _random_bytes(5000, 4))),
    ("results-db-missing", ["results", "--db", "none.db"], None),
    # --- sand / bridge -------------------------------------------------------------------
    ("sand-c0-nan", ["sand", *SAND_OK[2:], "--c0", "nan mol/L", "--t-plus", "0.3"], None),
    (
        "sand-current-inf",
        ["sand", *SAND_OK[:4], "--current-density", "inf mA/cm^2", "--t-plus", "0.3"],
        None,
    ),
    ("sand-t-plus-1.5", ["sand", *SAND_OK, "--t-plus", "1.5"], None),
    ("sand-t-plus-nan", ["sand", *SAND_OK, "--t-plus", "nan"], None),
    ("bridge-temperature-negative", [*BRIDGE_OK, "--temperature=-5 K"], None),
    ("bridge-temperature-zero", [*BRIDGE_OK, "--temperature", "0 K"], None),
    ("bridge-temperature-inf", [*BRIDGE_OK, "--temperature", "inf K"], None),
    (
        "bridge-energy-nan",
        ["bridge", "--e-surface-anion", "nan eV", "--e-cation-anion=-8.35 eV"],
        None,
    ),
    # --- analyze ---------------------------------------------------------------------------
    ("tafel-temperature-zero", [*TAFEL_ARGS, str(TAFEL_CSV), "--temperature", "0 K"], None),
    ("tafel-temperature-nan", [*TAFEL_ARGS, str(TAFEL_CSV), "--temperature", "nan K"], None),
    (
        "tafel-window-reversed",
        [*TAFEL_ARGS, str(TAFEL_CSV), "--eta-window", "0.3 V", "0.1 V"],
        None,
    ),
    ("tafel-cp1252-csv", [*TAFEL_ARGS, "t.csv"], _write("t.csv", _tafel_cp1252())),
    ("tafel-binary-csv", [*TAFEL_ARGS, "t.csv"], _write("t.csv", _random_bytes(3000, 5))),
    ("tafel-missing-csv", [*TAFEL_ARGS, "none.csv"], None),
    (
        "arrhenius-nan-value",
        ["analyze", "arrhenius", "a.csv"],
        _write("a.csv", _arrhenius_with("nan,50")),
    ),
    (
        "arrhenius-below-zero-kelvin",
        ["analyze", "arrhenius", "a.csv"],
        _write("a.csv", _arrhenius_with("-300,50")),
    ),
    (
        "bruce-vincent-nan",
        [
            "analyze",
            "bruce-vincent",
            "--delta-v",
            "nan mV",
            "--i0",
            "50 uA",
            "--i-ss",
            "20 uA",
            "--r0",
            "100 ohm",
            "--r-ss",
            "120 ohm",
        ],
        None,
    ),
    (
        "nucleation-z-zero",
        [
            "analyze",
            "nucleation",
            str(REPO / "tests" / "data" / "transient_instantaneous.csv"),
            "--z",
            "0",
        ],
        None,
    ),
    (
        "tafel-ragged-csv",
        [*TAFEL_ARGS, "t.csv"],
        _write("t.csv", "overpotential [mV],current [mA/cm^2]\n1,2\n3\n"),
    ),
    (
        "nucleation-inf-concentration",
        [
            "analyze",
            "nucleation",
            str(REPO / "tests" / "data" / "transient_instantaneous.csv"),
            "--concentration",
            "inf mol/L",
        ],
        None,
    ),
]


# issue 16's cases, kept in one file per part of the code they exercise
from catalogue_cases_bridge import CASES as _BRIDGE_CASES  # noqa: E402
from catalogue_cases_io import CASES as _IO_CASES  # noqa: E402
from catalogue_cases_study import CASES as _STUDY_CASES  # noqa: E402

CASES += _STUDY_CASES + _BRIDGE_CASES + _IO_CASES


def _snapshot(root: Path, skip: Path) -> dict[str, float]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == skip or skip in here.parents:
            dirnames[:] = []
            continue
        for name in filenames + dirnames:
            p = here / name
            if p == skip:
                continue
            out[str(p.relative_to(root))] = p.lstat().st_mtime
    return out


def _repo_top() -> set[str]:
    return set(os.listdir(REPO))


def _params():
    for case in CASES:
        ident, argv, setup, *marks = case
        yield pytest.param(argv, setup, id=ident, marks=marks)


@pytest.mark.parametrize(("argv", "setup"), list(_params()))
def test_bad_input(argv, setup, tmp_path, monkeypatch, capsys):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (tmp_path / "sentinel.txt").write_text("outside the command's folder")
    if setup is not None:
        setup(cwd)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before, repo_before = _snapshot(tmp_path, cwd), _repo_top()
    start = time.perf_counter()
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert not BACKTRACE.search(out + err), err  # nor a native (gfortran) backtrace
    assert rc == 2, f"exit {rc}\nstdout: {out}\nstderr: {err}"
    message = err.strip()
    assert message, "no message on stderr"
    # one line starting with "error:", argparse's usage errors included (cli._Parser)
    assert message.startswith("error:") and len(message.splitlines()) == 1, message
    assert _snapshot(tmp_path, cwd) == before, "a file was written outside the command's folder"
    assert _repo_top() == repo_before
    assert elapsed < 30, f"took {elapsed:.1f} s to refuse"


def test_catalogue_size():
    assert len(CASES) >= 40
    groups = {c[1][0] for c in CASES}
    assert {"build", "inputs", "validate", "run", "results", "sand", "bridge", "analyze"} <= groups


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "limmt-slab", "--supercell", "1000", "1000"],
        ["build", "limmt-slab", "--supercell", "50", "50"],
    ],
    ids=["1000x1000", "50x50"],
)
def test_size_ceiling_refuses_fast(argv, capsys):
    """The atom ceiling refuses from the counts alone, in well under a second."""
    build_parser()  # import every subcommand first: the refusal itself is what is timed
    start = time.perf_counter()
    rc = main(argv)
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert rc == 2 and "above the ceiling of 5000" in err and "--max-atoms" in err
    assert elapsed < 0.5, elapsed


def test_study_ceilings_refuse_fast(tmp_path, capsys):
    """An alias bomb and a 50x50 supercell in a study file fail at load time, fast."""
    build_parser()  # import every subcommand first: the refusal itself is what is timed
    for text, needle in (
        (ALIAS_BOMB, "alias bomb"),
        (SLAB_STUDY.format(extra="supercell: [50, 50]"), "line 3: systems.slab.supercell"),
    ):
        path = tmp_path / "s.yaml"
        path.write_text(text)
        start = time.perf_counter()
        rc = main(["build", str(path), "-o", str(tmp_path / "out")])
        elapsed = time.perf_counter() - start
        err = capsys.readouterr().err
        assert rc == 2 and needle in err, err
        assert elapsed < 0.5, elapsed


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "adsorbate", "--azimuth", "nan"],
        ["build", "limmt-slab", "--seed", "-5"],
        ["analyze", "tafel", str(TAFEL_CSV), "--temperature", "0 K"],
    ],
    ids=["azimuth-nan", "seed-negative", "tafel-0K"],
)
def test_real_subprocess(run_cli, argv):
    """The same guarantees through the installed console entry point in a subprocess."""
    rc, out, err = run_cli(*argv, env={"OMP_NUM_THREADS": "1"})
    assert rc == 2 and err.startswith("error:") and "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_issue_messages_name_the_problem(tmp_path, monkeypatch, capsys):
    """The issue's reproductions get messages that name what is wrong."""
    monkeypatch.chdir(tmp_path)
    expectations = [
        (["build", "adsorbate", "--azimuth", "nan"], "azimuth (degrees) must be a finite number"),
        (["build", "limmt-slab", "--vacuum", "inf"], "vacuum (Å) must be a finite number"),
        (["build", "limmt-slab", "--seed", "-5"], "seed must be a non-negative integer"),
        (["analyze", "tafel", str(TAFEL_CSV), "--temperature", "0 K"], "above 0 K"),
    ]
    for argv, needle in expectations:
        assert main(argv) == 2
        assert needle in capsys.readouterr().err
    (tmp_path / "s.yaml").write_text(GOOD_STUDY.format(name=".."))
    assert main(["build", "s.yaml", "-o", "out"]) == 2
    err = capsys.readouterr().err
    assert "line 1: name" in err and "only dots" in err
    (tmp_path / "d.yaml").write_text(GOOD_STUDY.format(name="ok") + "name: other\n")
    assert main(["build", "d.yaml", "-o", "out"]) == 2
    err = capsys.readouterr().err
    assert "line 6: duplicate key 'name' (first on line 1)" in err


def test_csv_with_utf8_bom_is_accepted(tmp_path, capsys):
    """Excel's 'CSV UTF-8' export starts with a byte-order mark: it must be read."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TAFEL_CSV.read_bytes())
    assert main(["analyze", "tafel", str(path), "--json"]) == 0
    with_bom = capsys.readouterr().out
    assert main(["analyze", "tafel", str(TAFEL_CSV), "--json"]) == 0
    assert capsys.readouterr().out == with_bom


def test_cp1252_csv_message_says_how_to_fix(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_bytes(_tafel_cp1252())
    assert main(["analyze", "tafel", str(path)]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err


def test_placements_force_replaces_the_old_set(tmp_path, capsys):
    out = tmp_path / "pl"
    out.mkdir()
    (out / "099_old_placement.extxyz").write_text("old")
    (out / "notes.txt").write_text("mine")
    argv = ["build", "placements", "--sites", "li", "--azimuths", "0", "-o", str(out)]
    assert main(argv) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert "099_old_placement.extxyz" not in names and "notes.txt" in names
    assert any(n.startswith("000_li") for n in names)


def test_corrupt_result_file_without_db_row(tmp_path, monkeypatch, capsys):
    """A corrupt or empty ase_result.json with no DB row: rerun it (or one line), never a traceback."""
    pytest.importorskip("tblite")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (tmp_path / "s.yaml").write_text(
        "name: one\nengine: xtb\nsystems:\n  li: {kind: molecule, species: Li+}\n"
    )
    argv = ["run", "s.yaml", "--workdir", "runs", "--db", "a.db", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    results = sorted((tmp_path / "runs").rglob("ase_result.json"))
    assert results
    results[0].write_text("")  # truncated by a full disk or a kill
    capsys.readouterr()
    rc = main([*argv[:-3], "--db", "b.db", "--no-progress"])  # no row for it in b.db
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert rc == 0, err
    assert "unreadable result" in err and "running it again" in err
    import json

    json.loads(results[0].read_text())  # rerun and rewritten
    assert list(results[0].parent.parent.glob("*.attempt1"))  # the broken attempt is kept aside


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_workdir(tmp_path, monkeypatch, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main(["build", "molecule", "Li+", "-o", str(ro / "x" / "li.xyz")]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "permission denied" in err.lower()
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("code", ["EROFS", "ENOSPC"])
def test_read_only_or_full_disk_through_the_cli(code, tmp_path, monkeypatch, capsys):
    """A write that fails with EROFS/ENOSPC (simulated: needs root to stage for real) -> one line."""
    import errno
    from pathlib import Path as _Path

    number = getattr(errno, code)

    def refuse(self, *args, **kwargs):
        raise OSError(number, os.strerror(number), str(self))

    monkeypatch.setattr(_Path, "write_text", refuse)
    rc = main(["build", "molecule", "Li+", "-o", str(tmp_path / "li.xyz")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: cannot use") and os.strerror(number) in err


def test_os_errors_become_one_line():
    """EROFS/ENOSPC and friends (not reproducible without root) are described, not re-raised."""
    import errno

    from atomistics.paths import describe_os_error, describe_sqlite_error

    for code, needle in ((errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full")):
        msg = describe_os_error(OSError(code, os.strerror(code), "/data/runs/x"))
        assert msg is not None and needle in msg and "/data/runs/x" in msg
        assert "\n" not in msg
    assert describe_os_error(ValueError("x")) is None
    assert describe_os_error(OSError(errno.EBADF, "bad fd")) is None  # a bug, keep the traceback
    import sqlite3

    msg = describe_sqlite_error(sqlite3.DatabaseError("file is not a database"))
    assert msg is not None and "not an SQLite results database" in msg
