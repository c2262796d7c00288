"""Any ASE calculator as an engine (relax with an ASE optimizer, then single point).

The calculator is created by a factory ``factory(atoms, settings) -> Calculator``
so that charge and spin multiplicity (``atoms.info``) reach it. Example with
ASE's EMT, from Python::

    from ase.calculators.emt import EMT
    engine = ASECalculatorEngine("emt", lambda atoms, s: EMT(), version="ase-emt")
    run_study(study, engine)

Relaxations are bounded (``max_steps``); whether ``fmax`` was reached is
recorded honestly as ``geo_converged``. One calculator object lives through a
relaxation and is kept for the next calculation on the same atoms (same
elements, charge, multiplicity, periodicity and settings), so an SCF code such
as tblite restarts from the previous wavefunction instead of from scratch.
``relax_calculator_overrides`` (e.g. a looser SCF threshold) apply during the
optimizer steps only; the final energy and forces always use the base settings. For periodic systems the
``surface`` region moves by default (``relax_region_periodic``, :func:`surface_region`):
the slab's bottom half stays fixed, its top half and any adsorbate relax. A region with
no free atoms (``none``, or ``adsorbate`` on a bare slab) is recorded as NOT relaxed
(``geo_converged`` false, with the largest force over the surface region), never as
converged.

Brillouin-zone sampling of the single point (``sp_supercell=(n, m)``): an engine
such as tblite samples the Γ point only. The Γ point of the cell repeated n×m in
plane samples the original cell's Γ-centred n×m k-mesh, k = (i/n, j/m) (Bloch's
theorem; e.g. Martin, *Electronic Structure*, ch. 4), so the single point of a
periodic cell runs on that supercell and reports the energy per original cell
(charge and unpaired electrons scale with the copies). This is the dry run's
counterpart of the CP2K protocol's 3×3×1 k-point single point: on the LiMMT 2×1
cell at Γ only, the bare slab's energy is off by 5–6 eV per cell and the
exchange energy by 0.7 eV (README, "What the dry run gives"). Relaxations stay
in the original cell.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import CalculationFailed, Calculator
from ase.constraints import FixAtoms
from ase.io.jsonio import decode, encode

from atomistics.engines.base import CalculationFailed as EngineCalculationFailed
from atomistics.engines.base import EngineResult
from atomistics.engines.relaxation import check_optimizer, relax
from atomistics.errors import AtomisticsError
from atomistics.structures.relax_region import RELAX_REGIONS, surface_region

INPUT_FILE = "ase_input.json"
RESULT_FILE = "ase_result.json"

CalculatorFactory = Callable[[Atoms, dict[str, Any]], Calculator]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temporary file + rename, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


#: Largest in-plane repetition for ``sp_supercell`` (the cost grows as (n·m)³ for tblite).
MAX_SP_SUPERCELL = 6


def _check_supercell(value) -> tuple[int, int] | None:
    """``None``, or (n, m) with 1 ≤ n, m ≤ MAX_SP_SUPERCELL; (1, 1) means no supercell."""
    if value is None:
        return None
    try:
        n, m = (int(v) for v in value)
        ok = all(float(v) == int(v) for v in value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        ok = False
    if not ok or not (1 <= n <= MAX_SP_SUPERCELL and 1 <= m <= MAX_SP_SUPERCELL):
        raise AtomisticsError(
            f"sp_supercell {value!r} not understood: give two whole numbers from 1 to "
            f"{MAX_SP_SUPERCELL}, e.g. sp_supercell: [2, 2] (the in-plane repetition of the "
            "single point's cell)."
        )
    return None if (n, m) == (1, 1) else (n, m)


def _in_plane_periodic(atoms: Atoms) -> bool:
    return bool(atoms.pbc[0] and atoms.pbc[1])


def free_atoms(atoms: Atoms, region: str) -> np.ndarray:
    """Indices allowed to move in a relaxation: one of :data:`RELAX_REGIONS`."""
    if region == "all":
        return np.arange(len(atoms))
    if region == "surface":
        return surface_region(atoms)
    if region == "adsorbate":
        mask = atoms.arrays.get("adsorbate")
        return np.flatnonzero(mask) if mask is not None else np.array([], dtype=int)
    if region == "none":
        return np.array([], dtype=int)
    raise AtomisticsError(
        f"relax region {region!r} unknown: use one of {', '.join(RELAX_REGIONS)}."
    )


def _memo_key(atoms: Atoms, calculator_settings: dict[str, Any]) -> str:
    bare = atoms.copy()
    bare.set_constraint()
    # the precision of atomistics.execution.hashing (stage inputs are rounded to it)
    bare.positions = np.round(bare.positions, 5)
    text = encode(bare) + json.dumps(calculator_settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ASECalculatorEngine:
    """An engine driving an ASE calculator in-process (see the module docstring)."""

    def __init__(
        self,
        name: str,
        factory: CalculatorFactory,
        version: str,
        calculator_settings: dict[str, Any] | None = None,
        *,
        optimizer: str = "BFGS",
        fmax: float = 0.05,
        max_steps: int = 200,
        max_steps_periodic: int = 200,
        relax_region_periodic: str = "surface",
        relax_calculator_overrides: dict[str, Any] | None = None,
        reuse_calculator: bool = True,
        sp_supercell: tuple[int, int] | list[int] | None = None,
    ) -> None:
        self.sp_supercell = _check_supercell(sp_supercell)
        check_optimizer(optimizer)
        if fmax <= 0 or max_steps < 0 or max_steps_periodic < 0:
            raise AtomisticsError("fmax must be > 0 eV/Å and max_steps ≥ 0.")
        self.name = name
        self.protocol = (
            str(calculator_settings.get("method", name)) if calculator_settings else name
        )
        self.factory = factory
        # Last evaluation per (structure, calculator settings), in this process only:
        # a single point at the geometry a relaxation just finished on, with the same
        # calculator, is that relaxation's final evaluation (saves one slab evaluation).
        self._memo: dict[str, tuple[float, list]] = {}
        # The live calculator of the last calculation and what it was built for.
        self._live: tuple[str, Calculator] | None = None
        self.reuse_calculator = bool(reuse_calculator)
        self._last_reused = False
        self.relax_calculator_overrides = dict(relax_calculator_overrides or {})
        self._version = f"{version}; ase {_dist_version('ase')}"
        self.calculator_settings = dict(calculator_settings or {})
        self.relax_settings = {
            "optimizer": optimizer,
            "fmax": float(fmax),
            "max_steps": int(max_steps),
            "max_steps_periodic": int(max_steps_periodic),
            "relax_region_periodic": relax_region_periodic,
        }

    def version(self) -> str:
        return self._version

    def settings(self, atoms: Atoms, stage: str) -> dict[str, Any]:
        out: dict[str, Any] = {"calculator": self.calculator_settings}
        if stage == "relax":
            periodic = bool(any(atoms.pbc))
            r = self.relax_settings
            out.update(
                optimizer=r["optimizer"],
                fmax=r["fmax"],
                max_steps=r["max_steps_periodic"] if periodic else r["max_steps"],
                relax_region=r["relax_region_periodic"] if periodic else "all",
            )
            if self.relax_calculator_overrides:
                out["relax_calculator"] = self.relax_calculator_overrides
        elif stage == "single_point" and self.sp_supercell and _in_plane_periodic(atoms):
            out["sp_supercell"] = list(self.sp_supercell)
        elif stage in ("cp_own", "cp_ghost"):
            raise AtomisticsError(
                f"engine {self.name!r} has no ghost atoms, so it cannot do the counterpoise "
                "correction: set counterpoise: false in the study or use --engine cp2k."
            )
        return out

    def write_inputs(
        self, directory: Path, atoms: Atoms, stage: str, settings: dict[str, Any]
    ) -> dict[str, Any]:
        atoms = atoms.copy()
        atoms.calc = None
        if stage == "relax":
            free = free_atoms(atoms, settings["relax_region"])
            fixed = np.setdiff1d(np.arange(len(atoms)), free)
            atoms.set_constraint(FixAtoms(fixed) if len(fixed) else None)
            spec_free = len(free)
        else:
            spec_free = len(atoms)
        spec = {"stage": stage, "settings": settings, "atoms": json.loads(encode(atoms))}
        write_json_atomic(directory / INPUT_FILE, spec)
        return {"n_free_atoms": int(spec_free)}

    def _calculator(self, atoms: Atoms, calc_settings: dict[str, Any]) -> tuple[Calculator, bool]:
        """The live calculator when it was built for these atoms and settings, else a new one."""
        signature = json.dumps(
            [
                atoms.numbers.tolist(),
                atoms.pbc.tolist(),
                atoms.info.get("charge", 0),
                atoms.info.get("spin_multiplicity", 1),
                calc_settings,
            ],
            sort_keys=True,
            default=str,
        )
        if self.reuse_calculator and self._live is not None and self._live[0] == signature:
            calc = self._live[1]
            # Same settings by construction; undo a relaxation's overrides, if any were left.
            restore = {
                k: calc_settings[k] for k in self.relax_calculator_overrides if k in calc_settings
            }
            if restore:
                calc.set(**restore)
            self._last_reused = True
            return calc, True
        calc = self.factory(atoms, calc_settings)
        self._live = (signature, calc)
        self._last_reused = False
        return calc, False

    def execute(self, directory: Path) -> None:
        spec = json.loads((directory / INPUT_FILE).read_text())
        atoms: Atoms = decode(json.dumps(spec["atoms"]))
        settings, stage = spec["settings"], spec["stage"]
        try:
            try:
                self._execute(directory, atoms, settings, stage)
            except CalculationFailed:
                if not self._last_reused:
                    raise
                # A wavefunction carried over from another geometry can mislead the SCF:
                # retry once from scratch before giving up.
                self._live = None
                self._execute(directory, decode(json.dumps(spec["atoms"])), settings, stage)
        except CalculationFailed as exc:
            # ASE's exception (e.g. tblite's "SCF not converged") becomes the engine's own,
            # naming the folder, so that `atomistics run` reports one line, not a traceback.
            self._live = None
            raise EngineCalculationFailed(
                f"{directory}: {self.name} {stage} failed ({str(exc).strip() or type(exc).__name__}); "
                "the folder is kept. Check the structure (atoms too close?), or raise "
                "max_iterations / electronic_temperature in calculation.xtb."
            ) from exc

    def _execute(self, directory: Path, atoms: Atoms, settings: dict[str, Any], stage: str) -> None:
        atoms.calc, reused = self._calculator(atoms, settings["calculator"])
        start = time.perf_counter()
        warnings: list[str] = []
        notes: list[str] = []
        if reused:
            notes.append("calculator (and its wavefunction) carried over from the previous run")
        geo_converged, n_steps = None, 0
        if stage == "relax":
            n_fixed = len(atoms.constraints[0].index) if atoms.constraints else 0
            if n_fixed == len(atoms):
                # Nothing moved, so nothing was relaxed: recorded as not relaxed (with the
                # force over the atoms a slab relaxation moves), never as converged.
                geo_converged = False
                warnings.append(
                    f"relaxation NOT done: relax region {settings['relax_region']!r} has no "
                    "free atoms, so the geometry is the built one (stored as not relaxed)"
                )
            else:
                loose = settings.get("relax_calculator") or {}
                if loose:
                    atoms.calc.set(**loose)
                done = relax(
                    atoms,
                    fmax=settings["fmax"],
                    max_steps=settings["max_steps"],
                    optimizer=settings["optimizer"],
                    trajectory=directory / "relax.traj",
                    logfile=directory / "relax.log",
                )
                geo_converged, n_steps = done.converged, done.n_steps
                warnings.extend(done.warnings)
                if loose:  # the final energy and forces at the base settings
                    atoms.calc.set(**{k: settings["calculator"][k] for k in loose})
        if settings.get("sp_supercell"):
            energy, forces, note = self._supercell_point(atoms, settings)
            notes.append(note)
            self._write_result(
                directory, atoms, energy, forces, None, 0, None, start, warnings, notes
            )
            return
        key = _memo_key(atoms, settings["calculator"])
        if stage != "relax" and key in self._memo:
            energy, forces = self._memo[key]
            notes.append("energy and forces reused from the relaxation's final evaluation")
        else:
            energy, forces = self._energy_and_forces(atoms, settings, stage, notes)
        self._memo[key] = (energy, forces)
        fmax = None
        if stage == "relax":  # largest force on a free atom (what the optimiser converged)
            free = np.ones(len(atoms), dtype=bool)
            for c in atoms.constraints:
                free[c.get_indices()] = False
            if not free.any():  # not relaxed: the force over the atoms that should move
                free[surface_region(atoms)] = True
            f = np.asarray(forces)[free]
            fmax = float(np.sqrt((f**2).sum(axis=1).max()))
        self._write_result(
            directory, atoms, energy, forces, geo_converged, n_steps, fmax, start, warnings, notes
        )

    def _energy_and_forces(
        self, atoms: Atoms, settings: dict[str, Any], stage: str, notes: list[str]
    ) -> tuple[float, list]:
        """Energy and forces of ``atoms`` with its live calculator (an engine may seed the SCF)."""
        return float(atoms.get_potential_energy()), atoms.get_forces(
            apply_constraint=False
        ).tolist()

    def _supercell_point(self, atoms: Atoms, settings: dict[str, Any]) -> tuple[float, list, str]:
        """Energy per cell and the first copy's forces from the Γ point of the n×m supercell."""
        n, m = settings["sp_supercell"]
        copies = n * m
        mult = int(atoms.info.get("spin_multiplicity", 1))
        big = atoms.repeat((n, m, 1))
        big.pbc = atoms.pbc
        big.set_constraint()
        # N copies hold N times the charge and the unpaired electrons (a high-spin
        # arrangement of open-shell cells; a closed-shell cell stays a singlet).
        big.info.update(
            charge=int(atoms.info.get("charge", 0)) * copies,
            spin_multiplicity=(mult - 1) * copies + 1,
        )
        big.calc, _ = self._calculator(big, settings["calculator"])
        energy = float(big.get_potential_energy()) / copies
        forces = big.get_forces(apply_constraint=False)[: len(atoms)].tolist()
        note = (
            f"single point on the cell repeated {n}×{m} in plane ({len(big)} atoms): the Γ "
            f"point of the supercell samples the cell's Γ-centred {n}×{m} k-mesh; energy per cell"
        )
        return energy, forces, note

    def _write_result(
        self,
        directory: Path,
        atoms: Atoms,
        energy: float,
        forces: list,
        geo_converged: bool | None,
        n_steps: int,
        fmax: float | None,
        start: float,
        warnings: list[str],
        notes: list[str],
    ) -> None:
        final = atoms.copy()
        final.calc = None
        final.set_constraint()
        write_json_atomic(
            directory / RESULT_FILE,
            {
                "energy_ev": energy,
                "forces": forces,
                "atoms": json.loads(encode(final)),
                "geo_converged": geo_converged,
                "n_steps": n_steps,
                "fmax_ev_a": fmax,
                "wall_time_s": time.perf_counter() - start,
                "warnings": warnings,
                "notes": notes,
                "code_version": self._version,
            },
        )

    def read_result(self, directory: Path) -> EngineResult:
        path = directory / RESULT_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no result (the calculation did not finish)")
        data = json.loads(path.read_text())
        return EngineResult(
            energy_ev=data["energy_ev"],
            atoms=decode(json.dumps(data["atoms"])),
            forces=np.array(data["forces"]),
            scf_converged=True,  # ASE calculators raise when their SCF fails
            geo_converged=data["geo_converged"],
            n_steps=data["n_steps"],
            wall_time_s=data["wall_time_s"],
            code_version=data["code_version"],
            warnings=data["warnings"],
            timings={"total": data["wall_time_s"]},
            extra={"notes": data.get("notes", []), "fmax_ev_a": data.get("fmax_ev_a")},
        )
