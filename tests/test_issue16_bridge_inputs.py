"""Issue 16 (bridge part): the cases that are not a refusal.

Item 7: a large |dG| saturates the sites (theta_T = 1 exactly) without overflow or a
RuntimeWarning, and moderate dG give what an independent direct computation gives.
Item 9/21: the spread and temperature bounds accept their ends. Item 10: a neutral
exchange reaction is still used. Item 16: --protocol picks that protocol's rows.
Item 18: sand accepts the ends of --length. Item 19: a reader that closes the pipe
early ends every command quietly. (The refusals are in catalogue_cases_bridge.py.)
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from catalogue_cases_bridge import two_protocols_db
from scipy.optimize import brentq

from atomistics.cli import main
from atomistics.continuum import coating_model as cmod
from atomistics.continuum.constants import BOLTZMANN_EV
from atomistics.continuum.study_bridge import parse_spread, run_study_bridge
from atomistics.errors import AtomisticsError
from atomistics.reactions import ReactionEnergy

REPO = Path(__file__).resolve().parents[1]
TAFEL_CSV = REPO / "tests" / "data" / "tafel.csv"
ELY, SEP, COAT = cmod.Electrolyte(), cmod.Separator(), cmod.Coating()


def _ion_diffusivities(ely: cmod.Electrolyte) -> tuple[float, float]:
    """D+ and D- from the ambipolar D and t+: D = 2 D+ D-/(D+ + D-), t+ = D+/(D+ + D-)."""
    return ely.diffusivity / (2 * (1 - ely.t_plus)), ely.diffusivity / (2 * ely.t_plus)


def _t_plus_by_hand(c_plus: float, c_minus: float, ely=ELY, sep=SEP, coat=COAT):
    """t+ of the coating (D+ c+/(D+ c+ + D- c-)) and of coating + separator (Bruce-Vincent
    R_0/R_ss of layers in series, bridge.stack_transference_number's closed form)."""
    dp, dm = _ion_diffusivities(ely)
    c0 = ely.c0
    r_c = coat.thickness * coat.porosity ** (1 - coat.bruggeman) / coat.porosity
    r_s = sep.thickness * sep.porosity ** (1 - sep.bruggeman) / sep.porosity
    t_coat = dp * c_plus / (dp * c_plus + dm * c_minus)
    num = r_c / (dp * c_plus + dm * c_minus) + r_s / ((dp + dm) * c0)
    den = r_c / (dp * c_plus) + r_s / (dp * c0)
    return t_coat, num / den


def _saturated_by_hand(ely=ELY, coat=COAT):
    """Every site filled: X = N_T, c+ = c- + N_T and the Donnan product c+ c- = c0^2, so
    c- = (sqrt(N_T^2 + 4 c0^2) - N_T) / 2."""
    n_t, c0 = coat.trap_concentration, ely.c0
    c_minus = (math.sqrt(n_t**2 + 4 * c0**2) - n_t) / 2
    return c_minus + n_t, c_minus


# --- item 7: large |dG| saturates; moderate dG unchanged --------------------------------


@pytest.mark.parametrize(
    ("dg", "temperature"), [(-19.0, 298.15), (-20.0, 298.15), (-1e4, 298.15), (-0.5, 150.0)]
)
def test_strong_binding_saturates_the_sites_without_overflow(dg, temperature):
    ely = cmod.Electrolyte(temperature=temperature)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = cmod.coating_transport(dg, ely, SEP, COAT)
        sweep_coat, sweep_stack = cmod.t_plus_sweep(np.array([dg, 10 * dg]), ely, SEP, COAT)
    c_plus, c_minus = _saturated_by_hand(ely)
    t_coat, t_stack = _t_plus_by_hand(c_plus, c_minus, ely)
    assert tr.trap_occupancy == 1.0
    assert tr.fixed_charge == pytest.approx(COAT.trap_concentration, rel=1e-12)
    assert tr.c_minus_coating == pytest.approx(c_minus, rel=1e-12)
    assert tr.t_plus_coating == pytest.approx(t_coat, rel=1e-12)
    assert tr.t_plus_stack == pytest.approx(t_stack, rel=1e-12)
    assert sweep_coat == pytest.approx([t_coat, t_coat], rel=1e-9)
    assert sweep_stack == pytest.approx([t_stack, t_stack], rel=1e-9)
    # K = exp(-dG/kT) is far beyond floating point; its logarithm is exact
    kt = BOLTZMANN_EV * temperature
    assert tr.log10_k == pytest.approx(-dg / kt / math.log(10), rel=1e-12)
    slowing = math.log10(COAT.trap_concentration / ely.liquid_site_concentration) + tr.log10_k
    assert tr.oriani_low_occupancy_log10_slowing == pytest.approx(slowing, rel=1e-9)


@pytest.mark.parametrize("dg", [-0.3, -0.05, 0.0, 0.1])
def test_moderate_dg_matches_a_direct_fermi_dirac_solution(dg):
    """Independent of the log forms: K computed directly, c- from brentq on
    c- (c- + N_T theta_T(c-)) = c0^2 with theta_T = K theta_L/(1 - theta_L + K theta_L)."""
    k = math.exp(-dg / (BOLTZMANN_EV * ELY.temperature))
    n_t, n_l, c0 = COAT.trap_concentration, ELY.liquid_site_concentration, ELY.c0

    def theta(c):
        return k * (c / n_l) / (1 - c / n_l + k * c / n_l)

    c_minus = brentq(lambda c: c * (c + n_t * theta(c)) - c0**2, 1e-9, c0, xtol=1e-14, rtol=1e-15)
    c_plus = c_minus + n_t * theta(c_minus)
    t_coat, t_stack = _t_plus_by_hand(c_plus, c_minus)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = cmod.coating_transport(dg, ELY, SEP, COAT)
    assert tr.trap_occupancy == pytest.approx(theta(c_minus), rel=1e-12)
    assert tr.c_plus_coating == pytest.approx(c_plus, rel=1e-12)
    assert tr.t_plus_coating == pytest.approx(t_coat, rel=1e-12)
    assert tr.t_plus_stack == pytest.approx(t_stack, rel=1e-12)
    assert 1 / tr.oriani_low_occupancy_factor == pytest.approx(1 + n_t / n_l * k, rel=1e-12)


def test_bridge_at_minus_20_ev_is_the_saturated_answer(capsys):
    """The issue's reproduction: `bridge --exchange-energy -20` crashed (ZeroDivisionError)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["bridge", "--exchange-energy=-20", "--json"]) == 0
        saturated = json.loads(capsys.readouterr().out)
        assert main(["bridge", "--exchange-energy=-19 eV", "--json"]) == 0
        also = json.loads(capsys.readouterr().out)
    tr = saturated["transport"]
    c_plus, c_minus = _saturated_by_hand()
    t_coat, t_stack = _t_plus_by_hand(c_plus, c_minus)
    assert tr["trap_occupancy"] == 1.0
    assert tr["t_plus_stack"] == pytest.approx(t_stack, rel=1e-12)
    assert tr["t_plus_coating"] == pytest.approx(t_coat, rel=1e-12)
    assert saturated["bands"]["t_plus_stack"]["low"] == pytest.approx(t_stack, rel=1e-9)

    # saturated: -19 eV and -20 eV are the same cell (a depletion time that is not reached
    # while the model holds, issue 19 item 3, is null in both; the Li+ left at the electrode
    # when the interface runs out, ~N_T, depends on c- ~ 1e-320 there at the 1e-6 level)
    left = "electrode_li_at_interface_depletion"

    def finite(cell):
        return {k: v for k, v in cell.items() if v is not None and k not in (left, "real_cell")}

    assert finite(also["coated"]) == pytest.approx(finite(saturated["coated"]), rel=1e-9)
    assert also["coated"][left] == pytest.approx(saturated["coated"][left], rel=1e-5)
    # the real cell (issue 19 item 4): its transient at the local current sees the same
    # c- ~ 1e-320 at the electrode, so its depletion times agree to the solver's tolerance
    real_a, real_s = also["coated"]["real_cell"], saturated["coated"]["real_cell"]
    assert real_a.pop("event") == real_s.pop("event") == "interface"
    assert finite(real_a) == pytest.approx(finite(real_s), rel=1e-5)
    assert real_a[left] == pytest.approx(real_s[left], rel=1e-5)
    assert also["coated"].keys() - finite(also["coated"]).keys() == (
        saturated["coated"].keys() - finite(saturated["coated"]).keys()
    )
    assert any("|dG| = 20 eV is beyond" in w for w in saturated["warnings"])
    assert main(["bridge", "--exchange-energy=-20"]) == 0
    out = capsys.readouterr().out
    # log10(1 + (N_T/N_L) K) = log10(290.849/9634.93) + 20 eV/(kT ln 10) = -1.5202 + 338.0700
    # = 336.55 (N_T = 290.849 mol/m^3 of the issue-19 default coating, 3.58 um thick; it was
    # 521.1 and 10^336.8x with the impossible 2 um)
    assert "occupancy theta_T = 1 " in out and "would claim 10^336.5x" in out


def test_weak_binding_leaves_the_sites_empty():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = cmod.coating_transport(20.0, cmod.Electrolyte(temperature=500.0), SEP, COAT)
    assert tr.fixed_charge == 0.0 and tr.t_plus_stack == pytest.approx(ELY.t_plus, rel=1e-12)


# --- items 9 and 21: the bounds accept their ends ---------------------------------------


def test_spread_bound():
    assert parse_spread({"a": "10 eV", "b": "0 eV"}, "exchange") == {"a": 10.0, "b": 0.0}
    with pytest.raises(AtomisticsError, match=r"bridge.dg_spread.a: 10\.01 eV .* 0 to 10 eV"):
        parse_spread({"a": "10.01 eV"}, "exchange", "bridge.dg_spread")
    with pytest.raises(AtomisticsError, match="dG spread.x"):
        cmod.given_free_energy(-0.3, spread_ev={"x": 1e300})


@pytest.mark.parametrize("temperature", [150.0, 500.0])
def test_cell_temperature_ends_are_accepted(temperature):
    assert cmod.Electrolyte(temperature=temperature).temperature == temperature
    from atomistics.analysis.tafel import tafel_fit

    f = 96485.33212 / (8.314462618 * temperature)
    eta = np.linspace(-0.3, 0.3, 121)
    i = 13.0 * (np.exp(0.5 * f * eta) - np.exp(-0.5 * f * eta))
    fit = tafel_fit(eta, i, (6 / f, 12 / f), temperature)
    assert fit.branches["anodic"].transfer_coefficient == pytest.approx(0.5, rel=1e-2)


@pytest.mark.parametrize("temperature", [149.0, 501.0, 1e-3])
def test_one_cell_temperature_rule(temperature):
    from atomistics.analysis.arrhenius import arrhenius_fit
    from atomistics.analysis.tafel import tafel_fit

    for call in (
        lambda: cmod.Electrolyte(temperature=temperature),
        lambda: tafel_fit([0.1, 0.2, 0.3], [1.0, 2.0, 3.0], (0.1, 0.3), temperature),
        lambda: arrhenius_fit([temperature, 300.0], [1.0, 2.0]),
    ):
        with pytest.raises(AtomisticsError, match="outside 150-500 K"):
            call()


# --- item 10: a charged binding energy is not the exchange, a neutral reaction is -------


def _reaction(name, energy, charged):
    return ReactionEnergy(
        name=name,
        reactants={"li": 1.0, "fsi": 1.0} if charged else {"slab": 1.0, "pair": 1.0},
        products={"lifsi": 1.0} if charged else {"slab_pair": 1.0},
        energy_ev=energy,
        energy_raw_ev=energy,
        engine="xtb",
        charged=charged,
    )


def test_study_bridge_refuses_a_charged_exchange_and_uses_a_neutral_one():
    section = {"exchange": "be", "dg_spread": "0 eV"}
    with pytest.raises(AtomisticsError, match=r"bridge.exchange = 'be' is a binding energy of"):
        run_study_bridge(section, None, {"be": _reaction("be", -8.4, True)})
    fe = cmod.free_energy_from_exchange(_reaction("ex", -0.4, False))
    assert fe.origin == "exchange" and fe.delta_g_ev == -0.4 and "COMPUTED" in fe.label()
    with pytest.raises(AtomisticsError, match="charged fragments"):
        cmod.free_energy_from_exchange(_reaction("be", -8.4, True))


# --- item 16: --protocol -----------------------------------------------------------------


def test_protocol_selects_its_rows(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    two_protocols_db(tmp_path)
    base = ["bridge", "--db", "r.db", "--study", "s", "--exchange-name", "ex", "--json"]
    found = {}
    for protocol in ("GFN1-xTB", "GFN2-xTB"):
        assert main([*base, "--protocol", protocol]) == 0
        found[protocol] = json.loads(capsys.readouterr().out)["free_energy"]["delta_g_ev"]
    assert found == {"GFN1-xTB": -0.4, "GFN2-xTB": -0.6}
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "xtb/GFN1-xTB, xtb/GFN2-xTB" in err and "--protocol" in err


# --- item 18: sand --length --------------------------------------------------------------


@pytest.mark.parametrize("length", ["1 um", "10 cm"])
def test_sand_length_ends_are_accepted(length, capsys):
    argv = ["sand", "--c0", "1 mol/L", "--diffusivity", "3e-10 m^2/s"]
    argv += ["--current-density", "1 mA/cm^2", "--t-plus", "0.3", "--numerical", "--json"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main([*argv, "--length", length]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["inputs"]["length"] == pytest.approx(1e-6 if length == "1 um" else 0.1)


def test_sand_thin_depletion_layer_in_a_long_cell_is_solved_semi_infinite(capsys):
    """10 A/cm^2 at 1 mM: the depletion layer at Sand's time is ~1e-10 of a 1 mm cell."""
    argv = ["sand", "--c0", "1 mM", "--diffusivity", "3e-10 m^2/s", "--current-density"]
    argv += ["1e5 A/m^2", "--t-plus", "0.3", "--length", "1 mm", "--numerical", "--json"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sand_time_numerical"] == pytest.approx(out["sand_time_finite_cell_analytic"], 1e-4)


# --- item 19: a reader that closes the pipe early ----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "tafel", str(TAFEL_CSV)],
        ["sand", "--c0", "1 mol/L", "--diffusivity", "3e-10 m^2/s", "--current-density"]
        + ["1 mA/cm^2", "--t-plus", "0.3", "--json"],
        ["bridge", "--delta-g=-0.3 eV", "--dg-spread", "0 eV"],
        ["--help"],
    ],
    ids=["analyze", "sand", "bridge", "help"],
)
def test_closed_pipe_ends_quietly(argv, tmp_path):
    """stdout is a real pipe whose reader has already gone (as `| head` after its lines)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "atomistics", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert proc.stderr == ""
    # 1: Python's exit code on EPIPE; argparse's --help ignores a failed write itself (0)
    assert proc.returncode == (0 if argv == ["--help"] else 1)


@pytest.mark.parametrize("reader", ["head -c 0", "true"])
def test_shell_pipeline_into_a_reader_that_exits_first(reader, tmp_path):
    """`atomistics ... | head -c 0`: the reader exits at once, before the command writes."""
    command = f"{sys.executable} -m atomistics analyze tafel {TAFEL_CSV} --json | {reader}"
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.stderr == "" and proc.stdout == ""
    # the command's own exit code (pipefail): 1 for EPIPE, quietly (0 only if the command
    # wrote before the reader had gone, a race the reader wins by far: it starts at once)
    assert proc.returncode in (0, 1)


def test_broken_pipe_in_process(monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["analyze", "tafel", str(TAFEL_CSV)]) == 1
    assert capsys.readouterr().err == ""  # no traceback, no message
