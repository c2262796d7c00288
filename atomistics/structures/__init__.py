"""Structure builders: LiMMT bulk and slab, ions and ion pairs, adsorbate placement.

Every builder returns an :class:`ase.Atoms` with ``info['charge']`` and
``info['spin_multiplicity']``; :func:`check_structure` validates it.
"""

from atomistics.structures.adsorption import SITE_KINDS, enumerate_placements, place_adsorbate
from atomistics.structures.checks import StructureSummary, check_structure
from atomistics.structures.clay import (
    CAMMT_D001,
    LIMMT_D001,
    build_limmt_slab,
    build_montmorillonite_bulk,
    interlayer_spacing,
    load_pyrophyllite,
)
from atomistics.structures.molecules import MOLECULE_BUILDERS, build_ion_pair, build_molecule

__all__ = [
    "CAMMT_D001",
    "LIMMT_D001",
    "MOLECULE_BUILDERS",
    "SITE_KINDS",
    "StructureSummary",
    "build_ion_pair",
    "build_limmt_slab",
    "build_molecule",
    "build_montmorillonite_bulk",
    "check_structure",
    "enumerate_placements",
    "interlayer_spacing",
    "load_pyrophyllite",
    "place_adsorbate",
]
