"""Dry-run engine (GFN2-xTB via tblite) on the LiMMT slab: cost before/after, in one run.

Measured in the same process, on the same structures (CPU seconds of this
process, so a busy machine inflates wall time but not these numbers):

1. One GFN2 evaluation of the bare slab from scratch (SAD guess) versus a
   restart from the converged wavefunction after every atom moved by ~0.01 Å
   (an optimizer step), with the SCF cycle counts.
2. Site screening: K placements of the Li⁺–FSI⁻ pair on the slab, single
   points through the xtb engine.  Before: a new calculator per calculation (the
   engine until now).  After: the engine keeps its calculator (and wavefunction)
   from one placement to the next.
3. A vacuum series of the bare slab (two cell heights), before/after as in 2.
4. A capped relaxation of the pair on the slab (``--relax-steps`` BFGS steps,
   only the pair moves): tblite accuracy 1 in every step (before) versus
   accuracy 10 in the optimizer steps and 1 for the final energy and forces
   (after, ``relax_accuracy=10``).

    .venv/bin/python benchmarks/bench_dry_run.py               # 2x1 slab (82 atoms), ~2 min
    .venv/bin/python benchmarks/bench_dry_run.py --supercell 2x2 --placements 3   # the study's slab

Energies before and after must agree to the SCF threshold; the script checks
that and prints the largest difference.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atomistics.engines.xtb import XtbEngine, tblite_version  # noqa: E402
from atomistics.structures.adsorption import place_adsorbate  # noqa: E402
from atomistics.structures.clay import build_limmt_slab  # noqa: E402
from atomistics.structures.molecules import build_ion_pair  # noqa: E402

BOHR = 0.52917721090380  # Å (CODATA 2018, as in ASE)
HARTREE = 27.211386245988  # eV


def _scf(slab, res=None, calc=None, positions=None):
    """One tblite evaluation: (calculator, result, cpu s, SCF cycles)."""
    from tblite.interface import Calculator

    lines: list[str] = []
    if calc is None:
        calc = Calculator(
            "GFN2-xTB",
            slab.numbers,
            slab.positions / BOHR,
            0,
            0,
            slab.cell.array / BOHR,
            np.array(slab.pbc),
            logger=lines.append,
        )
        calc.set("verbosity", 2)
        calc._log = lines  # keep a handle on this calculator's log
    lines = calc._log
    lines.clear()
    if positions is not None:
        calc.update(positions=positions / BOHR)
    t0 = time.process_time()
    res = calc.singlepoint(res)
    cpu = time.process_time() - t0
    cycles = sum(1 for line in lines if re.match(r"^\s+\d+\s+-?\d+\.\d+", line))
    return calc, res, cpu, cycles


def _single_points(engine, structures, workdir: Path, tag: str):
    energies, t0 = [], time.process_time()
    for i, atoms in enumerate(structures):
        d = workdir / f"{tag}{i}"
        d.mkdir()
        engine.write_inputs(d, atoms, "single_point", engine.settings(atoms, "single_point"))
        engine.execute(d)
        energies.append(engine.read_result(d).energy_ev)
    return np.array(energies), time.process_time() - t0


def _row(label, before, after):
    print(f"  {label:44s} before {before:7.1f}  after {after:7.1f}  ratio {before / after:5.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--supercell", default="2x1", help="slab supercell, e.g. 2x1 or 2x2")
    ap.add_argument("--placements", type=int, default=3, help="placements screened (≥ 2)")
    ap.add_argument("--relax-steps", type=int, default=3, help="BFGS steps in section 4")
    args = ap.parse_args(argv)
    n, m = (int(x) for x in args.supercell.lower().split("x"))
    slab = build_limmt_slab((n, m), vacuum=15, mg=2 if (n, m) != (2, 2) else None)
    pair = build_ion_pair()
    print(f"tblite {tblite_version()}; LiMMT {n}x{m} slab, {len(slab)} atoms; CPU seconds")

    # 1. one slab evaluation: scratch vs restart after a 0.01 Å step
    calc, res, cpu0, cyc0 = _scf(slab)
    moved = slab.positions + np.random.default_rng(0).normal(scale=0.01, size=slab.positions.shape)
    _, res1, cpu1, cyc1 = _scf(slab, res=res, calc=calc, positions=moved)
    _, res2, cpu2, cyc2 = _scf(slab.copy(), positions=moved)
    de = abs(res1["energy"] - res2["energy"]) * HARTREE
    print(
        f"1. slab evaluation after a 0.01 Å step (first from scratch: {cyc0} cycles, {cpu0:.1f} s)"
    )
    print(f"  {'SCF cycles':44s} before {cyc2:7d}  after {cyc1:7d}  ratio {cyc2 / cyc1:5.2f}x")
    _row("CPU s", cpu2, cpu1)
    print(f"  |ΔE| restart vs scratch: {de * 1000:.3f} meV")

    # 2. screening placements, 3. vacuum series: engine without / with a live calculator
    placements = [
        place_adsorbate(slab, pair, site="al-oh", site_index=0, orientation="OO-down", azimuth=a)
        for a in np.linspace(0.0, 120.0, max(args.placements, 2))
    ]
    heights = []
    for c in (slab.cell[2, 2], slab.cell[2, 2] + 10.0):
        s = slab.copy()
        s.cell[2, 2] = c
        heights.append(s)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {}
        for reuse in (False, True):
            engine = XtbEngine(reuse_calculator=reuse)
            results[reuse] = (
                _single_points(engine, placements, tmp, f"p{int(reuse)}_"),
                _single_points(XtbEngine(reuse_calculator=reuse), heights, tmp, f"v{int(reuse)}_"),
            )
    (ep0, tp0), (ev0, tv0) = results[False]
    (ep1, tp1), (ev1, tv1) = results[True]
    print(f"2. screening {len(placements)} placements of Li⁺–FSI⁻ (single points, xtb engine)")
    _row("CPU s", tp0, tp1)
    print(f"3. vacuum series, 2 cell heights (c = {heights[0].cell[2, 2]:.1f}, +10 Å)")
    _row("CPU s", tv0, tv1)
    print(f"   E(c+10) − E(c) = {(ev1[1] - ev1[0]) * 1000:+.1f} meV (test bound: 50 meV)")
    relaxed = {}
    with tempfile.TemporaryDirectory() as tmp:
        for acc in (1.0, 10.0):
            engine = XtbEngine(relax_accuracy=acc, max_steps_periodic=args.relax_steps)
            d = Path(tmp) / f"r{acc:g}"
            d.mkdir()
            atoms = placements[0]
            engine.write_inputs(d, atoms, "relax", engine.settings(atoms, "relax"))
            t0 = time.process_time()
            engine.execute(d)
            relaxed[acc] = (engine.read_result(d), time.process_time() - t0)
    (r0, t0), (r1, t1) = relaxed[1.0], relaxed[10.0]
    print(f"4. relaxation of the pair on the slab, {r0.n_steps} BFGS steps")
    _row("CPU s (accuracy 1 → 10 in the steps)", t0, t1)
    print(f"   |ΔE| final: {abs(r1.energy_ev - r0.energy_ev) * 1000:.3f} meV")
    worst = max(np.abs(ep1 - ep0).max(), np.abs(ev1 - ev0).max()) * 1000
    print(f"max |ΔE| after vs before: {worst:.3f} meV (SCF threshold 1e-6 Eh = 0.027 meV)")
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
