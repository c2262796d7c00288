"""Sanity checks every built structure must pass.

Each check raises :class:`StructureCheckError` naming the atoms involved and
what to change. :func:`check_structure` runs the checks that apply to a
structure and returns a small summary (used by the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from atomistics.errors import StructureCheckError

# Formal oxidation states of the ionic clay framework and counter-ions
# (Si4+, Al3+, Mg2+, O2-, H+ of the hydroxyl, exchangeable Li+/Na+/K+/Ca2+).
CLAY_OXIDATION_STATES = {
    "Si": 4,
    "Al": 3,
    "Mg": 2,
    "Fe": 3,
    "O": -2,
    "H": 1,
    "Li": 1,
    "Na": 1,
    "K": 1,
    "Ca": 2,
}

# Absolute floor: no two nuclei closer than this, whatever the elements.
MIN_DISTANCE_FLOOR = 0.7  # Å
# Pairs (other than covalent bonds below) closer than this fraction of the sum
# of covalent radii are overlaps.
OVERLAP_FRACTION = 0.65

# Expected first-shell coordination by O in a 2:1 clay layer: (cutoff Å, count)
CLAY_COORDINATION = {"Si": (1.9, 4), "Al": (2.3, 6), "Mg": (2.4, 6)}
OH_BOND_WINDOW = (0.93, 1.01)  # Å, hydroxyl O–H (neutron data: ~0.96-0.98 Å)
Z_TOLERANCE = 1e-3  # Å, how far an atom may stick out of a slab's cell (rounding)


@dataclass(frozen=True)
class StructureSummary:
    """What the CLI prints about a built structure."""

    name: str
    formula: str
    n_atoms: int
    charge: int
    spin_multiplicity: int
    cell: list[list[float]] | None
    pbc: list[bool]
    min_distance: float
    vacuum: float | None

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "formula": self.formula,
            "n_atoms": self.n_atoms,
            "charge": self.charge,
            "spin_multiplicity": self.spin_multiplicity,
            "cell": self.cell,
            "pbc": self.pbc,
            "min_distance": self.min_distance,
            "vacuum": self.vacuum,
        }


def check_finite(atoms: Atoms) -> None:
    """Every coordinate and cell component must be a finite number (no NaN/inf)."""
    pos = np.asarray(atoms.positions, float)
    bad = np.nonzero(~np.isfinite(pos).all(axis=1))[0]
    if len(bad):
        k = int(bad[0])
        raise StructureCheckError(
            f"atom {k} ({atoms[k].symbol}) has non-finite coordinates {pos[k].tolist()}: "
            f"{len(bad)} atom(s) affected; a NaN/inf parameter (height, azimuth, vacuum) "
            "reached the builder. Give finite values."
        )
    if not np.isfinite(np.asarray(atoms.cell.array, float)).all():
        raise StructureCheckError(
            f"the cell {atoms.cell.array.tolist()} has non-finite entries: give a finite vacuum/cell."
        )


def minimum_distance(atoms: Atoms) -> tuple[float, int, int]:
    """Smallest interatomic distance (minimum image along periodic axes) and the pair."""
    if len(atoms) < 2:
        return float("inf"), -1, -1
    if atoms.pbc.any():
        i, j, d = neighbor_list("ijd", atoms, 4.0)
        if len(d) == 0:
            return float("inf"), -1, -1
        k = int(np.argmin(d))
        return float(d[k]), int(i[k]), int(j[k])
    dist = atoms.get_all_distances()
    np.fill_diagonal(dist, np.inf)
    k = np.unravel_index(np.argmin(dist), dist.shape)
    return float(dist[k]), int(k[0]), int(k[1])


def check_no_overlaps(atoms: Atoms) -> float:
    """Reject pairs closer than the floor or than 65 % of their covalent-radius sum."""
    from ase.data import covalent_radii

    d_min, i, j = minimum_distance(atoms)
    if d_min < MIN_DISTANCE_FLOOR:
        raise StructureCheckError(
            f"atoms {i} ({atoms[i].symbol}) and {j} ({atoms[j].symbol}) are {d_min:.3f} Å apart "
            f"(minimum allowed {MIN_DISTANCE_FLOOR} Å): the structure overlaps. Increase the "
            "adsorbate height / vacuum or change the site."
        )
    if len(atoms) >= 2:
        numbers = atoms.numbers
        if atoms.pbc.any():
            ii, jj, dd = neighbor_list("ijd", atoms, 3.5)
        else:
            dist = atoms.get_all_distances()
            ii, jj = np.nonzero(np.triu(dist < 3.5, k=1))
            dd = dist[ii, jj]
        limit = OVERLAP_FRACTION * (covalent_radii[numbers[ii]] + covalent_radii[numbers[jj]])
        bad = np.nonzero(dd < limit)[0]
        if len(bad):
            k = bad[np.argmin(dd[bad] / limit[bad])]
            a, b = int(ii[k]), int(jj[k])
            raise StructureCheckError(
                f"atoms {a} ({atoms[a].symbol}) and {b} ({atoms[b].symbol}) are {dd[k]:.3f} Å "
                f"apart, less than {OVERLAP_FRACTION:.0%} of their covalent-radius sum "
                f"({limit[k] / OVERLAP_FRACTION:.2f} Å): overlapping atoms. Increase the "
                "adsorbate height or change the site/orientation."
            )
    return d_min


def check_clay_coordination(atoms: Atoms) -> None:
    """Si tetrahedral, Al/Mg octahedral (by O), every H a hydroxyl H with O–H in window."""
    i, j, d = neighbor_list("ijd", atoms, 2.5)
    symbols = np.array(atoms.get_chemical_symbols())
    for element, (cutoff, expected) in CLAY_COORDINATION.items():
        for idx in np.nonzero(symbols == element)[0]:
            mask = (i == idx) & (symbols[j] == "O") & (d < cutoff)
            n = int(mask.sum())
            if n != expected:
                raise StructureCheckError(
                    f"{element} atom {idx} has {n} O neighbours within {cutoff} Å, expected "
                    f"{expected} ({'tetrahedral' if expected == 4 else 'octahedral'}): the clay "
                    "layer is distorted or an atom was placed on top of it."
                )
    lo, hi = OH_BOND_WINDOW
    for idx in np.nonzero(symbols == "H")[0]:
        mask = (i == idx) & (symbols[j] == "O")
        if not mask.any() or not (lo <= d[mask].min() <= hi):
            got = f"{d[mask].min():.3f} Å" if mask.any() else "no O within 2.5 Å"
            raise StructureCheckError(
                f"H atom {idx} is not a hydroxyl H: O–H distance {got}, expected {lo}-{hi} Å."
            )


def formal_charge(atoms: Atoms, states: dict[str, int] = CLAY_OXIDATION_STATES) -> int:
    """Net charge from formal oxidation states (clay framework and counter-ions)."""
    missing = sorted(set(atoms.get_chemical_symbols()) - set(states))
    if missing:
        raise StructureCheckError(
            f"no formal oxidation state known for {', '.join(missing)}; cannot check the charge."
        )
    return int(sum(states[s] for s in atoms.get_chemical_symbols()))


def check_charge_consistency(atoms: Atoms, clay_indices: np.ndarray | None = None) -> None:
    """The stated charge must match the formal charge, and the spin the electron count.

    For clay atoms the formal oxidation states above give the charge; molecules
    carry their charge from the species table, and what is checked for every
    structure is that ``spin_multiplicity - 1`` has the parity of the electron
    count ``sum(Z) - charge`` (a closed shell needs an even count).
    """
    charge = atoms.info.get("charge")
    multiplicity = atoms.info.get("spin_multiplicity")
    if charge is None or multiplicity is None:
        raise StructureCheckError(
            "structure has no charge/spin_multiplicity in atoms.info; every built structure "
            "must state both."
        )
    n_electrons = int(atoms.numbers.sum()) - int(charge)
    from atomistics.structures.spin import multiplicity_problem  # the one shared rule

    if multiplicity_problem(n_electrons, multiplicity):
        raise StructureCheckError(
            f"spin multiplicity {multiplicity} is impossible for {n_electrons} electrons "
            f"({atoms.get_chemical_formula()}, charge {charge}): use an "
            f"{'odd' if n_electrons % 2 == 0 else 'even'} multiplicity."
        )
    if clay_indices is not None:
        # The clay layer plus its counter-ions (everything but an adsorbate) must
        # be neutral by formal oxidation states: one Li⁺ per Al³⁺→Mg²⁺.
        ads = atoms.arrays.get("adsorbate")
        framework = atoms if ads is None else atoms[~ads.astype(bool)]
        expected = int(charge) - int(atoms.info.get("adsorbate_charge", 0))
        got = formal_charge(framework)
        if got != expected:
            n_mg = int((framework.numbers == 12).sum())
            n_li = int((framework.numbers == 3).sum())
            raise StructureCheckError(
                f"the slab {framework.get_chemical_formula()} has formal charge {got:+d}, "
                f"expected {expected:+d}: each Al→Mg substitution needs one Li⁺ counter-ion "
                f"(found {n_mg} Mg, {n_li} Li)."
            )


def vacuum_along_z(atoms: Atoms) -> float:
    """Empty space along z between periodic images of a slab (cell must have c ∥ z)."""
    c = atoms.cell[2]
    z = atoms.positions[:, 2]
    return float(c[2] - (z.max() - z.min()))


def check_inside_along_normal(atoms: Atoms) -> None:
    """A slab (periodic in-plane, not along c) holds every atom between 0 and c.

    An atom outside would make the printed vacuum (c minus the extent along z)
    wrong or negative, and overlap the periodic image in a 3D-periodic code.
    """
    if atoms.pbc[2] or not atoms.pbc[:2].any() or atoms.cell.rank < 3:
        return
    height = float(atoms.cell.volume / np.linalg.norm(np.cross(atoms.cell[0], atoms.cell[1])))
    depth = atoms.cell.scaled_positions(atoms.positions)[:, 2] * height  # Å along the normal
    excess = np.maximum(-depth, depth - height)
    k = int(np.argmax(excess))
    if excess[k] > Z_TOLERANCE:
        raise StructureCheckError(
            f"atom {k} ({atoms[k].symbol}) lies {excess[k]:.2f} Å outside the cell along the "
            f"surface normal (cell height {height:.2f} Å): the slab's atoms must lie inside its "
            "cell with clear vacuum above; increase the vacuum or lower the adsorbate."
        )


def check_vacuum(atoms: Atoms, requested: float) -> float:
    if not np.allclose(atoms.cell[2][:2], 0.0) or not np.allclose(atoms.cell[:2, 2], 0.0):
        raise StructureCheckError("slab cell must have a, b in the xy plane and c along z.")
    vac = vacuum_along_z(atoms)
    if vac < requested - 1e-6:
        raise StructureCheckError(
            f"vacuum along z is {vac:.3f} Å, smaller than the requested {requested:.3f} Å."
        )
    return vac


def check_structure(atoms: Atoms, *, vacuum: float | None = None) -> StructureSummary:
    """Run every check that applies to ``atoms`` and return its summary.

    Clay atoms are recognised by ``atoms.arrays['clay']`` (set by the clay
    builders): they get the coordination and formal-charge checks.
    """
    check_finite(atoms)
    check_inside_along_normal(atoms)
    d_min = check_no_overlaps(atoms)
    clay_mask = atoms.arrays.get("clay")
    clay_indices = None
    if clay_mask is not None and clay_mask.any():
        clay_indices = np.nonzero(clay_mask)[0]
        check_clay_coordination(atoms[clay_indices])
    check_charge_consistency(atoms, clay_indices)
    vac = None
    if vacuum is not None:
        vac = check_vacuum(atoms, vacuum)
    elif atoms.pbc.any() and not atoms.pbc[2]:
        vac = vacuum_along_z(atoms)
    return StructureSummary(
        name=str(atoms.info.get("name", atoms.get_chemical_formula())),
        formula=atoms.get_chemical_formula(mode="hill"),
        n_atoms=len(atoms),
        charge=int(atoms.info["charge"]),
        spin_multiplicity=int(atoms.info["spin_multiplicity"]),
        cell=[[round(float(x), 6) for x in row] for row in atoms.cell.array]
        if atoms.pbc.any()
        else None,
        pbc=[bool(p) for p in atoms.pbc],
        min_distance=round(d_min, 6) if np.isfinite(d_min) else None,
        vacuum=None if vac is None else round(vac, 6),
    )


def electron_count(atoms: Atoms) -> int:
    """Total electrons (all-electron count, sum(Z) - charge)."""
    return int(atoms.numbers.sum()) - int(atoms.info.get("charge", 0))


__all__ = [
    "StructureSummary",
    "check_structure",
    "check_no_overlaps",
    "check_clay_coordination",
    "check_charge_consistency",
    "check_finite",
    "check_inside_along_normal",
    "check_vacuum",
    "formal_charge",
    "minimum_distance",
    "electron_count",
]


def bond_changes(
    before: Atoms, after: Atoms, indices: np.ndarray | None = None, *, scale: float = 1.2
) -> list[str]:
    """Bonds among ``indices`` that exist in one geometry and not in the other.

    Two atoms are bonded when closer than ``scale`` × the sum of their covalent
    radii (ASE's ``natural_cutoffs``, Cordero et al., Dalton Trans. 2008, 2832),
    with the minimum-image convention. A relaxation that breaks or forms a bond
    inside the adsorbate has changed the species, so its energy is no longer an
    adsorption energy of the intact molecule: the engine reports that as a warning.
    """
    from ase.neighborlist import natural_cutoffs

    idx = np.arange(len(before)) if indices is None else np.asarray(indices, dtype=int)
    if len(idx) < 2:
        return []
    radii = np.asarray(natural_cutoffs(before, mult=scale))[idx]
    limit = radii[:, None] + radii[None, :]

    def bonded(atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
        dist = np.array([atoms.get_distances(i, idx, mic=any(atoms.pbc)) for i in idx])
        return dist < limit, dist

    b0, d0 = bonded(before)
    b1, d1 = bonded(after)
    sym = before.get_chemical_symbols()
    out = []
    for a, b in zip(*np.nonzero(np.triu(b0 != b1, k=1)), strict=True):
        i, j = int(idx[a]), int(idx[b])
        what = "broken" if b0[a, b] else "formed"
        out.append(f"{sym[i]}{i}–{sym[j]}{j} {d0[a, b]:.2f} → {d1[a, b]:.2f} Å ({what})")
    return out
