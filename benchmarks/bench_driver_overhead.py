"""Driver overhead per calculation vs the CP2K wall time of the smallest real job (Li⁺, quick).

Measures, in one run: build the structure, plan (settings + hash), write + validate the
input, parse the output, store the row — and the CP2K run itself — then prints the ratio.
Not a test: no timing assertions. Usage: OMP_NUM_THREADS=1 python benchmarks/bench_driver_overhead.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from atomistics import db as dbmod
from atomistics.db import write_calculation as store
from atomistics.engines.cp2k import Cp2kEngine
from atomistics.execution.steps import execute, parse, plan_calculation, prepare
from atomistics.structures.molecules import build_molecule


def main(repeats: int = 3) -> None:
    engine = Cp2kEngine(protocol="quick", omp_threads=1)
    engine.version()  # one-off `cp2k --version`, cached per process
    with tempfile.TemporaryDirectory() as tmp:
        work, db = Path(tmp) / "runs", dbmod.connect(Path(tmp) / "b.db")
        t_cp2k, overhead = [], []
        for k in range(repeats):
            t0 = time.perf_counter()
            atoms = build_molecule("Li+")
            atoms.positions += 1e-3 * k  # a new hash each repeat
            calc = plan_calculation("bench", "li", "single_point", atoms, engine)
            directory = prepare(calc, work, engine)
            t1 = time.perf_counter()
            execute(directory, engine)
            t2 = time.perf_counter()
            result = parse(directory, engine)
            with db:
                store(db, result)
            t3 = time.perf_counter()
            overhead.append((t1 - t0) + (t3 - t2))
            t_cp2k.append(t2 - t1)
            print(
                f"run {k}: driver {overhead[-1]:.2f} s (build+write+validate {t1 - t0:.2f}, "
                f"parse+store {t3 - t2:.2f}); custodian+CP2K {t_cp2k[-1]:.2f} s "
                f"(CP2K's own timer {result.wall_time_s:.2f} s)"
            )
    best_o, best_c = min(overhead), min(t_cp2k)
    print(
        f"driver overhead / CP2K wall time (best of {repeats}): {best_o:.2f} / {best_c:.2f} s "
        f"= {best_o / best_c:.2f}"
    )


if __name__ == "__main__":
    main()
