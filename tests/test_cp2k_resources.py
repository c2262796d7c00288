"""Memory/wall-time estimate of a CP2K job (grids from CP2K's own rules), its refusal of jobs
that do not fit a node, and the cheaper WAVELET Poisson setup checked against MT with real
CP2K."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from atomistics.cp2k import resolve_settings, write_cp2k_input
from atomistics.cp2k.resources import (
    estimate_resources,
    grid_points,
    mpi_ranks,
    multigrid,
    parse_memory,
)
from atomistics.errors import AtomisticsError
from atomistics.structures.molecules import build_molecule

DATA = Path(__file__).parent / "data" / "outputs"
ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy \[a\.u\.\]:\s+(\S+)")


def _printed_grids(out: Path) -> list[int]:
    """Points along a of every PW grid CP2K printed (first listing)."""
    text = out.read_text()
    first = text.split("RS_GRID|", 1)[0]
    return [
        int(n) for n in re.findall(r"PW_GRID\|\s+Bounds\s+1\s+\S+\s+\S+\s+Points:\s+(\d+)", first)
    ]


def test_grids_reproduce_what_cp2k_printed():
    # Li⁺, quick preset, MT, 12 Å cube, CUTOFF 120, NGRIDS 4 (real CP2K 2023.1 output)
    cell = np.eye(3) * 12.0
    printed = _printed_grids(DATA / "li_single_point.out")
    ours = [grid_points(cell, 2 * 120.0)[0]] + [g[0] for g in multigrid(cell, 120.0, 4)]
    assert ours == printed == [120, 80, 45, 27, 15]
    # H2O, WAVELET (no MT grid), 10 Å cube, CUTOFF 120
    printed = _printed_grids(DATA / "h2o_geo_first_scf_unconverged.out")
    assert [g[0] for g in multigrid(np.eye(3) * 10.0, 120.0, 4)] == printed
    # the paper preset's former FSI⁻ MT box (24.5 Å) at 600 Ry: the 512³ grid that did not fit
    assert grid_points(np.eye(3) * 24.5, 2 * 600.0) == [512, 512, 512]


# Peak resident size per rank (GB) of real CP2K 2023.1 runs on this machine
# (/usr/bin/time -v, OMP_NUM_THREADS=1; Li⁺, quick preset, single point, overrides below).
MEASURED = [
    # (box Å, cutoff Ry, solver, ranks, GB per rank)
    (12.0, 120.0, "MT", 1, 0.369),
    (12.0, 240.0, "MT", 1, 0.823),
    (18.0, 120.0, "MT", 1, 0.933),
    (12.0, 240.0, "WAVELET", 1, 0.640),
    (12.0, 240.0, "MT", 2, 0.686),
    (18.0, 120.0, "MT", 2, 0.794),
]


def _li_settings(box: float, cutoff: float, solver: str, protocol: str = "quick"):
    overrides = {"box": box, "cutoff": cutoff, "poisson_solver": solver}
    return resolve_settings(build_molecule("Li+"), "single_point", protocol, overrides)


@pytest.mark.parametrize("box,cutoff,solver,ranks,measured", MEASURED)
def test_memory_model_reproduces_measured_runs(box, cutoff, solver, ranks, measured):
    est = estimate_resources(_li_settings(box, cutoff, solver), ["Li"], ranks)
    assert est.memory_per_rank_gb == pytest.approx(measured, rel=0.2)


def test_memory_model_against_the_paper_preset_runs_that_were_stopped():
    """Measured facts (shared reference): paper preset, 600 Ry, two ranks, MT. Li⁺ in its
    14 Å box peaked at 3.4 GB per rank; FSI⁻ in a 24.5 Å box passed 20 GB (both ranks)
    before its first SCF step and was stopped."""
    li = estimate_resources(_li_settings(14.0, 600.0, "MT", "paper"), ["Li"], 2)
    assert li.poisson_grid == [300, 300, 300]
    assert li.memory_per_rank_gb == pytest.approx(3.4, rel=0.25)
    fsi = build_molecule("FSI-")
    s = resolve_settings(fsi, "single_point", "paper", {"poisson_solver": "MT", "box": 24.5})
    est = estimate_resources(s, fsi.get_chemical_symbols(), 2)
    assert est.poisson_grid == [512, 512, 512] and est.memory_total_gb > 20
    # the paper preset's default (WAVELET, box enclosing the density) fits a 24 GB node
    w = resolve_settings(fsi, "single_point", "paper")
    small = estimate_resources(w, fsi.get_chemical_symbols(), 2)
    assert w.poisson_solver == "WAVELET" and small.memory_total_gb < 0.25 * est.memory_total_gb
    assert small.memory_total_gb < 24 and small.wall_time_s < est.wall_time_s


def test_memory_amounts_and_ranks():
    assert parse_memory("24GB") == pytest.approx(24.0)
    assert parse_memory("24 GiB") == pytest.approx(24 * 1.073741824)
    assert parse_memory("512 MB") == pytest.approx(0.512)
    assert parse_memory(96) == 96.0
    for bad in ("lots", "24 K", "-3GB", float("nan"), "inf GB", True):
        with pytest.raises(AtomisticsError, match="node memory"):
            parse_memory(bad)
    assert mpi_ranks(["mpirun", "-np", "8", "cp2k.psmp"]) == 8
    assert mpi_ranks(["srun", "--ntasks=4", "cp2k.psmp"]) == 4
    assert mpi_ranks(["cp2k.psmp"]) == 1


def test_job_that_does_not_fit_is_refused_before_writing(tmp_path):
    fsi = build_molecule("FSI-")
    mt = {"poisson_solver": "MT", "box": 24.5}
    with pytest.raises(AtomisticsError) as exc:
        write_cp2k_input(fsi, "single_point", tmp_path, "paper", mt, node_memory="24GB", ranks=2)
    msg = str(exc.value)
    assert "needs about" in msg and "node has 24 GB" in msg and "WAVELET" in msg
    assert "512×512×512" in msg and not list(tmp_path.iterdir())
    # the same limit given as a study/protocol key (calculation.overrides.node_memory)
    with pytest.raises(AtomisticsError, match="node has 24 GB"):
        write_cp2k_input(
            fsi, "single_point", tmp_path, "paper", {**mt, "node_memory": "24GB", "mpi_ranks": 2}
        )
    path, meta = write_cp2k_input(
        fsi, "single_point", tmp_path, "paper", node_memory="24GB", ranks=2, validate=False
    )
    res = meta["resources"]
    assert res["node_memory_gb"] == 24.0 and res["poisson_solver"] == "WAVELET"
    assert 0 < res["memory_total_gb"] < 24 and res["wall_time_s"] > 0
    assert "PSOLVER WAVELET" in path.read_text()


STUDY = """
name: memtest
engine: cp2k
calculation:
  protocol: paper
  overrides: {poisson_solver: MT, box: 24.5, node_memory: 24GB, mpi_ranks: 2}
systems:
  fsi: {kind: molecule, species: FSI-}
"""


def test_cli_inputs_estimate_refusal_and_overwrite(run_cli, tmp_path, study_file):
    rc, out, err = run_cli(
        "inputs", str(study_file), "-o", "out", "--system", "li", "--node-memory", "24GB"
    )
    assert rc == 0, err
    assert re.search(
        r"relax: estimated ~[\d.]+ GB, at most [\d.]+ GB \(± 10%; 1 rank, [\d.]+ GB each\), ~.*"
        r"\(within ×3\)",
        out,
    )
    record = json.loads((tmp_path / "out" / "li" / "calculation.json").read_text())
    res = record["stages"]["single_point"]["resources"]
    assert res["node_memory_gb"] == 24.0 and res["grids"][0] == [135, 135, 135]
    # the same command again: identical content is rewritten silently
    rc, _, err = run_cli("inputs", str(study_file), "-o", "out", "--system", "li")
    assert rc == 0, err
    # a hand-edited input is not overwritten without --force
    inp = tmp_path / "out" / "li" / "relax.inp"
    inp.write_text(inp.read_text().replace("MAX_SCF 50", "MAX_SCF 80"))
    rc, _, err = run_cli("inputs", str(study_file), "-o", "out", "--system", "li")
    assert rc == 2 and "relax.inp exists and differs" in err and "--force" in err
    assert "Traceback" not in err and "MAX_SCF 80" in inp.read_text()
    rc, _, err = run_cli("inputs", str(study_file), "-o", "out", "--system", "li", "--force")
    assert rc == 0, err
    assert "MAX_SCF 80" not in inp.read_text()
    # -o pointing at an existing file
    (tmp_path / "afile").write_text("x")
    rc, _, err = run_cli("inputs", str(study_file), "-o", "afile", "--system", "li")
    assert rc == 2 and "is an existing file" in err and len(err.strip().splitlines()) == 1
    # a study whose job cannot fit the node it declares
    (tmp_path / "mem.yaml").write_text(STUDY)
    rc, _, err = run_cli("inputs", "mem.yaml", "-o", "mem")
    assert rc == 2 and "node has 24 GB" in err and "Traceback" not in err
    assert not (tmp_path / "mem" / "fsi" / "relax.inp").exists()
    rc, _, err = run_cli("inputs", "mem.yaml", "-o", "mem", "--node-memory", "a lot")
    assert rc == 2 and "not an amount of memory" in err


def test_cli_validate_refuses_binary_and_empty_files(run_cli, tmp_path):
    (tmp_path / "bin.inp").write_bytes(bytes(range(256)) * 4)
    rc, _, err = run_cli("validate", "bin.inp")
    assert rc == 2 and "binary" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    (tmp_path / "empty.inp").write_text("\n  \n")
    rc, out, err = run_cli("validate", "empty.inp")
    assert rc == 2 and "empty" in err and "valid (" not in out


def test_non_finite_coordinates_are_refused(tmp_path):
    atoms = Atoms("N", positions=[[np.nan, 0, 0]])
    atoms.info.update(name="n_nan", charge=0, spin_multiplicity=4)
    with pytest.raises(AtomisticsError, match="non-finite"):
        write_cp2k_input(atoms, "relax", tmp_path, "quick")
    assert not list(tmp_path.iterdir())


def _run(directory: Path, command: list[str]) -> tuple[float, float | None]:
    """Run CP2K; (energy in eV, peak resident GB when /usr/bin/time is there)."""
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    prefix = [timer, "-v"] if timer else []
    proc = subprocess.run(
        [*prefix, *command, "-i", "sp.inp", "-o", "sp.out"],
        cwd=directory,
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=300,
        check=False,
    )
    text = (directory / "sp.out").read_text()
    assert proc.returncode == 0 and "PROGRAM ENDED AT" in text, proc.stderr[-2000:]
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return float(ENERGY.findall(text)[-1]) * 27.211386245988, (
        int(peak.group(1)) / 1e6 if peak else None
    )


@pytest.mark.cp2k
def test_estimate_matches_a_live_cp2k_run(tmp_path):
    from conftest import cp2k_command

    li = build_molecule("Li+")
    over = {"poisson_solver": "MT", "box": 12.0}
    path, meta = write_cp2k_input(li, "single_point", tmp_path, "quick", over, project="sp")
    _, peak = _run(tmp_path, cp2k_command())
    if peak is None:
        pytest.skip("no /usr/bin/time to measure the peak memory")
    print(f"Li+ quick MT 12 Å: peak {peak:.3f} GB, estimate {meta['resources']}")
    assert meta["resources"]["memory_per_rank_gb"] == pytest.approx(peak, rel=0.3)


@pytest.mark.cp2k
@pytest.mark.slow  # two CP2K runs at 300 Ry: ~45 s on 2 busy cores
def test_wavelet_in_a_small_box_gives_the_mt_energy(tmp_path):
    """F⁻ (a charged ion), PBE, DZVP-MOLOPT-SR, 300 Ry, one grid level: MT in the box its rule
    needs (12 Å = 2 × the density's extent) against WAVELET in a 7.776 Å box that only
    encloses the density (a 3.7× smaller volume). Both boxes have the same grid spacing
    (125 and 81 points: 0.096 Å) and the ion on a grid point, so what differs is the
    Poisson solver and the box: the energies agree to 1 meV. (At 120 Ry the two solvers
    differ by 0.24 eV for F⁻: MT interpolates the density to its grid at twice the cutoff,
    and a density that 120 Ry does not resolve is not the same there. Converge the cutoff
    first.)"""
    from conftest import cp2k_command

    f = Atoms("F", positions=[[0, 0, 0]])
    f.info.update(name="F-", charge=-1, spin_multiplicity=1)
    common = {"cutoff": 300.0, "ngrids": 1}
    energies, cells = {}, {}
    for solver, box in (("MT", 12.0), ("WAVELET", 7.776)):
        d = tmp_path / solver
        _, meta = write_cp2k_input(
            f,
            "single_point",
            d,
            "quick",
            {**common, "poisson_solver": solver, "box": box},
            project="sp",
        )
        cells[solver] = meta["resources"]["grids"][0][0]
        energies[solver], _ = _run(d, cp2k_command())
    assert cells == {"MT": 125, "WAVELET": 81}  # 12/125 = 7.776/81 = 0.096 Å
    print(f"F-: MT {energies['MT']:.5f} eV, WAVELET {energies['WAVELET']:.5f} eV")
    assert abs(energies["MT"] - energies["WAVELET"]) < 1e-3


@pytest.mark.cp2k
def test_engine_estimates_for_the_ranks_it_launches(tmp_path):
    """Cp2kEngine.write_inputs: the estimate is for its own command's -np, not CP2K_COMMAND's;
    a study's overrides.mpi_ranks still wins."""
    from atomistics.cp2k.locate import find_cp2k_command
    from atomistics.engines.cp2k import Cp2kEngine

    li = Atoms("Li", positions=[[0, 0, 0]], info={"charge": 1, "name": "li"})
    exe = find_cp2k_command()[-1]
    per_run = {}
    for ranks, overrides in ((3, {}), (3, {"mpi_ranks": 2})):
        engine = Cp2kEngine("quick", overrides, command=["mpirun", "-np", str(ranks), exe])
        settings = engine.settings(li, "single_point")
        meta = engine.write_inputs(tmp_path / f"{ranks}{overrides}", li, "single_point", settings)
        per_run[overrides.get("mpi_ranks", ranks)] = meta["resources"]
    assert per_run[3]["ranks"] == 3 and per_run[2]["ranks"] == 2
    expected = estimate_resources(settings, ["Li"], 3)
    assert per_run[3]["memory_total_gb"] == expected.memory_total_gb
    assert per_run[3]["memory_total_gb"] > per_run[2]["memory_total_gb"]
