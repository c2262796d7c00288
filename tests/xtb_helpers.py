"""Shared helpers of the xtb engine tests (vacuum convergence, solvation)."""

from pathlib import Path


def engine_energy(engine, atoms, tmp_path: Path, tag: str) -> float:
    """One single point through the engine's own write/execute/read cycle (eV)."""
    d = tmp_path / tag
    d.mkdir()
    settings = engine.settings(atoms, "single_point")
    engine.write_inputs(d, atoms, "single_point", settings)
    engine.execute(d)
    return engine.read_result(d).energy_ev
