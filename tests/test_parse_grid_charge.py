"""Energies not converged in the cutoff are flagged: the density grid's missing electrons.

Fixtures: the real CP2K 2023.1 single points of the 2×1 exchange reaction at the quick
preset's 120/20 Ry on the GFN1-xTB geometries (`atomistics run
workflows/limmt_exchange_2x1_pbe.yaml` with quick's own cutoff), whose exchange energy came
out at +61 eV: the slabs' density grids miss 0.025 and 0.015 electrons.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from ase.units import Hartree

from atomistics.execution import why_unconverged
from atomistics.parse.cp2k import CUTOFF_WARNING, GRID_CHARGE_TOLERANCE, parse_cp2k_output

DATA = Path(__file__).parent / "data" / "outputs"


def _parse(tmp_path: Path, path: Path):
    shutil.copy(path, tmp_path / "cp2k.out")
    shutil.copy(path.with_suffix(".inp"), tmp_path / "cp2k.inp")
    return parse_cp2k_output(tmp_path)


def _last_grid_error(path: Path) -> float:
    lines = [x for x in path.read_text().splitlines() if "Electronic density on regular grids" in x]
    return abs(float(lines[-1].split()[-1]))


def _energy_ev(path: Path) -> float:
    line = [x for x in path.read_text().splitlines() if "Total FORCE_EVAL ( QS ) energy" in x][-1]
    return float(line.split()[-1]) * Hartree


@pytest.mark.parametrize(
    "name, flagged", [("limmt_lifsi", True), ("limmt_exref", True), ("li_fsi_exref", False)]
)
def test_grid_charge_of_the_120_ry_slab_runs(tmp_path, name, flagged):
    path = DATA / "limmt_exchange_120ry" / f"{name}.out"
    parsed = _parse(tmp_path, path)
    assert parsed.scf_converged and parsed.completed  # the SCF itself converged
    assert parsed.grid_charge_error == pytest.approx(_last_grid_error(path))
    assert (parsed.grid_charge_error > GRID_CHARGE_TOLERANCE) is flagged
    assert any(w.startswith(CUTOFF_WARNING) for w in parsed.warnings) is flagged
    result = SimpleNamespace(
        name=name, stage="single_point", scf_converged=True, warnings=parsed.warnings,
        geo_converged=None, fmax_ev_a=None, fmax_target_ev_a=None, geo_steps=None,
    )  # fmt: skip
    why = why_unconverged(result)
    assert (why is not None and "cutoff" in why) is flagged


def test_the_exchange_energy_they_give_is_the_absurd_one():
    """ΔE = E(product) − E(slab) − E(pair) from the printed totals: +61 eV."""
    e = {
        n: _energy_ev(DATA / "limmt_exchange_120ry" / f"{n}.out")
        for n in ("limmt_lifsi", "limmt_exref", "li_fsi_exref")
    }
    assert e["limmt_lifsi"] - e["limmt_exref"] - e["li_fsi_exref"] == pytest.approx(61.06, abs=0.01)


def test_an_adequate_cutoff_is_not_flagged(tmp_path):
    parsed = _parse(tmp_path, DATA / "li_single_point.out")
    assert parsed.grid_charge_error is not None and parsed.grid_charge_error < 1e-3
    assert not any(w.startswith(CUTOFF_WARNING) for w in parsed.warnings)


def test_the_400_ry_slab_runs_pass_and_give_the_exchange_energy(tmp_path):
    """The same three single points at 400/40 Ry (workflows/limmt_exchange_2x1_pbe.yaml):
    every density grid within 2e-4 electrons, ΔE_exch = −0.683 eV (PBE-D3 // GFN1-xTB)."""
    energies = {}
    for name in ("limmt_lifsi", "limmt_exref", "li_fsi_exref"):
        path = DATA / "limmt_exchange_400ry" / f"{name}.out"
        folder = tmp_path / name
        folder.mkdir()
        parsed = _parse(folder, path)
        assert parsed.scf_converged and parsed.grid_charge_error < 2e-4
        assert not any(w.startswith(CUTOFF_WARNING) for w in parsed.warnings)
        assert parsed.energy_ev == pytest.approx(_energy_ev(path), abs=1e-9)
        energies[name] = parsed.energy_ev
    delta = energies["limmt_lifsi"] - energies["limmt_exref"] - energies["li_fsi_exref"]
    assert delta == pytest.approx(-0.683, abs=5e-4)
