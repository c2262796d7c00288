"""Neutral exchange-reaction structures and cells with the requested clear vacuum.

The surface–anion competition the study needs is the neutral exchange reaction

    slab + [Li⁺–FSI⁻] → slab·(FSI⁻ + Li⁺),
    E_exch = E(product) − E(slab) − E(pair),

in which every cell has charge 0, so no neutralising background and no
charged-cell correction enters (Makov & Payne, Phys. Rev. B 51, 4014 (1995):
the background and image terms exist only for a net charge q ≠ 0). The
product is the slab with the anion adsorbed at a site and its counter-ion at
the best nearby surface position (:func:`build_adsorbate_with_counterion`).

Vacuum. ``vacuum`` here is the clear gap along z between the topmost atom of a
structure (the adsorbate, for a complex) and the lowest atom of the next
periodic image: c − (z_max − z_min), the quantity the slab builder calls
vacuum (:func:`atomistics.structures.checks.vacuum_along_z`).
:func:`with_clear_vacuum` gives any slab-like structure exactly that gap, so a
complex no longer keeps the bare slab's cell (whose clear vacuum above an
adsorbate 2.8 Å up is only ~10 Å instead of 15 Å).

Same cell. Energies of a reaction are taken in one cell: the product fixes the
cell, and :func:`slab_in_cell` / :func:`molecule_in_cell` put the bare slab
(its atoms exactly where they are in the product) and the isolated fragment
(centred) in it (``cell_of`` in the study file). For a neutral reaction this
removes basis-set/grid differences; for a charged one it also cancels the
leading background term (see :mod:`atomistics.reactions.vacuum_series`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from atomistics.errors import AtomisticsError
from atomistics.structures.adsorption import DEFAULT_HEIGHT, place_adsorbate
from atomistics.structures.clay import DEFAULT_LI_HEIGHT, cavity_centres
from atomistics.structures.molecules import build_ion_pair, build_molecule

#: Å, lateral reach (from the anion's centre) within which a counter-ion site is sought.
DEFAULT_COUNTER_ION_RADIUS = 7.0
#: Å, no counter-ion candidate closer than this to any atom (Li–O contacts are ≈ 1.95 Å).
COUNTER_ION_MIN_DISTANCE = 1.8


def _require_slab_cell(atoms: Atoms, what: str) -> None:
    cell = atoms.cell.array
    if atoms.cell.rank < 3 or not (
        np.allclose(cell[2, :2], 0.0, atol=1e-8) and np.allclose(cell[:2, 2], 0.0, atol=1e-8)
    ):
        raise AtomisticsError(
            f"{what} needs a slab cell with a, b in the xy plane and c along z "
            "(build it with build_limmt_slab)."
        )


def clear_vacuum(atoms: Atoms) -> float:
    """Clear gap (Å) between the topmost atom and the lowest atom of the next image along z."""
    _require_slab_cell(atoms, "clear_vacuum")
    z = atoms.positions[:, 2]
    return float(atoms.cell[2, 2] - (z.max() - z.min()))


def _check_vacuum_value(vacuum: float) -> float:
    if isinstance(vacuum, bool) or not isinstance(vacuum, int | float):
        raise AtomisticsError(f"vacuum must be a length in Å, got {vacuum!r}.")
    if not math.isfinite(vacuum) or vacuum <= 0:
        raise AtomisticsError(f"vacuum must be a positive, finite length in Å, got {vacuum}.")
    return float(vacuum)


def with_clear_vacuum(atoms: Atoms, vacuum: float) -> Atoms:
    """Copy of a slab-like structure whose clear vacuum above its topmost atom is ``vacuum`` Å.

    Only c (∥ z) changes; the structure is shifted rigidly along z so that its
    lowest atom sits ``vacuum/2`` above the cell bottom (the slab builder's
    convention). ``info['vacuum']`` becomes ``vacuum`` and ``info['z_shift']``
    records the rigid shift applied (Å), so references can follow it.
    """
    vacuum = _check_vacuum_value(vacuum)
    _require_slab_cell(atoms, "with_clear_vacuum")
    out = atoms.copy()
    z = out.positions[:, 2]
    extent = float(z.max() - z.min())
    shift = 0.5 * vacuum - float(z.min())
    out.positions[:, 2] += shift
    cell = out.cell.array.copy()
    cell[2] = [0.0, 0.0, extent + vacuum]
    out.set_cell(cell, scale_atoms=False)
    out.info = dict(atoms.info)
    out.info["vacuum"] = vacuum
    out.info["z_shift"] = float(atoms.info.get("z_shift", 0.0)) + shift
    return out


def common_cell(structures: list[Atoms], vacuum: float) -> list[Atoms]:
    """Put structures built on one slab into one cell with ≥ ``vacuum`` Å clear above each.

    The tallest structure gets exactly ``vacuum``; all are shifted by the same
    rigid z offset, so their slab atoms stay where they coincide. Used for
    screening placements, whose energies are compared directly.
    """
    vacuum = _check_vacuum_value(vacuum)
    if not structures:
        raise AtomisticsError("common_cell needs at least one structure.")
    first = structures[0]
    for atoms in structures:
        _require_slab_cell(atoms, "common_cell")
        if not np.allclose(atoms.cell.array[:2], first.cell.array[:2], atol=1e-6):
            raise AtomisticsError(
                "common_cell: the structures have different in-plane cells; build them on one slab."
            )
    z_min = min(float(a.positions[:, 2].min()) for a in structures)
    z_max = max(float(a.positions[:, 2].max()) for a in structures)
    shift = 0.5 * vacuum - z_min
    out = []
    for atoms in structures:
        new = atoms.copy()
        new.info = dict(atoms.info)
        new.positions[:, 2] += shift
        cell = new.cell.array.copy()
        cell[2] = [0.0, 0.0, z_max - z_min + vacuum]
        new.set_cell(cell, scale_atoms=False)
        new.info["vacuum"] = vacuum
        new.info["z_shift"] = float(atoms.info.get("z_shift", 0.0)) + shift
        out.append(new)
    return out


def slab_in_cell(
    slab: Atoms, cell_of: Atoms, *, tol: float = 1e-3, allow_relaxed: bool = False
) -> Atoms:
    """The bare slab in the cell of ``cell_of`` (a complex built on it), atoms where they are there.

    The complex's first ``info['n_slab_atoms']`` atoms must be this slab (same
    elements, same in-plane positions); the slab is shifted by the same rigid z
    offset so its atoms coincide with the complex's slab atoms. With
    ``allow_relaxed`` the complex's slab atoms may have relaxed away from the bare
    slab's: the bare slab is then shifted rigidly by the mean z offset (the cell is
    the same either way).
    """
    _require_slab_cell(cell_of, "slab_in_cell")
    n = int(cell_of.info.get("n_slab_atoms", len(slab)))
    if n != len(slab) or len(cell_of) < n or not np.array_equal(cell_of.numbers[:n], slab.numbers):
        raise AtomisticsError(
            "slab_in_cell: the complex was not built on this slab (its first atoms differ); "
            "pass the slab the complex was placed on."
        )
    dz = cell_of.positions[:n, 2] - slab.positions[:, 2]
    lateral = cell_of.positions[:n] - slab.positions
    lateral[:, 2] = 0.0
    _, lat = find_mic(lateral, cell_of.cell, (True, True, False))
    if not allow_relaxed and (np.ptp(dz) > tol or lat.max() > tol):
        raise AtomisticsError(
            "slab_in_cell: the slab atoms of the complex have moved relative to this slab "
            f"(spread {max(np.ptp(dz), lat.max()):.3g} Å); take the reference from the same "
            "build, not from a relaxed complex."
        )
    out = slab.copy()
    out.positions[:, 2] += float(dz.mean())
    out.set_cell(cell_of.cell.array.copy(), scale_atoms=False)
    out.pbc = cell_of.pbc.copy()
    out.info = dict(slab.info)
    out.info["vacuum"] = clear_vacuum(out)
    out.info["cell_of"] = str(cell_of.info.get("name", "complex"))
    return out


def molecule_in_cell(molecule: Atoms, cell_of: Atoms, *, min_image_distance: float = 2.0) -> Atoms:
    """A molecule or ion pair alone, centred in the cell (and periodicity) of ``cell_of``.

    Marked ``arrays['adsorbate']`` so periodic engines relax it like the
    adsorbate it is the reference for. Refused when it comes closer than
    ``min_image_distance`` Å to its own periodic image.
    """
    _require_slab_cell(cell_of, "molecule_in_cell")
    out = Atoms(molecule.get_chemical_symbols(), positions=molecule.positions.copy())
    out.set_cell(cell_of.cell.array.copy(), scale_atoms=False)
    out.pbc = cell_of.pbc.copy()
    out.center()
    out.info = dict(molecule.info)
    out.info["cell_of"] = str(cell_of.info.get("name", "complex"))
    out.arrays["adsorbate"] = np.ones(len(out), dtype=bool)
    if len(out) > 1 or out.pbc.any():
        pos = out.positions
        gap = np.inf
        for shift in ((1, 0), (0, 1), (1, 1), (1, -1)):
            t = shift[0] * out.cell[0] + shift[1] * out.cell[1]
            d = np.linalg.norm(pos[:, None, :] - (pos[None, :, :] + t), axis=2).min()
            gap = min(gap, float(d))
        if gap < min_image_distance:
            raise AtomisticsError(
                f"molecule_in_cell: {molecule.get_chemical_formula()} comes {gap:.2f} Å from its "
                "own periodic image in this cell; use a larger in-plane supercell."
            )
    return out


def build_adsorbate_complex(
    slab: Atoms,
    adsorbate: Atoms,
    site: str = "al-oh",
    site_index: int = 0,
    height: float = DEFAULT_HEIGHT,
    orientation: str = "OO-down",
    azimuth: float = 0.0,
    *,
    vacuum: float | None = None,
) -> Atoms:
    """:func:`place_adsorbate`, then a cell with ``vacuum`` Å clear above the adsorbate.

    ``vacuum`` defaults to the slab's own (``slab.info['vacuum']``, 15 Å in
    the study). Build the references with :func:`slab_in_cell` and
    :func:`molecule_in_cell` so they share the complex's cell.
    """
    placed = place_adsorbate(slab, adsorbate, site, site_index, height, orientation, azimuth)
    return with_clear_vacuum(placed, _default_vacuum(slab, vacuum))


def _default_vacuum(slab: Atoms, vacuum: float | None) -> float:
    if vacuum is None:
        if "vacuum" not in slab.info:
            raise AtomisticsError("the slab states no vacuum: pass vacuum= (Å).")
        return float(slab.info["vacuum"])
    return _check_vacuum_value(vacuum)


def _monatomic_cation(counter_ion: str | Atoms) -> Atoms:
    ion = build_molecule(counter_ion) if isinstance(counter_ion, str) else counter_ion.copy()
    if len(ion) != 1 or int(ion.info.get("charge", 0)) <= 0:
        raise AtomisticsError(
            f"counter_ion must be a monatomic cation (Li+, Na+), got {ion.get_chemical_formula()}."
        )
    return ion


def counterion_positions(
    complex_: Atoms,
    *,
    radius: float = DEFAULT_COUNTER_ION_RADIUS,
    height: float = DEFAULT_LI_HEIGHT,
    min_distance: float = COUNTER_ION_MIN_DISTANCE,
) -> list[np.ndarray]:
    """Candidate surface positions for the adsorbate's counter-ion, best first.

    Candidates are the free ditrigonal cavities of the top face — where the
    slab builder puts its own Li⁺ (``height`` Å above the mean basal-oxygen
    plane) — whose centre lies within ``radius`` Å (in plane, minimum image)
    of the adsorbate's centre and which keep ≥ ``min_distance`` Å from every
    atom. They are ranked by the distance to the nearest adsorbate atom of the
    anion's ligand element (O for sulfonylimides, else F, else any atom): the
    closest cation–anion contact is the electrostatically best start. The
    ranking is geometric; :func:`build_adsorbate_with_counterion` can rank by
    energy instead when given a calculator.
    """
    ads = complex_.arrays.get("adsorbate")
    if ads is None or not ads.any():
        raise AtomisticsError(
            "counterion_positions needs a complex built with place_adsorbate (no adsorbate atoms)."
        )
    ads_idx = np.flatnonzero(ads)
    symbols = complex_.get_chemical_symbols()
    ligand = next((el for el in ("O", "F") if any(symbols[k] == el for k in ads_idx)), None)
    ligand_idx = [k for k in ads_idx if ligand is None or symbols[k] == ligand]
    slab_part = complex_[np.flatnonzero(~ads)]
    cavities = cavity_centres(slab_part, "top")
    centre = complex_.positions[ads_idx].mean(axis=0)
    pbc = (True, True, False)
    ranked = []
    for cav in cavities:
        pos = cav + np.array([0.0, 0.0, height])
        lateral = (pos - centre) * np.array([1.0, 1.0, 0.0])
        if find_mic(lateral[None], complex_.cell, pbc)[1][0] > radius:
            continue
        _, d_all = find_mic(complex_.positions - pos, complex_.cell, pbc)
        if d_all.min() < min_distance:
            continue
        contact = float(d_all[ligand_idx].min())
        ranked.append((round(contact, 6), tuple(np.round(pos, 6)), pos))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in ranked]


def add_counterion(
    complex_: Atoms, position: np.ndarray, counter_ion: str | Atoms = "Li+"
) -> Atoms:
    """Append the counter-ion at ``position``; marked as adsorbate and ``counter_ion``."""
    ion = _monatomic_cation(counter_ion)
    out = complex_.copy()
    out.info = dict(complex_.info)
    new = Atoms(ion.get_chemical_symbols(), positions=[np.asarray(position, float)])
    for name, arr in complex_.arrays.items():
        if name in ("numbers", "positions"):
            continue
        if arr.dtype == bool and arr.ndim == 1:
            new.arrays[name] = np.zeros(1, dtype=bool)
    out += new
    if "adsorbate" in out.arrays:
        out.arrays["adsorbate"][-1] = True
    out.arrays["counter_ion"] = np.arange(len(out)) == len(out) - 1
    ion_charge = int(ion.info.get("charge", 1))
    charge = int(complex_.info.get("charge", 0)) + ion_charge
    n_electrons = int(out.numbers.sum()) - charge
    out.info.update(
        name=f"{complex_.info.get('name', 'complex')}+{ion.info.get('species', ion[0].symbol)}",
        charge=charge,
        spin_multiplicity=1 if n_electrons % 2 == 0 else 2,
        adsorbate_charge=int(complex_.info.get("adsorbate_charge", 0)) + ion_charge,
        counter_ion=str(ion.info.get("species", ion[0].symbol)),
        counter_ion_index=len(out) - 1,
    )
    return out


def build_adsorbate_with_counterion(
    slab: Atoms,
    adsorbate: Atoms | str,
    site: str = "al-oh",
    site_index: int = 0,
    height: float = DEFAULT_HEIGHT,
    orientation: str = "OO-down",
    azimuth: float = 0.0,
    *,
    counter_ion: str | Atoms = "Li+",
    counter_ion_rank: int = 0,
    radius: float = DEFAULT_COUNTER_ION_RADIUS,
    counter_ion_height: float = DEFAULT_LI_HEIGHT,
    vacuum: float | None = None,
    calculator=None,
) -> Atoms:
    """Slab·(anion + counter-ion): the neutral product of the exchange reaction.

    The anion is placed as by :func:`place_adsorbate`; its counter-ion goes to
    the ``counter_ion_rank``-th best free top-face cavity within ``radius`` Å
    (:func:`counterion_positions`). With ``calculator`` (an ASE calculator,
    or a callable ``atoms -> calculator``) every candidate is evaluated once
    (single point, frozen geometry) and the lowest-energy one is taken instead
    of the geometric rank. The result has a cell with ``vacuum`` Å (default:
    the slab's) clear above its topmost atom, charge 0, both ions marked in
    ``arrays['adsorbate']`` and the counter-ion in ``arrays['counter_ion']``.
    """
    anion = build_molecule(adsorbate) if isinstance(adsorbate, str) else adsorbate
    ion = _monatomic_cation(counter_ion)
    if int(anion.info.get("charge", 0)) + int(ion.info["charge"]) != 0:
        raise AtomisticsError(
            f"{anion.info.get('species', 'adsorbate')} and {ion.info.get('species')} do not form a "
            "neutral pair: the exchange product must be neutral."
        )
    vac = _default_vacuum(slab, vacuum)
    placed = place_adsorbate(slab, anion, site, site_index, height, orientation, azimuth)
    candidates = counterion_positions(placed, radius=radius, height=counter_ion_height)
    if not candidates:
        raise AtomisticsError(
            f"no free surface position for {ion.info.get('species')} within {radius} Å of the "
            "adsorbate: raise radius or choose another site."
        )
    if calculator is None:
        if not 0 <= counter_ion_rank < len(candidates):
            raise AtomisticsError(
                f"counter_ion_rank {counter_ion_rank} out of range: {len(candidates)} candidate "
                f"positions (0..{len(candidates) - 1})."
            )
        product = add_counterion(placed, candidates[counter_ion_rank], ion)
        product.info.update(counter_ion_rank=int(counter_ion_rank), counter_ion_choice="geometric")
    else:
        trials = [add_counterion(placed, pos, ion) for pos in candidates]
        energies = [_single_point(t, calculator) for t in trials]
        best = int(np.argmin(energies))
        product = trials[best]
        product.info.update(
            counter_ion_rank=best,
            counter_ion_choice="lowest-energy",
            counter_ion_energies=[float(e) for e in energies],
        )
    return with_clear_vacuum(product, vac)


def _single_point(atoms: Atoms, calculator) -> float:
    from ase.calculators.calculator import BaseCalculator

    work = atoms.copy()
    work.calc = calculator if isinstance(calculator, BaseCalculator) else calculator(work)
    return float(work.get_potential_energy())


@dataclass
class ExchangeStructures:
    """The three neutral cells of slab + [C⁺–A⁻] → slab·(A⁻ + C⁺), all in one cell."""

    product: Atoms
    slab: Atoms
    pair: Atoms
    #: stoichiometric coefficients: E_exch = Σ ν_i E_i
    coefficients: dict[str, int] = field(
        default_factory=lambda: {"product": 1, "slab": -1, "pair": -1}
    )

    def energy(self, energies: dict[str, float]) -> float:
        """E_exch = E(product) − E(slab) − E(pair) from energies keyed like ``coefficients``."""
        missing = [k for k in self.coefficients if k not in energies]
        if missing:
            raise AtomisticsError(f"exchange energy needs the energies of {missing}.")
        return float(sum(nu * float(energies[k]) for k, nu in self.coefficients.items()))


def build_exchange_structures(
    slab: Atoms,
    anion: str = "FSI-",
    counter_ion: str = "Li+",
    *,
    conformer: str | None = None,
    site: str = "al-oh",
    site_index: int = 0,
    height: float = DEFAULT_HEIGHT,
    orientation: str = "OO-down",
    azimuth: float = 0.0,
    counter_ion_rank: int = 0,
    vacuum: float | None = None,
    calculator=None,
) -> ExchangeStructures:
    """Product, bare slab and contact ion pair of the exchange reaction, in the product's cell.

    All three have charge 0 (checked). The slab's atoms coincide with the
    product's slab atoms; the pair (:func:`build_ion_pair`, same conformer as
    the adsorbed anion) is centred in the cell.
    """
    mol = build_molecule(anion, conformer)
    product = build_adsorbate_with_counterion(
        slab,
        mol,
        site,
        site_index,
        height,
        orientation,
        azimuth,
        counter_ion=counter_ion,
        counter_ion_rank=counter_ion_rank,
        vacuum=vacuum,
        calculator=calculator,
    )
    ref = slab_in_cell(slab, product)
    pair = molecule_in_cell(build_ion_pair(counter_ion, anion, conformer), product)
    out = ExchangeStructures(product=product, slab=ref, pair=pair)
    for name in out.coefficients:
        charge = int(getattr(out, name).info.get("charge", 0))
        if charge != 0:
            raise AtomisticsError(f"exchange structure {name!r} has charge {charge}, expected 0.")
    return out


__all__ = [
    "ExchangeStructures",
    "add_counterion",
    "build_adsorbate_complex",
    "build_adsorbate_with_counterion",
    "build_exchange_structures",
    "clear_vacuum",
    "common_cell",
    "counterion_positions",
    "molecule_in_cell",
    "slab_in_cell",
    "with_clear_vacuum",
]
