"""Issue 19 item 5: where TMS holds (Debye length vs pore size) and the thin-double-layer bracket.

Reference numbers are recomputed here from CODATA constants and the closed forms, not
taken from the package; the slit-pore Poisson-Boltzmann check solves its own problem.
"""

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.integrate import solve_bvp

from atomistics.continuum import double_layer as dl
from atomistics.continuum.fixedcharge import donnan_partition, tms_transference_number
from atomistics.errors import AtomisticsError

# CODATA 2018 (exact or as published)
EPS0 = 8.8541878128e-12  # F/m
R = 8.314462618  # J/(mol K)
F = 96485.33212  # C/mol
EPS_DME = 7.2
D_PLUS, D_MINUS = 0.32, 0.68  # t+ (free) = 0.32


def own_debye(c, eps_r=EPS_DME, t=298.15):
    return math.sqrt(eps_r * EPS0 * R * t / (2 * F * F * c))


def own_tms_t_plus(c, x, dp=D_PLUS, dm=D_MINUS):
    cm = (math.sqrt(x * x + 4 * c * c) - x) / 2  # c- (c- + X) = c^2
    return dp * (cm + x) / (dp * (cm + x) + dm * cm)


def test_debye_length_in_dme_at_6_and_1_molar():
    from atomistics.solvents import DME_PERMITTIVITY

    assert DME_PERMITTIVITY == EPS_DME
    lam6, lam1 = own_debye(6000.0), own_debye(1000.0)
    assert lam6 * 1e9 == pytest.approx(0.0376, abs=1e-4)  # "0.04 nm at 6 M"
    assert lam1 * 1e9 == pytest.approx(0.0921, abs=1e-4)  # "0.09 nm at 1 M"
    assert dl.debye_length(6000.0, DME_PERMITTIVITY) == pytest.approx(lam6, rel=1e-8)
    assert dl.debye_length(1000.0, DME_PERMITTIVITY) == pytest.approx(lam1, rel=1e-8)
    # water at 0.1 M, 25 C: the textbook 0.96 nm
    assert dl.debye_length(100.0, 78.4) * 1e9 == pytest.approx(0.961, abs=2e-3)
    assert dl.debye_length(1000.0, EPS_DME, 350.0) == pytest.approx(own_debye(1000.0, t=350.0))


@pytest.mark.parametrize(
    "args", [(0.0, 7.2), (-1.0, 7.2), (math.nan, 7.2), (1000.0, 1.0), (1000.0, 7.2, 0.0)]
)
def test_debye_length_refuses_non_physical_input(args):
    with pytest.raises(AtomisticsError):
        dl.debye_length(*args)


def test_bracket_at_1_molar_and_x_4507():
    c, x = 1000.0, 4507.0
    thin = D_PLUS * (c + x) / (D_PLUS * (c + x) + D_MINUS * c)
    assert thin == pytest.approx(0.722, abs=5e-4)
    assert own_tms_t_plus(c, x) == pytest.approx(0.913, abs=5e-4)
    assert dl.thin_double_layer_partition(c, x) == pytest.approx((c + x, c))
    assert dl.thin_double_layer_transference_number(c, x, D_PLUS, D_MINUS) == pytest.approx(
        thin, rel=1e-12
    )
    assert float(tms_transference_number(c, x, D_PLUS, D_MINUS)) == pytest.approx(
        own_tms_t_plus(c, x), rel=1e-12
    )


def test_limits_of_both_partitions():
    free = D_PLUS / (D_PLUS + D_MINUS)
    c = 1000.0
    for x in (0.0, 1e-9):  # X -> 0: both give the free solution's t+
        assert dl.thin_double_layer_transference_number(c, x, D_PLUS, D_MINUS) == pytest.approx(
            free, rel=1e-12
        )
        assert float(tms_transference_number(c, x, D_PLUS, D_MINUS)) == pytest.approx(
            free, rel=1e-12
        )
    big = 1e4 * c  # X >> c: TMS -> 1 (co-ions excluded), thin keeps c- = c
    # TMS: c- -> c^2/X, so 1 - t+ -> (D-/D+) (c/X)^2; thin: only (D-/D+) (c/X)
    t_tms = float(tms_transference_number(c, big, D_PLUS, D_MINUS))
    assert 1 - t_tms == pytest.approx(D_MINUS / D_PLUS * (c / big) ** 2, rel=1e-3)
    expect = D_PLUS * (c + big) / (D_PLUS * (c + big) + D_MINUS * c)
    assert dl.thin_double_layer_transference_number(c, big, D_PLUS, D_MINUS) == pytest.approx(
        expect, rel=1e-14
    )
    assert 1 - expect == pytest.approx(D_MINUS * c / (D_PLUS * big), rel=1e-3)
    # thin <= TMS everywhere, equal only at X = 0
    for xv in np.geomspace(1e-3, 1e6, 40):
        assert dl.thin_double_layer_transference_number(c, xv, D_PLUS, D_MINUS) < float(
            tms_transference_number(c, xv, D_PLUS, D_MINUS)
        )


def test_any_nonuniform_potential_lies_in_the_bracket():
    """Boltzmann ions in any potential y <= 0: Donnan c- <= <c-> <= c (Cauchy-Schwarz)."""
    rng = np.random.default_rng(19)
    c = 1.0
    for _ in range(200):
        y = -rng.exponential(rng.uniform(0.01, 3.0), size=rng.integers(2, 50))
        cp, cm = c * np.exp(-y).mean(), c * np.exp(y).mean()
        don = float(donnan_partition(c, cp - cm)[1])
        assert don * (1 - 1e-12) <= cm <= c


def _slit(ratio, x_over_c):
    """Poisson-Boltzmann in a slit of half-width h = lambda/ratio with wall charge X (per
    pore volume): ``y'' = sinh y`` (x in Debye lengths), ``y'(0) = 0`` at the midplane,
    ``y'(h) = -X h / (2c)`` (Gauss: X/c = -(2/h) y'(h)). Returns (X/c, <c->/c)."""
    h = 1 / ratio
    g = x_over_c * h / 2
    x = np.linspace(0, h, 200)
    guess = np.vstack([np.full_like(x, -math.asinh(x_over_c / 2)), -g * x / h])
    sol = solve_bvp(
        lambda _, u: np.vstack([u[1], np.sinh(u[0])]),
        lambda a, b: np.array([a[1], b[1] + g]),
        x,
        guess,
        tol=1e-8,
        max_nodes=100000,
    )
    assert sol.status == 0
    xx = np.linspace(0, h, 20001)
    y = sol.sol(xx)[0]
    cm, cp = np.trapezoid(np.exp(y), xx) / h, np.trapezoid(np.exp(-y), xx) / h
    return cp - cm, cm


@pytest.mark.parametrize("x_over_c", [0.25, 4.507])
def test_slit_pore_poisson_boltzmann_supports_the_thresholds(x_over_c):
    don = float(donnan_partition(1.0, x_over_c)[1])
    for ratio in (0.03, 0.1, 0.3, 1.0, 3.0):
        x, cm = _slit(ratio, x_over_c)
        assert x == pytest.approx(x_over_c, rel=2e-3)
        assert don <= cm <= 1.0  # inside the bracket
        assert 1 - cm <= 2 * ratio  # co-ion deficit <= 2 lambda_D / r_h (Gouy-Chapman)
        if ratio >= dl.OVERLAP_LIMIT:  # overlapping: within 2 % of the bracket from TMS
            assert (cm - don) / (1 - don) < 0.02
        if ratio <= dl.THIN_LIMIT:  # thin: nearer the thin end than the TMS end
            assert (cm - don) / (1 - don) > 0.5 or x_over_c < 1
        if ratio == dl.THIN_LIMIT and x_over_c > 1:  # the number the module docstring quotes
            assert cm == pytest.approx(0.81, abs=0.01)


def test_specific_surface_against_the_literature():
    from atomistics.continuum import clay_charge as cc

    # own arithmetic: both faces of the a-b cell per 2 formula units
    m_fu = 6.94 * 0.25 + 26.9815385 * 1.75 + 24.305 * 0.25 + 4 * 28.085 + 12 * 15.999 + 2 * 1.008
    area = 5.160 * 8.966 * math.sin(math.radians(89.64)) * 1e-20
    total = 2 * area / (2 * m_fu * 1e-3 / 6.02214076e23)
    assert total / 1e3 == pytest.approx(771.0, abs=0.5)
    assert dl.clay_specific_surface() == pytest.approx(total, rel=1e-9)
    assert 700e3 <= dl.clay_specific_surface() <= 800e3  # montmorillonite, EGME: 700-800 m^2/g
    assert dl.external_specific_surface() == pytest.approx(0.10 * total, rel=1e-9)
    assert dl.external_specific_surface(0.10) / 1e3 == pytest.approx(77.1, abs=0.05)
    assert dl.external_specific_surface(0.0) == 0.0
    assert dl.pore_hydraulic_radius(accessible_fraction=0.0) == math.inf  # no walls
    assert dl.double_layer_regime(1e-10, math.inf) == "thin"
    # default coating (0.57 mg/cm^2, w 0.8, porosity 0.35, thickness 3.58 um): a few nm
    g = cc.consistent_geometry()
    assert g.thickness * 1e6 == pytest.approx(3.58, abs=0.01)
    r_h = g.porosity * g.thickness / (g.loading * 0.8 * 0.10 * total)
    assert r_h * 1e9 == pytest.approx(3.57, abs=0.01)
    assert dl.pore_hydraulic_radius() == pytest.approx(r_h, rel=1e-9)
    assert dl.pore_hydraulic_radius(g.thickness, g.porosity, g.loading) == pytest.approx(r_h)
    # r_h ~ 1/f and independent of the loading at a fixed porosity
    assert dl.pore_hydraulic_radius(accessible_fraction=0.05) == pytest.approx(2 * r_h)
    assert dl.pore_hydraulic_radius(loading=1e-2, porosity=0.35) == pytest.approx(r_h)


def test_regime_at_its_thresholds():
    r = 4e-9  # the ratio is what counts (exact in binary at these values)
    assert dl.double_layer_regime(0.0999 * r, r) == "thin"
    assert dl.double_layer_regime(0.1 * r, r) == "intermediate"  # thresholds: intermediate
    assert dl.double_layer_regime(0.5 * r, r) == "intermediate"
    assert dl.double_layer_regime(1.0 * r, r) == "intermediate"
    assert dl.double_layer_regime(1.0001 * r, r) == "overlapping"
    assert (dl.THIN_LIMIT, dl.OVERLAP_LIMIT) == (0.1, 1.0)
    # the study's coating at 6 M and 1 M: thin
    r_h = dl.pore_hydraulic_radius()
    for c in (6000.0, 1000.0):
        assert dl.double_layer_regime(dl.debye_length(c, EPS_DME), r_h) == "thin"
    for bad in ((0.0, r), (r, 0.0), (math.nan, r)):
        with pytest.raises(AtomisticsError):
            dl.double_layer_regime(*bad)


@pytest.fixture(scope="module")
def bridge_json():
    proc = subprocess.run(
        [sys.executable, "-m", "atomistics", "bridge", "--delta-g", "-1.019 eV", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_cli_bridge_json_carries_the_bracket_and_the_regime(bridge_json):
    out = bridge_json
    d = out["double_layer"]
    assert d["regime"] == "thin" and d["supported_end"] == "thin-double-layer"
    assert d["debye_length"] == pytest.approx(own_debye(6000.0), rel=1e-8)
    assert d["pore_hydraulic_radius"] == pytest.approx(3.57e-9, rel=2e-3)
    assert d["ratio"] == pytest.approx(d["debye_length"] / d["pore_hydraulic_radius"])
    assert d["bracket_order"] == ["thin-double-layer", "TMS"]
    b = out["t_plus_bracket"]
    c0 = 6000.0
    x_s = out["structural"]["fixed_charge"]
    s = b["structural"]
    assert s["coating"][0] == pytest.approx(
        D_PLUS * (c0 + x_s) / (D_PLUS * (c0 + x_s) + D_MINUS * c0), rel=1e-10
    )
    assert s["coating"][1] == pytest.approx(own_tms_t_plus(c0, x_s), rel=1e-10)
    assert s["coating"][1] == pytest.approx(out["coated_structural"]["t_plus_coating"], rel=1e-12)
    t = b["trapped"]
    assert t["coating"][1] == pytest.approx(out["transport"]["t_plus_coating"], rel=1e-12)
    assert t["stack"][1] == pytest.approx(out["transport"]["t_plus_stack"], rel=1e-12)
    for col in (s, t):
        for key in ("coating", "stack"):
            assert 0.32 < col[key][0] < col[key][1] < 1
    # the stack's thin end: Bruce-Vincent R0/R_ss of coating + separator, own arithmetic
    coat, sep = out["inputs"]["coating"], out["inputs"]["separator"]
    # L tau / eps with the Bruggeman tortuosity eps^(1 - 1.5): L / eps^1.5
    r_c = coat["thickness"] / coat["porosity"] ** 1.5
    r_s = sep["thickness"] / sep["porosity"] ** 1.5
    cp, cm = c0 + x_s, c0
    num = r_c / (D_PLUS * cp + D_MINUS * cm) + r_s / ((D_PLUS + D_MINUS) * c0)
    den = r_c / (D_PLUS * cp) + r_s / (D_PLUS * c0)
    assert s["stack"][0] == pytest.approx(num / den, rel=1e-10)
    warning = [w for w in out["warnings"] if w.startswith("TMS outside its validity")]
    assert len(warning) == 1 and "THIN-DOUBLE-LAYER end" in warning[0]
    assert "TMS only" in warning[0]


def test_bridge_text_shows_the_regime_and_bracket_rows(bridge_json):
    from atomistics.cli.continuum import _bracket_rows, _double_layer_line

    res = SimpleNamespace(
        double_layer=bridge_json["double_layer"], t_plus_bracket=bridge_json["t_plus_bracket"]
    )
    (line,) = _double_layer_line(res)
    assert "Debye length at c0 0.0376 nm" in line and "r_h = 3.57 nm" in line
    assert "THIN" in line and "the depletion times and the real cell's numbers are TMS only" in line
    rows = _bracket_rows(res, 30)
    assert rows[0].startswith("t+ coating [thin DL, TMS]")
    assert rows[1].startswith("t+ stack [thin DL, TMS]")
    s = bridge_json["t_plus_bracket"]["structural"]["coating"]
    assert f"[{s[0]:.4f}, {s[1]:.4f}]" in rows[0]
