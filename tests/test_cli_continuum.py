"""The continuum and analysis CLI, run as a user would (subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SAND = [
    "sand",
    "--c0",
    "1 mol/L",
    "--diffusivity",
    "3e-10 m^2/s",
    "--current-density",
    "1 mA/cm^2",
    "--t-plus",
    "0.32",
]


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "atomistics", *args], capture_output=True, text=True, timeout=120
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_sand_json_analytic_and_numerical():
    out = json.loads(run(*SAND, "--numerical", "--json").stdout)
    assert out["sand_time_semi_infinite_analytic"] == pytest.approx(47436.9, rel=1e-5)
    assert out["sand_time_numerical"] == pytest.approx(
        out["sand_time_semi_infinite_analytic"], rel=1e-4
    )
    assert out["inputs"]["current_density"] == pytest.approx(10.0)


def test_sand_finite_cell_below_limiting_current_has_no_sand_time(tmp_path):
    out = json.loads(
        run(*SAND, "--length", "25 um", "--json", "--plot", str(tmp_path / "p.png")).stdout
    )
    assert out["sand_time"] is None
    assert out["limiting_current_density"] == pytest.approx(3405.36, rel=1e-5)
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_missing_unit_is_a_user_error():
    proc = run(
        "sand",
        "--c0",
        "1",
        "--diffusivity",
        "3e-10 m^2/s",
        "--current-density",
        "1 mA/cm^2",
        "--t-plus",
        "0.32",
        check=False,
    )
    assert proc.returncode == 2
    assert "no unit" in proc.stderr and "Traceback" not in proc.stderr


def test_bridge_from_results_db(tmp_path):
    import ase.db
    from ase import Atoms

    db_path = tmp_path / "results.db"
    db = ase.db.connect(str(db_path))
    db.write(Atoms("Li"), study="limmt_fsi", kind="binding_energy", name="li_fsi", e_bind_ev=-8.35)
    db.write(
        Atoms("Li"), study="limmt_fsi", kind="binding_energy", name="limmt_fsi", e_bind_ev=-10.39
    )
    from_db = json.loads(
        run("bridge", "--db", str(db_path), "--study", "limmt_fsi", "--json").stdout
    )
    from_numbers = json.loads(
        run(
            "bridge", "--e-surface-anion", "-10.39 eV", "--e-cation-anion", "-8.35 eV", "--json"
        ).stdout
    )
    assert from_db["free_energy"]["delta_e_ev"] == pytest.approx(-2.04)
    assert from_db["transport"] == from_numbers["transport"]
    proc = run("bridge", "--db", str(db_path), "--study", "nope", check=False)
    assert proc.returncode == 2 and "no binding energy" in proc.stderr


PAPER_ENERGIES = ["bridge", "--e-surface-anion", "-10.39 eV", "--e-cation-anion", "-8.35 eV"]


def test_bridge_paper_energies_json_bands_and_which_way(tmp_path):
    out = json.loads(run(*PAPER_ENERGIES, "--json", "--plot", str(tmp_path / "b.png")).stdout)
    tr = out["transport"]
    assert tr["trapped_fraction"] <= tr["trapped_fraction_bound"]
    # the t+ bands against the library at the ends of dG's 95 % interval (recomputed here
    # from the printed dG and sigma with scipy's z; t+ is monotonic in dG)
    from scipy.stats import norm

    from atomistics.continuum import coating_model as cmod

    fe = out["free_energy"]
    z = norm.ppf(0.975)
    ends = [fe["delta_g_ev"] + k * z * fe["sigma_ev"] for k in (-1, 1)]
    layers = (cmod.Electrolyte(), cmod.Separator(), cmod.Coating())
    for key in ("t_plus_coating", "t_plus_stack"):
        at_ends = [getattr(cmod.coating_transport(g, *layers), key) for g in ends]
        assert out["bands"][key]["low"] == pytest.approx(min(at_ends), rel=1e-6), key
        assert out["bands"][key]["high"] == pytest.approx(max(at_ends), rel=1e-6), key
    assert out["free_energy"]["fitted"] and out["free_energy"]["origin"] == "screening"
    assert out["surfaces"]["site_density"].startswith("edge")
    # the verdict is the real cell's: at the protrusion current the coated cell's onset
    # moves one way at the central dG and the other within the band
    assert "CANNOT TELL" in out["verdict"] and "over dG's 95 % band" in out["verdict"]
    # on a semi-infinite separator only Li+ depletion at the plating electrode is dendrite
    # onset; there the salt runs out at the coating/separator interface first
    coated = out["coated"]
    assert coated["sand_time_semi_infinite"] is None  # not reached while the model holds
    assert coated["interface_depletion_time"] > out["pe"]["sand_time_semi_infinite"]
    assert 0 < coated["electrode_li_at_interface_depletion"] < 60.0
    assert (tmp_path / "b.png").stat().st_size > 20_000


def test_bridge_text_labels_and_calibration_cannot_reach():
    text = run(*PAPER_ENERGIES, "--calibrate", "0.32", "0.63", "--dg-spread", "0.1 eV").stdout
    assert "FITTED" in text and "NOT a free energy" in text
    assert "CANNOT REACH the measured stack t+ = 0.630" in text
    assert "VERDICT:" in text and "J_lim: the coating (vs PE)" in text
    assert "site density -> edge" in text and "adsorption energy -> basal" in text


@pytest.mark.parametrize("temperature", ["-5 K", "0 K", "nan K", "inf K"])
def test_bridge_rejects_non_physical_temperature(temperature):
    proc = run(*PAPER_ENERGIES, f"--temperature={temperature}", check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "temperature" in proc.stderr


def test_bridge_exchange_energy_refuses_unconverged_input():
    base = ["bridge", "--exchange-energy", "-0.3 eV", "--unconverged-input"]
    proc = run(*base, check=False)
    assert proc.returncode == 2 and "--allow-unconverged" in proc.stderr
    out = json.loads(run(*base, "--allow-unconverged", "--json").stdout)
    assert out["free_energy"]["origin"] == "exchange"
    assert "UNCONVERGED" in out["free_energy"]["solvation"]


def test_analyze_bruce_vincent_json():
    out = json.loads(
        run(
            "analyze",
            "bruce-vincent",
            "--delta-v",
            "10 mV",
            "--i0",
            "50 uA",
            "--i-ss",
            "20 uA",
            "--r0",
            "100 ohm",
            "--r-ss",
            "120 ohm",
            "--json",
        ).stdout
    )
    assert out["t_plus"] == pytest.approx(1 / 3.8)


def test_analyze_csv_commands(tmp_path):
    nuc = json.loads(
        run(
            "analyze",
            "nucleation",
            str(DATA / "transient_instantaneous.csv"),
            "--json",
            "--plot",
            str(tmp_path / "n.png"),
        ).stdout
    )
    assert nuc["best"] == "instantaneous"
    assert nuc["fits"]["instantaneous"]["t_max"] == pytest.approx(0.8, rel=0.02)
    arr = json.loads(run("analyze", "arrhenius", str(DATA / "arrhenius.csv"), "--json").stdout)
    assert arr["fit"]["activation_energy"] == pytest.approx(13730, rel=1e-4)
    taf = json.loads(
        run(
            "analyze",
            "tafel",
            str(DATA / "tafel.csv"),
            "--eta-window",
            "150 mV",
            "300 mV",
            "--json",
        ).stdout
    )
    assert taf["fit"]["exchange_current_density"] == pytest.approx(13.0, rel=0.01)


def test_bridge_reads_the_exchange_reaction_from_the_db(tmp_path):
    import ase.db
    from ase import Atoms

    db_path = tmp_path / "results.db"
    db = ase.db.connect(str(db_path))
    db.write(
        Atoms("Li"),
        study="limmt_fsi",
        kind="binding_energy",
        name="limmt_exchange",
        e_bind_ev=-0.31,
        converged=False,
        engine="xtb",
    )
    base = ["bridge", "--db", str(db_path), "--study", "limmt_fsi", "--exchange-name"]
    proc = run(*base, "limmt_exchange", check=False)
    assert proc.returncode == 2 and "unconverged" in proc.stderr
    out = json.loads(run(*base, "limmt_exchange", "--allow-unconverged", "--json").stdout)
    fe = out["free_energy"]
    assert fe["origin"] == "exchange" and fe["delta_g_ev"] == pytest.approx(-0.31)
    assert fe["engine"] == "xtb" and "UNCONVERGED" in fe["solvation"]


def test_negative_quantities_are_values_and_usage_errors_are_one_line():
    """``--delta-g -1.019eV`` (no space, no '=') is a value, not an unknown option: the
    CLI's parser treats any token that starts like a negative number as one (cli._Parser);
    a real usage error is one line naming the option, exit 2."""
    text = run("bridge", "--delta-g", "-1.019eV", "--json").stdout
    assert json.loads(text)["free_energy"]["delta_g_ev"] == pytest.approx(-1.019)
    proc = run("bridge", "--delta-g", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: argument --delta-g: expected one argument "
        "(atomistics bridge --help lists the options)"
    ]
    bad = run("bridge", "--delta-g", "-1 eV", "--c0", "-1mol/L", check=False)
    assert bad.returncode == 2 and "--c0 must be a positive concentration" in bad.stderr
