"""The one result record of a calculation, built from its folder or from its database row.

:class:`CalcResult` is what ``atomistics run``, the Firetasks, ``atomistics results``
and the reaction assembler all read. It is built in exactly two ways, by
:meth:`CalcResult.from_directory` (a finished calculation folder, through the
engine that ran it) and :meth:`CalcResult.from_row` (a row of the results
database); :func:`atomistics.db.write_calculation` writes the fields a row needs
for the second to give back the first.

Convergence is recorded honestly, never filtered out:

* ``scf_converged`` — the electronic SCF converged (an unconverged SCF raises
  :class:`~atomistics.engines.base.CalculationFailed` in ``from_directory`` and is
  never stored);
* ``geo_converged`` — for a relaxation, whether ``fmax`` was reached (in
  ``n_steps`` optimiser steps); for a single point, whether the relaxation its
  geometry comes from reached it (``geometry_from``, ``geo_steps``); ``None``
  when the structure is used as built;
* ``fmax_ev_a`` — the largest force on a free atom at the end of a relaxation
  (eV/Å), when the engine reports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io.jsonio import decode

from atomistics.engines.base import CalculationFailed, Engine

CALC_FILE = "calculation.json"
DONE_FILE = "DONE"


class CorruptResult(ValueError):
    """A finished folder's result is not a result (a NaN energy): treated like an unreadable
    result file (:func:`atomistics.calcstore.run_cached` runs the calculation again)."""


def _check_finite(out) -> None:
    """The energy (and forces, if any) an engine read back are finite numbers."""
    try:
        finite = bool(np.isfinite(float(out.energy_ev)))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise CorruptResult(f"its energy is {out.energy_ev!r}, not a finite number")
    if out.forces is not None and not np.isfinite(np.asarray(out.forces, dtype=float)).all():
        raise CorruptResult("its forces hold non-finite numbers")


@dataclass
class CalcResult:
    """A finished calculation (energies in eV, forces in eV/Å)."""

    calc_hash: str
    study: str
    name: str
    stage: str
    engine: str
    engine_version: str
    protocol: str
    energy_ev: float
    atoms: Atoms
    forces: np.ndarray | None
    scf_converged: bool
    geo_converged: bool | None
    n_steps: int
    wall_time_s: float | None
    warnings: list[str]
    timings: dict[str, float]
    settings: dict[str, Any]
    metadata: dict[str, Any]
    fmax_ev_a: float | None = None
    fmax_target_ev_a: float | None = None
    geometry_from: str | None = None  # calc_hash of the relaxation that gave the geometry
    geo_steps: int | None = None  # optimiser steps of that relaxation
    directory: str = ""
    cached: bool = False  # read from the results database (no folder touched)
    recovered: bool = False  # read from a folder already finished (DONE) before this run

    @property
    def converged(self) -> bool:
        """SCF converged and, where the geometry was relaxed, fmax reached."""
        return bool(self.scf_converged) and self.geo_converged is not False

    @property
    def charge(self) -> int:
        return int(self.atoms.info.get("charge", 0))

    @classmethod
    def from_directory(cls, directory: str | Path, engine: Engine) -> CalcResult:
        """Read a finished calculation folder; an unconverged SCF raises CalculationFailed."""
        directory = Path(directory)
        record = load_calculation(directory)
        if not (directory / DONE_FILE).is_file():
            raise CalculationFailed(
                f"{directory}: the calculation has not finished (no {DONE_FILE})."
            )
        out = engine.read_result(directory)
        _check_finite(out)
        if not out.scf_converged:
            raise CalculationFailed(
                f"{directory}: SCF not converged, the energy is not a result and is not stored "
                "(raise the SCF step limit or loosen mixing; custodian's handlers could not fix it)."
            )
        final: Atoms = decode(json.dumps(record["atoms"]))
        final.set_constraint()
        if len(out.atoms) == len(final):
            final.positions = out.atoms.positions
            if any(out.atoms.pbc):
                final.cell = out.atoms.cell
        meta = record.get("meta", {})
        geometry = meta.get("geometry") or {}
        relax = record["stage"] == "relax"
        settings = record["settings"]
        fmax = out.extra.get("fmax_ev_a")
        return cls(
            calc_hash=record["calc_hash"],
            study=record["study"],
            name=record["name"],
            stage=record["stage"],
            engine=record["engine"],
            engine_version=out.code_version or record["engine_version"],
            protocol=record["protocol"],
            energy_ev=float(out.energy_ev),
            atoms=final,
            forces=None if out.forces is None else np.asarray(out.forces, dtype=float),
            scf_converged=bool(out.scf_converged),
            geo_converged=out.geo_converged if relax else geometry.get("geo_converged"),
            n_steps=int(out.n_steps),
            wall_time_s=out.wall_time_s,
            warnings=list(out.warnings),
            timings=dict(out.timings),
            settings=settings,
            metadata={**record.get("metadata", {}), **meta, **out.extra},
            fmax_ev_a=(None if fmax is None else float(fmax))
            if relax
            else geometry.get("fmax_ev_a"),
            fmax_target_ev_a=_fmax_target(settings) if relax else geometry.get("fmax_target_ev_a"),
            geometry_from=None if relax else geometry.get("calc_hash"),
            geo_steps=int(out.n_steps) if relax else geometry.get("n_steps"),
            directory=str(directory),
        )

    @classmethod
    def from_row(cls, row) -> CalcResult:
        """The same record from a results-database row (:func:`atomistics.db.write_calculation`)."""
        atoms = row.toatoms()
        atoms.calc = None
        atoms.set_constraint()
        atoms.set_initial_charges(None)
        data = row.data
        atoms.info.update(data.get("info", {}))
        atoms.info.setdefault("charge", int(row.get("total_charge", 0)))
        atoms.info.setdefault("spin_multiplicity", int(row.get("multiplicity", 1)))
        for key, idx in (data.get("masks") or {}).items():
            mask = np.zeros(len(atoms), dtype=bool)
            mask[list(idx)] = True
            atoms.arrays[key] = mask
        forces = row.get("forces")
        return cls(
            calc_hash=row.calc_hash,
            study=row.study,
            name=row.name,
            stage=row.stage,
            engine=row.engine,
            engine_version=row.engine_version,
            protocol=row.protocol,
            energy_ev=float(row.energy),
            atoms=atoms,
            forces=None if forces is None else np.asarray(forces, dtype=float),
            scf_converged=bool(row.scf_converged),
            geo_converged=None if row.get("geo_converged") is None else bool(row.geo_converged),
            n_steps=int(row.n_steps),
            wall_time_s=row.get("wall_time_s"),
            warnings=list(data.get("warnings", [])),
            timings=dict(data.get("timings", {})),
            settings=dict(data.get("settings", {})),
            metadata=dict(data.get("metadata", {})),
            fmax_ev_a=row.get("relax_fmax"),
            fmax_target_ev_a=row.get("fmax_target"),
            geometry_from=row.get("geometry_from"),
            geo_steps=row.get("geo_steps"),
            directory=data.get("directory", ""),
            cached=True,
        )


def _fmax_target(settings: dict[str, Any]) -> float | None:
    value = settings.get("fmax", settings.get("geo_max_force"))
    return None if value is None else float(value)


def load_calculation(directory: str | Path) -> dict[str, Any]:
    """The ``calculation.json`` a prepared folder carries (plan + inputs' provenance)."""
    path = Path(directory) / CALC_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CalculationFailed(
            f"{path}: unreadable ({type(exc).__name__}); delete the folder {path.parent} "
            "so the calculation is prepared and run again."
        ) from None


def geometry_meta(previous: CalcResult | None) -> dict[str, Any]:
    """What a stage that starts from ``previous``'s geometry records about it."""
    if previous is None:
        return {}
    return {
        "geometry": {
            "calc_hash": previous.geometry_from or previous.calc_hash,
            # which engine and method made the geometry (a composite protocol's relax engine)
            "engine": previous.engine,
            "protocol": previous.protocol,
            "geo_converged": previous.geo_converged,
            "n_steps": previous.geo_steps if previous.geo_steps is not None else previous.n_steps,
            "fmax_ev_a": previous.fmax_ev_a,
            "fmax_target_ev_a": previous.fmax_target_ev_a,
        }
    }


__all__ = [
    "CALC_FILE",
    "DONE_FILE",
    "CalcResult",
    "CorruptResult",
    "geometry_meta",
    "load_calculation",
]


def why_unconverged(r: CalcResult) -> str | None:
    """Why this result's energy is not a converged one ("name:stage (why)"), or None.

    The one rule every energy that enters a reaction, a vacuum series or a solvation
    correction is flagged by: SCF not converged; CP2K's density grid losing electrons (cutoff
    too low); a geometry rejected (bonding changed) or not relaxed to fmax.
    """
    from atomistics.parse.cp2k import CUTOFF_WARNING

    if not r.scf_converged:
        return f"{r.name}:{r.stage} (SCF not converged)"
    if any(w.startswith(CUTOFF_WARNING) for w in getattr(r, "warnings", ()) or ()):
        return f"{r.name}:{r.stage} (energy not converged in the cutoff: the density grid loses electrons)"
    if r.geo_converged is False and (
        r.fmax_ev_a is not None
        and r.fmax_target_ev_a is not None
        and r.fmax_ev_a <= r.fmax_target_ev_a
    ):
        # fmax was reached, yet the engine rejected the geometry: the relaxation broke or
        # formed a covalent bond (atomistics.structures.checks.bond_changes)
        return (
            f"{r.name}:{r.stage} (geometry rejected: the relaxation changed the species' bonding)"
        )
    if r.geo_converged is False:
        fmax = "" if r.fmax_ev_a is None else f", fmax {r.fmax_ev_a:.3g} eV/Å"
        target = "" if r.fmax_target_ev_a is None else f" > {r.fmax_target_ev_a:g}"
        steps = "" if r.geo_steps is None else f" after {r.geo_steps} steps"
        return f"{r.name}:{r.stage} (geometry not converged{fmax}{target}{steps})"
    return None
