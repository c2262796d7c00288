"""The bridge's band figure (``atomistics bridge --plot``): layout, sampling, the bands' artists."""

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from atomistics.continuum import bridge as br
from atomistics.continuum import coating_model as cmod
from atomistics.continuum import plots

CELLS = 80  # the bridge and the figure on the same mesh: their central values agree exactly


@pytest.fixture(scope="module")
def result():
    return br.run_bridge(cmod.free_energy_from_screening(-10.39, -8.35), cells=CELLS, band_points=3)


@pytest.fixture(scope="module")
def figure(result):
    fig = plots.bridge_bands_figure(result, start_points=7, max_solves=14, cells=CELLS)
    fig.canvas.draw()
    return fig


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_labels_stay_off_the_neighbouring_panels(figure):
    """Each panel's y-axis (tick labels and label) sits right of everything of its left
    neighbour; the legend overlaps no panel (measured with the Agg renderer)."""
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[:3]
    for left, right in zip(axes, axes[1:], strict=False):
        yaxis = right.yaxis.get_tightbbox(renderer)
        assert yaxis.width > 0 and right.yaxis.label.get_text()
        assert not _overlap(yaxis, left.get_window_extent(renderer))
        assert yaxis.x0 > left.get_tightbbox(renderer).x1
    for legend in figure.legends:
        box = legend.get_window_extent(renderer)
        assert not any(_overlap(box, ax.get_tightbbox(renderer)) for ax in axes)


def test_the_dg_band_is_a_labelled_span_and_the_output_bands_are_error_bars(figure, result):
    """The 95 % interval of dG is one hatched patch with its own legend entry, not a
    line; the outputs' bands are error bars at the dG estimate; nothing else is shaded."""
    iv = result.delta_g_interval
    legend_labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert plots.DG_BAND_LABEL in legend_labels and plots.OUTPUT_BAND_LABEL in legend_labels
    for ax in figure.axes[:3]:
        assert len(ax.patches) == 1  # the dG span only: no full-width shading of the outputs
        (span,) = ax.patches
        assert (
            isinstance(span, Patch) and span.get_hatch() and span.get_label() == plots.DG_BAND_LABEL
        )
        x0, x1 = span.get_path().transformed(span.get_patch_transform()).get_extents().intervalx
        assert (x0, x1) == pytest.approx((iv.low, iv.high))
        assert not [ln for ln in ax.lines if ln.get_label() == plots.DG_BAND_LABEL]
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert bars and all(c.get_label() == plots.OUTPUT_BAND_LABEL for c in bars)
        for bar in bars:
            (x,), _ = bar.lines[0].get_data()
            assert abs(x - iv.central) < 0.02 * np.ptp(ax.get_xlim())
    handles, labels = figure.axes[0].get_legend_handles_labels()
    handles = dict(zip(labels, handles, strict=True))
    assert isinstance(handles[plots.DG_BAND_LABEL], Patch)
    assert not isinstance(handles[plots.DG_BAND_LABEL], Line2D)


def test_j_lim_and_sand_curves_are_dense_and_are_the_bridge_s_numbers(figure, result):
    """The J_lim and Sand panels draw the adaptively refined solves (more than the start
    grid), through the bridge's own central values; the 95 % ends of dG are samples."""
    iv = result.delta_g_interval
    for ax, attr, scale in (
        (figure.axes[1], "limiting_current", 0.1),
        (figure.axes[2], "sand_time_semi_infinite", 1 / 3600),
    ):
        (curve,) = [ln for ln in ax.lines if ln.get_label() == "coated, trapped anions"]
        x, y = curve.get_data()
        assert curve.get_linestyle() == "-" and len(x) > 7 + 3
        assert np.all(np.diff(x) > 0)
        for g in (iv.low, iv.central, iv.high):
            assert np.min(np.abs(x - g)) < 1e-12
        k = int(np.argmin(np.abs(x - iv.central)))
        assert y[k] == pytest.approx(getattr(result.coated, attr) * scale, rel=1e-9)


def test_adaptive_samples_resolve_a_step_and_stop_on_noise():
    calls = []

    def step(x):
        calls.append(x)
        return np.array([np.tanh(x / 0.05), 2.0])  # a sharp step and a flat output

    x, y = plots.adaptive_samples(step, np.linspace(-1, 1, 9), tol=0.01, max_evals=200)
    assert len(calls) == len(x) < 200 and y.shape == (len(x), 2)
    fine = np.linspace(-1, 1, 20001)
    error = np.abs(np.interp(fine, x, y[:, 0]) - np.tanh(fine / 0.05)).max() / 2
    assert error < 0.02  # the straight segments stay on the curve
    assert np.diff(x).max() > 10 * np.diff(x).min()  # refined at the step only

    rng = np.random.default_rng(0)
    x, _ = plots.adaptive_samples(
        lambda _: rng.normal(size=1), np.linspace(0, 1, 5), max_evals=30, min_width=0.05
    )
    assert len(x) <= 30 and np.diff(x).min() >= 0.05  # noise: bounded by the budget and width

    def partly_undefined(x):  # an output with no value (inf) stops no other output's refinement
        return np.array([np.inf if x > 0.5 else x, np.tanh((x - 0.7) / 0.05), np.nan])

    x, _ = plots.adaptive_samples(partly_undefined, np.linspace(0, 1, 5), max_evals=100)
    assert 5 < len(x) < 100 and np.diff(x[(x > 0.6) & (x < 0.8)]).max() < 0.05
