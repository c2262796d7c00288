"""CP2K through custodian: inputs from :mod:`atomistics.cp2k`, run by ``Cp2kJob`` + handlers.

Custodian pitfalls handled here, in one place (:class:`OwnProcessCp2kJob`):

* ``cp2k_cmd`` must be a list: the command comes from configuration
  (:func:`atomistics.cp2k.find_cp2k_command`, env ``CP2K_COMMAND`` shlex-split, e.g.
  ``mpirun -np 2 cp2k.psmp``) and is never concatenated through a shell;
* ``Cp2kJob.terminate()`` runs ``killall <binary>``, which would kill every CP2K on the
  node: ours stops only the process it started;
* threads: ``OMP_NUM_THREADS`` is set for the job from ``omp_threads`` (default 1; two MPI
  ranks beat two OpenMP threads on 2 cores: 90 s vs 163 s for Li⁺).

custodian's corrections rewrite the input through pymatgen's ``Cp2kInput``, which turns
a bare ``F`` kind into ``False``; our inputs label kinds ``F1`` + ``ELEMENT F`` so they
survive (tested with a real corrected rerun of FSI⁻).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from custodian.cp2k.handlers import (
    DivergingScfErrorHandler,
    FrozenJobErrorHandler,
    NumericalPrecisionHandler,
    StdErrHandler,
    UnconvergedRelaxationErrorHandler,
    WalltimeHandler,
)
from custodian.cp2k.jobs import Cp2kJob
from custodian.cp2k.validators import Cp2kOutputValidator

from atomistics.engines.base import CalculationFailed, EngineResult
from atomistics.errors import AtomisticsError

INPUT = "cp2k.inp"
OUTPUT = "cp2k.out"
STDERR = "std_err.txt"
PROJECT = "cp2k"
ENGINE_FILE = "cp2k_engine.json"

# settings that depend on the machine, not on the physics: kept out of the content hash
_UNHASHED = ("data_dir", "notes")


class OwnProcessCp2kJob(Cp2kJob):
    """``Cp2kJob`` that terminates only its own process and sets the thread count."""

    def __init__(self, cp2k_cmd: list[str], omp_threads: int = 1, **kwargs: Any) -> None:
        if isinstance(cp2k_cmd, str) or not all(isinstance(w, str) for w in cp2k_cmd):
            raise AtomisticsError("the CP2K command must be a list of words, e.g. ['cp2k.psmp'].")
        super().__init__(list(cp2k_cmd), **kwargs)
        self.omp_threads = int(omp_threads)
        self._process: subprocess.Popen | None = None

    def run(self, directory="./"):
        cmd = [*self.cp2k_cmd, "-i", self.input_file]
        env = dict(os.environ, OMP_NUM_THREADS=str(self.omp_threads))
        with (
            open(os.path.join(directory, self.output_file), "w") as f_out,
            open(os.path.join(directory, self.stderr_file), "w", buffering=1) as f_err,
        ):
            self._process = subprocess.Popen(
                cmd, cwd=directory, stdout=f_out, stderr=f_err, shell=False, env=env
            )
        return self._process

    def terminate(self, directory="./") -> None:
        # custodian's version: os.system(f"killall {cmd}") -> every CP2K on the node
        proc = self._process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def default_handlers() -> list:
    from atomistics.engines.cp2k_handlers import (
        AnyScfUnconvergedHandler,
        Cp2kAbortHandler,
        GeoOptWalltimeHandler,
    )

    return [
        Cp2kAbortHandler(OUTPUT),
        StdErrHandler(STDERR),
        AnyScfUnconvergedHandler(INPUT, OUTPUT),
        DivergingScfErrorHandler(OUTPUT, INPUT),
        FrozenJobErrorHandler(INPUT, OUTPUT),
        NumericalPrecisionHandler(INPUT, OUTPUT),
        UnconvergedRelaxationErrorHandler(INPUT, OUTPUT),
        GeoOptWalltimeHandler(INPUT, OUTPUT),
        WalltimeHandler(OUTPUT),
    ]


def _stage(stage: str) -> str:
    return "single_point" if stage in ("cp_own", "cp_ghost") else stage


class Cp2kEngine:
    """The paper's DFT protocol in CP2K, run under custodian."""

    name = "cp2k"

    def __init__(
        self,
        protocol: str = "paper",
        overrides: dict | None = None,
        command: list[str] | None = None,
        omp_threads: int | None = None,
        max_errors: int = 5,
        data_dir: str | Path | None = None,
        polling_time_step: int = 1,
        monitor_freq: int = 5,
    ) -> None:
        from atomistics.cp2k import find_cp2k_command

        self.protocol = protocol
        self.overrides = dict(overrides or {})
        self.command = list(command) if command else find_cp2k_command()
        self.omp_threads = int(omp_threads or os.environ.get("OMP_NUM_THREADS", 1))
        self.max_errors = int(max_errors)
        self.data_dir = data_dir
        self.polling_time_step = polling_time_step
        self.monitor_freq = monitor_freq
        self._version: str | None = None

    def variant(self, overrides: dict | None = None) -> Cp2kEngine:
        """This engine with ``overrides`` deep-merged into its own (same protocol and machine
        settings), e.g. ``{"single_point": {"kpoints": "gamma"}}``: the implicit-solvent
        correction builds its Γ-point gas-phase and SCCS engines this way."""
        from atomistics.cp2k.protocol import deep_merge

        return Cp2kEngine(
            protocol=self.protocol,
            overrides=deep_merge(self.overrides, overrides or {}),
            command=self.command,
            omp_threads=self.omp_threads,
            max_errors=self.max_errors,
            data_dir=self.data_dir,
            polling_time_step=self.polling_time_step,
            monitor_freq=self.monitor_freq,
        )

    def version(self) -> str:
        if self._version is None:
            from atomistics.cp2k import cp2k_version_info

            info = cp2k_version_info(self.command)
            self._version = f"cp2k {info['version']} ({info.get('revision') or 'unknown revision'})"
        return self._version

    def settings(self, atoms: Atoms, stage: str) -> dict[str, Any]:
        from atomistics.cp2k import resolve_settings

        s = resolve_settings(atoms, _stage(stage), self.protocol, self.overrides, self.data_dir)
        meta = s.as_metadata()
        return {k: v for k, v in meta.items() if k not in _UNHASHED}

    def write_inputs(
        self, directory: Path, atoms: Atoms, stage: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        from atomistics.cp2k import write_cp2k_input
        from atomistics.cp2k.locate import find_cp2k_data_dir
        from atomistics.cp2k.protocol import Cp2kSettings, machine_overrides
        from atomistics.cp2k.resources import mpi_ranks

        # Render the settings that were hashed, as given (not resolved again: a restart
        # from moved positions must not get another automatic box).
        data_dir = Path(self.data_dir) if self.data_dir else find_cp2k_data_dir()
        resolved = Cp2kSettings(**{**settings, "data_dir": str(data_dir), "notes": []})
        # the estimate (and node-memory check) for the ranks this engine launches; a study's
        # overrides.mpi_ranks still wins (write_cp2k_input reads it when ranks is None)
        ranks = (
            None if "mpi_ranks" in machine_overrides(self.overrides) else mpi_ranks(self.command)
        )
        _, meta = write_cp2k_input(
            atoms,
            _stage(stage),
            directory,
            self.protocol,
            self.overrides,
            PROJECT,
            self.data_dir,
            settings=resolved,
            ranks=ranks,
        )
        (Path(directory) / ENGINE_FILE).write_text(
            json.dumps({"command": self.command, "omp_threads": self.omp_threads, "stage": stage})
        )
        return {
            "basis": meta["settings"]["basis_per_element"],
            "potential": meta["settings"]["potential_per_element"],
            "cp2k_validation": meta.get("validation", {}),
            "resources": meta["resources"],
        }

    def restart_state(
        self, previous: Path, atoms: Atoms, stage: str
    ) -> tuple[Atoms, list[Path], str | None]:
        """What an interrupted attempt in ``previous`` leaves to restart from.

        The wavefunction restart file (the new input's ``SCF_GUESS RESTART`` reads
        it) and, for a relaxation, the last geometry of the trajectory. The
        trajectory is used only if its atom order is ours: custodian's input
        rewrites (through pymatgen) regroup atoms by kind.
        """
        previous = Path(previous)
        files = [
            f
            for f in (previous / f"{PROJECT}-RESTART.wfn", previous / f"{PROJECT}-RESTART.kp")
            if f.is_file() and f.stat().st_size > 0
        ]
        notes = [f"wavefunction from {previous.name}"] if files else []
        trajectory = previous / f"{PROJECT}-pos-1.xyz"
        if _stage(stage) == "relax" and trajectory.is_file():
            import ase.io

            try:
                last = ase.io.read(trajectory, index=-1, format="xyz")
            except Exception:  # a trajectory cut mid-frame by the kill
                frames = ase.io.read(trajectory, index=":-1", format="xyz")
                last = frames[-1] if frames else None
            if last is not None and last.get_chemical_symbols() == atoms.get_chemical_symbols():
                atoms = atoms.copy()
                # isolated systems are re-centred in their box by the input writer
                atoms.positions = last.positions
                notes.append(f"geometry: last frame of {previous.name}/{trajectory.name}")
        return atoms, files, "; ".join(notes) or None

    def execute(self, directory: Path) -> None:
        from custodian import Custodian

        directory = Path(directory).resolve()
        job = OwnProcessCp2kJob(
            self.command,
            omp_threads=self.omp_threads,
            input_file=INPUT,
            output_file=OUTPUT,
            stderr_file=STDERR,
        )
        custodian = Custodian(
            default_handlers(),
            [job],
            validators=[Cp2kOutputValidator(OUTPUT)],
            max_errors=self.max_errors,
            polling_time_step=self.polling_time_step,
            monitor_freq=self.monitor_freq,
            directory=str(directory),
        )
        try:
            # Some custodian CP2K handlers (StdErrHandler, ...) open their files relative to
            # the current directory and ignore ``directory``: run from inside it.
            with contextlib.chdir(directory):
                custodian.run()
        except BaseException as exc:  # Ctrl-C included: never leave our CP2K running
            job.terminate(str(directory))
            if isinstance(exc, Exception):
                raise CalculationFailed(f"{directory}: CP2K failed under custodian: {exc}") from exc
            raise

    def read_result(self, directory: Path) -> EngineResult:
        from atomistics.parse.cp2k import parse_cp2k_output

        directory = Path(directory)
        p = parse_cp2k_output(directory, PROJECT, OUTPUT)
        if p.energy_ev is None or not p.completed:
            raise CalculationFailed(f"{directory}/{OUTPUT}: CP2K did not finish with an energy.")
        record = json.loads((directory / "calculation.json").read_text())
        from ase.io.jsonio import decode

        atoms: Atoms = decode(json.dumps(record["atoms"]))
        if p.positions is not None and len(p.positions) == len(atoms):
            atoms.positions = p.positions
        return EngineResult(
            energy_ev=p.energy_ev,
            atoms=atoms,
            forces=p.forces if p.forces is not None and len(p.forces) == len(atoms) else None,
            scf_converged=p.scf_converged,
            geo_converged=p.geo_converged,
            n_steps=p.n_geo_steps,
            wall_time_s=p.wall_time_s,
            code_version=f"cp2k {p.version}",
            warnings=p.warnings,
            timings=p.timings,
            extra={"custodian_errors": _custodian_errors(directory), "scf_history": p.scf_history},
        )


def _custodian_errors(directory: Path) -> list:
    path = directory / "custodian.json"
    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text())
    except json.JSONDecodeError:
        return []
    return [c.get("errors") for run in runs for c in run.get("corrections", [])]


__all__ = ["Cp2kEngine", "OwnProcessCp2kJob", "default_handlers", "np"]
