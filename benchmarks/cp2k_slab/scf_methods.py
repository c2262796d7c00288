"""SCF for slabs: OT against diagonalisation, and a restart from a converged wavefunction.

On the real LiMMT 2×1 bare slab (``limmt_exref`` of workflows/limmt_exchange_2x1.yaml), at
Γ, with the tool's own single-point inputs (``--protocol``, default quick: DZVP-MOLOPT at
120 Ry, cheap enough to converge every variant on 2 cores), three SCFs from the same
geometry:

1. ``diag``: the paper preset's stage-2 SCF without k-points (diagonalisation, Broyden
   mixing α 0.2, Fermi–Dirac smearing 300 K), from the atomic guess;
2. ``ot``: what the tool writes at Γ (orbital transformation, DIIS, FULL_SINGLE_INVERSE,
   outer SCF), from the atomic guess;
3. ``diag-restart``: (1) started from (2)'s converged wavefunction (SCF_GUESS RESTART).

Prints the SCF steps, CPU seconds and the energy differences (meV) against (1), and
appends one JSON line per variant to ``--out``.

    .venv/bin/python benchmarks/cp2k_slab/scf_methods.py --out benchmarks/cp2k_slab/scf_methods.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ase.units import Hartree  # noqa: E402

from atomistics.cp2k import write_cp2k_input  # noqa: E402
from atomistics.parse.cp2k import parse_cp2k_output  # noqa: E402
from atomistics.study import build_study_structures, load_study  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy \[(?:a\.u\.|hartree)\]:\s+(\S+)")


def run(folder: Path, restart_from: Path | None = None) -> dict:
    if restart_from is not None:  # CP2K reads <project>-RESTART.wfn with SCF_GUESS RESTART
        shutil.copy(restart_from / "cp2k-RESTART.wfn", folder / "cp2k-RESTART.wfn")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start_cpu = os.times()
    t0 = time.time()
    with open(folder / "cp2k.out", "w") as f:
        subprocess.run(
            ["cp2k", "-i", "cp2k.inp"], cwd=folder, stdout=f, stderr=subprocess.STDOUT, env=env
        )
    end_cpu = os.times()
    parsed = parse_cp2k_output(folder)
    text = (folder / "cp2k.out").read_text(errors="replace")
    energy = float(ENERGY.findall(text)[-1]) * Hartree if ENERGY.search(text) else None
    return {
        "energy_ev": energy,
        "scf_converged": parsed.scf_converged,
        "scf_steps": sum(len(s) for s in parsed.scf_steps),
        "cpu_s": round(
            end_cpu.children_user
            + end_cpu.children_system
            - start_cpu.children_user
            - start_cpu.children_system,
            1,
        ),
        "wall_s": round(time.time() - t0, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--protocol", default="quick")
    ap.add_argument("--work", type=Path, default=Path("/tmp/cp2k_slab_scf"))
    args = ap.parse_args()
    atoms = build_study_structures(load_study(str(REPO / "workflows" / "limmt_exchange_2x1.yaml")))[
        "limmt_exref"
    ]
    common = {"kpoints": "gamma"}
    variants = {
        "diag": {**common, "scf_method": "DIAG"},
        "ot": {**common, "scf_method": "OT"},
        "diag-restart": {**common, "scf_method": "DIAG"},
    }
    results = {}
    for name, overrides in variants.items():
        folder = args.work / args.protocol / name
        shutil.rmtree(folder, ignore_errors=True)
        write_cp2k_input(atoms, "single_point", folder, args.protocol, overrides)
        print(f"{name}: running ...", flush=True)
        rec = run(folder, args.work / args.protocol / "ot" if name == "diag-restart" else None)
        rec.update(
            variant=name,
            protocol=args.protocol,
            overrides=overrides,
            date=time.strftime("%Y-%m-%d"),
        )
        results[name] = rec
        with args.out.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        ref = results["diag"]["energy_ev"]
        delta = (rec["energy_ev"] - ref) * 1000 if rec["energy_ev"] is not None and ref else None
        print(
            f"{name}: {rec['scf_steps']} SCF steps, {rec['cpu_s']} s CPU, converged {rec['scf_converged']}, "
            f"E - E(diag) = {delta if delta is None else round(delta, 3)} meV",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
