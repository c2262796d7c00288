"""Generate the CP2K output fixtures in tests/data/outputs (run once, by hand)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from atomistics.cp2k import write_cp2k_input
from atomistics.study import build_study_structures, load_study

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
st = build_study_structures(
    load_study(str(Path(__file__).resolve().parents[3] / "workflows" / "limmt_fsi.yaml"))
)
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/cp2k-fixtures")
shutil.rmtree(work, ignore_errors=True)


def run(name, atoms, stage, overrides=None, edit=None):
    d = work / name
    p, _ = write_cp2k_input(
        atoms, stage, d, protocol="quick", overrides=overrides, validate=edit is None
    )
    if edit:
        p.write_text(edit(p.read_text()))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(
        ["cp2k", "-i", "cp2k.inp"],
        cwd=d,
        stdout=open(d / "cp2k.out", "w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    shutil.copy(d / "cp2k.out", out / f"{name}.out")
    shutil.copy(d / "cp2k.inp", out / f"{name}.inp")


run("li_single_point", st["li"], "single_point")
run("fsi_scf_unconverged", st["fsi"], "single_point", {"max_scf": 3, "max_outer_scf": 1})
run(
    "fsi_input_abort",
    st["fsi"],
    "single_point",
    edit=lambda t: t.replace(
        "EPS_SCF 1e-06\n         MAX_SCF", "EPS_SCF 1e-06\n         MAX_SCFF", 1
    ),
)
run(
    "fsi_geo_walltime",
    st["fsi"],
    "relax",
    edit=lambda t: t.replace("PRINT_LEVEL MEDIUM", "PRINT_LEVEL MEDIUM\n   WALLTIME 6", 1),
)

# An earlier SCF fails, the later ones converge (AnyScfUnconvergedHandler's case): H2O,
# slightly distorted, GEO_OPT with MAX_SCF 6 and one outer loop, 6 geometry steps.
h2o = __import__("ase.build", fromlist=["molecule"]).molecule("H2O")
h2o.positions[1] += [0, 0.05, 0.03]
h2o.info.update(name="h2o", charge=0, spin_multiplicity=1)
run(
    "h2o_geo_first_scf_unconverged",
    h2o,
    "relax",
    {"max_scf": 6, "max_outer_scf": 1, "geo_max_iter": 6},
)
# A job killed while CP2K set up its grids, before the first SCF step (the paper preset's
# MT job was killed there for memory): the first 400 lines of li_single_point.out.
lines = (out / "li_single_point.out").read_text().splitlines(keepends=True)
(out / "li_killed_before_scf.out").write_text("".join(lines[:400]))
shutil.copy(out / "li_single_point.inp", out / "li_killed_before_scf.inp")


def run_killed_in_scf(name, atoms, stage, after_step, overrides=None):
    """A real CP2K run killed (SIGKILL, like a scheduler's) once SCF step ``after_step`` is
    printed: the output stops inside its SCF loop, with no 'SCF run ... converged' line."""
    import re
    import signal
    import time

    d = work / name
    write_cp2k_input(atoms, stage, d, protocol="quick", overrides=overrides)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(d / "cp2k.out", "w") as f:
        proc = subprocess.Popen(
            ["cp2k", "-i", "cp2k.inp"], cwd=d, stdout=f, stderr=subprocess.STDOUT, env=env
        )
        step = re.compile(rf"^\s+{after_step}\s+\S+.*E[-+]\d+\s*$", re.M)
        while proc.poll() is None and not step.search((d / "cp2k.out").read_text()):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    shutil.copy(d / "cp2k.out", out / f"{name}.out")
    shutil.copy(d / "cp2k.inp", out / f"{name}.inp")


# A single point killed inside its SCF (a walltime or memory kill on a cluster): H2O,
# diagonalisation with Broyden mixing so that the SCF takes many steps, killed at step 4.
run_killed_in_scf(
    "h2o_killed_in_scf",
    h2o,
    "single_point",
    after_step=4,
    overrides={"scf_method": "DIAG", "mixing_alpha": 0.05},
)
