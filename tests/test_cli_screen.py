"""`atomistics screen` end to end (xtb on a 2×1 LiMMT slab), and `start_from:` in a study.

One real screen (module fixture, ~30–45 s on a busy 2-core machine): FSI⁻ + its
Li⁺ counter-ion on the 2×1 slab, the Li site with the counter-ion at its two
best cavities (2 placements), pre-screen only, the relaxed Li⁺–FSI⁻ pair in the
same cell as the fragment. Then the study is built from its best.extxyz
(`start_from:`), and mismatched files are refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list
from cli_helpers import atomistics

from atomistics.errors import StudySpecError
from atomistics.study import build_study_structures, load_study

pytest.importorskip("tblite")

STUDY = """\
name: screen_mini
engine: xtb
systems:
  slab: {kind: limmt-slab, supercell: [2, 1], vacuum: 12.0}
  lifsi_on_slab:
    kind: adsorbate
    slab: slab
    adsorbate: FSI-
    counter_ion: Li+
    vacuum: 12.0
%s
  slab_ref: {kind: in-cell, system: slab, cell_of: lifsi_on_slab}
  pair: {kind: ion-pair, cation: Li+, anion: FSI-}
reactions:
  exchange: {reactants: [slab_ref, pair], products: [lifsi_on_slab]}
"""

SCREEN = (
    "--system", "lifsi_on_slab", "--sites", "li", "--azimuths", "0",
    "--counter-ion-positions", "2", "--prescreen-only",
)  # fmt: skip


def _study(folder: Path, start_from: str | None = None, name: str = "study.yaml") -> Path:
    extra = f"    start_from: {start_from}" if start_from else ""
    path = folder / name
    path.write_text(STUDY % extra)
    return path


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen")
    study = _study(folder)
    rc, out, err = atomistics("screen", str(study), *SCREEN, "-o", "scr", cwd=folder, timeout=600)
    assert rc == 0, err
    return folder, out, err


def test_screen_writes_table_json_plot_and_best(screened):
    folder, out, err = screened
    scr = folder / "scr"
    # progress while it ran (stderr), the table on stdout
    assert "2 symmetry-distinct placements" in err and "pre-screen 2/2" in err
    assert "fragment: F2LiNO4S2" in err
    rows = [line for line in out.splitlines() if line.startswith("li[0] ")]
    assert len(rows) == 2 and all("pre-screen only" in r for r in rows)
    assert "lowest: li[0]" in out and "NOT relaxed" in out

    data = json.loads((scr / "screening.json").read_text())
    records = data["records"]
    assert len(records) == 2 and data["prescreen_only"] is True
    assert {r["counter_ion_rank"] for r in records} == {0, 1}
    assert all(r["error"] is None and not r["converged"] for r in records)
    # each placement carries the content hash of its input (structure, free atoms, engine
    # and settings), as the study's calculations do: two placements, two hashes
    hashes = [r["input_hash"] for r in records]
    assert all(isinstance(h, str) and len(h) == 64 for h in hashes) and hashes[0] != hashes[1]
    # the best record is the lowest, and the spread is max - min
    energies = [r["relative_energy"] for r in records]
    assert data["best"]["relative_energy"] == min(energies)
    assert data["best"]["label"] == records[int(np.argmin(energies))]["label"]
    assert data["spread_ev"] == pytest.approx(max(energies) - min(energies))
    assert data["spread_ev"] > 0  # the two counter-ion cavities are not equivalent
    # E_rel = E(complex) - E(slab) - E(pair): one fragment and one slab energy for all
    frag = data["fragment"]
    assert frag["converged"] and frag["formula"] == "F2LiNO4S2" and frag["charge"] == 0
    assert data["fragment_energy"] == frag["energy_ev"]
    offsets = [r["energy"] - r["relative_energy"] for r in records]
    assert offsets[0] == pytest.approx(offsets[1], abs=1e-9)
    e_slab = offsets[0] - frag["energy_ev"]
    assert e_slab < -6000  # GFN2-xTB total energy of the 81-atom slab, eV
    # the exchange energy is O(eV), not a total energy
    assert all(abs(e) < 10 for e in energies)

    assert (scr / "screening.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (scr / "logs" / "fragment.log").is_file()
    best = ase.io.read(scr / "best.extxyz")
    assert best.info["label"] == data["best"]["label"]
    assert int(best.info["charge"]) == 0 and len(best) == 91
    assert best.info["relative_energy_ev"] == pytest.approx(data["best"]["relative_energy"])


def test_screen_stores_every_stage_and_a_second_screen_reads_them_back(screened):
    """The placements are rows of the results database (the default results.db, as for
    atomistics run), under the input_hash of screening.json; the same screen into another
    folder evaluates nothing again and prints the same table."""
    from atomistics import db as resdb

    folder, out, _ = screened
    records = json.loads((folder / "scr" / "screening.json").read_text())["records"]
    rows = {r.calc_hash: r for r in resdb.calculation_rows(resdb.connect(folder / "results.db"))}
    for rec in records:
        row = rows[rec["input_hash"]]
        assert row.stage == "screen-prescreen" and row.study == "screen_mini"
        assert row.energy == pytest.approx(rec["energy"], abs=1e-9)
    assert sum(r.stage == "screen-reference" for r in rows.values()) == 1  # frozen slab
    rc, again, err = atomistics("screen", "study.yaml", *SCREEN, "-o", "scr2", cwd=folder)
    assert rc == 0, err
    assert err.count("(from the results database)") == 3  # the slab and both placements
    table = [line for line in out.splitlines() if line.startswith("li[0] ")]
    assert table == [line for line in again.splitlines() if line.startswith("li[0] ")]


def test_an_unreachable_db_is_refused_before_any_calculation(tmp_path):
    """--db is connected after the argument checks and before the fragment or any
    placement runs: one line, exit 2, no password, nothing written in -o."""
    _study(tmp_path)
    url = "postgresql://screener:s3cret-pw@127.0.0.1:1/results"
    rc, out, err = atomistics(
        "screen", "study.yaml", *SCREEN, "-o", "scr", "--db", url, cwd=tmp_path, timeout=120
    )
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "PostgreSQL" in err and "s3cret-pw" not in out + err
    assert not (tmp_path / "scr" / "logs").exists()


def test_screen_refuses_to_overwrite_without_force(screened):
    folder, _, _ = screened
    rc, out, err = atomistics("screen", "study.yaml", *SCREEN, "-o", "scr", cwd=folder)
    assert rc == 2 and "already holds" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_start_from_reproduces_the_screened_geometry(screened):
    folder, _, _ = screened
    best = ase.io.read(folder / "scr" / "best.extxyz")
    sub = folder / "studies"
    sub.mkdir(exist_ok=True)
    # relative to the study file, not to the working folder
    study = load_study(_study(sub, "../scr/best.extxyz", "from_best.yaml"))
    built = build_study_structures(study)
    atoms = built["lifsi_on_slab"]
    assert np.array_equal(atoms.numbers, best.numbers)
    assert np.allclose(atoms.cell.array, best.cell.array, atol=1e-6)
    shift = atoms.positions - best.positions
    assert np.allclose(shift, shift[0], atol=1e-5)  # the same geometry, at most a rigid shift
    assert atoms.info["start_from_placement"] == best.info["label"]
    assert (
        atoms.info["site"] == "li"
        and atoms.info["counter_ion_rank"] == best.info["counter_ion_rank"]
    )
    assert atoms.arrays["adsorbate"].sum() == 10 and atoms.arrays["counter_ion"][-1]
    # the study's own placement (al-oh site) is a different geometry
    plain = build_study_structures(load_study(_study(sub, None, "plain.yaml")))["lifsi_on_slab"]
    ads = atoms.arrays["adsorbate"]
    assert np.abs(plain.positions[ads] - atoms.positions[ads]).max() > 1.0
    # the in-cell slab reference follows the screened complex's cell
    assert np.allclose(built["slab_ref"].cell.array, atoms.cell.array)


def _variant(best, how: str):
    bad = best.copy()
    bad.info = dict(best.info)
    if how == "composition":
        del bad[-1]
    elif how == "charge":
        bad.info["charge"] = -1
    elif how == "no charge":
        del bad.info["charge"]
    elif how == "cell":
        cell = bad.cell.array.copy()
        cell[0] *= 1.05
        bad.set_cell(cell, scale_atoms=False)
    elif how == "framework":
        si = np.flatnonzero(bad.numbers == 14)[0]
        bad.positions[si] += [0.5, 0.0, 0.0]
    return bad


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("composition", "another order or composition"),
        ("charge", "has charge -1, the study's system +0"),
        ("no charge", "has no charge in its header"),
        ("cell", "another in-plane cell"),
        ("framework", "does not superpose on the study's slab"),
        ("missing", "not found: run `atomistics screen"),
    ],
)
def test_start_from_refuses_a_mismatched_file(screened, tmp_path, how, message):
    folder, _, _ = screened
    best = ase.io.read(folder / "scr" / "best.extxyz")
    if how != "missing":
        ase.io.write(tmp_path / "bad.extxyz", _variant(best, how), format="extxyz")
    with pytest.raises(StudySpecError, match=re.escape(message)):
        load_study(_study(tmp_path, "bad.extxyz"))


def test_build_refuses_a_mismatched_start_from_in_one_line(screened, run_cli, tmp_path):
    folder, _, _ = screened
    best = ase.io.read(folder / "scr" / "best.extxyz")
    ase.io.write(tmp_path / "bad.extxyz", _variant(best, "composition"), format="extxyz")
    _study(tmp_path, "bad.extxyz")
    rc, out, err = run_cli("build", "study.yaml", "-o", "out")
    assert rc == 2 and "systems.lifsi_on_slab: start_from" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--system", "slab"), "a limmt-slab system, not an adsorbate"),
        (("--system", "nope"), "has no system 'nope'"),
        (("--system", "lifsi_on_slab", "--engine", "cp2k"), "screen with --engine xtb"),
        (("--system", "lifsi_on_slab", "--sites", "bridge"), "unknown site kind"),
        (("--system", "lifsi_on_slab", "--heights", "9"), "outside 0.5–6 Å"),
        (("--system", "lifsi_on_slab", "--n-relax", "-1"), "--n-relax must be ≥ 0"),
    ],
)
def test_screen_bad_input_is_one_line_exit_2(run_cli, tmp_path, args, message):
    _study(tmp_path)
    rc, out, err = run_cli("screen", "study.yaml", *args, "-o", "scr")
    assert rc == 2, err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "scr" / "screening.json").exists()


class _SoftSpheres(Calculator):
    """Analytic stand-in for the engine: soft-sphere contacts plus a spring on the adsorbate.

    E = Σ_{pairs, d < R} ½ k (R − d)² + ½ g Σ_{adsorbate} (z − z_top − R)², z_top the
    highest slab atom. Cheap, so the CLI's relaxation path (reference and complex relaxed
    in one free region) runs in seconds.
    """

    implemented_properties = ("energy", "forces")
    R, K, G = 1.5, 5.0, 0.2

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        i, j, d, vec = neighbor_list("ijdD", a, self.R)
        keep = i < j
        i, j, d, vec = i[keep], j[keep], d[keep], vec[keep]
        energy = 0.5 * self.K * np.sum((self.R - d) ** 2)
        forces = np.zeros((len(a), 3))
        # dE/dr_j = -k (R - d) vec/d; vec = r_j - r_i (+ image shift)
        f = (self.K * (self.R - d) / d)[:, None] * vec
        np.add.at(forces, j, f)
        np.add.at(forces, i, -f)
        ads = np.asarray(a.arrays.get("adsorbate", np.zeros(len(a), bool)), bool)
        if ads.any():
            dz = a.positions[ads, 2] - a.positions[~ads, 2].max() - self.R
            energy += 0.5 * self.G * float(np.sum(dz**2))
            forces[ads, 2] -= self.G * dz
        self.results = {"energy": float(energy), "forces": forces}


def test_screen_relaxes_the_best_and_reports_it(tmp_path, monkeypatch, capsys):
    """The relaxation path of the command, in-process, with an analytic calculator."""
    import atomistics.cli.screen as screen
    from atomistics.cli import main
    from atomistics.engines import ASECalculatorEngine

    engine = ASECalculatorEngine("soft", lambda atoms, s: _SoftSpheres(), version="test")
    monkeypatch.setattr(screen, "engine_for_study", lambda study, name=None: engine)
    study = _study(tmp_path)
    rc = main(
        ["screen", str(study), *SCREEN[:-1], "--n-relax", "1", "--max-steps", "40",
         "--fmax", "0.1", "--fragment", "none", "-o", str(tmp_path / "scr")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "relax: li[0]" in err and "reference: bare slab, relaxing the free region" in err
    data = json.loads((tmp_path / "scr" / "screening.json").read_text())
    relaxed = [r for r in data["records"] if r["stage"] == "relaxed"]
    assert len(relaxed) == 1 and data["prescreen_only"] is False
    (r,) = relaxed
    pre_best = min(data["records"], key=lambda x: x["prescreen_relative"])
    assert r["label"] == pre_best["label"]  # the pre-screen winner was relaxed
    assert r["n_steps"] > 0 and r["n_free"] > 10  # surface atoms freed besides the 10 ions
    assert r["reference_n_steps"] > 0 and r["reference_energy"] is not None
    assert r["relative_energy"] == pytest.approx(r["energy"] - r["reference_energy"])
    assert r["relative_energy"] < r["prescreen_relative"]
    assert data["best"]["label"] == r["label"] and data["best"]["stage"] == "relaxed"
    status = "converged" if r["converged"] else "NOT CONVERGED"
    assert any(line.startswith(r["label"]) and status in line for line in out.splitlines())
    best = ase.io.read(tmp_path / "scr" / "best.extxyz")
    assert best.info["stage"] == "relaxed" and bool(best.info["converged"]) == r["converged"]


class _ConstantPull(_SoftSpheres):
    """A constant force on the adsorbate: BFGS's curvature update divides by zero (NaN)."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        a = self.atoms
        ads = np.asarray(a.arrays.get("adsorbate", np.zeros(len(a), bool)), bool)
        forces = np.zeros((len(a), 3))
        forces[ads, 2] = -self.G
        self.results = {"energy": self.G * float(a.positions[ads, 2].sum()), "forces": forces}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_diverged_relaxation_is_a_failed_record_not_a_file(tmp_path, monkeypatch, capsys):
    import atomistics.cli.screen as screen
    from atomistics.cli import main
    from atomistics.engines import ASECalculatorEngine

    engine = ASECalculatorEngine("pull", lambda atoms, s: _ConstantPull(), version="test")
    monkeypatch.setattr(screen, "engine_for_study", lambda study, name=None: engine)
    study = _study(tmp_path)
    rc = main(
        ["screen", str(study), *SCREEN[:-1], "--n-relax", "1", "--max-steps", "5",
         "--fragment", "none", "-o", str(tmp_path / "scr")]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert rc == 2
    assert "FAILED: FloatingPointError: the optimiser diverged" in out  # the table, first
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "was relaxed successfully" in errors[0]
    assert err.strip().splitlines()[-1] == errors[0] and "Traceback" not in err
    assert not (tmp_path / "scr" / "best.extxyz").exists()
