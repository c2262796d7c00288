"""The bond check that flags a relaxation which changed the species (e.g. S–F cleavage of FSI⁻)."""

import numpy as np

from atomistics.engines.ase_engine import _covalent_indices
from atomistics.structures.checks import bond_changes
from atomistics.structures.molecules import build_ion_pair, build_molecule


def _stretch(atoms, i_move, i_fixed, length):
    out = atoms.copy()
    v = out.positions[i_move] - out.positions[i_fixed]
    out.positions[i_move] = out.positions[i_fixed] + v / np.linalg.norm(v) * length
    return out


def test_a_stretched_s_f_bond_is_reported_broken_and_an_intact_molecule_is_not():
    fsi = build_molecule("FSI-")
    sym = fsi.get_chemical_symbols()
    i_f = sym.index("F")
    d = fsi.get_distances(i_f, range(len(fsi)))
    i_s = min((i for i in range(len(fsi)) if sym[i] == "S"), key=lambda i: d[i])
    assert bond_changes(fsi, fsi) == []
    # 1.2 x (r_S + r_F) = 1.2 x (1.05 + 0.57) = 1.944 Å (Cordero radii): 1.90 is bonded, 2.02 not
    assert bond_changes(fsi, _stretch(fsi, i_f, i_s, 1.90)) == []
    (change,) = bond_changes(fsi, _stretch(fsi, i_f, i_s, 2.02))
    assert change.startswith(f"S{i_s}–F{i_f}") and "(broken)" in change


def test_minimum_image_a_molecule_wrapped_across_the_cell_boundary_is_unchanged():
    fsi = build_molecule("FSI-")
    fsi.set_cell([12.0, 12.0, 12.0])
    fsi.pbc = True
    fsi.positions += [11.0, 0.0, 0.0]  # straddles the x boundary once wrapped
    wrapped = fsi.copy()
    wrapped.wrap()
    assert not np.allclose(wrapped.positions, fsi.positions)
    assert bond_changes(fsi, wrapped) == []


def test_alkali_cations_are_left_out_so_li_coordination_may_change():
    pair = build_ion_pair("Li+", "FSI-")
    idx = _covalent_indices(pair)
    assert "Li" not in {pair.get_chemical_symbols()[i] for i in idx}
    assert len(idx) == len(pair) - 1
    i_li = pair.get_chemical_symbols().index("Li")
    moved = pair.copy()
    moved.positions[i_li] += [0.0, 0.0, 3.0]  # Li⁺ leaves its O,O site: no bond of FSI⁻ changes
    assert bond_changes(pair, moved, idx) == []
