"""Ions, ion pairs and adsorbate placement."""

import numpy as np
import pytest
from ase.geometry import find_mic
from pymatgen.core import Molecule
from pymatgen.symmetry.analyzer import PointGroupAnalyzer

from atomistics.errors import AtomisticsError
from atomistics.structures import (
    build_ion_pair,
    build_limmt_slab,
    build_molecule,
    check_structure,
    enumerate_placements,
    place_adsorbate,
)
from atomistics.structures.adsorption import surface_sites


def _point_group(atoms):
    mol = Molecule(atoms.get_chemical_symbols(), atoms.positions)
    return str(PointGroupAnalyzer(mol, tolerance=0.1).get_pointgroup())


@pytest.mark.parametrize(
    "species,conformer,formula,charge,group",
    [
        ("FSI-", "C2", "F2NO4S2", -1, "C2"),
        ("FSI-", "C1", "F2NO4S2", -1, "C1"),
        ("TFSI-", "C2", "C2F6NO4S2", -1, "C2"),
        ("PF6-", None, "F6P", -1, "Oh"),
    ],
)
def test_anions(species, conformer, formula, charge, group):
    atoms = build_molecule(species, conformer)
    summary = check_structure(atoms)
    assert summary.formula == formula
    assert summary.charge == charge
    assert summary.spin_multiplicity == 1
    assert _point_group(atoms) == group


def test_fsi_bond_lengths():
    fsi = build_molecule("fsi")
    d = fsi.get_all_distances()
    sym = np.array(fsi.get_chemical_symbols())
    n = int(np.nonzero(sym == "N")[0][0])
    s = np.nonzero(sym == "S")[0]
    assert np.allclose(d[n, s], 1.58)
    so = [d[a, b] for a in s for b in np.nonzero(sym == "O")[0] if d[a, b] < 1.7]
    sf = [d[a, b] for a in s for b in np.nonzero(sym == "F")[0] if d[a, b] < 1.8]
    assert len(so) == 4 and np.allclose(so, 1.45)
    assert len(sf) == 2 and np.allclose(sf, 1.64)


def test_li_cation():
    li = build_molecule("Li+")
    assert len(li) == 1 and li.info["charge"] == 1 and li.info["spin_multiplicity"] == 1


def test_li_fsi_contact_pair_is_bidentate_oo():
    pair = build_ion_pair("Li+", "FSI-")
    summary = check_structure(pair)
    assert summary.charge == 0 and summary.formula == "F2LiNO4S2"
    li = int(np.nonzero(pair.numbers == 3)[0][0])
    d = pair.get_all_distances()[li]
    o = np.nonzero(pair.numbers == 8)[0]
    close = o[d[o] < 2.1]
    assert len(close) == 2 and np.allclose(d[close], 1.95)
    # the two O belong to different S atoms (a six-membered Li–O–S–N–S–O chelate)
    s = np.nonzero(pair.numbers == 16)[0]
    parents = {int(s[np.argmin(pair.get_all_distances()[oo, s])]) for oo in close}
    assert len(parents) == 2


def test_unknown_species_and_conformer():
    with pytest.raises(AtomisticsError, match="unknown molecule or ion 'BF4-'"):
        build_molecule("BF4-")
    with pytest.raises(AtomisticsError, match="unknown conformer 'C3'"):
        build_molecule("FSI-", "C3")
    with pytest.raises(AtomisticsError, match="needs a cation and an anion"):
        build_ion_pair("FSI-", "FSI-")


@pytest.fixture(scope="module")
def slab():
    return build_limmt_slab()


@pytest.mark.parametrize("site", ["al-oh", "hydroxyl", "cavity", "li"])
def test_adsorbate_on_each_site_kind(slab, site):
    fsi = build_molecule("FSI-")
    combined = place_adsorbate(slab, fsi, site=site, height=2.0)
    summary = check_structure(combined)
    assert summary.charge == -1
    assert summary.n_atoms == len(slab) + 9
    ads = combined[combined.arrays["adsorbate"].astype(bool)]
    point = surface_sites(slab, site)[0].position
    # centred above the site (minimum image in plane) ...
    offset = ads.get_center_of_mass() - point
    offset[2] = 0.0
    (offset,), (lateral,) = find_mic(offset[None, :], slab.cell, slab.pbc)
    assert lateral < 1e-6
    # ... with its lowest atom 2 Å above the highest slab atom within 3 Å of the site
    near = slab.positions - point
    near[:, 2] = 0.0
    _, dist = find_mic(near, slab.cell, slab.pbc)
    z_ref = slab.positions[dist < 3.0, 2].max()
    assert ads.positions[:, 2].min() == pytest.approx(z_ref + 2.0, abs=1e-9)
    # the molecule is kept whole (not cut across the periodic boundary)
    assert ads.get_all_distances().max() < 6.0
    assert combined.cell.array.tolist() == slab.cell.array.tolist()


def test_oo_down_orientation_points_two_oxygens_down(slab):
    combined = place_adsorbate(slab, build_molecule("FSI-"), site="al-oh", orientation="OO-down")
    ads = combined[combined.arrays["adsorbate"]]
    lowest_two = np.argsort(ads.positions[:, 2])[:2]
    assert [ads[k].symbol for k in lowest_two] == ["O", "O"]
    assert abs(ads.positions[lowest_two[0], 2] - ads.positions[lowest_two[1], 2]) < 1e-6


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"site": "bridge"}, "unknown site kind 'bridge'"),
        ({"site_index": 99}, "site_index 99 out of range"),
        ({"height": 0.1}, "height must be between"),
        ({"orientation": "sideways"}, "unknown orientation 'sideways'"),
        ({"orientation": "C-down"}, "has no C atom"),
    ],
)
def test_bad_placements(slab, kwargs, message):
    with pytest.raises(AtomisticsError, match=message):
        place_adsorbate(slab, build_molecule("FSI-"), **kwargs)


def test_enumeration_deduplicates_by_symmetry():
    # The pristine 2x2 layer (no Mg, no Li) keeps the C-centred cell's translations:
    # 8 lattice translations (2x2 cells x C-centring) map its 16 Al sites onto 2
    # classes, one per Al of the primitive cell (Al2Si4O10(OH)2).
    layer = build_limmt_slab(mg=0)
    fsi = build_molecule("FSI-")
    placements = enumerate_placements(layer, fsi, sites=("al-oh",), azimuths=(0.0,))
    assert len(surface_sites(layer, "al-oh")) == 16
    assert len(placements) == 2
    # The substituted slab has lower symmetry: more distinct placements, all valid.
    substituted = enumerate_placements(build_limmt_slab(), fsi, sites=("al-oh",), azimuths=(0.0,))
    assert len(substituted) > 2
    for atoms in substituted:
        check_structure(atoms)
