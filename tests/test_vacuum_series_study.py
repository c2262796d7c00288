"""A charged slab's vacuum series driven from the study file (issue 10, item 2).

``binding_energies.<name>.vacuum_series: [h1, h2, h3]`` makes ``atomistics run``
compute the complex and its same-cell references at every clear vacuum, fit
ΔE(L) = a + bL + c/L (:func:`atomistics.reactions.vacuum_series.fit_vacuum_series`) and report
``a`` next to the single-cell value. The real tblite GFN2-xTB engine on the
smallest slab the study can build (1×1 pyrophyllite layer, 40 atoms) with one
Li⁺ adsorbed (cell charge +1); the run takes ~30–40 s on 2 cores.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ase.db import connect

from atomistics import charged_cell as cc
from atomistics.cli import main
from atomistics.errors import AtomisticsError
from atomistics.reactions import vacuum_series as cs
from atomistics.structures.exchange import clear_vacuum
from atomistics.study import ReactionSpec, parse_study

HEIGHTS = (10, 15, 20)
SYSTEMS = ("li_ads", "slab", "li_cell")

TINY = """\
name: vs_tiny
engine: xtb
calculation:
  xtb: {max_steps_periodic: 40, fmax: 0.5}   # a loose, short relaxation: the test is the series
systems:
  slab: {kind: limmt-slab, supercell: [1, 1], vacuum: 10, mg: 0}
  li_ads: {kind: adsorbate, slab: slab, adsorbate: Li+, site: cavity, height: 1.8,
           orientation: Li-down}
  li_cell: {kind: molecule, species: Li+, cell_of: slab}
binding_energies:
  li_slab:
    complex: li_ads
    fragments: [slab, li_cell]
    vacuum_series: [20, 10, 15]
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """`atomistics run` of the tiny study, once for the module: (folder, argv, stdout)."""
    pytest.importorskip("tblite")
    tmp = tmp_path_factory.mktemp("vs")
    (tmp / "study.yaml").write_text(TINY)
    argv = ["run", str(tmp / "study.yaml"), "--db", str(tmp / "r.db")]
    argv += ["--workdir", str(tmp / "runs"), "--no-progress"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0
    return tmp, argv, buf.getvalue()


def _rows(db, name):
    return list(db.select(kind="calculation", name=name))


@pytest.mark.slow  # ~35-50 s on 2 busy cores: 3 relaxations + 9 single points of a 40-atom slab
def test_series_runs_stores_every_height_and_matches_a_hand_fit(tiny_run, capsys):
    tmp, argv, out = tiny_run
    db = connect(tmp / "r.db")

    # every height of every system is its own stored calculation, with its own hash
    energies, cells = {}, {}
    for v in HEIGHTS:
        for s in SYSTEMS:
            rows = _rows(db, cs.series_name(s, v))
            assert len(rows) == 1, (s, v)
            row = rows[0]
            assert row.stage == "single_point"
            energies[s, v] = row.energy
            cells[s, v] = row.toatoms()
    hashes = [r.calc_hash for r in db.select(kind="calculation")]
    assert len(hashes) == len(set(hashes))

    # the complex has exactly the requested clear vacuum above its topmost atom (the Li⁺),
    # and its references share its cell
    for v in HEIGHTS:
        cx = cells["li_ads", v]
        assert clear_vacuum(cx) == pytest.approx(v, abs=1e-3)
        assert cx.positions[:, 2].argmax() == len(cx) - 1  # the adsorbate is on top
        for s in ("slab", "li_cell"):
            assert np.allclose(cells[s, v].cell.array, cx.cell.array, atol=1e-6)
        # the bare slab is its own relaxed geometry, moved rigidly along z so that its atoms
        # sit, on average, where the complex's (separately relaxed) slab atoms are
        relaxed = db.get(kind="calculation", name="slab", stage="relax").toatoms().positions
        shift = cells["slab", v].positions - relaxed
        # (positions are stored rounded to 1e-5 Å, the content hash's precision)
        assert np.allclose(shift[:, :2], 0.0, atol=2e-5)
        assert np.ptp(shift[:, 2]) < 2e-5
        assert shift[0, 2] == pytest.approx(np.mean(cx.positions[:-1, 2] - relaxed[:, 2]), abs=2e-5)
        charges = [db.get(name=cs.series_name(s, v)).total_charge for s in SYSTEMS]
        assert charges == [1, 0, 1]  # the complex and the ion are charged cells

    # the extrapolated value is fit_vacuum_series applied by hand to those energies
    L = [float(cells["li_ads", v].cell[2, 2]) for v in HEIGHTS]
    dE = [energies["li_ads", v] - energies["slab", v] - energies["li_cell", v] for v in HEIGHTS]
    hand = cc.fit_vacuum_series(L, dE)
    reaction = db.get(kind="reaction", name="li_slab")
    assert reaction.e_vacuum_extrapolated_ev == pytest.approx(hand.a, abs=1e-9)
    amp = cc.noise_amplification(L)
    sigma = cs.SERIES_ENERGY_SIGMA_EV * math.sqrt(3.0)  # three energies per ΔE
    # numerical part (1 meV per energy through the fit) and the model-form part, in quadrature
    model = cc.linear_term_model_spread(L, dE)
    total = math.hypot(amp * sigma, model)
    assert reaction.e_vacuum_uncertainty_ev == pytest.approx(total, rel=1e-9)
    assert reaction.vacuum_series_status == "ok"
    # the single-cell value stays the reaction's ΔE
    single = db.get(kind="reaction", name="li_slab").e_reaction_ev
    assert single != pytest.approx(hand.a, abs=1e-3)

    # the table prints both, labelled
    line = next(x for x in out.splitlines() if cs.VACUUM_SERIES_LABEL in x)
    assert f"{hand.a:+.3f} ± {total:.3f} eV" in line
    assert f"single cell {single:+.3f} eV" in line

    # JSON (results --json) carries the whole series
    assert main(["results", "--db", str(tmp / "r.db"), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)["reactions"][0]["corrections"]["vacuum_series"]
    assert rec["label"] == cs.VACUUM_SERIES_LABEL
    assert rec["value_ev"] == pytest.approx(hand.a, abs=1e-9)
    assert rec["vacuum_angstrom"] == [10.0, 15.0, 20.0]
    assert rec["clear_vacuum_angstrom"] == pytest.approx([10, 15, 20], abs=1e-3)
    assert rec["energies_ev"] == pytest.approx(dE, abs=1e-9)
    assert rec["converged"] is True  # fmax 0.5 reached within 40 steps

    # a rerun computes nothing: every height is found by its hash
    assert main(argv) == 0
    capsys.readouterr()
    assert len(list(connect(tmp / "r.db").select(kind="calculation"))) == len(hashes)
    assert connect(tmp / "r.db").get(
        kind="reaction", name="li_slab"
    ).e_vacuum_extrapolated_ev == pytest.approx(hand.a, abs=1e-9)


@pytest.mark.slow  # uses the run above; the FireWorks launch itself reuses every calculation
def test_fireworks_reaction_task_gives_the_same_series(tiny_run, tmp_path):
    """`atomistics submit` + `rlaunch`: the reaction Firework calls the same series function;
    with every calculation already in the database it finds them all and stores the same fit."""
    tmp, _, _ = tiny_run
    ref = connect(tmp / "r.db").get(kind="reaction", name="li_slab")
    shutil.copy(tmp / "r.db", tmp_path / "results.db")
    (tmp_path / "study.yaml").write_text(TINY)
    db = connect(tmp_path / "results.db")
    db.delete([r.id for r in db.select(kind="reaction")])
    n_calc = len(list(db.select(kind="calculation")))
    env = {k: v for k, v in os.environ.items() if k not in ("FW_CONFIG_FILE",)}
    env["OMP_NUM_THREADS"] = "1"

    def tool(*cmd):
        return subprocess.run(
            cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
        )

    sub = tool(sys.executable, "-m", "atomistics", "submit", "study.yaml")
    assert sub.returncode == 0, sub.stderr
    launch = tool(str(Path(sys.executable).parent / "rlaunch"), "rapidfire", "--nlaunches", "0")
    assert launch.returncode == 0, launch.stderr[-2000:]
    db = connect(tmp_path / "results.db")
    assert len(list(db.select(kind="calculation"))) == n_calc  # nothing computed again
    fw = db.get(kind="reaction", name="li_slab")
    assert fw.e_vacuum_extrapolated_ev == pytest.approx(ref.e_vacuum_extrapolated_ev, abs=1e-12)
    assert fw.e_vacuum_uncertainty_ev == pytest.approx(ref.e_vacuum_uncertainty_ev, abs=1e-12)
    series_fw, series_run = (
        fw.data["corrections"]["vacuum_series"],
        ref.data["corrections"]["vacuum_series"],
    )
    assert series_fw["calc_hashes"] == series_run["calc_hashes"]
    assert series_fw["energies_ev"] == series_run["energies_ev"]


# ------------------------------------------------------------------ refusals (no engine)

BASE = """\
name: bad
engine: xtb
systems:
  slab: {kind: limmt-slab, supercell: [1, 1], vacuum: 10, mg: 0}
  li_ads: {kind: adsorbate, slab: slab, adsorbate: Li+, site: cavity, height: 1.8,
           orientation: Li-down}
  li_cell: {kind: molecule, species: Li+, cell_of: slab}
  li: {kind: molecule, species: Li+}
  fsi: {kind: molecule, species: FSI-, conformer: C2}
  pair: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
  ads_pair: {kind: adsorbate, slab: slab, adsorbate: FSI-, conformer: C2, counter_ion: Li+}
"""


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("{complex: li_ads, fragments: [slab, li_cell], vacuum_series: [15, 20]}", "at least 3"),
        (
            "{complex: li_ads, fragments: [slab, li_cell], vacuum_series: [15, 15, 20]}",
            "3 different",
        ),
        ("{complex: li_ads, fragments: [slab, li_cell], vacuum_series: [2, 15, 20]}", "between 5"),
        ("{complex: li_ads, fragments: [slab, li_cell], vacuum_series: [-5, 15, 20]}", "between 5"),
        ("{complex: li_ads, fragments: [slab, li_cell], vacuum_series: [.inf, 15, 20]}", "finite"),
        ("{complex: li_ads, fragments: [slab, li_cell], vacuum_series: 15}", "valid list"),
        ("{complex: pair, fragments: [li, fsi], vacuum_series: [15, 20, 25]}", "not a slab system"),
        ("{complex: ads_pair, fragments: [slab, pair], vacuum_series: [15, 20, 25]}", "charge 0"),
        (
            "{complex: li_ads, fragments: [slab, li_cell], counterpoise: true, "
            "vacuum_series: [15, 20, 25]}",
            "counterpoise together",
        ),
    ],
)
def test_bad_vacuum_series_is_one_line_exit_2(entry, needle, tmp_path, monkeypatch, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + f"binding_energies:\n  b: {entry}\n")
    monkeypatch.chdir(tmp_path)
    rc = main(["run", str(path), "--db", "r.db", "--workdir", "runs", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert needle in lines[0], lines[0]
    assert "vacuum_series" in lines[0] or "counterpoise" in lines[0]
    assert not (tmp_path / "runs").exists()  # refused before anything ran


def test_vacuum_series_on_a_non_binding_reaction_is_refused():
    text = BASE + (
        "reactions:\n  r: {reactants: {li_ads: 2}, products: {slab: 1, li_cell: 1, li_ads: 1},"
        " vacuum_series: [15, 20, 25]}\n"
    )
    with pytest.raises(AtomisticsError, match="react into itself|binding reaction"):
        parse_study(text)
    # a reaction written as a binding reaction is accepted
    ok = BASE + (
        "reactions:\n  r: {reactants: [slab, li_cell], products: [li_ads],"
        " vacuum_series: [15, 20, 25]}\n"
    )
    assert parse_study(ok).reactions["r"].vacuum_series == [15.0, 20.0, 25.0]


# ------------------------------------------------------------------ the fit's bookkeeping


def test_noise_amplification_is_the_monte_carlo_spread_of_a():
    """σ(a)/σ(E) from the design matrix against the scatter of a over noisy series."""
    L = np.array([25.0, 30.0, 35.0])
    rng = np.random.default_rng(3)
    a = [
        cc.fit_vacuum_series(L, 1.0 + 0.01 * L + 2.0 / L + rng.normal(0, 1e-3, 3)).a
        for _ in range(4000)
    ]
    assert np.std(a) / 1e-3 == pytest.approx(cc.noise_amplification(L), rel=0.05)


def _fake(name, energy, *, geo=True):
    return SimpleNamespace(
        name=name,
        stage="single_point",
        energy_ev=energy,
        calc_hash=f"h-{name}",
        scf_converged=True,
        geo_converged=geo,
        fmax_ev_a=0.3 if not geo else 0.01,
        fmax_target_ev_a=0.05,
        geo_steps=8,
    )


def _synthetic(heights, cell_heights, *, geo=True):
    """A planned series and its results with ΔE(L) = −2 + 0.01 L + 3/L exactly."""
    spec = ReactionSpec(
        reactants=["slab", "li_cell"], products=["li_ads"], vacuum_series=list(heights)
    )
    planned, results = [], []
    for v, L in zip(heights, cell_heights, strict=True):
        point = cs.VacuumSeriesPoint(vacuum=v, cell_height=L, structures={})
        planned.append((v, point, {}))
        dE = -2.0 + 0.01 * L + 3.0 / L
        results.append(
            {
                "li_ads": _fake(f"li_ads@vac{v}", dE - 100.0, geo=geo),
                "slab": _fake(f"slab@vac{v}", -105.0),
                "li_cell": _fake(f"li_cell@vac{v}", 5.0),
            }
        )
    return spec, planned, results


def test_assemble_recovers_a_and_flags_unconverged_inputs():
    spec, planned, results = _synthetic([15, 25, 35, 45], [22.0, 32.0, 42.0, 52.0], geo=False)
    rec = cs.assemble_vacuum_series("r", spec, planned, results)
    assert rec["value_ev"] == pytest.approx(-2.0, abs=1e-9)
    assert rec["b_ev_per_angstrom"] == pytest.approx(0.01, abs=1e-10)
    assert rec["status"] == "ok"
    assert rec["converged"] is False
    assert any("li_ads@vac15:single_point (geometry not converged" in u for u in rec["unconverged"])
    line = cs.format_vacuum_series("r", rec, -1.5)
    assert "NOT CONVERGED inputs of the series" in line
    # exact data: the residual term is 0, so the propagated precision plus the model-form
    # spread (b = 0.01 eV/Å is real here, so a + c/L extrapolates elsewhere) is the uncertainty
    numeric = cc.noise_amplification([22, 32, 42, 52]) * cs.SERIES_ENERGY_SIGMA_EV * math.sqrt(3)
    model = rec["model_uncertainty_ev"]
    assert model > 0.1 and rec["uncertainty_ev"] == pytest.approx(math.hypot(numeric, model))


def test_ill_conditioned_heights_give_no_value_and_say_why():
    spec, planned, results = _synthetic([15, 15.5, 16], [22.0, 22.5, 23.0])
    rec = cs.assemble_vacuum_series("r", spec, planned, results)
    assert rec["value_ev"] is None and rec["uncertainty_ev"] is None
    assert rec["status"].startswith("NOT REPORTED: the fit is ill-conditioned")
    assert rec["noise_amplification"] > cs.MAX_NOISE_AMPLIFICATION
    assert "ill-conditioned" in cs.format_vacuum_series("r", rec, -1.5)
