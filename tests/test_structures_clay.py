"""The clay builders against the published numbers (Lee & Guggenheim 1981; the paper)."""

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from atomistics.errors import AtomisticsError, StructureCheckError
from atomistics.structures import (
    CAMMT_D001,
    LIMMT_D001,
    build_limmt_slab,
    build_montmorillonite_bulk,
    check_structure,
    interlayer_spacing,
    load_pyrophyllite,
)
from atomistics.structures.clay import choose_mg_sites, default_mg_count


def _bond_lengths(atoms, a, b, cutoff):
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    sym = np.array(atoms.get_chemical_symbols())
    mask = (sym[i] == a) & (sym[j] == b)
    return d[mask]


def test_pyrophyllite_matches_published_cell_and_bonds():
    atoms = load_pyrophyllite()
    assert len(atoms) == 40
    assert atoms.get_chemical_formula(mode="hill") == "H4Al4O24Si8"
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    assert (a, b, c) == pytest.approx((5.160, 8.966, 9.347), abs=1e-3)
    assert (alpha, beta, gamma) == pytest.approx((91.18, 100.46, 89.64), abs=1e-2)
    si_o = _bond_lengths(atoms, "Si", "O", 1.8)
    al_o = _bond_lengths(atoms, "Al", "O", 2.1)
    o_h = _bond_lengths(atoms, "O", "H", 1.1)
    assert len(si_o) == 32 and si_o.min() > 1.60 and si_o.max() < 1.64
    assert len(al_o) == 24 and al_o.min() > 1.88 and al_o.max() < 1.93
    assert len(o_h) == 4 and np.allclose(o_h, 0.97, atol=0.002)


def test_default_slab_is_the_papers_2x2_with_15A_vacuum():
    slab = build_limmt_slab()
    summary = check_structure(slab, vacuum=15.0)
    # 2x2 pyrophyllite layer (160 atoms), 2 Al->Mg (x = 0.25), 2 Li+
    assert summary.n_atoms == 162
    assert summary.formula == "H16Al14Li2Mg2O96Si32"
    assert summary.charge == 0
    assert summary.vacuum == pytest.approx(15.0, abs=1e-6)
    # orthogonal c axis, in-plane 2a x 2b
    assert np.allclose(slab.cell[2][:2], 0) and np.allclose(slab.cell[:2, 2], 0)
    assert np.linalg.norm(slab.cell[0]) == pytest.approx(2 * 5.160, abs=1e-3)
    assert np.linalg.norm(slab.cell[1]) == pytest.approx(2 * 8.966, abs=1e-3)
    assert list(slab.pbc) == [True, True, False]
    # Li on opposite faces, above/below the layer
    z_mid = slab.positions[slab.numbers == 13, 2].mean()
    li_z = slab.positions[slab.numbers == 3, 2]
    assert (li_z > z_mid).sum() == 1 and (li_z < z_mid).sum() == 1
    si_o = _bond_lengths(slab, "Si", "O", 1.8)
    mg_o = _bond_lengths(slab, "Mg", "O", 2.3)
    assert len(si_o) == 32 * 4 and si_o.max() < 1.64
    assert len(mg_o) == 2 * 6


@pytest.mark.parametrize(
    "supercell,vacuum,mg", [((1, 1), 10.0, 1), ((3, 2), 20.0, 4), ((2, 2), 15.0, 3)]
)
def test_slab_parameters(supercell, vacuum, mg):
    slab = build_limmt_slab(supercell, vacuum=vacuum, mg=mg)
    summary = check_structure(slab, vacuum=vacuum)
    n_cells = supercell[0] * supercell[1]
    assert summary.n_atoms == 40 * n_cells + mg
    assert (slab.numbers == 12).sum() == mg and (slab.numbers == 3).sum() == mg
    assert summary.charge == 0
    assert summary.vacuum == pytest.approx(vacuum, abs=1e-6)


def test_mg_never_share_a_hydroxyl_and_are_far_apart():
    slab = build_limmt_slab((3, 3), mg=4, seed=1)
    mg = np.nonzero(slab.numbers == 12)[0]
    i, j, d = neighbor_list("ijd", slab, 2.3)
    oh_oxygens = {
        int(o) for o in np.nonzero(slab.numbers == 8)[0] if (slab.numbers[j[i == o]] == 1).any()
    }
    shells = [set(j[i == m]) & oh_oxygens for m in mg]
    for a in range(len(mg)):
        for b in range(a + 1, len(mg)):
            assert not shells[a] & shells[b]
    dmin = min(slab.get_distance(a, b, mic=True) for a in mg for b in mg if a < b)
    # the 3x3 layer (15.5 x 26.9 Å) has room for 4 Mg at least 7.7 Å apart
    assert dmin > 7.5


def test_mg_pattern_is_max_min_distance_among_all_patterns():
    layer = build_limmt_slab((2, 2), mg=0)
    chosen = choose_mg_sites(layer, 2, seed=0)
    best = layer.get_distance(*chosen, mic=True)
    al = np.nonzero(layer.numbers == 13)[0]
    all_pairs = [layer.get_distance(a, b, mic=True) for a in al for b in al if a < b]
    assert best == pytest.approx(max(all_pairs), abs=1e-6)


def test_deterministic_and_seeded():
    a = build_limmt_slab((3, 3), mg=3, seed=7)
    b = build_limmt_slab((3, 3), mg=3, seed=7)
    assert np.array_equal(a.numbers, b.numbers) and np.allclose(a.positions, b.positions)
    patterns = {tuple(build_limmt_slab((3, 3), mg=3, seed=s).info["mg_sites"]) for s in range(6)}
    assert len(patterns) > 1  # the seed breaks ties between equivalent patterns


def test_bulk_d001_and_charge_balance():
    bulk = build_montmorillonite_bulk()
    assert interlayer_spacing(bulk) == pytest.approx(LIMMT_D001, abs=1e-9)
    summary = check_structure(bulk)
    assert summary.charge == 0
    assert (bulk.numbers == 12).sum() == (bulk.numbers == 3).sum() == 1
    ca = build_montmorillonite_bulk(d001=CAMMT_D001, supercell=(2, 1), mg=2)
    assert interlayer_spacing(ca) == pytest.approx(13.28, abs=1e-9)
    check_structure(ca)


def test_default_mg_count_is_layer_charge_quarter():
    assert default_mg_count(8) == 2  # 2x2 slab
    assert default_mg_count(2) == 1  # at least one
    assert default_mg_count(18) == 5  # 3x3: 4.5 rounds half up


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"supercell": (0, 2)}, "supercell must be two positive integers"),
        ({"supercell": (2, -1)}, "supercell must be two positive integers"),
        ({"vacuum": -5.0}, "vacuum must be a positive length"),
        ({"mg": 17}, "cannot substitute 17 Mg: the cell has 16 octahedral Al"),
        ({"mg": 5, "supercell": (1, 1)}, "cannot substitute 5 Mg: the cell has 4"),
        ({"mg": 3, "supercell": (1, 1)}, "without two Mg sharing a hydroxyl"),
        ({"li_height": 0.0}, "li_height must be in (0, 3]"),
    ],
)
def test_bad_slab_parameters_are_rejected_with_a_message(kwargs, message):
    with pytest.raises(AtomisticsError, match=message.replace("(", r"\(").replace("]", r"\]")):
        build_limmt_slab(**kwargs)


def test_bad_d001_rejected():
    with pytest.raises(AtomisticsError, match="too small"):
        build_montmorillonite_bulk(d001=5.0)


def test_checks_catch_broken_structures():
    slab = build_limmt_slab()
    squeezed = slab.copy()
    si = int(np.nonzero(squeezed.numbers == 14)[0][0])
    o = int(np.nonzero(squeezed.numbers == 8)[0][0])
    squeezed.positions[o] = squeezed.positions[si] + [0.3, 0, 0]
    with pytest.raises(StructureCheckError, match="apart"):
        check_structure(squeezed)
    stretched = slab.copy()
    h = int(np.nonzero(stretched.numbers == 1)[0][0])
    stretched.positions[h, 2] += 0.3 if stretched.positions[h, 2] > 10 else -0.3
    with pytest.raises(StructureCheckError, match="not a hydroxyl H"):
        check_structure(stretched)
    wrong_charge = slab.copy()
    wrong_charge.info["charge"] = -1
    with pytest.raises(StructureCheckError, match="multiplicity"):
        check_structure(wrong_charge)
    missing_li = slab[[k for k in range(len(slab)) if slab[k].symbol != "Li"]]
    missing_li.info["charge"] = 0
    with pytest.raises(StructureCheckError, match="needs one Li"):
        check_structure(missing_li)
    with pytest.raises(StructureCheckError, match="smaller than the requested"):
        check_structure(slab, vacuum=20.0)
