"""Neutral exchange-reaction structures and the requested clear vacuum (structures/exchange.py)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.geometry import find_mic

from atomistics.charged_cell import background_sheet_energy
from atomistics.errors import AtomisticsError
from atomistics.structures import build_limmt_slab, build_molecule, check_structure, place_adsorbate
from atomistics.structures.clay import DEFAULT_LI_HEIGHT, cavity_centres
from atomistics.structures.exchange import (
    add_counterion,
    build_adsorbate_complex,
    build_adsorbate_with_counterion,
    build_exchange_structures,
    clear_vacuum,
    common_cell,
    counterion_positions,
    molecule_in_cell,
    slab_in_cell,
    with_clear_vacuum,
)


@pytest.fixture(scope="module")
def slab():
    return build_limmt_slab()


@pytest.fixture(scope="module")
def exchange(slab):
    return build_exchange_structures(slab)


def test_complex_gets_the_requested_clear_vacuum_above_the_adsorbate(slab):
    fsi = build_molecule("FSI-")
    old = place_adsorbate(slab, fsi)
    assert clear_vacuum(old) < 11.0  # the bare slab's cell: ~10.2 Å above FSI⁻
    for vac in (None, 20.0):
        cx = build_adsorbate_complex(slab, fsi, vacuum=vac)
        top = cx.positions[:, 2].max()
        assert top == pytest.approx(cx.positions[cx.arrays["adsorbate"], 2].max())
        # gap from the topmost (adsorbate) atom to the lowest atom of the next image
        gap = cx.positions[:, 2].min() + cx.cell[2, 2] - top
        assert gap == pytest.approx(vac or 15.0, abs=1e-9)
        check_structure(cx, vacuum=vac or 15.0)
        # geometry relative to the slab unchanged, only the cell and a rigid shift
        rel = cx.positions - cx.positions[0]
        assert np.allclose(rel, old.positions - old.positions[0], atol=1e-9)


def test_exchange_product_is_neutral_with_counterion_near_the_anion(slab, exchange):
    p = exchange.product
    assert p.info["charge"] == 0 and p.info["spin_multiplicity"] == 1
    assert len(p) == len(slab) + 9 + 1
    assert (
        p.get_chemical_formula()
        == (slab + build_molecule("FSI-") + Atoms("Li")).get_chemical_formula()
    )
    check_structure(p, vacuum=15.0)  # formal charges, overlaps, vacuum
    assert clear_vacuum(p) == pytest.approx(15.0, abs=1e-9)
    li = p.info["counter_ion_index"]
    assert (
        p[li].symbol == "Li" and p.arrays["counter_ion"].sum() == 1 and p.arrays["counter_ion"][li]
    )
    assert p.arrays["adsorbate"][li] and not p.arrays["clay"][li]
    assert p.arrays["adsorbate"].sum() == 10
    # the Li⁺ sits over a top-face cavity, 1 Å above the basal-oxygen plane, like the slab's own
    cav = cavity_centres(p[: len(slab)], "top")
    vec = cav - p.positions[li]
    _, d = find_mic(vec, p.cell, (True, True, False))
    k = int(np.argmin(d))
    assert d[k] == pytest.approx(DEFAULT_LI_HEIGHT, abs=1e-6)
    assert p.positions[li, 2] - cav[k, 2] == pytest.approx(DEFAULT_LI_HEIGHT, abs=1e-6)
    # no atom closer than 1.8 Å, and no free cavity brings it closer to an FSI⁻ oxygen
    dist = p.get_distances(li, [i for i in range(len(p)) if i != li], mic=True)
    assert dist.min() >= 1.8
    fsi_o = [i for i in np.flatnonzero(p.arrays["adsorbate"]) if p[i].symbol == "O"]
    contact = p.get_distances(li, fsi_o, mic=True).min()
    others = counterion_positions(p[: len(p) - 1])
    for pos in others:
        _, d_o = find_mic(p.positions[fsi_o] - pos, p.cell, (True, True, False))
        assert d_o.min() >= contact - 1e-6


def test_reference_slab_and_pair_share_the_product_cell(slab, exchange):
    p, s, pair = exchange.product, exchange.slab, exchange.pair
    for atoms in (s, pair):
        assert np.allclose(atoms.cell.array, p.cell.array)
        assert list(atoms.pbc) == list(p.pbc)
        assert atoms.info["charge"] == 0
    assert np.allclose(s.positions, p.positions[: len(slab)], atol=1e-9)
    assert s.get_chemical_formula() == slab.get_chemical_formula()
    assert pair.get_chemical_formula() == "F2LiNO4S2" and pair.arrays["adsorbate"].all()
    frac = pair.cell.scaled_positions(pair.positions)  # centred in the cell (fractional)
    assert np.allclose(0.5 * (frac.min(axis=0) + frac.max(axis=0)), 0.5, atol=1e-9)
    # every cell of the reaction is neutral: the background term vanishes for each
    area = float(np.linalg.norm(np.cross(p.cell[0], p.cell[1])))
    for atoms in (p, s, pair):
        assert background_sheet_energy(atoms.info["charge"], area, p.cell[2, 2]) == 0.0
    assert exchange.energy({"product": -10.0, "slab": -7.0, "pair": -2.5}) == pytest.approx(-0.5)
    with pytest.raises(AtomisticsError, match="pair"):
        exchange.energy({"product": -10.0, "slab": -7.0})


def test_slab_in_cell_refuses_another_slab_or_a_moved_one(slab, exchange):
    other = build_limmt_slab(supercell=(2, 3))
    with pytest.raises(AtomisticsError, match="not built on this slab"):
        slab_in_cell(other, exchange.product)
    moved = exchange.product.copy()
    moved.positions[5] += [0.2, 0.0, 0.0]
    with pytest.raises(AtomisticsError, match="moved"):
        slab_in_cell(slab, moved)


class _WellAt(Calculator):
    """E = |r_Li − target|² for the last atom (a planted best counter-ion position)."""

    implemented_properties = ("energy",)

    def __init__(self, target):
        super().__init__()
        self.target = np.asarray(target, float)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results["energy"] = float(np.sum((self.atoms.positions[-1] - self.target) ** 2))


def test_counterion_choice_by_energy_uses_the_calculator(slab):
    fsi = build_molecule("FSI-")
    placed = place_adsorbate(slab, fsi)
    cands = counterion_positions(placed)
    assert len(cands) >= 3
    p = build_adsorbate_with_counterion(slab, fsi, calculator=_WellAt(cands[2]))
    assert p.info["counter_ion_choice"] == "lowest-energy" and p.info["counter_ion_rank"] == 2
    li = p.info["counter_ion_index"]
    shift = p.info["z_shift"]
    assert np.allclose(p.positions[li] - [0, 0, shift], cands[2], atol=1e-9)
    # a factory (atoms -> calculator) works the same way
    p2 = build_adsorbate_with_counterion(slab, fsi, calculator=lambda atoms: _WellAt(cands[1]))
    assert p2.info["counter_ion_rank"] == 1


def test_bad_counterion_requests_are_refused(slab):
    fsi = build_molecule("FSI-")
    with pytest.raises(AtomisticsError, match="monatomic cation"):
        build_adsorbate_with_counterion(slab, fsi, counter_ion="PF6-")
    with pytest.raises(AtomisticsError, match="out of range"):
        build_adsorbate_with_counterion(slab, fsi, counter_ion_rank=99)
    with pytest.raises(AtomisticsError, match="no free surface position"):
        build_adsorbate_with_counterion(slab, fsi, radius=0.1)
    with pytest.raises(AtomisticsError, match="adsorbate"):
        counterion_positions(slab)
    with pytest.raises(AtomisticsError, match="monatomic cation"):
        add_counterion(place_adsorbate(slab, fsi), [0, 0, 0], "FSI-")


def test_vacuum_helpers(slab):
    with pytest.raises(AtomisticsError, match="positive"):
        with_clear_vacuum(slab, 0.0)
    with pytest.raises(AtomisticsError, match="positive"):
        with_clear_vacuum(slab, float("nan"))
    fsi = build_molecule("FSI-")
    low = place_adsorbate(slab, fsi, height=2.0)
    high = place_adsorbate(slab, fsi, height=4.0)
    a, b = common_cell([low, high], 12.0)
    assert np.allclose(a.cell.array, b.cell.array)
    assert clear_vacuum(b) == pytest.approx(12.0) and clear_vacuum(a) == pytest.approx(14.0)
    assert np.allclose(a.positions[: len(slab)], b.positions[: len(slab)])
    tiny = slab.copy()
    tiny.set_cell([4.0, 4.0, 30.0], scale_atoms=False)
    with pytest.raises(AtomisticsError, match="periodic image"):
        molecule_in_cell(build_molecule("FSI-"), tiny)
