"""Bounded, finite structure building (issue 12, items 2, 6, 12): API level."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from ase import Atoms

from atomistics.errors import AtomisticsError, StructureCheckError
from atomistics.limits import DEFAULT_MAX_ATOMS, check_atom_count, finite
from atomistics.paths import check_output_folder, inside
from atomistics.structures import adsorption, clay, molecules
from atomistics.structures.checks import check_structure
from atomistics.structures.io import write_structure


@pytest.fixture(scope="module")
def slab():
    return clay.build_limmt_slab((2, 2))


# --- non-finite numbers are refused by every builder and by the checks ----------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_builders_refuse_non_finite(bad, slab):
    fsi = molecules.build_molecule("FSI-")
    with pytest.raises(AtomisticsError, match="finite"):
        clay.build_limmt_slab((1, 1), vacuum=bad)
    with pytest.raises(AtomisticsError, match="finite"):
        clay.build_limmt_slab((1, 1), li_height=bad)
    with pytest.raises(AtomisticsError, match="finite"):
        clay.build_montmorillonite_bulk((1, 1), d001=bad)
    with pytest.raises(AtomisticsError, match="finite"):
        adsorption.place_adsorbate(slab, fsi, azimuth=bad)
    with pytest.raises(AtomisticsError, match="finite"):
        adsorption.place_adsorbate(slab, fsi, height=bad)
    with pytest.raises(AtomisticsError, match="finite"):
        adsorption.enumerate_placements(slab, fsi, sites=("li",), azimuths=(0.0, bad))


def test_checks_refuse_nan_positions_and_cell(slab):
    atoms = slab.copy()
    atoms.positions[5, 1] = np.nan
    with pytest.raises(StructureCheckError, match="atom 5 .* non-finite"):
        check_structure(atoms)
    atoms = slab.copy()
    atoms.cell[2, 2] = np.inf
    with pytest.raises(StructureCheckError, match="cell .* non-finite"):
        check_structure(atoms)


def test_writer_never_writes_nan(tmp_path):
    atoms = molecules.build_molecule("FSI-")
    atoms.positions[0] = np.nan
    with pytest.raises(StructureCheckError):
        write_structure(atoms, tmp_path / "x.xyz")
    assert not (tmp_path / "x.xyz").exists()


def test_seed_must_be_non_negative_integer():
    for bad in (-5, 1.5, True, "3"):
        with pytest.raises(AtomisticsError, match="seed"):
            clay.build_limmt_slab((1, 1), seed=bad)


def test_finite_helper():
    assert finite("2.5", "x") == 2.5
    for bad in ("nan", "inf", None, "abc"):
        with pytest.raises(AtomisticsError, match="x must be a"):
            finite(bad, "x")


# --- size ceilings ---------------------------------------------------------------------


def test_atom_ceiling_refuses_before_building():
    start = time.perf_counter()
    with pytest.raises(AtomisticsError, match=r"40500000 atoms, above the ceiling of 5000"):
        clay.build_limmt_slab((1000, 1000))
    with pytest.raises(AtomisticsError, match="above the ceiling"):
        clay.build_montmorillonite_bulk((100, 100))
    assert time.perf_counter() - start < 0.2


def test_atom_ceiling_override(monkeypatch):
    with pytest.raises(AtomisticsError, match="ceiling of 100"):
        clay.build_limmt_slab((2, 2), max_atoms=100)
    assert len(clay.build_limmt_slab((1, 1), max_atoms=100)) == 41
    monkeypatch.setenv("ATOMISTICS_MAX_ATOMS", "50")
    with pytest.raises(AtomisticsError, match="ceiling of 50"):
        check_atom_count(51, "x")
    monkeypatch.setenv("ATOMISTICS_MAX_ATOMS", "lots")
    with pytest.raises(AtomisticsError, match="ATOMISTICS_MAX_ATOMS"):
        check_atom_count(1, "x")


def test_default_ceiling_admits_the_study_sizes():
    """The ceiling is a guard, not a restriction: the study's systems are far below it."""
    assert DEFAULT_MAX_ATOMS >= 20 * 171  # 2x2 slab + FSI-, the largest system of the study


def test_placement_ceiling(slab):
    fsi = molecules.build_molecule("FSI-")
    start = time.perf_counter()
    with pytest.raises(AtomisticsError, match="ceiling of 3"):
        adsorption.enumerate_placements(slab, fsi, azimuths=(0.0, 90.0), max_placements=3)
    assert time.perf_counter() - start < 2.0


# --- the Mg-placement search is polynomial, and the greedy branch is a 2-approximation --


def test_mg_search_on_6x6_is_fast():
    start = time.perf_counter()
    layer = clay._layer_supercell(6, 6)
    n_al = int((layer.numbers == 13).sum())
    count = clay.default_mg_count(2 * 36)
    assert math.comb(n_al, count) > 1e15  # exhaustive enumeration is out of the question
    sites = clay.choose_mg_sites(layer, count, seed=0)
    elapsed = time.perf_counter() - start
    assert len(sites) == count == 18 and elapsed < 5.0, elapsed
    # no two Mg share a hydroxyl: every Mg–Mg distance exceeds the shared-OH Al–Al distance
    d = clay._pairwise_mic(layer, np.array(sites))
    np.fill_diagonal(d, np.inf)
    assert d.min() > 4.0


def _min_mg_distance(layer: Atoms, sites: list[int]) -> float:
    d = clay._pairwise_mic(layer, np.array(sites))
    np.fill_diagonal(d, np.inf)
    return float(d.min())


@pytest.mark.parametrize(("supercell", "count"), [((3, 3), 4), ((2, 3), 4), ((3, 3), 3)])
def test_greedy_is_within_half_of_the_optimum(monkeypatch, supercell, count):
    layer = clay._layer_supercell(*supercell)
    al = np.nonzero(layer.numbers == 13)[0]
    assert math.comb(len(al), count) <= clay.MAX_EXHAUSTIVE_PATTERNS
    optimum = _min_mg_distance(layer, clay.choose_mg_sites(layer, count, seed=0))
    # independent brute force of the optimum (no shared hydroxyl is implied by > 4 Å here)
    d = clay._pairwise_mic(layer, al)
    best = max(
        min(d[p, q] for p, q in itertools.combinations(combo, 2))
        for combo in itertools.combinations(range(len(al)), count)
    )
    assert optimum == pytest.approx(best, abs=1e-3)
    monkeypatch.setattr(clay, "MAX_EXHAUSTIVE_PATTERNS", 0)  # force the greedy branch
    for seed in range(4):
        greedy = _min_mg_distance(layer, clay.choose_mg_sites(layer, count, seed=seed))
        assert greedy >= 0.5 * optimum - 1e-6, (seed, greedy, optimum)


# --- paths -------------------------------------------------------------------------------


def test_inside(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    assert inside(root / "a" / "b.xyz", root) == root / "a" / "b.xyz"
    assert inside(root, root) == root
    for bad in (root / ".." / "x", root / "a" / ".." / ".." / "x", tmp_path / "x", "/etc/passwd"):
        with pytest.raises(AtomisticsError, match="outside the output folder"):
            inside(bad, root)
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(AtomisticsError, match="outside"):
        inside(root / "link" / "x", root)


def test_check_output_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(AtomisticsError, match="existing file, not a folder"):
        check_output_folder(tmp_path / "f")
    with pytest.raises(AtomisticsError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "f" / "sub")
    assert check_output_folder(tmp_path / "new") == tmp_path / "new"
