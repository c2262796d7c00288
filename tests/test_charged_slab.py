"""Vacuum-series fit E(L) = a + bL + c/L (atomistics.reactions.vacuum_series)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from atomistics.charged_cell import (
    COULOMB_EV_ANGSTROM,
    background_sheet_energy,
    fit_vacuum_series,
)
from atomistics.errors import AtomisticsError
from atomistics.reactions.vacuum_series import (
    build_vacuum_series,
    fit_reaction_vacuum_series,
)
from atomistics.structures import build_limmt_slab, build_molecule
from atomistics.structures.exchange import build_adsorbate_complex, clear_vacuum

A_TRUE, B_TRUE, C_TRUE = -13092.6, 0.0123, 4.2


def _model(L):
    L = np.asarray(L, float)
    return A_TRUE + B_TRUE * L + C_TRUE / L


def test_exact_three_points_recover_a_b_c_without_uncertainty():
    L = [23.4, 38.0, 50.0]
    fit = fit_vacuum_series(L, _model(L))
    assert fit.a == pytest.approx(A_TRUE, abs=1e-8)
    assert fit.b == pytest.approx(B_TRUE, abs=1e-10)
    assert fit.c == pytest.approx(C_TRUE, abs=1e-7)
    assert fit.dof == 0
    assert math.isnan(fit.uncertainty)
    assert "no uncertainty" in fit.notes[0]
    # with a stated per-point sigma an exact fit still gets an uncertainty
    fit_s = fit_vacuum_series(L, _model(L), energy_sigma=0.01)
    assert 0 < fit_s.uncertainty < 1.0


def test_exact_many_points_residual_uncertainty_is_zero():
    L = np.linspace(20, 80, 7)
    fit = fit_vacuum_series(L, _model(L))
    assert fit.a == pytest.approx(A_TRUE, abs=1e-7)
    assert fit.uncertainty < 1e-6
    assert np.allclose(fit.residuals, 0.0, atol=1e-7)


@pytest.mark.filterwarnings("ignore:vacuum series. chi")
def test_noisy_series_uncertainty_covers_the_truth_at_the_stated_rate():
    """With known sigma, |a − a_true| ≤ 1 σ_a in 68.3 % of noisy series (Monte Carlo)."""
    rng = np.random.default_rng(1)
    L = np.array([20.0, 25.0, 30.0, 40.0, 55.0])
    sigma = 0.02
    n, hits1, hits_t = 1500, 0, 0
    t95 = stats.t.ppf(0.975, df=len(L) - 3)
    for _ in range(n):
        e = _model(L) + rng.normal(0, sigma, L.size)
        fit = fit_vacuum_series(L, e, energy_sigma=sigma)
        hits1 += abs(fit.a - A_TRUE) <= fit.uncertainty
        fit_r = fit_vacuum_series(L, e)  # residual-scaled: Student t with n − 3 dof
        hits_t += abs(fit_r.a - A_TRUE) <= t95 * fit_r.uncertainty
    assert 0.64 < hits1 / n < 0.72
    assert 0.93 < hits_t / n < 0.97


def test_single_noisy_series_within_two_sigma():
    rng = np.random.default_rng(7)
    L = np.array([23.4, 28.0, 33.0, 38.0, 43.0, 48.0])
    e = _model(L) + rng.normal(0, 0.01, L.size)
    fit = fit_vacuum_series(L, e, energy_sigma=0.01)
    assert abs(fit.a - A_TRUE) < 2 * fit.uncertainty
    assert fit.as_dict()["value_ev"] == fit.a


def test_residuals_inconsistent_with_sigma_warn():
    L = np.array([20.0, 25.0, 30.0, 40.0, 55.0])
    e = _model(L) + np.array([0.3, -0.3, 0.3, -0.3, 0.3])  # noise 0.3 eV, sigma claims 0.01
    with pytest.warns(UserWarning, match="does not describe"):
        fit = fit_vacuum_series(L, e, energy_sigma=0.01)
    assert fit.notes


def _periodic_sheet_energy(q, area, L, s, n_max=4000):
    """Gaussian charge sheet (width s) + homogeneous background, 3D-periodic along z: Fourier sum.

    E = (A/2) L Σ_{G≠0} 4π |ρ(G)|² / G², ρ(G) = (q/(A L)) exp(−G² s²/2), G = 2πn/L.
    """
    n = np.arange(1, n_max + 1)
    G = 2 * np.pi * n / L
    sigma = q / area
    total = 2 * np.sum(np.exp(-(G**2) * s**2) / G**2)  # ±n
    return 2 * np.pi * area * sigma**2 / L * total * COULOMB_EV_ANGSTROM


def test_fit_recovers_the_sheet_model_expansion_from_an_independent_fourier_sum():
    """Reciprocal-space energies follow πq²L/(6A) − 2√π q² s/A + 2π q² s²/(A L) (real-space)."""
    q, area, s = -1.0, 185.05, 1.3
    L = np.array([20.0, 26.0, 32.0, 40.0, 52.0, 70.0])
    energies = [_periodic_sheet_energy(q, area, x, s) for x in L]
    fit = fit_vacuum_series(L, energies)
    k = COULOMB_EV_ANGSTROM
    assert fit.b == pytest.approx(math.pi * q**2 / (6 * area) * k, rel=1e-6)
    assert fit.b * 30.0 == pytest.approx(background_sheet_energy(q, area, 30.0), rel=1e-6)
    assert fit.a == pytest.approx(-2 * math.sqrt(math.pi) * q**2 * s / area * k, rel=1e-5)
    assert fit.c == pytest.approx(2 * math.pi * q**2 * s**2 / area * k, rel=1e-4)
    # the background term of the study's cell (q = −1, 2×2 LiMMT, c = 23.4 Å) is ≈ +0.95 eV
    assert background_sheet_energy(-1, 10.32 * 17.932, 23.43) == pytest.approx(0.953, abs=0.01)


@pytest.mark.parametrize(
    ("heights", "energies", "match"),
    [
        ([20.0, 30.0], [1.0, 2.0], "at least 3"),
        ([20.0, 30.0, 40.0], [1.0, float("nan"), 2.0], "not finite"),
        ([20.0, 30.0, float("inf")], [1.0, 1.5, 2.0], "not finite"),
        ([20.0, 20.0, 30.0], [1.0, 1.1, 2.0], "distinct"),
        ([20.0, 30.0, 40.0], [1.0, 2.0], "one energy per height"),
        ([-20.0, 30.0, 40.0], [1.0, 2.0, 3.0], "positive"),
    ],
)
def test_bad_series_are_refused(heights, energies, match):
    with pytest.raises(AtomisticsError, match=match):
        fit_vacuum_series(heights, energies)


@pytest.fixture(scope="module")
def slab_and_complex():
    slab = build_limmt_slab()
    fsi = build_molecule("FSI-")
    return slab, fsi, build_adsorbate_complex(slab, fsi)


def test_vacuum_series_structures_share_one_cell_with_the_requested_vacuum(slab_and_complex):
    slab, fsi, cx = slab_and_complex
    points = build_vacuum_series(cx, {"slab": slab, "fsi": fsi}, vacua=(25, 15, 20))
    assert [p.vacuum for p in points] == pytest.approx([15.0, 20.0, 25.0])
    for p in points:
        c, s, f = p.structures["complex"], p.structures["slab"], p.structures["fsi"]
        # clear vacuum above the topmost adsorbate atom equals the request
        top = c.positions[c.arrays["adsorbate"], 2].max()
        assert top == pytest.approx(c.positions[:, 2].max())
        assert clear_vacuum(c) == pytest.approx(p.vacuum, abs=1e-9)
        assert p.cell_height == pytest.approx(c.cell[2, 2])
        assert np.allclose(s.cell.array, c.cell.array) and np.allclose(f.cell.array, c.cell.array)
        # the reference slab's atoms coincide with the complex's slab atoms
        assert np.allclose(s.positions, c.positions[: len(slab)], atol=1e-9)
        assert f.info["charge"] == -1 and c.info["charge"] == -1
    heights = [p.cell_height for p in points]
    assert np.allclose(np.diff(heights), 5.0)


def test_vacuum_series_refuses_too_few_or_too_small_vacua(slab_and_complex):
    slab, fsi, cx = slab_and_complex
    with pytest.raises(AtomisticsError, match="at least 3"):
        build_vacuum_series(cx, {"slab": slab}, vacua=(15, 20, 20))
    with pytest.raises(AtomisticsError, match="too small"):
        build_vacuum_series(cx, {"slab": slab}, vacua=(2, 15, 20))


def test_reaction_series_applies_coefficients(slab_and_complex):
    slab, fsi, cx = slab_and_complex
    with pytest.warns(UserWarning, match="below"):
        points = build_vacuum_series(cx, {"slab": slab, "fsi": fsi}, vacua=(8, 15, 22, 29))
    L = np.array([p.cell_height for p in points])
    # complex − slab − fsi with known parts: the reaction's own a + bL + c/L is recovered
    energies = [
        {"complex": 10.0 + 0.02 * x + 3 / x, "slab": 4.0 + 0.01 * x, "fsi": 1.0 + 0.005 * x + 1 / x}
        for x in L
    ]
    fit = fit_reaction_vacuum_series(points, energies, {"complex": 1, "slab": -1, "fsi": -1})
    assert fit.a == pytest.approx(5.0, abs=1e-8)
    assert fit.b == pytest.approx(0.005, abs=1e-10)
    assert fit.c == pytest.approx(2.0, abs=1e-7)
    with pytest.raises(AtomisticsError, match="no energy"):
        fit_reaction_vacuum_series(
            points, energies[:-1] + [{"complex": 1.0}], {"complex": 1, "slab": -1}
        )


def test_vacuum_series_of_the_neutral_exchange_reaction(slab_and_complex):
    from atomistics.structures.exchange import build_exchange_structures

    slab = slab_and_complex[0]
    ex = build_exchange_structures(slab)
    points = build_vacuum_series(
        ex.product, {"slab": ex.slab, "pair": ex.pair}, vacua=(15, 25, 35), complex_name="product"
    )
    for p in points:
        prod, ref, pair = (p.structures[k] for k in ("product", "slab", "pair"))
        assert clear_vacuum(prod) == pytest.approx(p.vacuum)
        assert np.allclose(ref.positions, prod.positions[: len(slab)])
        assert {a.info["charge"] for a in (prod, ref, pair)} == {0}
        assert np.allclose(pair.cell.array, prod.cell.array)


def test_model_spread_is_zero_without_a_linear_term_and_exposes_a_correlated_one():
    """a + c/L data: both forms extrapolate to the same a. Data with a linear term that
    a + c/L cannot describe: the spread is of the order of what b·L contributes."""
    from atomistics.charged_cell import linear_term_model_spread

    L = np.array([18.0, 23.0, 28.0, 38.0])
    assert linear_term_model_spread(L, -3.8 + 2.0 / L) < 1e-10
    with_b = -3.8 - 0.005 * L + 2.0 / L
    spread = linear_term_model_spread(L, with_b)
    fit = fit_vacuum_series(L, with_b)
    assert fit.a == pytest.approx(-3.8, abs=1e-9)  # the full form recovers a exactly
    # the b = 0 form absorbs −0.005 L into a and c and lands far off (independent fit)
    from scipy.optimize import curve_fit

    (a2, _c2), _ = curve_fit(lambda x, a, c: a + c / x, L, with_b)
    assert spread == pytest.approx(abs(a2 - (-3.8)), abs=1e-6)
    assert spread > 0.1
