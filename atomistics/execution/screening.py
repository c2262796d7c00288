"""Adsorption-site screening that converges: enumerate, pre-screen cheaply, relax the best few.

Protocol:

1. **Enumerate** symmetry-distinct placements, sites × orientations × azimuths ×
   heights (:func:`enumerate_screening_placements`, built on
   :func:`atomistics.structures.adsorption.enumerate_placements`), optionally
   with the anion's counter-ion at the 1st…n-th best nearby surface position
   (the neutral exchange product). All placements share one cell with at
   least the requested clear vacuum above every adsorbate, so their energies
   compare directly.
2. **Pre-screen** every placement cheaply with the framework frozen: a single
   point (``prescreen_steps=0``) or a few optimiser steps of the adsorbate
   only. Frozen framework = same framework energy in every placement, so the
   ranking is a ranking of adsorption energies.
3. **Relax the best few** (``n_relax`` placements, the best height of each)
   to ``fmax`` (default 0.05 eV/Å) with
   free atoms = the adsorbate, its counter-ion, and the surface region around
   the site (:func:`free_region_mask`: top-face Li⁺ and basal O / OH within
   ``radius`` Å of an adsorbate atom); the rest of the layer stays fixed.
4. **Reference.** ``reference_mode="same-region"`` (default): the bare slab is
   relaxed with exactly the same free atoms as each complex (one reference
   relaxation per distinct free region, cached), so framework relaxation that
   has nothing to do with adsorption cancels. The experimental clay framework
   is far from the GFN2-xTB minimum (forces up to 3.6 eV/Å on Si), so freeing
   framework atoms in the complex but not in the reference would be counted
   as adsorption energy. ``reference_mode="prerelaxed"``: the slab was relaxed
   before placement (fully, or at least in every free region); it is then
   evaluated once, and refused when its forces on a free region exceed fmax.

Relative energy of a placement: E(complex) − E(reference) − ``fragment_energy``
(pass the isolated adsorbate's energy, or the ion pair's, to get an adsorption
or exchange energy; the ranking does not depend on it).

Any ASE calculator works: pass an instance, or a factory ``atoms -> calculator``
(needed e.g. for tblite, whose charge and multiplicity come from
``atoms.info``). Plots use :class:`matplotlib.figure.Figure` (no pyplot, no
backend switch).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from ase import Atoms
from ase.calculators.calculator import BaseCalculator
from ase.constraints import FixAtoms
from ase.geometry import get_distances

from atomistics.engines.relaxation import check_optimizer, relax
from atomistics.errors import AtomisticsError
from atomistics.execution.hashing import calculation_hash
from atomistics.execution.record import CalcResult
from atomistics.structures.adsorption import (
    DEFAULT_HEIGHT,
    SITE_KINDS,
    enumerate_placements,
)
from atomistics.structures.clay import _classify_oxygens
from atomistics.structures.exchange import (
    add_counterion,
    common_cell,
    counterion_positions,
)

#: eV/Å, the convergence criterion of the relaxed placements
SCREEN_FMAX = 0.05
#: Å, default reach of the free surface region around the adsorbate
DEFAULT_FREE_RADIUS = 4.0
#: Å, an O–H closer than this is one hydroxyl (O–H is 0.93–1.01 Å in the built clay)
OH_BOND = 1.2
SURFACE_CATIONS = ("Li", "Na", "K", "Cs", "Mg", "Ca")

CalculatorLike = BaseCalculator | Callable[[Atoms], BaseCalculator]


class ResultStore(Protocol):
    """Where each screening stage's result is kept by its content hash (the results
    database at the CLI: ``atomistics.db.load_result`` / ``write_calculation``), so that a
    screen run again continues instead of recomputing."""

    def load(self, calc_hash: str) -> CalcResult | None: ...

    def save(self, result: CalcResult) -> None: ...


# --------------------------------------------------------------------------- free region


def _top_face_eligible(atoms: Atoms, adsorbate: np.ndarray) -> np.ndarray:
    """Top-face surface atoms of a clay slab: basal O, hydroxyl O+H, exchangeable cations."""
    clay = np.asarray(atoms.arrays["clay"], bool)
    clay_idx = np.flatnonzero(clay)
    octa = clay_idx[np.isin(atoms.numbers[clay_idx], (12, 13))]
    z_mid = float(atoms.positions[octa if len(octa) else clay_idx, 2].mean())
    eligible = np.zeros(len(atoms), bool)
    kinds = _classify_oxygens(atoms[clay_idx])
    z = atoms.positions[:, 2]
    for o in clay_idx[kinds["basal"]]:
        if z[o] > z_mid:
            eligible[o] = True
    h_idx = clay_idx[atoms.numbers[clay_idx] == 1]
    for o in clay_idx[kinds["hydroxyl"]]:
        if len(h_idx) == 0:
            break
        _, d = get_distances(atoms.positions[o], atoms.positions[h_idx], atoms.cell, atoms.pbc)
        h = h_idx[int(np.argmin(d[0]))]
        if d[0].min() < OH_BOND and z[h] > z_mid:
            eligible[[o, h]] = True
    for k in np.flatnonzero(~clay & ~adsorbate):
        if atoms[k].symbol in SURFACE_CATIONS and z[k] > z_mid:
            eligible[k] = True
    return eligible


def free_region_mask(
    atoms: Atoms,
    adsorbate_indices: Sequence[int],
    radius: float,
    *,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Atoms free to move in a site relaxation: the adsorbate plus the surface near it.

    Free = ``adsorbate_indices`` (the adsorbate and its counter-ion) ∪ every
    *eligible* atom whose minimum-image distance to some adsorbate atom is
    ≤ ``radius`` Å. Eligible by default, for a clay slab (``arrays['clay']``):
    the top face's basal oxygens, its hydroxyl groups (O and H move together:
    either within reach frees both) and its exchangeable cations (Li⁺ …, not
    clay, above the octahedral mid-plane); Si, Al, Mg and apical O stay fixed.
    For any other structure every non-adsorbate atom is eligible. ``eligible``
    (a boolean mask) overrides the default. Returns a boolean mask.
    """
    n = len(atoms)
    ads = np.unique(np.asarray(adsorbate_indices, dtype=int).ravel())
    if ads.size == 0:
        raise AtomisticsError("free_region_mask needs at least one adsorbate atom index.")
    if ads.min() < 0 or ads.max() >= n:
        raise AtomisticsError(f"adsorbate indices must lie in 0..{n - 1}, got {ads.tolist()}.")
    if not (isinstance(radius, int | float) and math.isfinite(radius) and radius >= 0):
        raise AtomisticsError(f"radius must be a finite length ≥ 0 Å, got {radius!r}.")
    is_ads = np.zeros(n, bool)
    is_ads[ads] = True
    if eligible is None:
        if "clay" in atoms.arrays and np.asarray(atoms.arrays["clay"], bool).any():
            eligible = _top_face_eligible(atoms, is_ads)
        else:
            eligible = ~is_ads
    eligible = np.asarray(eligible, bool) & ~is_ads
    if eligible.shape != (n,):
        raise AtomisticsError(f"eligible must be a boolean mask of {n} atoms.")
    mask = is_ads.copy()
    cand = np.flatnonzero(eligible)
    if cand.size:
        _, d = get_distances(atoms.positions[ads], atoms.positions[cand], atoms.cell, atoms.pbc)
        mask[cand[d.min(axis=0) <= radius]] = True
    # a hydroxyl moves as a unit
    if "clay" in atoms.arrays:
        h_idx = np.flatnonzero(eligible & (atoms.numbers == 1))
        o_idx = np.flatnonzero(eligible & (atoms.numbers == 8))
        if h_idx.size and o_idx.size:
            _, d = get_distances(
                atoms.positions[h_idx], atoms.positions[o_idx], atoms.cell, atoms.pbc
            )
            for row, h in enumerate(h_idx):
                o = o_idx[int(np.argmin(d[row]))]
                if d[row].min() < OH_BOND and (mask[h] or mask[o]):
                    mask[[h, o]] = True
    return mask


# --------------------------------------------------------------------------- relaxation


@dataclass
class RelaxOutcome:
    energy: float
    fmax: float  # max |F| over the free atoms, eV/Å
    converged: bool
    n_steps: int
    atoms: Atoms
    forces: np.ndarray | None = None  # all atoms, eV/Å, at the final geometry
    #: why it is not converged (max_steps, bonds of the adsorbate changed); empty if it is
    warnings: list[str] = field(default_factory=list)


def _attach(atoms: Atoms, calculator: CalculatorLike) -> None:
    if isinstance(calculator, BaseCalculator):
        atoms.calc = calculator
    elif callable(calculator):
        atoms.calc = calculator(atoms)
    else:
        raise AtomisticsError(
            "calculator must be an ASE calculator or a function atoms -> ASE calculator."
        )


def relax_free_region(
    atoms: Atoms,
    calculator: CalculatorLike,
    free: np.ndarray,
    *,
    fmax: float = SCREEN_FMAX,
    max_steps: int = 300,
    optimizer: str = "BFGS",
    logfile: str | Path | None = None,
) -> RelaxOutcome:
    """Relax only the atoms where ``free`` is True (the rest fixed); report honest convergence.

    The loop is the engines' own (:func:`atomistics.engines.relaxation.relax`), bond check
    included: a placement whose adsorbate broke or formed a covalent bond is NOT converged,
    so it cannot win the ranking as a converged placement. ``max_steps=0`` (or no free
    atom) is a single point; ``converged`` then says whether the free atoms already
    satisfy ``fmax``.
    """
    check_optimizer(optimizer)
    if fmax <= 0 or max_steps < 0:
        raise AtomisticsError("fmax must be > 0 eV/Å and max_steps ≥ 0.")
    work = atoms.copy()
    free = np.asarray(free, bool)
    fixed = np.flatnonzero(~free)
    work.set_constraint(FixAtoms(fixed) if fixed.size else None)
    _attach(work, calculator)
    n_steps, warnings, bonds_ok = 0, [], True
    if free.any() and max_steps > 0:
        done = relax(work, fmax=fmax, max_steps=max_steps, optimizer=optimizer, logfile=logfile)
        n_steps, warnings, bonds_ok = done.n_steps, done.warnings, not done.bond_changes
    energy = float(work.get_potential_energy())
    forces = work.get_forces(apply_constraint=False)
    if not (np.isfinite(energy) and np.isfinite(work.positions).all()):
        # a diverged optimiser: recorded as this placement's error, never written out
        raise FloatingPointError("the optimiser diverged (non-finite energy or positions)")
    f_free = float(np.linalg.norm(forces[free], axis=1).max()) if free.any() else 0.0
    final = work.copy()
    final.calc = None
    final.set_constraint()
    converged = bool(f_free <= fmax and bonds_ok)
    return RelaxOutcome(energy, f_free, converged, n_steps, final, forces, warnings)


# --------------------------------------------------------------------------- placements


def enumerate_screening_placements(
    slab: Atoms,
    adsorbate: Atoms,
    *,
    sites: Sequence[str] = SITE_KINDS,
    orientations: Sequence[str] = ("OO-down",),
    azimuths: Sequence[float] = (0.0, 90.0),
    heights: Sequence[float] = (DEFAULT_HEIGHT,),
    counter_ion: str | None = None,
    n_counter_ion_positions: int = 1,
    vacuum: float | None = None,
) -> list[Atoms]:
    """Symmetry-distinct placements × heights (× counter-ion positions), in one common cell.

    Each placement's ``info`` carries ``site``, ``site_index``,
    ``orientation``, ``azimuth``, ``height`` (and ``counter_ion_rank``) and a
    ``label``. The common cell has ``vacuum`` Å (default: the slab's) clear
    above the tallest placement; build the reference with
    ``slab_in_cell(slab, placements[0])``.
    """
    if not heights:
        raise AtomisticsError("give at least one height (Å).")
    if counter_ion is not None and n_counter_ion_positions < 1:
        raise AtomisticsError("n_counter_ion_positions must be ≥ 1.")
    placed: list[Atoms] = []
    for h in heights:
        for atoms in enumerate_placements(
            slab, adsorbate, tuple(sites), tuple(orientations), tuple(azimuths), float(h)
        ):
            if counter_ion is None:
                placed.append(atoms)
                continue
            for rank, pos in enumerate(counterion_positions(atoms)[:n_counter_ion_positions]):
                with_ion = add_counterion(atoms, pos, counter_ion)
                with_ion.info["counter_ion_rank"] = rank
                placed.append(with_ion)
    if not placed:
        raise AtomisticsError(
            "no placement survived the overlap check: raise the heights or change the sites."
        )
    for atoms in placed:
        atoms.info["label"] = placement_label(atoms.info)
    vac = float(slab.info.get("vacuum", 15.0)) if vacuum is None else vacuum
    return common_cell(placed, vac)


def placement_label(info: dict[str, Any]) -> str:
    label = (
        f"{info.get('site', '?')}[{info.get('site_index', '?')}] "
        f"{info.get('orientation', '')} az{float(info.get('azimuth', 0.0)):g} "
        f"h{float(info.get('height', 0.0)):g}"
    )
    if "counter_ion_rank" in info:
        label += f" ci{info['counter_ion_rank']}"
    return label


# --------------------------------------------------------------------------- screening


@dataclass
class PlacementRecord:
    """One placement's screening outcome (energies in eV, forces in eV/Å)."""

    index: int
    label: str
    site: str | None
    site_index: int | None
    orientation: str | None
    azimuth: float | None
    height: float | None
    counter_ion_rank: int | None
    stage: str  # "prescreen" or "relaxed"
    prescreen_energy: float  # E(complex), framework frozen
    prescreen_relative: float  # prescreen_energy − E(frozen reference) − fragment_energy
    energy: float  # E(complex) at the last stage reached
    relative_energy: float  # energy − E(reference, same free region) − fragment_energy
    fmax: float
    # relaxed, and complex and reference both reached fmax (False if pre-screen only)
    converged: bool
    n_steps: int
    n_free: int = 0
    reference_energy: float | None = None
    reference_converged: bool | None = None
    reference_n_steps: int | None = None
    error: str | None = None
    atoms: Atoms | None = field(default=None, repr=False)
    #: why the relaxation is not converged (max_steps reached, adsorbate bonds changed)
    warnings: list[str] = field(default_factory=list)
    #: content hash of the last stage's input (start structure, free atoms, calculator and
    #: screening settings; :func:`atomistics.execution.hashing.calculation_hash`)
    input_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("atoms")
        return d


@dataclass
class ScreeningResult:
    records: list[PlacementRecord]
    fmax: float
    reference_mode: str
    fragment_energy: float
    notes: list[str] = field(default_factory=list)

    @property
    def relaxed(self) -> list[PlacementRecord]:
        return [r for r in self.records if r.stage == "relaxed" and r.error is None]

    @property
    def prescreen_only(self) -> bool:
        """No placement was selected for relaxation (``n_relax=0``): a pre-screen ranking."""
        return not any(r.stage == "relaxed" for r in self.records)

    @property
    def ranked(self) -> list[PlacementRecord]:
        """The placements best/spread rank: the relaxed ones, or all pre-screened if none was."""
        if self.prescreen_only:
            return [r for r in self.records if r.error is None]
        return self.relaxed

    @property
    def best(self) -> PlacementRecord:
        """Lowest relative energy among the relaxed placements (converged ones preferred).

        Pre-screen only (``n_relax=0``): the lowest pre-screen placement (stage
        ``"prescreen"``, never converged).
        """
        pool = [r for r in self.relaxed if r.converged] or self.ranked
        if not pool:
            raise AtomisticsError("no placement was relaxed successfully; see the records' errors.")
        return min(pool, key=lambda r: r.relative_energy)

    @property
    def spread(self) -> float:
        """max − min relative energy over the relaxed (or, pre-screen only, all) placements (eV)."""
        e = [r.relative_energy for r in self.ranked]
        return float(max(e) - min(e)) if e else float("nan")

    def by_site(self) -> dict[str, float]:
        """Lowest relaxed (or, pre-screen only, pre-screen) relative energy per site kind (eV)."""
        out: dict[str, float] = {}
        for r in self.ranked:
            key = str(r.site)
            out[key] = min(out.get(key, math.inf), r.relative_energy)
        return out

    @property
    def site_spread(self) -> float:
        """max − min over the site kinds' lowest energies (eV): how much the site matters."""
        e = list(self.by_site().values())
        return float(max(e) - min(e)) if e else float("nan")

    def table(self) -> str:
        """Plain-text table, lowest relative energy first; unconverged rows marked."""
        rows = sorted(
            self.records,
            key=lambda r: (
                r.stage != "relaxed",
                r.relative_energy if r.error is None else math.inf,
            ),
        )
        head = (
            f"{'placement':<36} {'stage':<9} {'E_rel/eV':>9} {'E_pre/eV':>9} "
            f"{'fmax':>6} {'steps':>5} {'free':>4}  status"
        )
        lines = [head, "-" * len(head)]
        for r in rows:
            if r.error is not None:
                status = f"FAILED: {r.error}"
            elif r.stage == "relaxed":
                status = "converged" if r.converged else "NOT CONVERGED"
            else:
                status = "pre-screen only"
            lines.append(
                f"{r.label:<36.36} {r.stage:<9} {r.relative_energy:>9.3f} "
                f"{r.prescreen_relative:>9.3f} {r.fmax:>6.3f} {r.n_steps:>5d} {r.n_free:>4d}  {status}"
            )
        if self.ranked:
            b = self.best
            if self.prescreen_only:
                state, which = "pre-screen only, framework frozen, NOT relaxed", "placements"
            else:
                state = "converged" if b.converged else "NOT converged"
                which = "relaxed placements"
            lines.append(
                f"lowest: {b.label} {b.relative_energy:+.3f} eV "
                f"({state}, fmax {b.fmax:.3f} eV/Å); "
                f"spread over {which} {self.spread:.3f} eV, over sites "
                f"{self.site_spread:.3f} eV"
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fmax": self.fmax,
            "reference_mode": self.reference_mode,
            "fragment_energy": self.fragment_energy,
            "records": [r.as_dict() for r in self.records],
            "notes": list(self.notes),
            "prescreen_only": self.prescreen_only,
        }
        if self.ranked:
            out.update(
                best=self.best.as_dict(),
                spread_ev=self.spread,
                site_spread_ev=self.site_spread,
                by_site=self.by_site(),
            )
        return out

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.as_dict(), indent=1))
        return path

    def figure(self):
        """Left: every placement, pre-screen (open) and relaxed (filled; × if unconverged).
        Right: the lowest energy of each site kind, and their spread."""
        from matplotlib.figure import Figure

        order = sorted(range(len(self.records)), key=lambda k: self.records[k].prescreen_relative)
        recs = [self.records[k] for k in order]
        x = np.arange(len(recs))
        sites = sorted(self.by_site().items(), key=lambda kv: kv[1])
        fig = Figure(figsize=(max(6.0, 0.35 * len(recs) + 2.0) + 2.5, 5.0), layout="constrained")
        ax, ax_site = fig.subplots(
            1, 2, sharey=True, gridspec_kw={"width_ratios": [max(len(recs), 3), 3]}
        )
        ax.plot(
            x,
            [r.prescreen_relative for r in recs],
            "o",
            mfc="none",
            color="0.4",
            label="pre-screen (framework frozen)",
        )
        for xi, r in zip(x, recs, strict=True):
            if r.stage != "relaxed" or r.error is not None:
                continue
            ax.plot([xi, xi], [r.prescreen_relative, r.relative_energy], color="0.7", lw=0.8)
            ax.plot(
                xi,
                r.relative_energy,
                "o" if r.converged else "x",
                color="C0" if r.converged else "C3",
                ms=8,
            )
        if any(r.stage == "relaxed" and r.converged for r in recs):
            ax.plot([], [], "o", color="C0", label=f"relaxed, fmax ≤ {self.fmax:g} eV/Å")
        if any(r.stage == "relaxed" and not r.converged for r in recs):
            ax.plot([], [], "x", color="C3", label="relaxed, NOT converged")
        kind = "pre-screen only" if self.prescreen_only else "relaxed"
        if self.ranked:
            b = self.best
            colour = "0.4" if self.prescreen_only else "C0"
            for a in (ax, ax_site):
                a.axhline(b.relative_energy, color=colour, lw=0.8, ls="--")
            fig.suptitle(
                f"lowest {b.relative_energy:+.3f} eV: {b.label} ({kind}"
                f"{'' if self.prescreen_only or b.converged else ', NOT converged'})\n"
                f"spread over {kind} placements {self.spread:.3f} eV, over sites "
                f"{self.site_spread:.3f} eV",
                fontsize=9,
            )
        ax.set_xticks(x, [r.label for r in recs], rotation=75, fontsize=7)
        ax.set_ylabel("E_rel = E(complex) − E(slab ref.) − E(fragment) / eV", fontsize=8)
        ax.legend(fontsize=8)
        xs = np.arange(len(sites))
        ax_site.plot(
            xs,
            [e for _, e in sites],
            "s",
            color="0.4" if self.prescreen_only else "C0",
            mfc="none" if self.prescreen_only else None,
        )
        ax_site.set_xticks(xs, [k for k, _ in sites], rotation=75, fontsize=8)
        ax_site.set_xlim(-0.5, max(len(sites), 1) - 0.5)
        ax_site.set_title(f"lowest per site ({kind})", fontsize=8)
        return fig

    def plot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure().savefig(path, dpi=150)
        return path


def _check_shared_cell(placements: Sequence[Atoms], reference: Atoms) -> int:
    n_slab = len(reference)
    for k, atoms in enumerate(placements):
        if not np.allclose(atoms.cell.array, reference.cell.array, atol=1e-6):
            raise AtomisticsError(
                f"placement {k} and the reference have different cells: put them in one cell "
                "(enumerate_screening_placements, then slab_in_cell(slab, placements[0]))."
            )
        if len(atoms) <= n_slab or not np.array_equal(atoms.numbers[:n_slab], reference.numbers):
            raise AtomisticsError(
                f"placement {k} was not built on the reference slab (its first {n_slab} atoms differ)."
            )
        if "adsorbate" not in atoms.arrays or not atoms.arrays["adsorbate"].any():
            raise AtomisticsError(f"placement {k} has no atoms marked as adsorbate.")
    return n_slab


@dataclass
class _Screening:
    """The settings one screening shares across its stages, and one method per stage."""

    calculator: CalculatorLike
    reference: Atoms
    fmax: float
    max_steps: int
    prescreen_steps: int
    radius: float
    optimizer: str
    reference_mode: str
    fragment_energy: float
    logdir: Path | None
    say: Callable[[str], None]
    ident: dict[str, Any]
    store: ResultStore | None = None
    ref_cache: dict[bytes, RelaxOutcome] = field(default_factory=dict)
    reused: int = 0

    def log(self, name: str) -> Path | None:
        from atomistics.paths import inside

        return inside(self.logdir / f"{name}.log", self.logdir) if self.logdir else None

    def input_hash(self, start: Atoms, free: np.ndarray, stage: str, steps: int) -> str:
        """The content hash of one stage's input (:func:`calculation_hash`)."""
        atoms = start.copy()
        fixed = np.flatnonzero(~np.asarray(free, bool))
        atoms.set_constraint(FixAtoms(fixed) if fixed.size else None)
        engine = str(self.ident.get("engine", "ase-calculator"))
        return calculation_hash(
            atoms, stage, engine, str(self.ident.get("engine_version", "")), self.settings(steps)
        )

    def settings(self, steps: int) -> dict[str, Any]:
        """The settings a stage's hash (and row) carries besides its structure."""
        return dict(
            calculator=self.ident.get("settings", {}),
            fmax=self.fmax,
            optimizer=self.optimizer,
            radius=self.radius,
            reference_mode=self.reference_mode,
            max_steps=steps,
        )

    def evaluate(
        self, atoms: Atoms, free: np.ndarray, stage: str, steps: int, label: str, log: str
    ) -> tuple[RelaxOutcome, str]:
        """One stage through the store: its row by content hash when there is one, else
        :func:`relax_free_region`, stored (a failure raises and stores nothing)."""
        calc_hash = self.input_hash(atoms, free, stage, steps)
        hit = self.store.load(calc_hash) if self.store is not None else None
        if hit is not None:
            self.reused += 1
            self.say("  (from the results database)")
            return _outcome_of(hit, atoms), calc_hash
        start = time.perf_counter()
        out = relax_free_region(
            atoms,
            self.calculator,
            free,
            fmax=self.fmax,
            max_steps=steps,
            optimizer=self.optimizer,
            logfile=self.log(log),
        )
        if self.store is not None:
            self.store.save(self.record(calc_hash, atoms, free, stage, steps, label, out, start))
        return out, calc_hash

    def record(
        self,
        calc_hash: str,
        start_atoms: Atoms,
        free: np.ndarray,
        stage: str,
        steps: int,
        label: str,
        out: RelaxOutcome,
        started: float,
    ) -> CalcResult:
        """The stage as the one result record (a row like any calculation's)."""
        atoms = out.atoms.copy()
        atoms.info = {**start_atoms.info, **atoms.info}
        atoms.arrays["free"] = np.asarray(free, bool).copy()
        relaxed = steps > 0 and bool(np.any(free))
        return CalcResult(
            calc_hash=calc_hash,
            study=str(self.ident.get("study", "")),
            name=f"{self.ident.get('system') or start_atoms.info.get('name', 'screen')}@{label}",
            stage=stage,
            engine=str(self.ident.get("engine", "ase-calculator")),
            engine_version=str(self.ident.get("engine_version", "")),
            protocol=str(self.ident.get("protocol", "")),
            energy_ev=float(out.energy),
            atoms=atoms,
            forces=out.forces,
            scf_converged=True,  # a failed SCF raises in the calculator: nothing is stored
            geo_converged=bool(out.converged) if relaxed else None,
            n_steps=int(out.n_steps),
            wall_time_s=time.perf_counter() - started,
            warnings=list(out.warnings),
            timings={},
            settings=self.settings(steps),
            metadata={"screening": label, "n_free": int(np.count_nonzero(free))},
            fmax_ev_a=float(out.fmax),  # over the free atoms, also for a single point
            fmax_target_ev_a=self.fmax,
            geo_steps=int(out.n_steps) if relaxed else None,
        )

    def prescreen(self, k: int, atoms: Atoms, n: int, frozen_ref: RelaxOutcome) -> PlacementRecord:
        """Stage 2: the placement with the framework frozen (a failure is recorded)."""
        info = atoms.info
        base = dict(
            index=k,
            label=str(info.get("label") or placement_label(info)),
            site=info.get("site"),
            site_index=info.get("site_index"),
            orientation=info.get("orientation"),
            azimuth=info.get("azimuth"),
            height=info.get("height"),
            counter_ion_rank=info.get("counter_ion_rank"),
        )
        ads = np.asarray(atoms.arrays["adsorbate"], bool)
        self.say(f"pre-screen {k + 1}/{n}: {base['label']}")
        nan = math.nan
        try:
            pre, calc_hash = self.evaluate(
                atoms,
                ads,
                "screen-prescreen",
                self.prescreen_steps,
                base["label"],
                f"prescreen-{k:03d}",
            )
        except Exception as exc:  # noqa: BLE001 — a failed evaluation (e.g. SCF) is recorded, not fatal
            return PlacementRecord(
                **base,
                stage="prescreen",
                prescreen_energy=nan,
                prescreen_relative=nan,
                energy=nan,
                relative_energy=nan,
                fmax=nan,
                converged=False,
                n_steps=0,
                error=f"{type(exc).__name__}: {exc}",
            )
        rel = pre.energy - frozen_ref.energy - self.fragment_energy
        self.say(f"  E_rel {rel:+.3f} eV")
        return PlacementRecord(
            **base,
            stage="prescreen",
            prescreen_energy=pre.energy,
            prescreen_relative=rel,
            energy=pre.energy,
            relative_energy=rel,
            fmax=pre.fmax,
            converged=False,  # only relaxed placements can be converged
            n_steps=pre.n_steps,
            n_free=int(ads.sum()),
            atoms=pre.atoms,
            warnings=list(pre.warnings),
            input_hash=calc_hash,
        )

    def reference_for(
        self, ref_mask: np.ndarray, label: str, frozen_ref: RelaxOutcome
    ) -> RelaxOutcome:
        """Stage 4: the bare slab relaxed in the same free region (cached), or the prerelaxed
        slab's single point (refused when its free-region forces exceed fmax)."""
        if self.reference_mode == "same-region":
            key = ref_mask.tobytes()
            if key not in self.ref_cache:
                self.say(f"reference: bare slab, relaxing the free region of {label}")
                self.ref_cache[key] = self.evaluate(
                    self.reference,
                    ref_mask,
                    "screen-reference",
                    self.max_steps,
                    f"reference-of-{label}",
                    f"reference-{len(self.ref_cache):03d}",
                )[0]
            return self.ref_cache[key]
        forces = np.linalg.norm(frozen_ref.forces, axis=1)
        worst = float(forces[ref_mask].max()) if ref_mask.any() else 0.0
        if worst > self.fmax:
            raise AtomisticsError(
                f"reference_mode='prerelaxed' but the reference slab has forces up to "
                f"{worst:.3f} eV/Å on the free region of {label} (> fmax {self.fmax}): relax "
                "the slab first or use reference_mode='same-region'."
            )
        return RelaxOutcome(frozen_ref.energy, worst, True, 0, self.reference)

    def relax(self, rec: PlacementRecord, adsorbate: np.ndarray, frozen_ref: RelaxOutcome) -> None:
        """Stage 3: relax one chosen placement's free region; update its record in place."""
        start = rec.atoms
        mask = free_region_mask(start, np.flatnonzero(adsorbate), self.radius)
        rec.stage = "relaxed"
        try:
            ref = self.reference_for(mask[: len(self.reference)], rec.label, frozen_ref)
            self.say(f"relax: {rec.label} ({int(mask.sum())} free atoms, ≤ {self.max_steps} steps)")
            out, calc_hash = self.evaluate(
                start, mask, "screen-relax", self.max_steps, rec.label, f"relax-{rec.index:03d}"
            )
        except AtomisticsError:
            raise
        except Exception as exc:  # noqa: BLE001
            rec.error = f"{type(exc).__name__}: {exc}"
            return
        rel = out.energy - ref.energy - self.fragment_energy
        self.say(
            f"  E_rel {rel:+.3f} eV, fmax {out.fmax:.3f} eV/Å after {out.n_steps} steps "
            f"({'converged' if out.converged else 'NOT converged'})"
        )
        rec.energy, rec.relative_energy, rec.fmax = out.energy, rel, out.fmax
        rec.converged = bool(out.converged and ref.converged)
        rec.n_steps, rec.n_free, rec.atoms = out.n_steps, int(mask.sum()), out.atoms
        rec.reference_energy = ref.energy
        rec.reference_converged = ref.converged
        rec.reference_n_steps = ref.n_steps
        rec.warnings = list(out.warnings) + [f"reference: {w}" for w in ref.warnings]
        rec.input_hash = calc_hash


def _outcome_of(stored: CalcResult, start: Atoms) -> RelaxOutcome:
    """A stored stage as the outcome :func:`relax_free_region` gave from ``start``: the
    start structure (info, masks) at the stored positions, as a fresh run leaves it."""
    final = start.copy()
    final.set_constraint()
    final.calc = None
    final.positions = stored.atoms.positions
    fmax = float(stored.fmax_ev_a)
    if stored.geo_converged is None:  # a single point: converged if the free atoms are at fmax
        converged = fmax <= float(stored.fmax_target_ev_a)
    else:
        converged = bool(stored.geo_converged)
    return RelaxOutcome(
        stored.energy_ev, fmax, converged, stored.n_steps, final, stored.forces, stored.warnings
    )


def _choose(records: Sequence[PlacementRecord], n_relax: int) -> list[PlacementRecord]:
    """The ``n_relax`` lowest pre-screened placements, one height each.

    Heights are starting points of one placement: only the lowest-energy height of each
    (site, index, orientation, azimuth, counter-ion) enters the pool, so that the
    n_relax relaxations go to n_relax different placements.
    """
    pool: dict[tuple, PlacementRecord] = {}
    for r in sorted(records, key=lambda r: (r.prescreen_energy, r.index)):
        key = (
            (r.site, r.site_index, r.orientation, r.azimuth, r.counter_ion_rank)
            if r.site is not None
            else (r.index,)
        )
        pool.setdefault(key, r)
    return sorted(pool.values(), key=lambda r: (r.prescreen_energy, r.index))[:n_relax]


def screen_placements(
    placements: Sequence[Atoms],
    calculator: CalculatorLike,
    reference: Atoms,
    *,
    n_relax: int = 3,
    prescreen_steps: int = 0,
    fmax: float = SCREEN_FMAX,
    max_steps: int = 300,
    radius: float = DEFAULT_FREE_RADIUS,
    optimizer: str = "BFGS",
    reference_mode: str = "same-region",
    fragment_energy: float = 0.0,
    logdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    calculator_id: dict[str, Any] | None = None,
    store: ResultStore | None = None,
) -> ScreeningResult:
    """Pre-screen every placement, relax the ``n_relax`` lowest, reference each consistently.

    See the module docstring for the protocol. ``placements`` and ``reference``
    must share one cell, the reference being the bare slab with its atoms where
    the placements' first atoms are. Returns a :class:`ScreeningResult` with
    one :class:`PlacementRecord` per placement (in input order). ``n_relax=0``
    stops after the pre-screen. ``progress`` (e.g. ``print``) gets one line per
    evaluation stage as the screening goes. ``calculator_id`` (``engine``,
    ``engine_version``, ``settings``) names the calculator in each placement's
    ``input_hash``, the same content hash the study's calculations carry (``study``,
    ``system`` and ``protocol`` there name the rows). With ``store``, every stage (frozen
    reference, pre-screen, relaxation, same-region reference) is looked up by that hash
    first and kept there after it ran: a screen run again continues where it stopped.
    """
    if not placements:
        raise AtomisticsError("no placements to screen.")
    if n_relax < 0 or prescreen_steps < 0:
        raise AtomisticsError("n_relax must be ≥ 0 (0: pre-screen only) and prescreen_steps ≥ 0.")
    if reference_mode not in ("same-region", "prerelaxed"):
        raise AtomisticsError(
            f"reference_mode {reference_mode!r} unknown: use 'same-region' or 'prerelaxed'."
        )
    _check_shared_cell(placements, reference)
    logdir = Path(logdir) if logdir is not None else None
    if logdir is not None:
        logdir.mkdir(parents=True, exist_ok=True)
    run = _Screening(
        calculator,
        reference,
        fmax,
        max_steps,
        prescreen_steps,
        radius,
        optimizer,
        reference_mode,
        fragment_energy,
        logdir,
        progress if progress is not None else (lambda line: None),
        dict(calculator_id or {}),
        store,
    )
    run.say("reference: bare slab, framework frozen (single point)")
    frozen_ref, _ = run.evaluate(
        reference, np.zeros(len(reference), bool), "screen-reference", 0, "reference", "frozen"
    )
    records = [
        run.prescreen(k, atoms, len(placements), frozen_ref) for k, atoms in enumerate(placements)
    ]
    ok = [r for r in records if r.error is None]
    chosen = _choose(ok, n_relax)
    for rec in chosen:
        run.relax(rec, np.asarray(placements[rec.index].arrays["adsorbate"], bool), frozen_ref)
    notes: list[str] = []
    if len(chosen) < len(ok):
        notes.append(
            f"{len(ok) - len(chosen)} placement(s) only pre-screened (framework frozen, "
            f"{'single point' if prescreen_steps == 0 else f'{prescreen_steps} adsorbate steps'})."
        )
    if run.reused:
        notes.append(f"{run.reused} stage(s) read from the results database (same content hash).")
    result = ScreeningResult(records, fmax, reference_mode, fragment_energy, notes)
    if result.relaxed and not result.best.converged:
        notes.append("no relaxed placement reached fmax: the lowest energy is NOT converged.")
    return result


__all__ = [
    "DEFAULT_FREE_RADIUS",
    "SCREEN_FMAX",
    "PlacementRecord",
    "RelaxOutcome",
    "ResultStore",
    "ScreeningResult",
    "enumerate_screening_placements",
    "free_region_mask",
    "placement_label",
    "relax_free_region",
    "screen_placements",
]
