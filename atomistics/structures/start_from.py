"""Start an adsorbate system from a screened geometry (``start_from:`` in a study file).

``atomistics screen`` writes the lowest placement of a site screening as
``best.extxyz``. A study's adsorbate system with ``start_from: that file``
builds as usual, then takes the **adsorbate's and counter-ion's positions**
(``arrays['adsorbate']``) from the file, so every later stage (the xtb dry run,
CP2K's stage-1 relaxation) starts from the screened placement.

What is taken and why:

* the slab atoms stay where the study builds them. The screening relaxes a
  free surface region around the site (basal O, OH, Li⁺) while its bare-slab
  reference relaxes the same region. A study run does not repeat that for the
  reference (each system of a study relaxes from the built slab), so taking the
  relaxed surface atoms would count the framework's own relaxation (GFN2-xTB
  forces up to 3.6 eV/Å on the experimental clay) as adsorption energy, and the
  in-cell slab references (:func:`~atomistics.structures.exchange.slab_in_cell`)
  could no longer be built from the complex;
* the file is placed on the built slab by the rigid z shift that superposes its
  fixed framework (Si, Al, Mg: never freed by the screening) on the built one;
* the cell then follows the study's rule: ``vacuum`` Å clear above the topmost
  atom when the system asks for it (``vacuum:`` or a counter-ion), else the
  slab's cell.

Refused, one line each: a file that cannot be read, other atoms (elements or
order: another adsorbate, conformer, counter-ion, slab size or Mg
arrangement), another charge, another in-plane cell or periodicity, or a
framework that does not superpose on the built one (another slab), atoms
outside the file's cell along the surface normal (z), an adsorbate or
counter-ion more than :data:`MAX_GAP` Å above the slab (not adsorbed), and,
when the slab's cell is kept, less clear vacuum above the topmost atom than
:func:`~atomistics.structures.adsorption.place_adsorbate` asks for (half the
slab's vacuum).
"""

from __future__ import annotations

from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from atomistics.errors import StudySpecError

#: Å, in-plane cell vectors must agree to this
CELL_TOL = 1e-4
#: Å, the file's Si/Al/Mg framework must superpose on the built one to this
FRAMEWORK_TOL = 0.05
#: framework elements the screening never frees (Mg, Al, Si)
FRAMEWORK_NUMBERS = (12, 13, 14)
#: placement descriptors taken over from the file's header
PLACEMENT_KEYS = ("site", "site_index", "height", "orientation", "azimuth", "counter_ion_rank")
#: Å, atoms may stick out of the file's cell along z by at most this (rounding)
Z_TOL = 1e-3
#: Å, the adsorbate's (and counter-ion's) lowest atom at most this far above the slab's top
MAX_GAP = 10.0


def read_start_geometry(path: Path, what: str) -> Atoms:
    """The single structure of ``path`` (the last frame of a trajectory-like file)."""
    if not path.is_file():
        raise StudySpecError(
            f"{what}: start_from file {path} not found: run `atomistics screen STUDY.yaml "
            "--system NAME -o DIR` first, or fix the path (relative to the study file)."
        )
    try:
        atoms = ase.io.read(path, index=-1)
    except Exception as exc:  # noqa: BLE001 — any reader failure is a bad file
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise StudySpecError(
            f"{what}: start_from file {path} is not a readable structure ({msg}): give the "
            "best.extxyz written by `atomistics screen`."
        ) from None
    if not isinstance(atoms, Atoms):
        raise StudySpecError(f"{what}: start_from file {path} holds no structure.")
    return atoms


def _outside_along_z(atoms: Atoms) -> tuple[int, float] | None:
    """The atom farthest outside the cell along z (index, z in Å), or None if all lie inside."""
    z = atoms.positions[:, 2]
    c = float(atoms.cell[2, 2])
    excess = np.maximum(-z, z - c)
    k = int(np.argmax(excess))
    return (k, float(z[k])) if excess[k] > Z_TOL else None


#: what to do about atoms outside the cell: of the file, of the system placed in the slab's cell
OUTSIDE_FIX = {
    "the file": "the file is broken or was edited; use the best.extxyz written by "
    "`atomistics screen`",
    "the placed system": "give the system a vacuum: (a cell of its own, that much clear above "
    "the adsorbate) or the slab a larger vacuum",
}


def _check_inside_cell(atoms: Atoms, where: str, whose: str) -> None:
    """Every atom of ``atoms`` lies between 0 and c along z (the surface normal)."""
    outside = _outside_along_z(atoms)
    if outside is not None:
        k, z = outside
        raise StudySpecError(
            f"{where}: atom {k} ({atoms[k].symbol}) of {whose} lies at z = {z:.2f} Å, outside "
            f"the cell along the surface normal (0 to {atoms.cell[2, 2]:.2f} Å): "
            f"{OUTSIDE_FIX[whose]}."
        )


def _check_adsorbed(atoms: Atoms, ads: np.ndarray, where: str) -> None:
    """The adsorbate and the counter-ion each start at most MAX_GAP Å above the slab's top."""
    top = float(atoms.positions[~ads, 2].max())
    counter = np.asarray(atoms.arrays.get("counter_ion", np.zeros(len(atoms), bool)), bool)
    for label, mask in (("adsorbate", ads & ~counter), ("counter-ion", ads & counter)):
        if mask.any():
            gap = float(atoms.positions[mask, 2].min()) - top
            if gap > MAX_GAP:
                raise StudySpecError(
                    f"{where}: its {label} starts {gap:.2f} Å above the slab's topmost atom "
                    f"(at most {MAX_GAP:g} Å): it is not adsorbed; screen the system again "
                    "or fix the file."
                )


def _check_kept_cell_vacuum(atoms: Atoms, slab_vacuum: float, where: str) -> None:
    """In the slab's cell, the placed atoms lie inside it and leave half its vacuum clear."""
    _check_inside_cell(atoms, where, "the placed system")
    z = atoms.positions[:, 2]
    clear = float(atoms.cell[2, 2] - (z.max() - z.min()))
    wanted = 0.5 * slab_vacuum
    if clear < wanted:
        raise StudySpecError(
            f"{where}: the placed adsorbate leaves {clear:.2f} Å of clear vacuum above the "
            f"topmost atom in the slab's {atoms.cell[2, 2]:.2f} Å cell (need ≥ {wanted:.2f} Å): "
            f"{OUTSIDE_FIX['the placed system']}."
        )


def apply_start_from(
    built: Atoms, path: str | Path, *, vacuum: float | None, what: str = "system"
) -> Atoms:
    """``built`` with its adsorbate atoms placed as in the structure file ``path``.

    ``built``: the adsorbate system as the study builds it (``arrays['adsorbate']``
    marks the adsorbate and counter-ion). ``vacuum``: Å clear above the topmost
    atom of the result (``None`` keeps ``built``'s cell). See the module
    docstring for what is checked and taken.
    """
    from atomistics.structures.exchange import with_clear_vacuum

    path = Path(path)
    src = read_start_geometry(path, what)
    where = f"{what}: start_from {path}"
    if len(src) != len(built) or not np.array_equal(src.numbers, built.numbers):
        raise StudySpecError(
            f"{where} holds {src.get_chemical_formula()} ({len(src)} atoms), but the study builds "
            f"{built.get_chemical_formula()} ({len(built)} atoms) in another order or "
            "composition: screen this system (atomistics screen STUDY.yaml --system NAME) and "
            "point start_from at its best.extxyz."
        )
    q_built = int(built.info.get("charge", 0))
    if "charge" not in src.info:
        raise StudySpecError(
            f"{where} has no charge in its header: the study's system has charge {q_built:+d}; "
            "use the file written by atomistics screen (it records charge=)."
        )
    q_src = int(src.info["charge"])
    if q_src != q_built:
        raise StudySpecError(
            f"{where} has charge {q_src:+d}, the study's system {q_built:+d}: screen the "
            "system with the same adsorbate and counter-ion."
        )
    if not np.array_equal(src.pbc, built.pbc) or not np.allclose(
        src.cell.array[:2], built.cell.array[:2], atol=CELL_TOL
    ):
        raise StudySpecError(
            f"{where} has another in-plane cell or periodicity than the study's system "
            f"(a, b = {np.round(src.cell.lengths()[:2], 4).tolist()} Å vs "
            f"{np.round(built.cell.lengths()[:2], 4).tolist()} Å, pbc {src.pbc.tolist()} vs "
            f"{built.pbc.tolist()}): it was screened on another slab."
        )
    _check_inside_cell(src, where, "the file")
    ads = np.asarray(built.arrays.get("adsorbate", np.zeros(len(built), bool)), bool)
    if not ads.any():
        raise StudySpecError(f"{what}: the built system has no atoms marked as adsorbate.")
    clay = np.asarray(built.arrays.get("clay", ~ads), bool)
    frame = np.flatnonzero(clay & ~ads & np.isin(built.numbers, FRAMEWORK_NUMBERS))
    if frame.size == 0:
        frame = np.flatnonzero(~ads)
    dz = built.positions[frame, 2] - src.positions[frame, 2]
    lateral = built.positions[frame] - src.positions[frame]
    lateral[:, 2] = 0.0
    _, lat = find_mic(lateral, built.cell, (True, True, False))
    off = max(float(np.ptp(dz)), float(lat.max()))
    if off > FRAMEWORK_TOL:
        raise StudySpecError(
            f"{where}: its slab framework (Si/Al/Mg) does not superpose on the study's slab "
            f"(off by {off:.3f} Å > {FRAMEWORK_TOL} Å): it was screened on another slab or "
            "the framework was relaxed; screen this study's system again."
        )
    out = built.copy()
    out.info = dict(built.info)
    out.positions[ads] = src.positions[ads] + np.array([0.0, 0.0, float(dz.mean())])
    _check_adsorbed(out, ads, where)
    if vacuum is not None:
        out = with_clear_vacuum(out, vacuum)
    else:
        _check_kept_cell_vacuum(out, float(built.info.get("vacuum", 0.0)), where)
    out.info["start_from"] = path.name
    # the placement the file holds, not the study's site/height/... (which it replaces)
    for key in PLACEMENT_KEYS:
        if key in src.info:
            value = src.info[key]
            out.info[key] = value.item() if isinstance(value, np.generic) else value
    if "label" in src.info:
        out.info["start_from_placement"] = str(src.info["label"])
    return out


__all__ = ["apply_start_from", "read_start_geometry"]
