"""Brillouin-zone sampling of the dry run: the exchange energy against the cell's repetition.

tblite samples the Γ point only. Repeating a periodic cell n×m in plane and taking
the energy per cell samples the cell's Γ-centred n×m k-mesh (``sp_supercell`` of
the xtb engine), so the change of a reaction energy with n×m measures how far
the Γ-point number is from the converged one. This script takes the final
geometries of a finished exchange study from its results database, recomputes
the three single points for each repetition through the xtb engine, and prints
ΔE_exch per adsorbate, the bare slab's energy per cell, and the cost of each
repetition as a ratio to the 1×1 cell (CPU seconds of this process).

    atomistics run workflows/limmt_exchange_2x1.yaml --db out/results.db --workdir out/runs
    .venv/bin/python benchmarks/bench_cell_repetition.py out/results.db \
        --reps 1x1 1x2 2x1 2x2          # about 15 min on 2 cores (the 2x2 product has 364 atoms)

Measured on the development machine (GFN1-xTB, tblite 0.7.0, relaxed 2×1 geometries of
workflows/limmt_exchange_2x1.yaml): ΔE_exch = −3.23 (1×1), −3.96 (1×2), −3.97 (2×1),
−5.17 eV (2×2) per adsorbate, and the bare slab's energy per cell −6.1, −5.0 and
−13.8 eV below the 1×1 value: not converged at 2×2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ase.db import connect  # noqa: E402

from atomistics.engines.xtb import XtbEngine  # noqa: E402

SYSTEMS = {"product": "limmt_lifsi", "slab": "limmt_exref", "pair": "li_fsi_exref"}


def _final(db, name: str):
    rows = [r for r in db.select(name=name) if r.get("stage") == "single_point"]
    if not rows:
        sys.exit(f"error: no single point of {name!r} in the database: run the study first.")
    row = rows[-1]
    atoms = row.toatoms()
    atoms.info.update(charge=int(row.get("total_charge", 0)), spin_multiplicity=1)
    return atoms


def _energy(engine: XtbEngine, atoms, workdir: Path, tag: str) -> float:
    d = workdir / tag
    d.mkdir()
    settings = engine.settings(atoms, "single_point")
    engine.write_inputs(d, atoms, "single_point", settings)
    engine.execute(d)
    return engine.read_result(d).energy_ev


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("db", help="results database of a finished exchange study")
    p.add_argument("--reps", nargs="+", default=["1x1", "1x2", "2x1"], help="n x m repetitions")
    p.add_argument("--method", default="GFN1-xTB", help="xtb method (the study's)")
    args = p.parse_args(argv)
    db = connect(args.db)
    atoms = {k: _final(db, v) for k, v in SYSTEMS.items()}
    print(f"{'rep':>5} {'dE_exch / eV':>13} {'E(slab)/cell - E1x1 / eV':>25} {'CPU ratio':>10}")
    base_e = base_t = None
    with tempfile.TemporaryDirectory() as tmp:
        for rep in args.reps:
            n, m = (int(x) for x in rep.lower().split("x"))
            engine = XtbEngine(method=args.method, sp_supercell=(n, m))
            t0 = time.process_time()
            e = {k: _energy(engine, a, Path(tmp), f"{rep}-{k}") for k, a in atoms.items()}
            cpu = time.process_time() - t0
            dE = e["product"] - e["slab"] - e["pair"]
            base_e = e["slab"] if base_e is None else base_e
            base_t = cpu if base_t is None else base_t
            print(
                f"{rep:>5} {dE:>13.3f} {e['slab'] - base_e:>25.3f} {cpu / base_t:>10.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
