"""The one relaxation loop: an ASE optimizer to ``fmax`` within ``max_steps``, then a bond check.

Used by every in-process relaxation of the package: the ASE-calculator engines
(:class:`atomistics.engines.ase_engine.ASECalculatorEngine`, hence the xtb dry run) and
the adsorption-site screening (:func:`atomistics.execution.screening.relax_free_region`).
Both therefore report convergence the same way, and both refuse to call a relaxation
converged when the adsorbate's or molecule's covalent bonds changed on the way
(:func:`atomistics.structures.checks.bond_changes`): its energy is then not that of the
intended species.

The atoms passed in carry their calculator and constraints (fixed atoms); this module
moves them in place and returns what happened. It builds no calculator and writes no
result file: that stays with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.optimize import BFGS, FIRE, LBFGS

from atomistics.errors import AtomisticsError
from atomistics.structures.checks import bond_changes

OPTIMIZERS = {"BFGS": BFGS, "LBFGS": LBFGS, "FIRE": FIRE}

#: Alkali cations bind ionically: their coordination may change in a relaxation
#: without the species changing, so they are left out of the bond check.
IONIC = {"Li", "Na", "K", "Rb", "Cs"}


def check_optimizer(optimizer: str) -> str:
    """The optimizer's name, refused with the list of known ones when unknown."""
    if optimizer not in OPTIMIZERS:
        raise AtomisticsError(f"optimizer {optimizer!r} unknown: use one of {list(OPTIMIZERS)}.")
    return optimizer


def covalent_indices(atoms: Atoms) -> np.ndarray:
    """The atoms whose covalent bonds must survive a relaxation: the adsorbate (or, for a
    molecule, every atom), without alkali cations.

    In a periodic cell the clay layer (``arrays["clay"]``) is left out: its cation–cation
    distances (Al–Al 3.0 Å in the octahedral sheet) sit at the covalent-radius threshold,
    so a relaxing framework would read as "bonds formed" where no molecule changed.
    """
    n = len(atoms)
    mask = atoms.arrays.get("adsorbate")
    if not any(atoms.pbc):
        pick = np.ones(n, dtype=bool)
    elif mask is not None:
        pick = np.asarray(mask, bool)
    else:
        pick = ~np.asarray(atoms.arrays.get("clay", np.zeros(n, bool)), bool)
    ionic = np.array([s in IONIC for s in atoms.get_chemical_symbols()])
    return np.flatnonzero(pick & ~ionic)


@dataclass
class Relaxation:
    """What one call of :func:`relax` did."""

    #: fmax reached within max_steps AND no covalent bond of the species changed
    converged: bool
    n_steps: int
    #: human-readable reasons it is not converged (empty when converged)
    warnings: list[str] = field(default_factory=list)
    #: the bonds that changed ("S1-F3 broken (1.64 -> 1.98 Å)", ...); empty when none
    bond_changes: list[str] = field(default_factory=list)


def relax(
    atoms: Atoms,
    *,
    fmax: float,
    max_steps: int,
    optimizer: str = "BFGS",
    trajectory: str | Path | None = None,
    logfile: str | Path | None = None,
) -> Relaxation:
    """Move ``atoms`` (calculator and constraints attached) to ``fmax`` [eV/Å] in at most
    ``max_steps`` optimizer steps, then check the species' covalent bonds.

    ``converged`` is ASE's own "fmax reached" (over the free atoms: ASE applies the
    constraints to the forces it tests), turned False when a covalent bond of
    :func:`covalent_indices` was broken or formed on the way.
    """
    check_optimizer(optimizer)
    if not fmax > 0 or max_steps < 0:
        raise AtomisticsError("fmax must be > 0 eV/Å and max_steps ≥ 0.")
    start = atoms.copy()
    opt = OPTIMIZERS[optimizer](
        atoms,
        trajectory=str(trajectory) if trajectory else None,
        logfile=str(logfile) if logfile else None,
    )
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    n_steps = int(opt.nsteps)
    warnings: list[str] = []
    if not converged:
        warnings.append(f"relaxation stopped at max_steps={max_steps} before fmax={fmax} eV/Å")
    changed = bond_changes(start, atoms, covalent_indices(atoms))
    if changed:
        # Not the intended species any more: its energy must not pass as a converged one
        # into a reaction or a screening ranking (flagged, and refused by the bridge).
        converged = False
        warnings.append(
            "bonding of the molecule/adsorbate changed during the relaxation ("
            + "; ".join(changed)
            + "): the energy is not that of the intact species"
        )
    return Relaxation(converged, n_steps, warnings, list(changed))


__all__ = ["IONIC", "OPTIMIZERS", "Relaxation", "check_optimizer", "covalent_indices", "relax"]
