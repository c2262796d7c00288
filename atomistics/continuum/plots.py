"""Figures: concentration profiles, Sand's time vs t+, fitted nucleation transients (Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from atomistics.continuum.sand import sand_time_vs_t_plus  # noqa: E402
from atomistics.continuum.transport import TransportResult  # noqa: E402

PAPER_SEPARATORS = {"PE": 0.32, "LiMMT": 0.63}


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_profiles(
    result: TransportResult, path: str | Path, title: str = "", interfaces=()
) -> Path:
    """c(x, t) at the stored profile times, plus the surface concentration vs time."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    cmap = plt.get_cmap("viridis")
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
    fig, ax = plt.subplots(figsize=(5.5, 4))
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


def plot_transient(time, current, analysis, path: str | Path) -> Path:
    """Measured transient in reduced units against both Scharifker-Hills curves."""
    from atomistics.analysis.nucleation import MODELS

    best = analysis.fits[analysis.best]
    t = np.asarray(time, float)
    i = np.abs(np.asarray(current, float))
    keep = t > 0
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(
        t[keep] / best.t_max, (i[keep] / best.i_max) ** 2, "o", ms=3, color="0.3", label="measured"
    )
    x = np.linspace(0.05, max(3.0, float(t.max() / best.t_max)), 400)
    for name, f in MODELS.items():
        ax.plot(x, f(x), label=f"{name}{' (best)' if name == analysis.best else ''}")
    ax.set_xlabel("t / t_m")
    ax.set_ylabel("(i / i_m)²")
    ax.set_ylim(0, 1.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
