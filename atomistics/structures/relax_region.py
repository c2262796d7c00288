"""Which atoms a relaxation of a periodic cell moves (the xtb engine and CP2K stage 1 alike)."""

from __future__ import annotations

import numpy as np
from ase import Atoms

#: Relax regions of a periodic cell (``relax_region_periodic``); molecules relax every atom.
RELAX_REGIONS = ("surface", "adsorbate", "all", "none")

#: Substrate atoms this far (Å) below the substrate's mid-plane or deeper are held fixed.
_MID_PLANE_TOLERANCE = 0.1


def surface_region(atoms: Atoms) -> np.ndarray:
    """Indices that move in a slab relaxation: all but the substrate's bottom half.

    The usual slab model holds the bottom layers at their bulk positions and relaxes the
    top layers and the adsorbate (Sholl & Steckel, *Density Functional Theory: A Practical
    Introduction*, Wiley 2009, sec. 4.5). The substrate is the clay layer
    (``arrays["clay"]``, set by the builders) or, without it, every atom not marked in an
    ``arrays["adsorbate"]`` mask; a cell with neither array has no substrate. Its atoms lying below its mid-plane (z_min + z_max)/2 are
    fixed: for a LiMMT TOT layer that is the bottom tetrahedral sheet with the lower
    O/OH of the octahedral sheet, while the octahedral cations (on the mid-plane), the top
    sheet, the Li⁺ counter-ions and any adsorbate move. A cell with no substrate (a
    molecule in a periodic box) moves every atom.
    """
    n = len(atoms)
    adsorbate = np.asarray(atoms.arrays.get("adsorbate", np.zeros(n, bool)), bool)
    if "clay" in atoms.arrays:
        substrate = np.asarray(atoms.arrays["clay"], bool) & ~adsorbate
    elif "adsorbate" in atoms.arrays:
        substrate = ~adsorbate
    else:  # unmarked: nothing says which atoms form a substrate
        substrate = np.zeros(n, bool)
    if not substrate.any():
        return np.arange(n)
    z = atoms.positions[:, 2]
    mid = 0.5 * (z[substrate].min() + z[substrate].max())
    fixed = substrate & (z < mid - _MID_PLANE_TOLERANCE)
    return np.flatnonzero(~fixed)
