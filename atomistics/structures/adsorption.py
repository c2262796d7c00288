"""Placing an ion on the top face of a slab, and enumerating placements for screening.

Site kinds on the (001) face of a 2:1 clay layer (all on the top face):

- ``al-oh``: above an octahedral Al (the Al–OH Lewis-acid site where the
  paper puts FSI⁻);
- ``hydroxyl``: above the H of a hydroxyl pointing to the top face;
- ``cavity``: above the centre of a ditrigonal cavity of the tetrahedral sheet;
- ``li``: above a Li⁺ counter-ion on the top face.

Sites of a kind are numbered from the nearest to the farthest (in plane) from
a top-face Li⁺: the layer's permanent negative charge repels an anion except
near a counter-ion, so ``site_index=0`` is the site next to a Li⁺.

``height`` is the vertical gap (Å) between the lowest atom of the adsorbate
and the highest slab atom within 3 Å (in plane) of the site. ``orientation``
names which part of the adsorbate points down: ``"<El>-down"`` (the atom of
element El farthest from the centre) or ``"<El><El>-down"`` (the bidentate
pair of El atoms, see :func:`bidentate_pair`); ``azimuth`` rotates the
adsorbate about z (degrees).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from atomistics.errors import AtomisticsError
from atomistics.limits import check_placement_count, finite
from atomistics.structures.clay import _classify_oxygens, cavity_centres
from atomistics.structures.molecules import bidentate_pair

SITE_KINDS = ("al-oh", "hydroxyl", "cavity", "li")
DEFAULT_HEIGHT = 2.8  # Å: just below the O···O van der Waals contact, 2 × 1.52 Å (Bondi 1964)
LATERAL_RADIUS = 3.0  # Å, slab atoms this close in plane set the reference height


@dataclass(frozen=True)
class Site:
    kind: str
    index: int
    position: np.ndarray  # Cartesian, z = top of the site


def surface_sites(slab: Atoms, kind: str) -> list[Site]:
    """All sites of ``kind`` on the top face of ``slab`` (in a deterministic order)."""
    if kind not in SITE_KINDS:
        raise AtomisticsError(f"unknown site kind {kind!r}: choose one of {', '.join(SITE_KINDS)}.")
    clay = slab.arrays.get("clay")
    if clay is None:
        raise AtomisticsError("the slab has no 'clay' array: build it with build_limmt_slab.")
    clay_idx = np.nonzero(clay)[0]
    z_mid = slab.positions[clay_idx][np.isin(slab.numbers[clay_idx], (12, 13)), 2].mean()
    if kind == "cavity":
        points = list(cavity_centres(slab, "top"))
    elif kind == "al-oh":
        points = [slab.positions[k] for k in clay_idx if slab[k].symbol == "Al"]
    elif kind == "hydroxyl":
        kinds = _classify_oxygens(slab[clay_idx])
        points = []
        for o in clay_idx[kinds["hydroxyl"]]:
            h_vec = slab.positions[slab.numbers == 1] - slab.positions[o]
            _, dist = find_mic(h_vec, slab.cell, slab.pbc)
            h = np.nonzero(slab.numbers == 1)[0][np.argmin(dist)]
            if slab.positions[h, 2] > z_mid:
                points.append(slab.positions[h])
    else:  # li
        points = [
            slab.positions[k]
            for k in range(len(slab))
            if slab[k].symbol == "Li" and not clay[k] and slab.positions[k, 2] > z_mid
        ]
    if not points:
        raise AtomisticsError(f"the slab has no {kind!r} site on its top face.")
    points = [np.asarray(p, float) for p in points]
    top_li = [
        slab.positions[k]
        for k in range(len(slab))
        if slab[k].symbol == "Li" and not clay[k] and slab.positions[k, 2] > z_mid
    ]
    if kind != "li" and top_li:
        # Order sites from nearest to farthest (in plane) from a top-face Li⁺: the
        # 2:1 layer carries a permanent negative charge, so an anion approaches the
        # face where a counter-ion sits; index 0 is the Al–OH site next to a Li⁺
        # (the default study). Stable sort keeps ties in atom order.
        def li_distance(p: np.ndarray) -> float:
            vec = np.array(top_li) - p
            vec[:, 2] = 0.0
            return float(find_mic(vec, slab.cell, slab.pbc)[1].min())

        points.sort(key=lambda p: round(li_distance(p), 6))
    return [Site(kind, n, p) for n, p in enumerate(points)]


_ORIENTATION = re.compile(r"^([A-Z][a-z]?)(\1)?-down$")


def orient(adsorbate: Atoms, orientation: str, azimuth: float = 0.0) -> Atoms:
    """Rotate a copy of ``adsorbate`` so that the named group points along −z."""
    match = _ORIENTATION.match(orientation)
    if not match:
        raise AtomisticsError(
            f"unknown orientation {orientation!r}: use '<El>-down' (e.g. 'F-down') or "
            "'<El><El>-down' (e.g. 'OO-down')."
        )
    element, pair = match.group(1), match.group(2)
    mol = adsorbate.copy()
    if element not in mol.get_chemical_symbols():
        raise AtomisticsError(
            f"orientation {orientation!r}: {mol.get_chemical_formula()} has no {element} atom."
        )
    centre = mol.get_center_of_mass() if len(mol) > 1 else mol.positions[0]
    if len(mol) == 1:
        return mol
    if pair:
        p, q = bidentate_pair(mol, element)
        anchor = 0.5 * (mol.positions[p] + mol.positions[q])
    else:
        idx = [a.index for a in mol if a.symbol == element]
        anchor = mol.positions[max(idx, key=lambda k: np.linalg.norm(mol.positions[k] - centre))]
    direction = anchor - centre
    if np.linalg.norm(direction) < 1e-8:
        raise AtomisticsError(f"orientation {orientation!r} is undefined for this adsorbate.")
    mol.positions -= centre
    mol.rotate(direction, (0.0, 0.0, -1.0))
    mol.rotate(azimuth, "z")
    return mol


def place_adsorbate(
    slab: Atoms,
    adsorbate: Atoms,
    site: str = "al-oh",
    site_index: int = 0,
    height: float = DEFAULT_HEIGHT,
    orientation: str = "OO-down",
    azimuth: float = 0.0,
) -> Atoms:
    """Slab + adsorbate at a named site; charge and multiplicity are combined.

    The slab's cell and vacuum are kept when the adsorbate fits; otherwise an
    error asks for more vacuum (the adsorbate must leave at least half the
    slab's requested vacuum above it).
    """
    height = finite(height, "adsorbate height (Å)")
    azimuth = finite(azimuth, "azimuth (degrees)")
    if not 0.5 <= height <= 6.0:
        raise AtomisticsError(f"height must be between 0.5 and 6 Å above the site, got {height}.")
    if isinstance(site_index, bool) or not isinstance(site_index, int | np.integer):
        raise AtomisticsError(f"site_index must be an integer, got {site_index!r}.")
    sites = surface_sites(slab, site)
    if not 0 <= site_index < len(sites):
        raise AtomisticsError(
            f"site_index {site_index} out of range: the slab has {len(sites)} {site!r} sites "
            f"(0..{len(sites) - 1})."
        )
    point = sites[site_index].position
    lateral = slab.positions - point
    lateral[:, 2] = 0.0
    _, dist = find_mic(lateral, slab.cell, slab.pbc)
    z_ref = slab.positions[dist < LATERAL_RADIUS, 2].max()
    mol = orient(adsorbate, orientation, azimuth)
    mol.positions += np.array([point[0], point[1], 0.0]) - np.array(
        [*mol.get_center_of_mass()[:2], 0.0]
    )
    mol.positions[:, 2] += z_ref + height - mol.positions[:, 2].min()
    # Move the adsorbate as a whole so its centre lies in the cell; wrapping atom
    # by atom would cut the molecule across the periodic boundary.
    frac = np.linalg.solve(slab.cell.array.T, mol.get_center_of_mass())
    mol.positions -= np.floor(frac[:2]) @ slab.cell.array[:2]
    combined = slab.copy()
    ads = Atoms(mol.get_chemical_symbols(), positions=mol.positions)
    ads.arrays["clay"] = np.zeros(len(ads), dtype=bool)
    combined += ads
    top = combined.positions[:, 2].max()
    vacuum_left = combined.cell[2, 2] - (top - combined.positions[:, 2].min())
    wanted = 0.5 * float(slab.info.get("vacuum", 0.0))
    if vacuum_left < wanted:
        raise AtomisticsError(
            f"the adsorbate leaves only {vacuum_left:.1f} Å of vacuum (need ≥ {wanted:.1f} Å): "
            "build the slab with a larger vacuum or lower the height."
        )
    charge = int(slab.info["charge"]) + int(adsorbate.info["charge"])
    n_electrons = int(combined.numbers.sum()) - charge
    combined.info = dict(slab.info)
    combined.info.update(
        name=f"{slab.info.get('name', 'slab')}+{adsorbate.info.get('species', 'adsorbate')}",
        charge=charge,
        spin_multiplicity=1 if n_electrons % 2 == 0 else 2,
        site=site,
        site_index=int(site_index),
        height=float(height),
        orientation=orientation,
        azimuth=float(azimuth),
        n_slab_atoms=len(slab),
        adsorbate_charge=int(adsorbate.info["charge"]),
    )
    combined.arrays["adsorbate"] = np.arange(len(combined)) >= len(slab)
    return combined


def _symmetry_ops(slab: Atoms, symprec: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Space-group operations (rotation, translation) of the slab, fractional coordinates."""
    import spglib

    cell = (slab.cell.array, slab.get_scaled_positions(), slab.numbers)
    data = spglib.get_symmetry(cell, symprec=symprec)
    if data is None:
        return [(np.eye(3, dtype=int), np.zeros(3))]
    return list(zip(data["rotations"], data["translations"], strict=True))


def _same_adsorbate(frac_a, frac_b, numbers, cell, tol) -> bool:
    """Do two adsorbate images coincide atom by atom (any permutation within an element)?"""
    for fa, z in zip(frac_a, numbers, strict=True):
        cand = frac_b[numbers == z]
        diff = cand - fa
        diff[:, :2] -= np.round(diff[:, :2])
        if np.min(np.linalg.norm(diff @ cell, axis=1)) > tol:
            return False
    return True


def enumerate_placements(
    slab: Atoms,
    adsorbate: Atoms,
    sites: tuple[str, ...] = SITE_KINDS,
    orientations: tuple[str, ...] = ("OO-down",),
    azimuths: tuple[float, ...] = (0.0, 90.0),
    height: float = DEFAULT_HEIGHT,
    symprec: float = 0.05,
    tol: float = 0.1,
    max_placements: int | None = None,
) -> list[Atoms]:
    """Every (site, orientation, azimuth) placement, symmetry duplicates removed.

    Two placements are the same when a space-group operation of the bare slab
    (spglib, ``symprec`` Å) maps one adsorbate onto the other within ``tol`` Å;
    the first of each class (in site/index/orientation/azimuth order) is kept.
    Placements that fail the overlap check are skipped, and the count of those
    is stored in ``info['n_rejected']`` of the first result.

    The number of candidates (sites × orientations × azimuths) is checked
    against ``max_placements`` (default :data:`atomistics.limits.DEFAULT_MAX_PLACEMENTS`)
    before any is built.
    """
    from atomistics.errors import StructureCheckError
    from atomistics.structures.checks import check_no_overlaps

    height = finite(height, "adsorbate height (Å)")
    azimuths = tuple(finite(a, "azimuth (degrees)") for a in azimuths)
    n_sites_of: dict[str, int] = {}
    for kind in sites:
        try:
            n_sites_of[kind] = len(surface_sites(slab, kind))
        except AtomisticsError:
            continue
    check_placement_count(
        sum(n_sites_of.values()) * len(orientations) * len(azimuths), max_placements
    )
    ops = _symmetry_ops(slab, symprec)
    kept: list[Atoms] = []
    kept_frac: list[np.ndarray] = []
    rejected = 0
    for kind, n_sites in n_sites_of.items():
        for index in range(n_sites):
            for orientation in orientations:
                for azimuth in azimuths:
                    try:
                        placed = place_adsorbate(
                            slab, adsorbate, kind, index, height, orientation, azimuth
                        )
                        check_no_overlaps(placed)
                    except StructureCheckError:
                        rejected += 1
                        continue
                    ads = placed[placed.arrays["adsorbate"]]
                    frac = np.linalg.solve(slab.cell.array.T, ads.positions.T).T
                    duplicate = False
                    for rot, trans in ops:
                        image = frac @ rot.T + trans
                        for other in kept_frac:
                            if _same_adsorbate(image, other, ads.numbers, slab.cell.array, tol):
                                duplicate = True
                                break
                        if duplicate:
                            break
                    if not duplicate:
                        kept.append(placed)
                        kept_frac.append(frac)
    if kept:
        kept[0].info["n_rejected"] = rejected
    return kept
