"""The engine interface: one calculation = write inputs, execute, read results.

Every engine works on a directory so that each step can run in a different
process (the CLI runner, a FireWorks Firetask on a cluster node):

* ``settings(atoms, stage)``  -> the resolved, JSON-able settings (hashed);
* ``write_inputs(directory, atoms, stage, settings)`` -> metadata dict;
* ``execute(directory)`` runs the code, leaving its outputs in ``directory``;
* ``read_result(directory)`` -> :class:`EngineResult`.

Energies are in eV, forces in eV/Å, lengths in Å, times in s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from ase import Atoms

#: The stages every engine understands, in the order a study runs them.
STAGES: tuple[str, ...] = ("relax", "single_point")
#: Extra single-point stages used by the counterpoise correction.
CP_STAGES: tuple[str, ...] = ("cp_own", "cp_ghost")


class CalculationFailed(RuntimeError):
    """A calculation ran but its result must not be stored (e.g. SCF not converged)."""


@dataclass
class EngineResult:
    """What an engine reports for one finished calculation."""

    energy_ev: float
    atoms: Atoms  # final structure (relaxed for "relax", the input otherwise)
    forces: np.ndarray | None = None
    scf_converged: bool = True
    geo_converged: bool | None = None  # None for single points
    n_steps: int = 0
    wall_time_s: float | None = None
    code_version: str = ""
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: engine-specific details; ``extra["fmax_ev_a"]``: the largest force on a free atom at
    #: the end of a relaxation (eV/Å), recorded with the result when the engine knows it
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """What the runner needs from an engine (see the module docstring)."""

    name: str

    def version(self) -> str: ...

    def settings(self, atoms: Atoms, stage: str) -> dict[str, Any]: ...

    def write_inputs(
        self, directory: Path, atoms: Atoms, stage: str, settings: dict[str, Any]
    ) -> dict[str, Any]: ...

    def execute(self, directory: Path) -> None: ...

    def read_result(self, directory: Path) -> EngineResult: ...
