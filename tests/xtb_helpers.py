"""Shared helpers of the xtb engine tests (vacuum convergence, solvation)."""

from pathlib import Path

from ase.build import bulk, surface


def engine_energy(engine, atoms, tmp_path: Path, tag: str) -> float:
    """One single point through the engine's own write/execute/read cycle (eV)."""
    d = tmp_path / tag
    d.mkdir()
    settings = engine.settings(atoms, "single_point")
    engine.write_inputs(d, atoms, "single_point", settings)
    engine.execute(d)
    return engine.read_result(d).energy_ev


def nacl_bilayer():
    """Non-polar NaCl(001) bilayer, 16 atoms (5.64 × 5.64 Å cell): no dipole, neutral."""
    s = surface(bulk("NaCl", "rocksalt", a=5.64, cubic=True), (0, 0, 1), 2, vacuum=5)
    s.pbc = (True, True, False)
    s.info.update(charge=0, spin_multiplicity=1)
    return s
