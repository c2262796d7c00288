"""Issue 16 (study inputs): what the refusals say, and the cases that are not exit 2.

The exit-2 cases themselves are in tests/catalogue_cases_study.py (run by
tests/test_bad_input_catalogue.py). Here: the messages name the key, its line and the
fix; a NaN result in a finished folder is run again, never stored; `results` never
crashes on, nor emits, a NaN; the table shows the protocol; a study's
``bridge.allow_unconverged: true`` is honoured.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from catalogue_cases_study import EXCHANGE_STUDY, S0, SOLVATION

from atomistics import db as dbmod
from atomistics import reactions as rx
from atomistics.cli import main
from atomistics.errors import AtomisticsError, StudySpecError
from atomistics.execution import CalcResult
from atomistics.study import parse_study

LI_ONLY = "name: one\nengine: xtb\nsystems:\n  li: {kind: molecule, species: Li+}\n"


def _strict_json(text: str):
    """json.loads that refuses NaN/Infinity (which Python's json accepts by default)."""

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _run(tmp_path, text: str, capsys, db: str = "r.db") -> tuple[int, str]:
    (tmp_path / "s.yaml").write_text(text)
    argv = ["run", str(tmp_path / "s.yaml"), "--db", str(tmp_path / db)]
    rc = main([*argv, "--workdir", str(tmp_path / "w"), "--no-progress"])
    return rc, capsys.readouterr().err


# ------------------------------------------------------------------ 1. coefficients


@pytest.mark.parametrize(
    ("reactants", "needle"),
    [
        ("{li: 1.0e+307, fsi: 1.0e+307}", "1e+307 is out of range"),
        ("{li: 1.0e-320, fsi: 1}", "1e-320 is out of range"),
        ("{li: yes, fsi: true}", "True is a YAML boolean"),
        ("{li: -1, fsi: 1}", "-1 is out of range"),
    ],
)
def test_coefficient_refusals_name_the_key_and_line(reactants, needle):
    text = S0 + f"reactions:\n  r:\n    reactants: {reactants}\n    products: {{lifsi: 1}}\n"
    with pytest.raises(StudySpecError) as exc:
        parse_study(text, "s.yaml")
    message = str(exc.value)
    assert "s.yaml line 9: reactions.r.reactants.li: " in message and needle in message
    assert "positive number from 0.01 to 100" in message


def test_coefficients_in_range_are_accepted():
    text = S0 + (
        "reactions:\n  r:\n    reactants: {li: 0.5, fsi: 0.5}\n    products: {lifsi: 0.5}\n"
        "  big: {reactants: {li: 100, fsi: 100}, products: {lifsi: 100}}\n"
    )
    study = parse_study(text, "s.yaml")
    assert study.reactions["r"].reactants == {"li": 0.5, "fsi": 0.5}
    assert study.reactions["big"].products == {"lifsi": 100.0}


def test_a_non_finite_reaction_energy_is_never_made():
    with pytest.raises(AtomisticsError, match="not a finite number"):
        rx.compute_reaction("r", {"a": 1.0}, {"b": 1.0}, {"a": 1.0, "b": math.inf})


# ------------------------------------------------------------------ 2-6. xtb settings


@pytest.mark.parametrize(
    ("settings", "needles"),
    [
        ("method: GFN3-xTB", ["'GFN3-xTB' is not a tblite method", "GFN2-xTB, GFN1-xTB"]),
        ("method: gfn1-xtb", ["did you mean 'GFN1-xTB'?"]),
        ("method: 2", ["2 is not a tblite method (did you mean 'GFN2-xTB'?"]),
        ("accuracy: -1", ["accuracy: -1 is not > 0"]),
        ("electronic_temperature: -300", ["-300 is not > 0", "K"]),
        ("fmax: abc", ["fmax: 'abc' is not a number", "eV/Å"]),
        ("relax_accuracy: abc", ["relax_accuracy: 'abc' is not a number"]),
        ("sp_supercell: '22'", ["sp_supercell: '22' is not a list of two whole numbers"]),
        ("sp_supercell: [true, 2]", ["[True, 2] is not a list of two whole numbers"]),
        ("solvation: 'alpb:nosuchsolvent'", ["no ALPB parameters for the solvent 'nosuch"]),
        ("solvation: 'cpcm:nosuchsolvent'", ["solvent database has no 'nosuchsolvent'"]),
        ("no_such_setting: 1", ["does not use the setting 'no_such_setting'"]),
    ],
)
def test_xtb_setting_refusals_name_key_line_and_value(tmp_path, capsys, settings, needles):
    pytest.importorskip("tblite")
    rc, err = _run(tmp_path, S0 + f"calculation:\n  xtb: {{{settings}}}\n", capsys)
    assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    key = settings.split(":")[0]
    assert f"s.yaml line 8: calculation.xtb.{key}: " in err, err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "w").exists()  # refused before any calculation


def test_good_xtb_settings_still_build_the_engine():
    pytest.importorskip("tblite")
    from atomistics.engines import get_engine

    engine = get_engine(
        "xtb",
        {
            "method": "GFN1-xTB",
            "accuracy": 0.5,
            "electronic_temperature": 500,
            "fmax": 0.1,
            "relax_accuracy": None,
            "sp_supercell": [2, 1],
            "solvation": "alpb:thf",
        },
    )
    assert engine.protocol == "GFN1-xTB" and engine.sp_supercell == (2, 1)


@pytest.mark.parametrize("method", ["GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"])
def test_the_solvents_the_messages_suggest_are_accepted_by_tblite(method):
    """Every suggestion in the refusals (thf, water, acetonitrile, a permittivity) works."""
    pytest.importorskip("tblite")
    from atomistics.engines.xtb import parse_solvation

    for spec in ("alpb:thf", "alpb:water", "alpb:acetonitrile", "gbsa:thf", "gbsa:water"):
        assert parse_solvation(spec, method)[0] in ("alpb", "gbsa")
    for spec in ("gbsa:acetonitrile", "cpcm:thf", "cpcm:water", "cosmo:thf", "cpcm:7.2"):
        assert parse_solvation(spec, method)[0] in ("gbsa", "ddX")


def test_bridge_solvation_refusal_names_model_or_alternative(tmp_path, capsys):
    pytest.importorskip("tblite")
    line = EXCHANGE_STUDY[: EXCHANGE_STUDY.index(SOLVATION)].count("\n") + 1
    for solvation, key in (
        ("{model: 'alpb:nosuchsolvent', approximation: cluster}", "bridge.solvation.model"),
        (
            "{model: 'cpcm:7.2', alternative: 'cpcm:nosuchsolvent', approximation: cluster, error: [model]}",
            "bridge.solvation.alternative",
        ),
    ):
        text = EXCHANGE_STUDY.replace(SOLVATION, f"solvation: {solvation}")
        rc, err = _run(tmp_path, text, capsys)
        assert rc == 2 and err.startswith("error: ") and f"s.yaml line {line}: {key} = " in err
        assert "nosuchsolvent" in err and not (tmp_path / "w").exists()


# ------------------------------------------------------------------ 8, 15. the bridge


def test_a_bridge_without_a_reaction_is_refused_at_load():
    with pytest.raises(StudySpecError) as exc:
        parse_study(S0 + "bridge: {current_density: 1 mA/cm^2}\n", "s.yaml")
    message = str(exc.value)
    assert "s.yaml line 7: bridge: no reaction to take the adsorption free energy" in message
    assert "bridge.surface_anion = 'limmt_fsi' (default)" in message
    assert "bridge.exchange" in message
    # the fallback pair of binding energies is a reaction to read: accepted
    ok = S0 + (
        "binding_energies:\n  li_fsi: {complex: lifsi, fragments: [li, fsi]}\n"
        "bridge: {surface_anion: li_fsi, cation_anion: li_fsi}\n"
    )
    assert parse_study(ok).bridge is not None


def test_bridge_fallback_defaults_are_the_bridge_specs():
    from atomistics.continuum.study_bridge import parse_bridge_spec
    from atomistics.study import BRIDGE_FALLBACK_DEFAULTS

    spec = parse_bridge_spec({})
    assert {k: getattr(spec, k) for k in BRIDGE_FALLBACK_DEFAULTS} == BRIDGE_FALLBACK_DEFAULTS


def _unconverged_exchange(study):
    results = {}
    for name, energy, charge, geo in (
        ("li", -5.0, 1, True),
        ("fsi", -40.0, -1, True),
        ("lifsi", -45.3, 0, False),
    ):
        atoms = Atoms("Li" if charge > 0 else "H", positions=[[0, 0, 0]])
        atoms.info.update(charge=charge, spin_multiplicity=1)
        results[name] = CalcResult(
            f"{name}-hash".ljust(64, "0"), "s0", name, "single_point", "xtb", "v", "GFN2-xTB",
            energy, atoms, np.zeros((1, 3)), True, geo, 0, 1.0, [], {}, {}, {},
            fmax_ev_a=None if geo else 0.66, fmax_target_ev_a=0.05, geo_steps=8,
        )  # fmt: skip
    entry = rx.assemble("ex", study.reactions["ex"], results)
    entry.charged = False  # stands for a neutral exchange reaction (slab + LiFSI -> ...)
    assert not entry.converged
    return entry


@pytest.mark.parametrize("allow", ["true", "false"])
def test_study_allow_unconverged_is_honoured_by_run(capsys, allow):
    from atomistics.cli.run import _print_bridge

    study = parse_study(
        S0
        + "reactions:\n  ex: {reactants: [li, fsi], products: [lifsi]}\n"
        + f"bridge: {{exchange: ex, current_density: 1 mA/cm^2, allow_unconverged: {allow}}}\n"
    )
    _print_bridge(study, [_unconverged_exchange(study)], "xtb")
    out = capsys.readouterr().out
    if allow == "true":
        assert "UNCONVERGED inputs" in out and "not evaluated" not in out, out
    else:
        assert "not evaluated: ex built from unconverged calculations" in out
        assert "bridge.allow_unconverged: true" in out and "--allow-unconverged" in out


# ------------------------------------------------------------------ 17. NaN results


def test_nan_energy_in_a_finished_folder_is_run_again_not_stored(tmp_path, capsys):
    pytest.importorskip("tblite")
    rc, err = _run(tmp_path, LI_ONLY, capsys, "a.db")
    assert rc == 0, err
    path = next((tmp_path / "w").rglob("single_point-*/ase_result.json"))
    data = json.loads(path.read_text())
    good = data["energy_ev"]
    data["energy_ev"] = math.nan
    path.write_text(json.dumps(data))  # what a broken engine or a bad edit leaves
    rc, err = _run(tmp_path, LI_ONLY, capsys, "b.db")  # the database deleted: recovered
    assert rc == 0 and "Traceback" not in err, err
    assert "unreadable result (its energy is nan, not a finite number); running it again" in err
    assert json.loads(path.read_text())["energy_ev"] == pytest.approx(good)  # rerun
    assert list(path.parent.parent.glob("single_point-*.attempt1"))  # the NaN one kept aside
    db = dbmod.connect(tmp_path / "b.db", readonly=True)
    energies = [row.energy for row in dbmod.calculation_rows(db)]
    assert len(energies) == 2 and all(e is not None and math.isfinite(e) for e in energies)


class _NaN(Calculator):
    implemented_properties = ("energy", "forces")

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": math.nan, "forces": np.zeros((len(self.atoms), 3))}


def test_a_calculation_that_gives_nan_fails_and_stores_nothing(tmp_path):
    from atomistics.engines import ASECalculatorEngine, CalculationFailed
    from atomistics.runner import run_study

    engine = ASECalculatorEngine("nan", lambda atoms, settings: _NaN(), "nan 1")
    study = parse_study(LI_ONLY)
    with pytest.raises(CalculationFailed, match="its energy is nan, not a finite number"):
        run_study(study, engine, tmp_path / "r.db", tmp_path / "w", progress=False)
    assert dbmod.calculation_rows(dbmod.connect(tmp_path / "r.db", readonly=True)) == []


def _write_old_rows(path):
    """A results database as an older version left it: a NaN calculation and reaction row."""
    db = dbmod.connect(path)
    atoms = Atoms("Li", positions=[[0, 0, 0]])
    atoms.info.update(charge=1, spin_multiplicity=1)
    result = CalcResult(
        "n" * 64, "s0", "li", "single_point", "xtb", "v", "GFN2-xTB", math.nan, atoms,
        np.zeros((1, 3)), True, True, 0, 1.0, [], {}, {}, {},
    )  # fmt: skip
    with db:
        dbmod.write_calculation(db, result)
    nan = rx.ReactionEnergy(
        "r", {"li": 1.0}, {"lifsi": 1.0}, math.nan, math.nan, engine="xtb", protocol="GFN2-xTB"
    )
    dbmod.write_reactions(db, "s0", "xtb", "GFN2-xTB", [nan])
    return result


def test_results_never_crash_on_nor_emit_a_nan_row(tmp_path, capsys):
    path = tmp_path / "old.db"
    _write_old_rows(path)
    assert main(["results", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "GFN2-xTB" in out and "li " in out
    assert main(["results", "--db", str(path), "--json"]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert data["calculations"][0]["energy"] is None
    assert data["reactions"][0]["energy_ev"] is None
    assert main(["results", "--db", str(path), "--csv"]) == 0


def test_run_refuses_a_stored_nan_row(tmp_path):
    path = tmp_path / "old.db"
    result = _write_old_rows(path)
    with pytest.raises(AtomisticsError, match="no finite energy .* delete that row"):
        dbmod.load_result(dbmod.connect(path, readonly=True), result.calc_hash)


# ------------------------------------------------------------------ 16. the protocol shown


def test_results_table_shows_the_protocol(tmp_path, capsys):
    path = tmp_path / "r.db"
    db = dbmod.connect(path)
    for protocol, energy in (("GFN1-xTB", -3.1), ("GFN2-xTB", -3.4)):
        entry = rx.compute_reaction(
            "li_fsi", {"li": 1.0, "fsi": 1.0}, {"lifsi": 1.0}, {"li": 0, "fsi": 0, "lifsi": energy}
        )
        entry.engine, entry.protocol = "xtb", protocol
        dbmod.write_reactions(db, "s0", "xtb", protocol, [entry])
    assert main(["results", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("reaction "))
    assert "engine  protocol" in header
    rows = [line for line in out.splitlines() if line.startswith("li_fsi")]
    assert len(rows) == 2
    assert "GFN1-xTB" in rows[0] and "-3.100" in rows[0]
    assert "GFN2-xTB" in rows[1] and "-3.400" in rows[1]
