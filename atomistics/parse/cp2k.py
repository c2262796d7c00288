"""Parse a CP2K run: energy, forces, final geometry, SCF/geometry convergence, warnings, timings.

pymatgen's :class:`~pymatgen.io.cp2k.outputs.Cp2kOutput` reads the SCF convergence per SCF
loop, completion, version and timings (its ``auto_load=True`` loaders, called one by one).
Its pitfalls, handled here:

* it can hang on ``PRINT_LEVEL LOW`` outputs: we refuse those up front (our inputs use
  MEDIUM, which prints what the parser needs);
* a GEO_OPT stopped by CP2K's WALLTIME is reported as neither converged nor unconverged:
  we detect the walltime message and flag the relaxation as not converged;
* ``scf_converged`` is a list over every SCF of a GEO_OPT; a result is accepted only if
  the SCF that produced the final energy converged (the others become warnings);
* it sees an SCF only at its closing line, so a job killed inside an SCF had no SCF at
  all: :func:`scf_runs` reads every SCF step, the SCF it died in counts as not converged,
  and a warning says where it stopped;
* its ``parse_energies`` raises IndexError on an output that never reached an SCF step (a
  job killed while CP2K set up its grids, e.g. out of memory): such an output is reported
  as a failed calculation (not completed, no energy) with a warning saying so.

Forces come from the last ``ATOMIC FORCES in [a.u.]`` block, the relaxed geometry from
the last frame of the ``<project>-pos-1.xyz`` trajectory.
"""

from __future__ import annotations

import re
import warnings as warnings_module
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase.io import read
from ase.units import Bohr, Hartree

from atomistics.errors import AtomisticsError

_FORCE_BLOCK = re.compile(r"ATOMIC FORCES in \[a\.u\.\](.*?)SUM OF ATOMIC FORCES", re.S)
_FORCE_LINE = re.compile(r"^\s*\d+\s+\d+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s*$", re.M)
_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy \[(?:a\.u\.|hartree)\]:\s+(\S+)")
_WARNING = re.compile(r"^ \*\*\* WARNING in (.*?) \*\*\*\s*$((?:\n \*\*\* .*\*\*\*\s*$)*)", re.M)
_PRINT_LEVEL = re.compile(r"GLOBAL\| Global print level\s+(\S+)")
_ABORT = re.compile(r"\[ABORT\]")
# The first SCF iteration table header: an output without it never reached an SCF step.
_SCF_START = re.compile(r"^\s*Step\s+Update method\s+Time\s+Convergence", re.M)
WALLTIME_TEXT = "exceeded requested execution time"
# One SCF iteration line: step, method (one or two words), step size, time, convergence,
# total energy, change (e.g. "  4 Broy./Diag. 0.50E-01  0.8  0.01429314  -17.5986  -1.39E+00").
_SCF_STEP = re.compile(
    r"^\s+(\d+)\s+\S+(?: \S+)?\s+\d\.\d+E[-+]\d+\s+\d+\.\d+\s+(\S+)\s+(-?\d+\.\d+)\s+\S+\s*$",
    re.M,
)
_SCF_END = re.compile(r"SCF run converged in|SCF run NOT converged")
# "Electronic density on regular grids:   -451.9748232107   0.0251767893": the density
# integrated on the grid and its difference from the electron count
_GRID_CHARGE = re.compile(r"Electronic density on regular grids:\s+\S+\s+(\S+)")
#: Electrons the density grid may miss before the energy is flagged as not converged in
#: the cutoff. A coarse guard, not a convergence test: the LiMMT slab at 600/60 Ry misses
#: 2e-6, FSI⁻ at the quick preset's 120 Ry 1.5e-3, the slab at 120 Ry 0.025, where the
#: exchange energy came out at +61 eV (README, "CP2K energies on xtb geometries").
GRID_CHARGE_TOLERANCE = 0.01
CUTOFF_WARNING = "CUTOFF TOO LOW"


@dataclass
class Cp2kParsed:
    energy_ev: float | None
    forces: np.ndarray | None  # eV/Å
    positions: np.ndarray | None  # final positions (Å) from the trajectory, None if absent
    completed: bool
    scf_converged: bool  # the SCF of the final energy
    scf_history: list[bool]
    geo_converged: bool | None  # None for ENERGY runs
    n_geo_steps: int
    walltime_exceeded: bool
    aborted: bool
    run_type: str
    version: str
    wall_time_s: float | None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # convergence per SCF step of every SCF run, in file order (outer loops concatenated);
    # the last run's list is the one a killed job stopped in
    # |electrons on the density grid − electron count| at the last SCF step
    grid_charge_error: float | None = None
    scf_steps: list[list[float]] = field(default_factory=list)
    stopped_in_scf: bool = False  # the output ends inside an SCF run (killed mid-SCF)


def scf_runs(text: str) -> tuple[list[list[float]], bool]:
    """Convergence of each SCF step, grouped by SCF run; and whether the text ends inside one.

    An SCF run ends at CP2K's "SCF run converged in" or "SCF run NOT converged"; steps
    after the last such line belong to a run that was stopped (killed by a scheduler, out
    of memory) before it ended. pymatgen's reader sees only the end lines, so it reports
    no SCF at all for a run killed in its first SCF.
    """
    runs: list[list[float]] = []
    current: list[float] = []
    events = sorted(
        [(m.start(), "step", m) for m in _SCF_STEP.finditer(text)]
        + [(m.start(), "end", m) for m in _SCF_END.finditer(text)],
        key=lambda e: e[0],
    )
    for _, kind, m in events:
        if kind == "step":
            current.append(float(m.group(2)))
        else:
            runs.append(current)
            current = []
    stopped = bool(current)
    if stopped:
        runs.append(current)
    return runs, stopped


def _version(text: str) -> str:
    m = re.search(r"CP2K\| version string:\s+CP2K version (\S+)", text)
    return m.group(1) if m else ""


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no CP2K output")
    return path.read_text(errors="replace")


def parse_cp2k_output(
    directory: str | Path, project: str = "cp2k", output: str = "cp2k.out"
) -> Cp2kParsed:
    """Parse ``directory/output`` (and the trajectory) of one CP2K run.

    Long because it is one pass over the output file, line by line, where each pattern updates the same record.
    """
    from pymatgen.io.cp2k.outputs import Cp2kOutput

    directory = Path(directory)
    path = directory / output
    text = _read_text(path)
    level = _PRINT_LEVEL.search(text)
    if level and level.group(1).upper() in ("SILENT", "LOW"):
        raise AtomisticsError(
            f"{path}: PRINT_LEVEL {level.group(1)} output cannot be parsed (pymatgen's reader "
            "hangs on it); rerun with PRINT_LEVEL MEDIUM (the default of our inputs)."
        )
    aborted = bool(_ABORT.search(text))
    # auto_load=True would also run parse_ionic_steps(), which raises IndexError on a GEO_OPT
    # whose force blocks do not line up with its structures (e.g. a one-atom Li⁺ relaxation),
    # and the DOS/band parsers we do not need: call the loaders we use one by one instead.
    out = Cp2kOutput(str(path), auto_load=False, verbose=False)
    try:
        out.ran_successfully()  # raises ValueError on runs stopped early (walltime, abort)
        ran = True
    except ValueError:
        ran = False
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore", UserWarning)  # "unconverged SCF": we report it
        out.convergence()
    started_scf = bool(_SCF_START.search(text))
    if not aborted and started_scf:
        try:
            out.parse_energies()
        except IndexError:  # killed inside its first SCF: no energy printed yet
            pass
        try:
            out.parse_timing()
        except IndexError:  # killed before CP2K printed its timing table
            pass
    # pymatgen's convergence() reads the file in reverse: its list starts at the *last*
    # SCF. Put it in file order, so scf[-1] is the SCF of the final energy.
    scf = [bool(x) for x in reversed(out.data.get("scf_converged") or [])]
    steps, stopped_in_scf = scf_runs(text)
    if stopped_in_scf:  # the SCF the job died in: not converged, and said where
        scf.append(False)
    energies = [float(m.group(1)) * Hartree for m in _ENERGY.finditer(text)]
    run_type = str(getattr(out, "run_type", "") or "").upper()
    walltime = WALLTIME_TEXT in text
    geo: bool | None = None
    n_geo = text.count("OPTIMIZATION STEP:")
    if run_type == "GEO_OPT":
        done = "GEOMETRY OPTIMIZATION COMPLETED" in text
        geo = bool(
            done and not walltime and "MAXIMUM NUMBER OF OPTIMIZATION STEPS REACHED" not in text
        )
    forces = None
    blocks = _FORCE_BLOCK.findall(text)
    if blocks:
        rows = _FORCE_LINE.findall(blocks[-1])
        forces = np.array(rows, dtype=float) * Hartree / Bohr
    positions = None
    traj = directory / f"{project}-pos-1.xyz"
    if traj.is_file() and traj.stat().st_size:
        positions = read(str(traj), index=-1, format="xyz").positions
    repeated: dict[str, int] = {}  # CP2K repeats a warning at every SCF/geometry step
    for m in _WARNING.finditer(text):
        body = " ".join(s.strip(" *") for s in m.group(2).splitlines() if s.strip(" *"))
        if "WFN_RESTART_FILE_NAME" in body:
            continue  # SCF_GUESS RESTART without a restart file yet: the expected first run
        key = f"{m.group(1).strip()}: {body}".strip()
        repeated[key] = repeated.get(key, 0) + 1
    warnings = [f"{w} (×{n})" if n > 1 else w for w, n in repeated.items()]
    unconverged = scf.count(False)
    if unconverged:
        warnings.append(f"{unconverged} of {len(scf)} SCF loop(s) did not converge")
    if walltime:
        warnings.append("CP2K stopped at its WALLTIME before finishing")
    grid = _GRID_CHARGE.findall(text)
    grid_charge_error = abs(float(grid[-1])) if grid else None
    if grid_charge_error is not None and grid_charge_error > GRID_CHARGE_TOLERANCE:
        warnings.append(
            f"{CUTOFF_WARNING}: the density on the grids misses {grid_charge_error:.3g} "
            f"electrons (> {GRID_CHARGE_TOLERANCE}): the energy is not converged in CUTOFF/"
            "REL_CUTOFF; raise them (e.g. the paper preset's 600/60 Ry)"
        )
    if stopped_in_scf:
        last = steps[-1]
        warnings.append(
            f"CP2K stopped inside SCF run {len(steps)} after {len(last)} step(s) (convergence "
            f"{last[-1]:.2e} at the last step; the run was killed or ran out of time/memory)"
        )
    if not started_scf and not aborted:
        warnings.append(
            "CP2K stopped before its first SCF step (killed, e.g. out of memory or time, while "
            "setting up the grids); see `atomistics inputs` for the job's memory estimate"
        )
    timings = {}
    timing = getattr(out, "timing", None) or {}
    for name in ("CP2K", "qs_energies", "qs_forces", "scf_env_do_scf", "cp_geo_opt"):
        if name in timing:
            timings[name] = float(timing[name]["total_time"]["maximum"])
    completed = ran and bool(out.completed) and not walltime and not aborted
    return Cp2kParsed(
        energy_ev=energies[-1] if energies else None,
        forces=forces,
        positions=positions,
        completed=completed,
        scf_converged=bool(scf[-1]) if scf else False,
        scf_history=scf,
        geo_converged=geo,
        n_geo_steps=n_geo,
        walltime_exceeded=walltime,
        aborted=aborted,
        run_type=run_type,
        version=_version(text),
        wall_time_s=timings.get("CP2K"),
        timings=timings,
        warnings=warnings[:50],
        scf_steps=steps,
        stopped_in_scf=stopped_in_scf,
        grid_charge_error=grid_charge_error,
    )
