"""The slab relax region (bottom half fixed) and honest records of relaxations not done."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from ase import Atoms
from ase.build import fcc111
from ase.calculators.emt import EMT

from atomistics.cp2k import find_cp2k_command, write_cp2k_input
from atomistics.engines.ase_engine import ASECalculatorEngine, free_atoms
from atomistics.structures.adsorption import place_adsorbate
from atomistics.structures.clay import build_limmt_slab
from atomistics.structures.molecules import build_molecule
from atomistics.structures.relax_region import surface_region


@pytest.fixture(scope="module")
def slab():
    return build_limmt_slab(supercell=(2, 1), mg=1, seed=0)


def test_limmt_slab_fixes_its_bottom_sheet(slab):
    free = np.zeros(len(slab), bool)
    free[surface_region(slab)] = True
    symbols = np.array(slab.get_chemical_symbols())
    z = slab.positions[:, 2]
    si = symbols == "Si"
    si_mid = np.median(z[si])  # the two tetrahedral sheets lie either side of it
    assert not free[si & (z < si_mid)].any() and free[si & (z > si_mid)].all()
    assert free[np.isin(symbols, ["Al", "Mg"])].all()  # octahedral cations on the mid-plane
    assert free[symbols == "Li"].all()  # the counter-ion is not part of the clay layer
    clay = slab.arrays["clay"]
    lowest_free = z[clay & free].min()
    assert z[clay & ~free].max() < lowest_free  # a plane separates fixed from free
    assert 0.3 < (~free).sum() / len(slab) < 0.6


def test_adsorbate_cell_relaxes_the_same_framework_region(slab):
    complex_ = place_adsorbate(slab, build_molecule("FSI-"), site="al-oh", height=2.8)
    free = np.zeros(len(complex_), bool)
    free[surface_region(complex_)] = True
    ads = complex_.arrays["adsorbate"]
    assert free[ads].all()
    free_slab = np.zeros(len(slab), bool)
    free_slab[surface_region(slab)] = True
    assert np.array_equal(free[~ads], free_slab)  # the framework moves the same atoms


def test_molecule_in_a_periodic_box_moves_every_atom():
    mol = build_molecule("FSI-")
    mol.center(vacuum=6.0)
    mol.pbc = True
    assert len(surface_region(mol)) == len(mol)
    assert len(free_atoms(mol, "none")) == 0


def _metal_slab():
    atoms = fcc111("Cu", size=(2, 2, 4), vacuum=6.0)
    atoms.positions[-1, 2] += 0.3  # strain the top layer so that forces are not zero
    atoms.arrays["adsorbate"] = np.zeros(len(atoms), bool)  # a bare substrate
    return atoms


def _relax(tmp_path, atoms, region):
    engine = ASECalculatorEngine(
        "emt", lambda a, s: EMT(), "emt-test", relax_region_periodic=region, max_steps_periodic=300
    )
    folder = tmp_path / region
    folder.mkdir()
    engine.write_inputs(folder, atoms, "relax", engine.settings(atoms, "relax"))
    engine.execute(folder)
    return engine.read_result(folder)


def test_relaxation_not_done_is_stored_as_not_relaxed(tmp_path):
    atoms = _metal_slab()
    result = _relax(tmp_path, atoms, "adsorbate")  # a bare slab has no adsorbate: nothing moves
    assert result.geo_converged is False
    assert any("NOT done" in w for w in result.warnings)
    # the reported force is the largest over the atoms a slab relaxation would move
    expected = atoms.copy()
    expected.calc = EMT()
    f = expected.get_forces()[surface_region(atoms)]
    assert result.extra["fmax_ev_a"] == pytest.approx(np.sqrt((f**2).sum(axis=1)).max())
    assert result.extra["fmax_ev_a"] > 0.05


def test_surface_relaxation_converges_and_keeps_the_bottom(tmp_path):
    atoms = _metal_slab()
    result = _relax(tmp_path, atoms, "surface")
    assert result.geo_converged is True and result.n_steps > 0
    assert result.extra["fmax_ev_a"] <= 0.05
    fixed = np.setdiff1d(np.arange(len(atoms)), surface_region(atoms))
    assert len(fixed) == 8  # the two bottom layers of four
    moved = np.linalg.norm(result.atoms.positions - atoms.positions, axis=1)
    assert np.all(moved[fixed] == 0.0) and moved[surface_region(atoms)].max() > 0.01


def _lih_bilayer():
    """Two LiH layers, 4 atoms: the bottom layer is the substrate's bottom half."""
    a = 2.9
    atoms = Atoms(
        "LiHLiH",
        positions=[[0, 0, 5.0], [a / 2, a / 2, 5.0], [a / 2, a / 2, 7.2], [0, 0, 7.2]],
        cell=[a, a, 16.0],
        pbc=(True, True, False),
    )
    atoms.arrays["adsorbate"] = np.zeros(4, bool)
    atoms.info.update(name="lih_bilayer", charge=0, spin_multiplicity=1)
    return atoms


def test_cp2k_relax_fixes_the_same_atoms(tmp_path):
    from atomistics.cp2k.generate import fixed_atoms

    slab = build_limmt_slab(supercell=(1, 1), mg=1, seed=0)
    inp, _ = write_cp2k_input(slab, "relax", tmp_path / "slab", "quick", validate=False)
    listed = re.search(r"LIST\s+([\d ]+)", inp.read_text()).group(1).split()
    expected = sorted(set(range(len(slab))) - set(surface_region(slab).tolist()))
    assert [int(i) - 1 for i in listed] == expected == fixed_atoms(slab)
    sp, _ = write_cp2k_input(slab, "single_point", tmp_path / "sp", "quick", validate=False)
    assert "FIXED_ATOMS" not in sp.read_text()  # a single point moves nothing
    mol = build_molecule("FSI-")
    relax, _ = write_cp2k_input(mol, "relax", tmp_path / "mol", "quick", validate=False)
    assert "FIXED_ATOMS" not in relax.read_text()  # a molecule relaxes every atom


@pytest.mark.cp2k
def test_real_cp2k_keeps_the_fixed_atoms_in_place(tmp_path):
    """CP2K's own GEO_OPT with the written constraint: the bottom layer does not move."""
    from ase.io import read

    atoms = _lih_bilayer()
    inp, meta = write_cp2k_input(
        atoms, "relax", tmp_path, "quick", overrides={"geo_max_iter": 3, "kpoints": "gamma"}
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = find_cp2k_command()
    subprocess.run(
        [*command, "-i", inp.name],
        cwd=tmp_path,
        stdout=open(tmp_path / "cp2k.out", "w"),
        stderr=subprocess.STDOUT,
        env=env,
        timeout=600,
    )
    frames = read(tmp_path / meta["files"]["trajectory"], index=":")
    assert len(frames) >= 2
    first, last = frames[0].positions, frames[-1].positions
    moved = np.linalg.norm(last - first, axis=1)
    assert np.all(moved[[0, 1]] < 1e-6)  # the bottom layer (fixed)
    assert moved[[2, 3]].max() > 1e-3  # the top layer relaxes


def test_bond_check_skips_the_clay_framework_but_not_the_adsorbate(slab):
    """A relaxing clay layer brings Al–Al (3.0 Å, no bond) under the covalent threshold;
    only the adsorbate's (molecule's) bonds are the species' identity."""
    from atomistics.engines.relaxation import covalent_indices

    assert len(covalent_indices(slab)) == 0  # bare clay, Li⁺ counter-ion is ionic
    complex_ = place_adsorbate(slab, build_molecule("FSI-"), site="al-oh", height=2.8)
    picked = covalent_indices(complex_)
    assert set(picked) == set(np.flatnonzero(complex_.arrays["adsorbate"]))
    mol = build_molecule("FSI-")
    assert len(covalent_indices(mol)) == len(mol)  # a molecule: every atom
