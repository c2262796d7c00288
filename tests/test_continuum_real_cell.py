"""The real finite cell's own numbers (issue 19 item 4, :mod:`atomistics.continuum.real_cell`).

Each number against a closed form or a solver it does not use: the neutral single layer
against the series solution of :mod:`atomistics.continuum.sand`; a uniform fixed-charge
layer against the Teorell-Meyer-Sievers membrane potential; charged stacks against the
long-time state of the fixed-charge transient and the exact split of the steady cell
voltage into its ohmic and concentration parts.
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import brentq

from atomistics.continuum import real_cell as rc
from atomistics.continuum import sand
from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.continuum.fixedcharge import (
    donnan_partition,
    simulate_fixed_charge,
    tms_membrane_potential,
)
from atomistics.continuum.mesh import Layer, TrapSites, graded_faces
from atomistics.continuum.transport import limiting_current, steady_state

C0, D, TP, T = 6000.0, 3e-10, 0.32, 298.15
EPS, TORT, L = 0.4, 0.4**-0.5, 20e-6
RT_F = GAS_CONSTANT * T / FARADAY
D_EFF = EPS * D / TORT
D_PLUS, D_MINUS = D / (2 * (1 - TP)), D / (2 * TP)
SEP = Layer(L, D, TP, EPS, TORT, "separator")


def coating(**charge) -> Layer:
    return Layer(3.6e-6, D, TP, 0.35, 0.35**-0.5, "coating", **charge)


def test_neutral_layer_steady_state_overpotential_and_threshold():
    """One neutral layer: c(0) = c0 - J (1 - t+) L/(2 F D_eff) (sand.steady_state_profile),
    eta = 2 (1 - t+)(RT/F) ln(c(L)/c(0)) (Nernst + liquid junction, Newman ch. 6), A* = J_lim/J."""
    for j in (10.0, 3000.0):
        c_wall = C0 - j * (1 - TP) * L / (2 * FARADAY * D_EFF)
        assert c_wall == pytest.approx(
            sand.steady_state_profile(0.0, C0, D, j, TP, L, EPS, TORT), rel=1e-14
        )
        assert rc.steady_electrode_li([SEP], C0, j) == pytest.approx(c_wall, rel=1e-12)
        c_far = sand.steady_state_profile(L, C0, D, j, TP, L, EPS, TORT)
        eta = 2 * (1 - TP) * RT_F * math.log(c_far / c_wall)
        assert rc.concentration_overpotential([SEP], C0, j, T) == pytest.approx(eta, rel=1e-11)
        parts = rc.overpotential_parts([SEP], C0, j, T)
        assert parts.nernst == pytest.approx(RT_F * math.log(c_far / c_wall), rel=1e-11)
        assert parts.diffusion == pytest.approx((1 - 2 * TP) * RT_F * math.log(c_far / c_wall))
        assert parts.donnan == 0.0
        j_lim = sand.limiting_current_density(C0, D, TP, L, EPS, TORT)
        assert rc.threshold_amplification([SEP], C0, j) == pytest.approx(j_lim / j, rel=1e-9)
    # at and above J_lim there is no steady state
    j_lim = float(sand.limiting_current_density(C0, D, TP, L, EPS, TORT))
    assert math.isnan(rc.steady_electrode_li([SEP], C0, 1.001 * j_lim))
    assert math.isnan(rc.concentration_overpotential([SEP], C0, 1.001 * j_lim))
    assert math.isnan(rc.time_to_steady_state([SEP], C0, 1.001 * j_lim))


def test_neutral_time_to_steady_state_is_the_slowest_mode_of_the_series():
    """99 % of the way: (eps L^2/(pi^2 D_eff)) ln(8/(pi^2 0.01)) (the slowest mode), and the
    root of the full series (sand.finite_cell_concentration) at x = 0."""
    j = 10.0
    slowest = EPS * L**2 / (math.pi**2 * D_EFF) * math.log(8 / (math.pi**2 * 0.01))
    c_ss = float(sand.steady_state_profile(0.0, C0, D, j, TP, L, EPS, TORT))
    level = C0 - 0.99 * (C0 - c_ss)
    series = brentq(
        lambda t: float(sand.finite_cell_concentration(0.0, t, C0, D, j, TP, L, EPS, TORT)) - level,
        1e-3 * slowest,
        10 * slowest,
        xtol=1e-14,
    )
    assert series == pytest.approx(slowest, rel=1e-10)
    assert rc.time_to_steady_state([SEP], C0, j) == pytest.approx(slowest, rel=2e-5)
    # half way the higher modes still count: the root of the full series
    half = brentq(
        lambda t: (
            float(sand.finite_cell_concentration(0.0, t, C0, D, j, TP, L, EPS, TORT))
            - (C0 - 0.5 * (C0 - c_ss))
        ),
        1e-3 * slowest,
        slowest,
        xtol=1e-14,
    )
    assert rc.time_to_steady_state([SEP], C0, j, fraction=0.5) == pytest.approx(half, rel=1e-4)


def test_neutral_real_cell_sand_time_is_the_finite_cell_series():
    j_lim = float(sand.limiting_current_density(C0, D, TP, L, EPS, TORT))
    for factor in (1.2, 2.0, 5.0):
        expected = sand.finite_cell_sand_time(C0, D, factor * j_lim, TP, L, EPS, TORT)
        got = rc.real_cell_sand_time([SEP], C0, factor * j_lim)
        assert got == pytest.approx(expected, rel=1e-4), factor
    below = rc.real_cell_depletion([SEP], C0, 0.9 * j_lim)
    assert below.sand_time == math.inf and below.event == "below J_lim"
    assert below.limiting_current == pytest.approx(j_lim, rel=1e-9)
    assert rc.real_cell_depletion([SEP], C0, 2 * j_lim).event == "sand"


def test_two_neutral_layers_against_the_discrete_steady_state():
    """Coating (eps 0.35) + separator, neutral: the steady state against the finite-volume
    steady solver; with one t+ and continuous c the overpotential keeps the neutral form."""
    layers = [coating(), SEP]
    j = 2000.0
    _, _, c_surface = steady_state(layers, C0, j, cells_per_layer=800, growth=1.0)
    prof = rc.steady_profile(layers, C0, j)
    assert prof.electrode_li == pytest.approx(c_surface, rel=1e-6)
    assert prof.layers[0].c_plus_end == pytest.approx(prof.layers[1].c_plus_start, rel=1e-14)
    eta = 2 * (1 - TP) * RT_F * math.log(prof.far_li / prof.electrode_li)
    assert rc.concentration_overpotential(layers, C0, j) == pytest.approx(eta, rel=1e-10)
    assert rc.threshold_amplification(layers, C0, j) == pytest.approx(
        limiting_current(layers, C0) / j, rel=1e-9
    )


def test_uniform_fixed_charge_layer_is_the_tms_membrane_potential():
    """One constant-X layer between the Li electrodes: its diffusion + Donnan terms are the
    TMS membrane potential between baths at the end salt activities s = sqrt(c+ c-), and
    the Nernst terms of the electrodes against those baths are (RT/F) ln(s(L)/s(0))."""
    for x, j in ((2000.0, 10.0), (2000.0, 3000.0), (50.0, 500.0)):
        layer = Layer(L, D, TP, EPS, TORT, fixed_charge=x)
        ends = rc.steady_profile([layer], C0, j).layers[0]
        s0 = math.sqrt(ends.c_plus_start * ends.c_minus_start)
        s1 = math.sqrt(ends.c_plus_end * ends.c_minus_end)
        tms = tms_membrane_potential(s0, s1, x, D_PLUS, D_MINUS, T).total
        expected = RT_F * math.log(s1 / s0) + tms
        assert rc.concentration_overpotential([layer], C0, j, T) == pytest.approx(
            expected, rel=1e-9
        )
    # the neutral limit X -> 0
    tiny = Layer(L, D, TP, EPS, TORT, fixed_charge=1e-7)
    for f in (rc.steady_electrode_li, rc.concentration_overpotential):
        assert f([tiny], C0, 10.0) == pytest.approx(f([SEP], C0, 10.0), rel=1e-8)


CELLS = (200, 400)


@pytest.mark.parametrize(
    "charge", [{"fixed_charge": 300.0}, {"traps": TrapSites(400.0, -0.05)}], ids=["X", "traps"]
)
def test_charged_stack_against_the_long_time_transient(charge):
    """Coating (constant X, or traps half filled) + separator at 0.6 J_lim:

    * Li+ at the electrode against the fixed-charge transient run for many diffusion times;
    * the overpotential against the exact split of the steady cell voltage: with N- = 0 the
      Li+ electrochemical potential gives V_ss = int J RT/(F^2 g D+ c+) dx, interrupting the
      current removes the ohmic int J/kappa dx (kappa = F^2 g (D+ c+ + D- c-)/RT), so
      eta = (J RT/F^2) int (1/g)[1/(D+ c+) - 1/(D+ c+ + D- c-)] dx over the transient's
      final profile (midpoint rule on its cells; no Nernst, diffusion or Donnan term used);
    * the time to steady state against the transient's own Li+ history at the electrode.
    """
    layers = [coating(**charge), SEP]
    j = 0.6 * limiting_current(layers, C0)
    prof = rc.steady_profile(layers, C0, j)
    t99 = rc.time_to_steady_state(layers, C0, j)
    res = simulate_fixed_charge(
        layers, C0, j, 40 * t99, stop_at_sand=False, rtol=1e-9, cells_per_layer=CELLS
    )
    assert res.surface[-1] == pytest.approx(prof.electrode_li, rel=1e-6)
    cp, cm = res.final, res.final_anion
    widths = np.concatenate(
        [np.diff(graded_faces(la.thickness, n, 1.01)) for la, n in zip(layers, CELLS, strict=True)]
    )
    g = np.concatenate(
        [np.full(n, la.porosity / la.tortuosity) for la, n in zip(layers, CELLS, strict=True)]
    )
    integrand = (1 / (D_PLUS * cp) - 1 / (D_PLUS * cp + D_MINUS * cm)) / g
    eta = j * RT_F / FARADAY * np.sum(integrand * widths)
    assert rc.concentration_overpotential(layers, C0, j) == pytest.approx(eta, rel=2e-5)
    # the 99 % level is crossed at t99 in the transient's own history (solver steps,
    # interpolated linearly)
    start = float(res.surface[0])
    level = start - 0.99 * (start - prof.electrode_li)
    crossing = np.interp(-level, -res.surface, res.times)  # the surface decreases
    assert crossing == pytest.approx(t99, rel=2e-3)


def test_depletion_events_of_charged_stacks():
    """A constant X at the wall never depletes Li+: below the interface limit it holds a
    steady state, above it the salt runs out at the interface. Traps: below J_lim nothing;
    above it the first event (Li+ at the electrode, or the interface) is named."""
    wall_x = [coating(fixed_charge=300.0), SEP]
    dep = rc.real_cell_depletion(wall_x, C0, 1.01 * limiting_current(wall_x, C0), cells=60)
    assert dep.event == "electrode cannot deplete" and not dep.electrode_can_deplete
    assert dep.sand_time == math.inf and math.isfinite(dep.interface_limiting_current)
    above = rc.real_cell_depletion(wall_x, C0, 1.5 * dep.interface_limiting_current, cells=60)
    assert above.event == "interface" and 0 < above.interface_depletion_time < math.inf
    assert above.electrode_li_at_interface_depletion >= 300.0 * (1 - 1e-9)
    traps = [coating(traps=TrapSites(400.0, -0.05)), SEP]
    j_lim = limiting_current(traps, C0)
    assert rc.real_cell_depletion(traps, C0, 0.9 * j_lim, cells=60).event == "below J_lim"
    hit = rc.real_cell_depletion(traps, C0, 2.0 * j_lim, cells=(40, 120))
    assert hit.event in ("sand", "interface")
    assert min(hit.sand_time, hit.interface_depletion_time) < math.inf
    numbers = rc.real_cell_numbers(traps, C0, 10.0, 2.0 * j_lim, cells=(40, 120))
    assert numbers.threshold_amplification == pytest.approx(j_lim / 10.0, rel=1e-9)
    assert numbers.local_amplification == pytest.approx(2.0 * j_lim / 10.0)
    assert numbers.steady_electrode_li < float(donnan_partition(C0, 0.0)[0]) + 400.0
    assert numbers.concentration_overpotential == pytest.approx(
        numbers.overpotential_nernst
        + numbers.overpotential_diffusion
        + numbers.overpotential_donnan,
        rel=1e-12,
    )


def _bridge(*args):
    return subprocess.run(
        [sys.executable, "-m", "atomistics", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


FAST = ["--delta-g", "-1.019 eV", "--dg-spread", "0 eV", "--fixed-charge", "250 mol/m^3"]


def test_bridge_json_has_the_real_cell_numbers():
    proc = _bridge(*FAST, "--amplification", "1500", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    keys = (
        "steady_electrode_li",
        "concentration_overpotential",
        "time_to_steady_state",
        "threshold_amplification",
        "limiting_current",
    )
    for column in ("pe", "coated_neutral", "coated_structural", "coated"):
        real = out[column]["real_cell"]
        assert all(math.isfinite(real[k]) and real[k] > 0 for k in keys), column
        assert real["local_current_density"] == pytest.approx(1500 * 10.0)
        assert "sand_time_semi_infinite" in out[column] and "sand_time_layered" not in out[column]
    assert out["pe"]["real_cell"]["sand_time"] > 0 and out["pe"]["real_cell"]["event"] == "sand"
    assert out["coated"]["real_cell"]["event"] in ("sand", "interface")
    assert set(out["real_cell_bands"]["coated"]) >= {"steady_electrode_li", "sand_time"}
    assert "sand_time_semi_infinite" in out["bands"]


@pytest.mark.parametrize(
    "bad",
    [
        ["--amplification", "0.5"],
        ["--amplification", "abc"],
        ["--local-current", "5"],
        ["--local-current", "0.1 mA/cm^2"],
        ["--local-current", "1e9 A/cm^2"],
        ["--local-current", "2 A/cm^2", "--amplification", "3"],
    ],
)
def test_bridge_rejects_a_bad_local_current_in_one_line(bad):
    proc = _bridge("--delta-g", "-1 eV", *bad)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "--local-current" in proc.stderr or "--amplification" in proc.stderr


def test_bridge_table_rows_and_a_column_below_its_limit():
    """The table names the semi-infinite Sand's time and prints the real cell's rows; a
    local current between the PE cell's J_lim and the trapped column's leaves that column
    "not reached (below J_lim)" while the PE cell has a Sand's time."""
    from atomistics.cli.continuum import bridge_report_lines
    from atomistics.continuum import bridge as br
    from atomistics.continuum import coating_model as cmod

    fe = cmod.given_free_energy(-1.019, spread_ev={})
    coat = cmod.Coating(fixed_charge=0.0)  # no structural column: one solve less
    res = br.run_bridge(fe, coating=coat, cells=120, local_current_density=1.1 * 6461.2)
    assert res.coated.real_cell.event == "below J_lim"
    assert res.pe.real_cell.event == "sand" and res.coated_neutral.real_cell.event == "sand"
    text = "\n".join(bridge_report_lines(res))
    assert "Sand, semi-inf. sep. (h)" in text and "Sand, Li+ out at Li (h)" not in text
    for row in ("Li+ at Li, steady (mol/m^3)", "conc. overpotential (mV)", "A* = J_lim/J"):
        assert row in text
    assert "trapped anions at J_loc: not reached (below J_lim" in text
    assert "no Sand's time below J_lim" in text  # the note on the real PE cell


def test_verdict_is_made_on_the_real_cell_at_the_protrusion_current():
    """The VERDICT judges dendrite onset in the real cell (coating + 20 um separator) at the
    same local current for both cells, and says that at the applied current neither cell
    has a Sand's time; the numbers in it are the real cell's own."""
    from atomistics.continuum import bridge as br
    from atomistics.continuum import coating_model as cmod

    weak = br.run_bridge(cmod.given_free_energy(0.5, spread_ev={}), cells=120)
    pe, co = weak.pe.real_cell, weak.coated.real_cell
    assert np.isfinite(pe.sand_time) and np.isfinite(co.sand_time)
    rel = co.sand_time / pe.sand_time - 1
    assert rel < -0.01  # empty traps: the coating only adds resistance, onset comes earlier
    assert weak.verdict.startswith("The model CONTRADICTS the claim")
    assert f"{rel:+.1%}" in weak.verdict and f"{co.sand_time:.4g} s" in weak.verdict
    assert "neither cell reaches dendrite onset (both reach a steady state)" in weak.verdict
    assert f"{pe.threshold_amplification:.4g}x (PE)" in weak.verdict
    strong = br.run_bridge(cmod.given_free_energy(-1.019, spread_ev={}), cells=120)
    co = strong.coated.real_cell
    assert co.event == "interface" and not np.isfinite(co.sand_time)
    assert strong.verdict.startswith("The model CANNOT TELL")
    assert f"after {co.interface_depletion_time:.4g} s" in strong.verdict
    assert "not dendrite onset" in strong.verdict and "trends, not numbers" in strong.verdict
    # with the dry run's 6.31 eV spread the weak end of the band empties the traps: the
    # verdict says where the onset goes over the band, not only at the central dG
    wide = br.run_bridge(cmod.given_free_energy(-1.019, spread_ev={"tail": 6.31}), cells=120)
    low = wide.real_cell_bands["coated"]["sand_time"].low
    assert np.isfinite(low) and low < wide.pe.real_cell.sand_time
    assert f"onset ranges from {low:.4g} s" in wide.verdict and "to never" in wide.verdict


def test_real_cell_sand_time_with_traps_is_converged_on_the_bridge_mesh():
    """With trapped anions the electrode runs out inside the 3.6 um coating, so the coating's
    mesh sets the error: the bridge's mesh (800 coating + 600 separator cells at the
    default) must agree with a mesh twice as fine to 1e-4 (a 50-cell coating was 3 % off)."""
    from atomistics.continuum import coating_model as cmod

    ely, sep, coat = cmod.Electrolyte(), cmod.Separator(), cmod.Coating()
    layers = [cmod.coating_layer(-0.2833, ely, coat, "tms"), cmod.separator_layer(ely, sep)]
    j_loc = 12922.5  # A/m^2: twice the PE cell's J_lim, the bridge's default local current
    cell = cmod.cell_numbers(-0.2833, ely, sep, coat, 10.0, local_current_density=j_loc)
    fine = rc.real_cell_depletion(layers, ely.c0, j_loc, cells=[1600, 1200], rtol=1e-7)
    assert cell.real_cell.event == fine.event == "sand"
    assert cell.real_cell.sand_time == pytest.approx(fine.sand_time, rel=1e-4)


def test_bridge_real_cell_times_are_converged_where_they_are_cheap_and_dear():
    """The bridge's real-cell mesh and tolerances, against references on finer meshes and
    tighter tolerances: the time to 99 % of the steady state of a constant-X coating (rtol
    set it: 2.8e-3 short at 1e-6) and an interface depletion time (coarse mesh, 6e-5)."""
    from dataclasses import replace

    from atomistics.continuum import coating_model as cmod

    ely, sep, coat = cmod.Electrolyte(), cmod.Separator(), cmod.Coating()
    x_layer = replace(cmod.coating_layer(None, ely, coat), fixed_charge=251.5)
    layers = [x_layer, cmod.separator_layer(ely, sep)]
    cell = cmod.cell_numbers(
        None, ely, sep, coat, 10.0, fixed_charge=251.5, local_current_density=12922.5
    )
    ref = rc.time_to_steady_state(layers, ely.c0, 10.0, cells=[800, 600], rtol=1e-9)
    assert cell.real_cell.time_to_steady_state == pytest.approx(ref, rel=1e-4)
    trapped = [cmod.coating_layer(-1.019, ely, coat, "tms"), cmod.separator_layer(ely, sep)]
    coarse = cmod.cell_numbers(-1.019, ely, sep, coat, 10.0, local_current_density=12922.5)
    fine = rc.real_cell_depletion(trapped, ely.c0, 12922.5, cells=[400, 300], rtol=1e-7)
    assert coarse.real_cell.event == fine.event == "interface"
    assert coarse.real_cell.interface_depletion_time == pytest.approx(
        fine.interface_depletion_time, rel=2e-4
    )
