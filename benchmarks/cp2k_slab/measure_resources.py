"""Measure what a CP2K single point of the LiMMT 2×1 slab really needs: peak memory,
setup time and time per SCF step, for the calibration of atomistics.cp2k.resources.

For each case (protocol quick/paper × Γ/3×3×1 k-points, SCF method as the tool writes
it), the tool writes the single-point input of ``limmt_exref`` (the bare slab in the
exchange product's cell, workflows/limmt_exchange_2x1.yaml) with the SCF capped at
``--scf-steps`` steps, runs the real CP2K (one rank, one thread), sampling its CPU time
and peak resident size (VmHWM) from /proc at every SCF step, and appends one JSON record per case to ``--out`` (a rerun skips cases already
there). CP2K's peak resident size is reached during setup, before the first SCF step, so
a capped SCF gives the full peak; the per-step time is CPU time, which a busy machine
inflates less than wall time.

    .venv/bin/python benchmarks/cp2k_slab/measure_resources.py --out benchmarks/cp2k_slab/resources.jsonl

Progress goes to stdout (one line per case, plus CP2K's own output in the work folder).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from atomistics.cp2k import write_cp2k_input  # noqa: E402
from atomistics.study import build_study_structures, load_study  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STEP = re.compile(
    r"^\s+(\d+)\s+\S+(?: \S+)?\s+\d\.\d+E[-+]\d+\s+(\d+\.\d+)\s+(\S+)\s+(-?\d+\.\d+)", re.M
)
CASES = {
    # name: (protocol, overrides)
    "quick-gamma": ("quick", {"kpoints": "gamma"}),
    "quick-k331": ("quick", {}),
    "paper-gamma": ("paper", {"kpoints": "gamma"}),
    "paper-gamma-diag": ("paper", {"kpoints": "gamma", "scf_method": "DIAG"}),
    "paper-k331": ("paper", {}),
}


def _proc_sample(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak resident GB) of a running process, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime + stime
    hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return cpu, int(hwm.group(1)) * 1024 / 1e9


def measure(name: str, atoms, work: Path, scf_steps: int) -> dict:
    protocol, overrides = CASES[name]
    folder = work / name
    overrides = dict(overrides)
    # cap the SCF: OT runs max_scf inner steps per outer loop; diagonalisation max_scf × outer
    overrides.update(max_scf=scf_steps, max_outer_scf=1)
    path, meta = write_cp2k_input(atoms, "single_point", folder, protocol, overrides)
    est = meta["resources"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.time()
    out = folder / "cp2k.out"
    # CPU time and peak RSS sampled from /proc at every new SCF step line: the per-step
    # CPU cost, which a busy machine inflates far less than wall time
    cpu_at_step: list[float] = []
    cpu = peak = 0.0
    with open(out, "w") as f:
        proc = subprocess.Popen(
            ["cp2k", "-i", path.name], cwd=folder, stdout=f, stderr=subprocess.STDOUT, env=env
        )
        while proc.poll() is None:
            try:
                cpu, hwm = _proc_sample(proc.pid)
            except (FileNotFoundError, ProcessLookupError, AttributeError):
                break
            peak = max(peak, hwm)
            n = len(STEP.findall(out.read_text(errors="replace")))
            cpu_at_step += [cpu] * (n - len(cpu_at_step))
            time.sleep(0.5)
        proc.wait()
    wall = time.time() - start
    text = out.read_text(errors="replace")
    steps = [float(m.group(2)) for m in STEP.finditer(text)]
    nbas = [int(n) for n in re.findall(r"- Spherical basis functions:\s+(\d+)", text)]
    nk = re.search(r"BRILLOUIN\|\s+List of Kpoints \[2 Pi/Bohr\]\s+(\d+)", text)
    step_cpu = [round(b - a, 1) for a, b in zip(cpu_at_step, cpu_at_step[1:], strict=False)]
    return {
        "case": name,
        "protocol": protocol,
        "overrides": CASES[name][1],
        "scf_method": meta["settings"]["scf_method"],
        "kpoints": meta["settings"]["kpoints"],
        "atoms": len(atoms),
        "n_basis": max(nbas) if nbas else None,
        "n_kpoints": int(nk.group(1)) if nk else 1,
        "peak_rss_gb": round(peak, 3),
        "cpu_s": round(cpu, 1),
        "setup_cpu_s": round(cpu_at_step[0], 1) if cpu_at_step else None,
        "scf_step_cpu_s": step_cpu,  # CPU between consecutive SCF step lines
        "scf_step_wall_s": steps,  # CP2K's own 'Time' column
        "wall_s": round(wall, 1),
        "scf_steps_done": len(steps),
        "estimate": {k: est[k] for k in ("memory_per_rank_gb", "wall_time_s", "n_basis", "grids")},
        "cp2k_rc": proc.returncode,
        "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/cp2k_slab_resources"))
    ap.add_argument("--scf-steps", type=int, default=3)
    ap.add_argument("--case", action="append", choices=list(CASES))
    args = ap.parse_args()
    study = load_study(str(REPO / "workflows" / "limmt_exchange_2x1.yaml"))
    atoms = build_study_structures(study)["limmt_exref"]
    done = set()
    if args.out.is_file():
        done = {json.loads(line)["case"] for line in args.out.read_text().splitlines() if line}
    for name in args.case or list(CASES):
        if name in done:
            print(f"{name}: already measured", flush=True)
            continue
        print(f"{name}: running ...", flush=True)
        rec = measure(name, atoms, args.work, args.scf_steps)
        with args.out.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        print(
            f"{name}: peak {rec['peak_rss_gb']} GB (estimate {rec['estimate']['memory_per_rank_gb']}),"
            f" {rec['cpu_s']} s CPU, steps {rec['scf_step_wall_s']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
