"""Binding-energy arithmetic, counterpoise with charged fragments, table and plot."""

import numpy as np
import pytest
from ase import Atoms

from atomistics import reactions as bind
from atomistics.errors import AtomisticsError
from atomistics.structures.molecules import build_ion_pair, build_molecule


def test_binding_energy_sign_convention():
    assert bind.binding_energy(-10.0, [-3.0, -4.0]) == pytest.approx(-3.0)  # bound
    assert bind.binding_energy(-6.0, [-3.0, -4.0]) == pytest.approx(1.0)
    with pytest.raises(AtomisticsError):
        bind.binding_energy(-1.0, [-1.0])


def test_counterpoise_case():
    # own-basis fragment energies are higher than with the partner's ghost basis
    e = {"ab": -100.0, "a": -40.0, "b": -50.0}
    entry = bind.compute(
        "ab", "ab", ["a", "b"], e, -8.35, cp_own_ev=[-40.1, -49.9], cp_ghost_ev=[-40.3, -50.0]
    )
    assert entry.e_bind_raw_ev == pytest.approx(-10.0)
    assert entry.bsse_ev == pytest.approx(0.2 + 0.1)
    assert entry.e_bind_ev == pytest.approx(-9.7)  # less bound after the correction
    assert entry.counterpoise


def test_counterpoise_structures_keep_fragment_charges():
    li = build_molecule("Li+")
    fsi = build_molecule("FSI-", "C2")
    pair = build_ion_pair("Li+", "FSI-", "C2")  # anion atoms first, then Li
    idx = bind.fragment_indices(pair, [li, fsi])
    assert list(idx[0]) == [len(fsi)] and list(idx[1]) == list(range(len(fsi)))
    (li_own, li_ghost), (fsi_own, fsi_ghost) = bind.counterpoise_structures(pair, [li, fsi])
    assert li_own.info["charge"] == 1 and li_ghost.info["charge"] == 1
    assert fsi_own.info["charge"] == -1 and fsi_ghost.info["charge"] == -1
    assert len(li_own) == 1 and len(li_ghost) == len(pair)
    assert li_ghost.arrays["ghost"].sum() == len(fsi)  # the partner is ghost, Li is real
    assert not li_ghost.arrays["ghost"][len(fsi)]
    np.testing.assert_allclose(li_own.positions, pair.positions[[len(fsi)]])


def test_fragment_mapping_error_is_clear():
    with pytest.raises(AtomisticsError, match="fragments"):
        bind.fragment_indices(Atoms("H2O"), [Atoms("H"), Atoms("O")])


def test_table_and_plot(tmp_path):
    entry = bind.compute("li_fsi", "c", ["a", "b"], {"c": -3.0, "a": -1.0, "b": -1.0}, -8.35)
    table = bind.format_table([entry], engine="xtb")
    assert "-1.000" in table and "-8.35" in table and "8.35" in table and "paper" in table
    for ext in ("png", "svg"):
        path = bind.plot([entry], tmp_path / f"be.{ext}")
        assert path.stat().st_size > 1000
