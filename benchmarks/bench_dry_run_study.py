"""The whole converged dry-run study, before and after the engine's cost cuts, in one run.

Runs ``workflows/limmt_exchange_2x1.yaml`` (what ``make demo`` computes: the relaxed
neutral exchange reaction on the 2×1 cell, the Li⁺–FSI⁻ pair, the implicit-solvent
correction) twice from an empty database, in this process:

* before: a new tblite calculator for every calculation and every single point
  (``reuse_calculator=False``, how the engine ran before issue 10);
* after: the engine as shipped (one calculator and its wavefunction carried through a
  relaxation and into the next calculation on the same atoms, the relaxation's final
  evaluation reused as the single point).

It prints CPU and wall seconds of each and their ratio, and checks that the two runs
give the same exchange energy (to 1 meV; the relaxations follow the same path).

    .venv/bin/python benchmarks/bench_dry_run_study.py     # about 2 × 5 min on 2 idle cores

Measured on the development machine (2 idle cores): before CPU 474 s / wall 322 s, after
CPU 473 s / wall 321 s, 1.00×, the same exchange energy (−3.2346 eV). Carrying the
calculator across calculations saves nothing on the whole study: its cost is the
product's 91-step relaxation, in which tblite's calculator restarts every step from the
previous wavefunction either way. What brought the demo from about an hour to 5–6
minutes is the 2×1 cell and GFN1-xTB converging where GFN2 broke FSI⁻ (README, "What
the dry run gives"); per-evaluation cuts are in ``bench_dry_run.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atomistics.engines import engine_options  # noqa: E402
from atomistics.engines.xtb import XtbEngine  # noqa: E402
from atomistics.runner import run_study  # noqa: E402
from atomistics.study import load_study  # noqa: E402

STUDY = Path(__file__).resolve().parents[1] / "workflows" / "limmt_exchange_2x1.yaml"


def _run(reuse: bool) -> tuple[float, float, float]:
    study = load_study(STUDY)
    engine = XtbEngine(reuse_calculator=reuse, **engine_options(study, "xtb"))
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run = run_study(study, engine, Path(tmp) / "r.db", Path(tmp) / "runs", progress=False)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    (exchange,) = [r for r in run.reactions if r.name == "limmt_exchange"]
    if not exchange.converged:
        sys.exit("error: the exchange reaction did not converge; the timing would mean nothing.")
    return cpu, wall, exchange.energy_ev


def main() -> int:
    before = _run(reuse=False)
    print(f"before (new calculator per calculation): CPU {before[0]:.0f} s, wall {before[1]:.0f} s")
    after = _run(reuse=True)
    print(f"after  (calculator and wavefunction kept): CPU {after[0]:.0f} s, wall {after[1]:.0f} s")
    print(
        f"speed-up (before / after): CPU {before[0] / after[0]:.2f}x, wall {before[1] / after[1]:.2f}x"
    )
    diff = abs(before[2] - after[2])
    print(f"exchange energy: {after[2]:+.4f} eV (before/after differ by {diff * 1e3:.2f} meV)")
    return 0 if diff < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
