"""The bond check that flags a relaxation which changed the species (e.g. S–F cleavage of FSI⁻)."""

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from atomistics.engines.ase_engine import ASECalculatorEngine
from atomistics.engines.relaxation import covalent_indices
from atomistics.execution.record import CalcResult
from atomistics.reactions import assemble
from atomistics.structures.checks import bond_changes
from atomistics.structures.molecules import build_ion_pair, build_molecule
from atomistics.study import ReactionSpec


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
    idx = covalent_indices(pair)
    assert "Li" not in {pair.get_chemical_symbols()[i] for i in idx}
    assert len(idx) == len(pair) - 1
    i_li = pair.get_chemical_symbols().index("Li")
    moved = pair.copy()
    moved.positions[i_li] += [0.0, 0.0, 3.0]  # Li⁺ leaves its O,O site: no bond of FSI⁻ changes
    assert bond_changes(pair, moved, idx) == []


class _PullApart(Calculator):
    """E = k (d − d₀)² on the first two atoms: a relaxation that breaks their bond."""

    implemented_properties = ("energy", "forces")

    def __init__(self, d0: float = 2.6, k: float = 2.0):
        super().__init__()
        self.d0, self.k = d0, k

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        v = self.atoms.positions[1] - self.atoms.positions[0]
        d = float(np.linalg.norm(v))
        forces = np.zeros((len(self.atoms), 3))
        g = 2 * self.k * (d - self.d0) * v / d  # dE/dr1
        forces[0], forces[1] = g, -g
        self.results = {"energy": self.k * (d - self.d0) ** 2, "forces": forces}


def test_a_relaxation_that_breaks_a_bond_is_not_converged_and_flagged_in_the_reaction(tmp_path):
    engine = ASECalculatorEngine("toy", lambda atoms, settings: _PullApart(), "toy 1")
    sf = Atoms("SF", positions=[[0, 0, 0], [0, 0, 1.64]])
    sf.info.update(charge=0, spin_multiplicity=2)
    d = tmp_path / "relax"
    d.mkdir()
    engine.write_inputs(d, sf, "relax", engine.settings(sf, "relax"))
    engine.execute(d)
    out = engine.read_result(d)
    assert out.geo_converged is False  # fmax was reached, the species was not kept
    assert any("S0–F1" in w and "(broken)" in w for w in out.warnings)

    spec = ReactionSpec(reactants={"s": 1, "f": 1}, products={"sf": 1})
    base = dict(
        study="t", stage="single_point", engine="toy", engine_version="1", protocol="toy",
        forces=None, scf_converged=True, n_steps=0, wall_time_s=None, warnings=[],
        timings={}, settings={}, metadata={},
    )  # fmt: skip
    results = {
        "sf": CalcResult(calc_hash="a", name="sf", energy_ev=-1.0, atoms=sf, geo_converged=False,
                         fmax_ev_a=0.01, fmax_target_ev_a=0.05, **base),
        "s": CalcResult(calc_hash="b", name="s", energy_ev=0.0, atoms=Atoms("S"), geo_converged=True, **base),
        "f": CalcResult(calc_hash="c", name="f", energy_ev=0.0, atoms=Atoms("F"), geo_converged=True, **base),
    }  # fmt: skip
    entry = assemble("toy", spec, results)
    assert not entry.converged
    assert entry.unconverged == [
        "sf:single_point (geometry rejected: the relaxation changed the species' bonding)"
    ]
