"""Figures: concentration profiles, Sand's time vs t+, the bridge's bands, nucleation fits.

Figures are built as :class:`matplotlib.figure.Figure` objects drawn by the Agg
canvas directly: no pyplot state and no global backend switch (importing this module
changes nothing for the caller's matplotlib).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from atomistics.continuum.mesh import TransportResult
from atomistics.continuum.sand import sand_time_vs_t_plus

PAPER_SEPARATORS = {"PE": 0.32, "LiMMT": 0.63}


def _figure(*args, **kwargs):
    fig = Figure(figsize=kwargs.pop("figsize", (5.5, 4)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(*args, **kwargs)
    return fig, axes


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def plot_profiles(
    result: TransportResult, path: str | Path, title: str = "", interfaces=()
) -> Path:
    """c(x, t) at the stored profile times, plus the surface concentration vs time."""
    fig, (ax1, ax2) = _figure(1, 2, figsize=(10, 4))
    cmap = colormaps["viridis"]
    n = max(len(result.profile_times), 1)
    for k, (t, c) in enumerate(zip(result.profile_times, result.profiles, strict=True)):
        ax1.plot(result.x * 1e6, c / 1000, color=cmap(k / n), label=f"{t:.3g} s")
    for xi in interfaces:
        ax1.axvline(xi * 1e6, color="0.5", ls=":", lw=1)
    ax1.set_xlabel("distance from plating electrode x (µm)")
    ax1.set_ylabel("salt concentration c (mol/L)")
    ax1.legend(fontsize=7, title="time")
    ax2.plot(result.times, result.surface / 1000, color="C3")
    if np.isfinite(result.sand_time):
        ax2.axvline(
            result.sand_time,
            color="k",
            ls="--",
            lw=1,
            label=f"Sand's time {result.sand_time:.4g} s",
        )
        ax2.legend(fontsize=8)
    ax2.set_xlabel("time t (s)")
    ax2.set_ylabel("surface concentration c(0, t) (mol/L)")
    fig.suptitle(title)
    return _save(fig, path)


def plot_sand_vs_t_plus(
    c0: float,
    diffusivity: float,
    current_density: float,
    path: str | Path,
    porosity: float = 1.0,
    tortuosity: float = 1.0,
    marks: dict[str, float] | None = None,
    t_plus_ref: float = 0.32,
) -> Path:
    """Sand's time vs t+ with D held fixed and with D+ held fixed; the paper's separators marked."""
    marks = PAPER_SEPARATORS if marks is None else marks
    tp = np.linspace(0.05, 0.9, 200)
    fig, ax = _figure(figsize=(5.5, 4))
    for hold, label in (("D", "D fixed: τ ∝ 1/(1−t⁺)²"), ("D_plus", "D₊ fixed: τ ∝ 1/(1−t⁺)")):
        tau = sand_time_vs_t_plus(
            c0,
            diffusivity,
            current_density,
            tp,
            hold=hold,
            t_plus_ref=t_plus_ref,
            porosity=porosity,
            tortuosity=tortuosity,
        )
        ax.semilogy(tp, tau / 3600, label=label)
    for name, t in marks.items():
        ax.axvline(t, color="0.4", ls=":", lw=1)
        ax.text(t, ax.get_ylim()[1], f" {name} ({t})", rotation=90, va="top", fontsize=8)
    ax.set_xlabel("cation transference number t⁺")
    ax.set_ylabel("Sand's time (h)")
    ax.set_title(f"c₀ = {c0 / 1000:g} M, J = {current_density / 10:g} mA/cm²", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def plot_transient(
    time,
    current,
    analysis,
    path: str | Path,
    curves: Mapping[str, Callable[[np.ndarray], np.ndarray]],
) -> Path:
    """Measured transient in reduced units against the model ``curves`` (name -> f(t/t_m)).

    The caller passes the Scharifker-Hills curves
    (:data:`atomistics.analysis.nucleation.MODELS`), so this module does not import
    the analysis package (both sit on the same layer).
    """
    best = analysis.fits[analysis.best]
    t = np.asarray(time, float)
    i = np.abs(np.asarray(current, float))
    keep = t > 0
    fig, ax = _figure(figsize=(5.5, 4))
    ax.plot(
        t[keep] / best.t_max, (i[keep] / best.i_max) ** 2, "o", ms=3, color="0.3", label="measured"
    )
    x = np.linspace(0.05, max(3.0, float(t.max() / best.t_max)), 400)
    for name, f in curves.items():
        ax.plot(x, f(x), label=f"{name}{' (best)' if name == analysis.best else ''}")
    ax.set_xlabel("t / t_m")
    ax.set_ylabel("(i / i_m)²")
    ax.set_ylim(0, 1.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


#: The bridge figure's sampling of J_lim and Sand's time (one full cell solve per value
#: of dG): a uniform start, then bisection wherever a straight segment would miss the
#: curve by more than ``BRIDGE_TOLERANCE`` of the panel's range, up to ``BRIDGE_MAX_SOLVES``.
BRIDGE_START_POINTS = 13
BRIDGE_TOLERANCE = 0.005
BRIDGE_MAX_SOLVES = 40
#: Legend label of the 95 % interval of dG (a hatched span, never a data curve).
DG_BAND_LABEL = "95 % interval of ΔG (hatched)"
#: Legend label of the bridge's reported outputs (error bars at the dG estimate).
OUTPUT_BAND_LABEL = "bridge result at the ΔG estimate ± its 95 % band"


def adaptive_samples(
    f: Callable[[float], np.ndarray],
    start,
    tol: float = BRIDGE_TOLERANCE,
    max_evals: int = BRIDGE_MAX_SOLVES,
    min_width: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``f`` (x -> 1-D array of outputs) finely enough to draw it with straight lines.

    Starts from the sorted unique ``start`` values and bisects every interval whose
    linear-interpolation error, ``h^2/8 |f''|`` with ``f''`` from the second differences
    at its two ends, exceeds ``tol`` of any output's range over the samples (the worst
    intervals first), until none does, the intervals reach ``min_width`` or ``max_evals``
    values have been computed. Non-finite outputs take no part in the test. Returns
    ``(x, y)`` with ``y`` of shape ``(len(x), m)``.
    """
    xs = [float(x) for x in np.unique(np.asarray(start, float))]
    ys = [np.atleast_1d(np.asarray(f(x), float)) for x in xs]
    while len(xs) < max_evals and len(xs) >= 3:
        order = np.argsort(xs)
        x, y = np.asarray(xs)[order], np.asarray(ys)[order]
        ok = np.isfinite(y)  # an infinite or undefined output asks for no sample
        span = np.where(ok, y, -np.inf).max(axis=0) - np.where(ok, y, np.inf).min(axis=0)
        span = np.where(ok.any(axis=0), span, 0.0)
        y = np.where(ok, y, np.nan) / np.where(span > 0, span, np.inf)  # nor does a flat one
        h = np.diff(x)
        slope = np.diff(y, axis=0) / h[:, None]
        d2 = np.zeros_like(y)
        d2[1:-1] = 2 * np.diff(slope, axis=0) / (x[2:] - x[:-2])[:, None]
        err = h**2 / 8 * np.fmax.reduce(np.fmax(np.abs(d2[:-1]), np.abs(d2[1:])), axis=1)
        bad = np.flatnonzero((err > tol) & (h > 2 * min_width))
        if not bad.size:
            break
        for i in bad[np.argsort(err[bad])[::-1]][: max_evals - len(xs)]:
            mid = 0.5 * (x[i] + x[i + 1])
            xs.append(float(mid))
            ys.append(np.atleast_1d(np.asarray(f(mid), float)))
    order = np.argsort(xs)
    return np.asarray(xs)[order], np.asarray(ys)[order]


def _errorbar_proxy(colour) -> ErrorbarContainer:
    """A legend handle for the error bars, drawn in a neutral colour (not added to any axes)."""
    caps = tuple(Line2D([], [], marker="_", ms=10, mew=2, ls="none", color=colour) for _ in "ab")
    return ErrorbarContainer(
        (
            Line2D([], [], marker="D", ms=5, ls="none", color=colour, mec="k", mew=0.6),
            caps,
            (LineCollection([], colors=colour, linewidths=2),),
        ),
        has_yerr=True,
    )


def bridge_bands_figure(
    result,
    start_points: int = BRIDGE_START_POINTS,
    max_solves: int = BRIDGE_MAX_SOLVES,
    tol: float = BRIDGE_TOLERANCE,
    cells: int = 300,
) -> Figure:
    """The figure of :func:`plot_bridge_bands` (returned, not saved: tests measure it).

    Long because it lays out one figure's three panels (t+, J_lim, depletion times), which share the sampled band and the axes' style.
    """
    from atomistics.continuum import coating_model as cmod

    ely = cmod.Electrolyte(**result.inputs["electrolyte"])
    sep = cmod.Separator(**result.inputs["separator"])
    coat = cmod.Coating(**result.inputs["coating"])
    j = result.inputs["current_density"]
    model = result.inputs["model"]
    iv = result.delta_g_interval
    half = max(iv.central - iv.low, 0.25)
    lo, hi = iv.central - 1.6 * half, iv.central + 1.6 * half
    grid = np.linspace(lo, hi, 301)
    t_c, t_s = cmod.t_plus_sweep(grid, ely, sep, coat)

    def solve(g: float) -> np.ndarray:
        c = cmod.cell_numbers(g, ely, sep, coat, j, model, cells)
        return np.array([c.limiting_current, c.sand_time_semi_infinite])

    start = np.concatenate([np.linspace(lo, hi, start_points), [iv.low, iv.central, iv.high]])
    pts, vals = adaptive_samples(solve, start, tol, max_solves, min_width=(hi - lo) / 80)

    fig = Figure(figsize=(13, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    fig.get_layout_engine().set(w_pad=0.1, wspace=0.05)
    pe, nt = result.pe, result.coated_neutral
    dx = 0.012 * (hi - lo)  # the two t+ error bars side by side at the dG estimate
    panels = [
        (axes[0], "t⁺", "transference number", None),
        (
            axes[1],
            "J_lim (mA/cm²)",
            f"limiting current, {sep.thickness * 1e6:g} µm separator",
            ("limiting_current", 0.1, vals[:, 0]),
        ),
        (
            axes[2],
            "Sand's time (h)",
            "Sand's time, semi-infinite separator",
            ("sand_time_semi_infinite", 1 / 3600, vals[:, 1]),
        ),
    ]
    for ax, ylabel, title, key in panels:
        ax.axvspan(
            iv.low,
            iv.high,
            facecolor="0.97",
            edgecolor="0.78",
            hatch="///",
            lw=0,
            zorder=0,
            label=DG_BAND_LABEL,
        )
        if key is None:
            ax.plot(grid, t_c, color="C0", label="t⁺ of the coating (TMS)")
            ax.plot(grid, t_s, color="C2", label="t⁺ of the stack (Bruce–Vincent)")
            ax.axhline(pe.t_plus_stack, color="k", ls=":", lw=1, label="PE separator")
            bands, scale = (("t_plus_coating", "C0", -dx), ("t_plus_stack", "C2", dx)), 1.0
        else:
            attr, scale, ys = key
            ax.plot(pts, ys * scale, "-", color="C3", label="coated, trapped anions")
            ax.axhline(getattr(pe, attr) * scale, color="k", ls=":", lw=1, label="PE separator")
            ax.axhline(getattr(nt, attr) * scale, color="0.5", ls="--", lw=1, label="coated, X = 0")
            bands = ((attr, "C3", 0.0),)
        for name, colour, shift in bands:
            b = result.bands[name]
            ax.errorbar(
                [iv.central + shift],
                [b.central * scale],
                yerr=[[(b.central - b.low) * scale], [(b.high - b.central) * scale]],
                fmt="D",
                ms=5,
                color=colour,
                mec="k",
                mew=0.6,
                elinewidth=2,
                capsize=5,
                capthick=2,
                zorder=5,
                label=OUTPUT_BAND_LABEL,
            )
        ax.set_xlim(lo, hi)
        ax.set_xlabel("adsorption free energy ΔG (eV)")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
    # one legend for the three panels, below them
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    entries[OUTPUT_BAND_LABEL] = _errorbar_proxy("0.4")  # each panel's bars take its colour
    fig.legend(
        list(entries.values()),
        list(entries.keys()),
        loc="outside lower center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    fe = result.free_energy
    fig.suptitle(
        f"ΔG = {fe.delta_g_ev:+.3f} eV ({fe.origin}{', FITTED' if fe.fitted else ''}), "
        f"σ = {fe.sigma_ev:.2f} eV; c₀ = {ely.c0 / 1000:g} M, J = {j / 10:g} mA/cm²",
        fontsize=9,
    )
    return fig


def plot_bridge_bands(
    result,
    path: str | Path,
    start_points: int = BRIDGE_START_POINTS,
    max_solves: int = BRIDGE_MAX_SOLVES,
    tol: float = BRIDGE_TOLERANCE,
    cells: int = 300,
) -> Path:
    """t+ (coating, stack), J_lim and the layered Sand's time against dG, with the 95 % bands.

    - t+: closed form on a grid of 301 values of dG.
    - J_lim and Sand's time: one fixed-charge cell solve per value of dG, sampled by
      :func:`adaptive_samples` (``start_points`` uniform values plus the ends and centre
      of the 95 % interval, then bisection until a straight segment misses the curve by
      less than ``tol`` of the panel's range, at most ``max_solves`` solves), so the
      lines are the curves, not joins of a few samples.
    - The 95 % interval of dG is a hatched span with its own legend entry; the bridge's
      reported value and 95 % band of each output are an error bar at the dG estimate
      (the band is the bridge's, from its own samples). The PE separator and the coating
      without trapped anions are reference lines.

    Constrained layout with one legend below the panels: no label reaches into a
    neighbouring panel.
    """
    return _save(bridge_bands_figure(result, start_points, max_solves, tol, cells), path)
