"""Reactions: coefficients, balance checks at load, convergence flags to table/JSON/DB/plot,
row replacement, duplicate refusal, read-only readers, the symlink-proof run lock,
engine options, the content hash, and ASE-db rows that look right."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms

from atomistics import db as dbmod
from atomistics import reactions as rx
from atomistics.engines import engine_options, get_engine
from atomistics.errors import AtomisticsError, StudySpecError
from atomistics.execution import CalcResult, stage_input
from atomistics.execution.hashing import calculation_hash
from atomistics.runner import study_lock
from atomistics.study import ReactionSpec, parse_study

IONS = """\
name: ions
systems:
  fsi: {kind: molecule, species: FSI-, conformer: C2}
  li: {kind: molecule, species: Li+}
  li_fsi: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
"""


def _result(name, energy, charge=0, geo=True, scf=True, engine="xtb", protocol="GFN2-xTB"):
    atoms = Atoms("Li" if charge > 0 else "H", positions=[[0, 0, 0]])
    atoms.info.update(charge=charge, spin_multiplicity=1)
    return CalcResult(
        calc_hash=f"{name}-hash".ljust(64, "0"),
        study="t",
        name=name,
        stage="single_point",
        engine=engine,
        engine_version="v",
        protocol=protocol,
        energy_ev=energy,
        atoms=atoms,
        forces=np.zeros((1, 3)),
        scf_converged=scf,
        geo_converged=geo,
        n_steps=0,
        wall_time_s=1.0,
        warnings=[],
        timings={},
        settings={},
        metadata={},
        fmax_ev_a=None if geo else 0.66,
        fmax_target_ev_a=0.05,
        geo_steps=8,
    )


# ------------------------------------------------------------------ arithmetic


def test_reaction_energy_with_coefficients():
    # 2 H2 + O2 -> 2 H2O : ΔE = 2 E(H2O) − 2 E(H2) − E(O2)
    e = {"h2": -31.0, "o2": -860.0, "h2o": -2080.0}
    spec = ReactionSpec(reactants={"h2": 2, "o2": 1}, products={"h2o": 2})
    assert spec.coefficients == {"h2": -2.0, "o2": -1.0, "h2o": 2.0}
    assert rx.reaction_energy(spec.coefficients, e) == pytest.approx(2 * -2080 + 62 + 860)
    # a binding energy is the special case fragments -> complex
    b = rx.compute("ab", "ab", ["a", "b"], {"ab": -10.0, "a": -3.0, "b": -4.0})
    assert b.energy_ev == pytest.approx(-3.0) and b.binding == ("ab", ["a", "b"])
    # the same fragment twice counts twice
    twice = rx.compute("aa", "aa", ["a", "a"], {"aa": -7.0, "a": -3.0})
    assert twice.reactants == {"a": 2.0} and twice.energy_ev == pytest.approx(-1.0)


def test_list_and_mapping_sides_are_the_same_reaction():
    a = ReactionSpec(reactants=["li", "li", "x"], products={"p": 1})
    b = ReactionSpec(reactants={"li": 2, "x": 1}, products=["p"])
    assert a.coefficients == b.coefficients


def test_neutral_exchange_needs_no_background_and_charged_rows_are_labelled():
    # slab + [Li+ FSI-] -> slab.(FSI- + Li+): every cell neutral
    spec = ReactionSpec(reactants=["slab", "pair"], products=["product"])
    results = {
        n: _result(n, e) for n, e in (("slab", -100.0), ("pair", -50.0), ("product", -151.0))
    }
    exch = rx.assemble("exchange", spec, results)
    assert exch.energy_ev == pytest.approx(-1.0)
    assert not exch.charged and exch.label == "neutral"
    # Li+ + FSI- -> LiFSI: the paper's definition with charged fragments
    spec = ReactionSpec(reactants=["li", "fsi"], products=["pair"])
    results = {
        "li": _result("li", -5.0, charge=1),
        "fsi": _result("fsi", -40.0, charge=-1),
        "pair": _result("pair", -53.0),
    }
    pair = rx.assemble("li_fsi", spec, results)
    assert pair.charged and pair.label == "paper's definition (charged fragments)"
    table = rx.format_table([exch, pair])
    assert "paper's definition (charged fragments)" in table and "neutral" in table


def test_assembler_refuses_mixed_engines():
    spec = ReactionSpec(reactants=["a", "b"], products=["ab"])
    results = {
        "a": _result("a", -1.0),
        "b": _result("b", -1.0, engine="cp2k", protocol="paper"),
        "ab": _result("ab", -3.0),
    }
    with pytest.raises(AtomisticsError, match="mix engines"):
        rx.assemble("ab", spec, results)


# ------------------------------------------------------------------ balance checks


@pytest.mark.parametrize(
    "extra,message",
    [
        (
            "binding_energies:\n  p: {complex: li_fsi, fragments: [li_fsi, li_fsi]}\n",
            "own fragment",
        ),
        (
            "binding_energies:\n  p: {complex: li_fsi, fragments: [li, li]}\n",
            "does not balance atoms",
        ),
        ("reactions:\n  r: {reactants: [li], products: [fsi]}\n", "does not balance atoms"),
        ("reactions:\n  r: {reactants: [li, fsi], products: {li_fsi: 2}}\n", "balance atoms"),
        ("reactions:\n  r: {reactants: [li_fsi], products: [li_fsi]}\n", "both sides"),
        ("reactions:\n  r: {reactants: {li: -1, fsi: 1}, products: [li_fsi]}\n", "positive"),
        ("reactions:\n  r: {reactants: [li, nope], products: [li_fsi]}\n", "unknown system 'nope'"),
    ],
)
def test_unbalanced_reactions_are_refused_at_load(extra, message):
    with pytest.raises(StudySpecError, match=message):
        parse_study(IONS + extra)


def test_charge_balance_is_checked():
    # li_fsi (q 0) -> li (+1) + fsi (-1) balances atoms and charge; a Li that were neutral
    # would keep the atoms balanced and break the charge
    study = parse_study(IONS + "reactions:\n  split: {reactants: [li_fsi], products: [li, fsi]}\n")
    assert study.all_reactions["split"].coefficients == {"li_fsi": -1.0, "li": 1.0, "fsi": 1.0}
    from atomistics.study import build_study_structures, check_reactions

    structures = build_study_structures(study)
    structures["li"].info["charge"] = 0  # as if Li were neutral: the charge no longer adds up
    with pytest.raises(StudySpecError, match="does not balance charge"):
        check_reactions(study, structures)


# ------------------------------------------------------------------ convergence flags


def _flagged_entries():
    spec = ReactionSpec(reactants=["a", "b"], products=["ab"], paper_value_ev=-8.35)
    good = {"a": _result("a", -3.0), "b": _result("b", -4.0), "ab": _result("ab", -10.0)}
    bad = dict(good, ab=_result("ab", -10.0, geo=False))
    return rx.assemble("good", spec, good), rx.assemble("bad", spec, bad)


def test_convergence_flags_reach_table_json_db_and_plot(tmp_path):
    good, bad = _flagged_entries()
    assert good.converged and not bad.converged
    assert "geometry not converged" in bad.unconverged[0] and "8 steps" in bad.unconverged[0]
    table = rx.format_table([good, bad])
    assert "NOT CONVERGED bad" in table and "fmax 0.66" in table
    assert json.loads(json.dumps(bad.to_record()))["converged"] is False
    db = dbmod.connect(tmp_path / "r.db")
    dbmod.write_reactions(db, "t", "xtb", "GFN2-xTB", [good, bad])
    rows = {r.name: r for r in dbmod.reaction_rows(db, "t")}
    assert rows["bad"].converged is False and rows["good"].converged is True
    (back,) = [e for e in dbmod.reactions_from_db(db, "t") if e.name == "bad"]
    assert back.converged is False and back.unconverged == bad.unconverged
    svg = rx.plot([good, bad], tmp_path / "r.svg").read_text()
    assert "not converged" in svg
    # `atomistics results --json` carries the flag
    res = subprocess.run(
        [sys.executable, "-m", "atomistics", "results", "--db", str(tmp_path / "r.db"), "--json"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    flags = {r["name"]: r["converged"] for r in json.loads(res.stdout)["reactions"]}
    assert flags == {"good": True, "bad": False}


# ------------------------------------------------------------------ rows: replace, refuse duplicates


def test_rerun_replaces_reaction_rows_and_readers_refuse_duplicates(tmp_path):
    db = dbmod.connect(tmp_path / "r.db")
    stale = rx.compute("li_fsi", "p", ["p", "p"], {"p": -485.0})  # +485: a bad definition
    stale.engine, stale.protocol = "xtb", "GFN2-xTB"
    dbmod.write_reactions(db, "s", "xtb", "GFN2-xTB", [stale])
    fixed = rx.compute(
        "li_fsi", "li_fsi", ["li", "fsi"], {"li_fsi": -10.0, "li": -1.0, "fsi": -0.57}
    )
    fixed.engine, fixed.protocol = "xtb", "GFN2-xTB"
    dbmod.write_reactions(db, "s", "xtb", "GFN2-xTB", [fixed])
    (only,) = dbmod.reactions_from_db(db, "s")
    assert only.energy_ev == pytest.approx(-8.43)
    # another engine's rows are kept, and a reader must then choose
    other = rx.compute("li_fsi", "li_fsi", ["li", "fsi"], {"li_fsi": -9.0, "li": -1.0, "fsi": 0.0})
    other.engine, other.protocol = "cp2k", "paper"
    dbmod.write_reactions(db, "s", "cp2k", "paper", [other])
    with pytest.raises(AtomisticsError, match="several engines"):
        dbmod.reactions_from_db(db, "s")
    assert dbmod.reactions_from_db(db, "s", "cp2k")[0].energy_ev == pytest.approx(-8.0)
    from atomistics.stored_reactions import read_binding_energy

    assert read_binding_energy(tmp_path / "r.db", "s", "li_fsi", "xtb") == pytest.approx(-8.43)
    # a duplicate written behind our back is refused, not silently picked
    db.write(
        Atoms(),
        kind="reaction",
        study="s",
        name="li_fsi",
        engine="xtb",
        protocol="GFN2-xTB",
        e_reaction_ev=970.0,
        converged=True,
    )
    with pytest.raises(AtomisticsError, match="two rows"):
        dbmod.reactions_from_db(db, "s", "xtb")


# ------------------------------------------------------------------ read-only readers


def _results(db):
    return subprocess.run(
        [sys.executable, "-m", "atomistics", "results", "--db", str(db)],
        capture_output=True,
        text=True,
    )


def test_results_never_writes_to_what_it_reads(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    proc = _results(empty)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and empty.stat().st_size == 0

    foreign = tmp_path / "theirs.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes (x TEXT)")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    proc = _results(foreign)
    assert proc.returncode == 2 and "not an ASE database" in proc.stderr
    assert foreign.read_bytes() == before  # no ASE tables added

    text = tmp_path / "text.db"
    text.write_text("hello\n")
    proc = _results(text)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr

    missing = tmp_path / "missing.db"
    proc = _results(missing)
    assert proc.returncode == 2 and not missing.exists()


# ------------------------------------------------------------------ run lock


def test_lock_follows_symlinks_to_the_database(tmp_path):
    two = tmp_path / "two.db"
    link = tmp_path / "link.db"
    link.symlink_to(two)
    with study_lock(tmp_path / "w1", two):
        with pytest.raises(AtomisticsError, match="another `atomistics run`"):
            with study_lock(tmp_path / "w2", link):
                pass
        with pytest.raises(AtomisticsError, match="another `atomistics run`"):
            with study_lock(tmp_path / "w3", tmp_path / "." / "two.db"):
                pass
    with study_lock(tmp_path / "w2", link):  # free again
        pass
    assert two.exists() and two.stat().st_size == 0  # the lock never writes into the database


# ------------------------------------------------------------------ engine options


def test_engine_options_refuse_what_the_engine_does_not_use():
    study = parse_study(IONS + "calculation: {protocol: quick}\n")
    with pytest.raises(AtomisticsError, match="CP2K settings; the xtb engine does not use"):
        engine_options(study, "xtb")
    assert engine_options(study, "cp2k") == {"protocol": "quick", "overrides": {}}
    study = parse_study(IONS + "calculation: {overrides: {cutoff: 400}}\n")
    with pytest.raises(AtomisticsError, match="calculation.overrides"):
        engine_options(study, "xtb")
    study = parse_study(IONS + "calculation: {xtb: {accuracy: 0.5}}\n")
    # the dry-run engine's own section: one study file runs with either engine
    assert engine_options(study, "cp2k") == {"protocol": "paper", "overrides": {}}
    pytest.importorskip("tblite")
    with pytest.raises(AtomisticsError, match="do not apply to the xtb engine"):
        get_engine("xtb", {}, {"command": ["cp2k.psmp"]})
    with pytest.raises(AtomisticsError, match="does not use the setting"):
        get_engine("xtb", {"no_such_setting": 1})
    engine = get_engine("xtb", engine_options(study, "xtb"))
    assert engine.calculator_settings["accuracy"] == 0.5  # passed as given


# ------------------------------------------------------------------ content hash


def test_hash_sees_the_adsorbate_mask_and_ignores_float_noise():
    atoms = Atoms("H2O", positions=[[0, 0, 0], [0.76, 0.59, 0], [-0.76, 0.59, 0]])
    h = calculation_hash(stage_input(atoms), "relax", "xtb", "v", {})
    noisy = atoms.copy()
    noisy.positions += 1e-9
    assert calculation_hash(stage_input(noisy), "relax", "xtb", "v", {}) == h
    masked = atoms.copy()
    masked.arrays["adsorbate"] = np.array([False, True, True])
    assert calculation_hash(stage_input(masked), "relax", "xtb", "v", {}) != h


# ------------------------------------------------------------------ ASE's view of the rows


def test_ase_db_shows_charge_calculator_and_metadata(tmp_path):
    import ase.db

    fsi = _result("fsi", -40.0, charge=-1)
    db = dbmod.connect(tmp_path / "r.db")
    with db:
        dbmod.write_calculation(db, fsi)
    ro = ase.db.connect(str(tmp_path / "r.db"))
    row = ro.get(kind="calculation")
    assert row.charge == pytest.approx(-1.0) and row.calculator == "xtb"
    meta = ro.metadata
    for col in ("name", "stage", "engine", "energy", "fmax", "charge", "geo_converged"):
        assert col in meta["default_columns"]
    assert meta["key_descriptions"]["e_reaction_ev"][2] == "eV"
    back = CalcResult.from_row(row)
    assert back.charge == -1 and back.energy_ev == fsi.energy_ev and back.geo_converged
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ase",
            "db",
            str(tmp_path / "r.db"),
            "--csv",
            "-c",
            "name,stage,engine,total_charge,calculator",
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert out.splitlines()[1].replace(" ", "").split(",") == [
        "fsi",
        "single_point",
        "xtb",
        "-1",
        "xtb",
    ]


def test_run_does_not_pass_an_unconverged_reaction_to_the_bridge(capsys):
    from atomistics.cli.run import _print_bridge

    study = parse_study(
        IONS
        + "reactions:\n  ex: {reactants: [li, fsi], products: [li_fsi]}\n"
        + "bridge: {exchange: ex, current_density: 1 mA/cm^2}\n"
    )
    spec = study.all_reactions["ex"]
    results = {
        "li": _result("li", -5.0, charge=1),
        "fsi": _result("fsi", -40.0, charge=-1),
        "li_fsi": _result("li_fsi", -45.3, geo=False),
    }
    entry = rx.assemble("ex", spec, results)
    entry.charged = False  # stands for a neutral exchange reaction (a charged one is refused)
    assert not entry.converged
    _print_bridge(study, [entry], "xtb")
    out = capsys.readouterr().out
    assert "not evaluated: ex built from unconverged calculations" in out
    assert "--allow-unconverged" in out and "VERDICT" not in out
    _print_bridge(study, [entry], "xtb", allow_unconverged=True)
    out = capsys.readouterr().out
    assert "UNCONVERGED inputs" in out and "VERDICT" in out


def test_one_rule_for_an_unconverged_bridge_input():
    """atomistics run and the FireWorks bridge task refuse the same inputs with the same
    words, and both let the study's bridge.allow_unconverged opt in."""
    from types import SimpleNamespace

    from atomistics.stored_reactions import unconverged_reason

    records = {
        "ex": SimpleNamespace(converged=False),
        "ok": SimpleNamespace(converged=True),
    }
    why = unconverged_reason(records, ["ex", "ok"], allow_unconverged=False)
    assert why.startswith("ex built from unconverged calculations")
    assert "bridge.allow_unconverged: true" in why and "--allow-unconverged" in why
    assert unconverged_reason(records, ["ex"], allow_unconverged=True) is None
    assert unconverged_reason(records, ["ok"], allow_unconverged=False) is None
