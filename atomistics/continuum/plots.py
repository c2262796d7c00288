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
from matplotlib.figure import Figure

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


def plot_bridge_bands(result, path: str | Path, n_points: int = 7) -> Path:
    """t+ (coating, stack), J_lim and the layered Sand's time against dG, with the 95 % band.

    Curves: t+ on a vectorised grid (closed form); J_lim and Sand's time on
    ``n_points`` values of dG (one fixed-charge solve each). The shaded vertical band
    is the 95 % interval of dG, the shaded horizontal bands the resulting intervals of
    each output; the PE separator and the coating without trapped anions are marked.
    """
    from atomistics.continuum import bridge as br

    ely = br.Electrolyte(**result.inputs["electrolyte"])
    sep = br.Separator(**result.inputs["separator"])
    coat = br.Coating(**result.inputs["coating"])
    j = result.inputs["current_density"]
    model = result.inputs["model"]
    iv = result.delta_g_interval
    half = max(iv.central - iv.low, 0.25)
    lo, hi = iv.central - 1.6 * half, iv.central + 1.6 * half
    grid = np.linspace(lo, hi, 301)
    t_c, t_s = br.t_plus_sweep(grid, ely, sep, coat)
    pts = np.unique(np.concatenate([np.linspace(lo, hi, n_points), [iv.low, iv.central, iv.high]]))
    cells = [br.cell_numbers(float(g), ely, sep, coat, j, model) for g in pts]
    fig, axes = _figure(1, 3, figsize=(13, 3.8))
    pe, nt = result.pe, result.coated_neutral
    series = [
        (axes[0], "t⁺", None),
        (axes[1], "J_lim (mA/cm²)", ("limiting_current", 0.1)),
        (axes[2], "Sand's time, layered (h)", ("sand_time_layered", 1 / 3600)),
    ]
    for ax, ylabel, key in series:
        ax.axvspan(iv.low, iv.high, color="C1", alpha=0.12, lw=0, label="95 % interval of ΔG")
        ax.axvline(iv.central, color="C1", lw=1)
        if key is None:
            ax.plot(grid, t_c, color="C0", label="coating (TMS)")
            ax.plot(grid, t_s, color="C2", label="stack (Bruce–Vincent)")
            for name, colour in (("t_plus_coating", "C0"), ("t_plus_stack", "C2")):
                b = result.bands[name]
                ax.axhspan(b.low, b.high, color=colour, alpha=0.12, lw=0)
            ax.axhline(pe.t_plus_stack, color="k", ls=":", lw=1, label="PE separator")
        else:
            attr, scale = key
            ys = np.array([getattr(c, attr) for c in cells]) * scale
            ax.plot(pts, ys, "o-", color="C3", ms=3, label="coated, trapped anions")
            b = result.bands[attr]
            ax.axhspan(b.low * scale, b.high * scale, color="C3", alpha=0.12, lw=0)
            ax.axhline(getattr(pe, attr) * scale, color="k", ls=":", lw=1, label="PE separator")
            ax.axhline(getattr(nt, attr) * scale, color="0.5", ls="--", lw=1, label="coated, X = 0")
        ax.set_xlabel("adsorption free energy ΔG (eV)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fe = result.free_energy
    fig.suptitle(
        f"ΔG = {fe.delta_g_ev:+.3f} eV ({fe.origin}{', FITTED' if fe.fitted else ''}), "
        f"σ = {fe.sigma_ev:.2f} eV; c₀ = {ely.c0 / 1000:g} M, J = {j / 10:g} mA/cm²",
        fontsize=9,
    )
    return _save(fig, path)
