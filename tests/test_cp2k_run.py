"""Real CP2K runs of generated inputs (quick preset, tiny systems, seconds each).

Each energy is compared with a reference input written independently here, from an explicit
CP2K section tree with the same settings, rendered by cp2k-input-tools and run the same way.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from atomistics.cp2k import find_cp2k_command, find_cp2k_data_dir, write_cp2k_input
from atomistics.structures.molecules import build_molecule

COMMAND = find_cp2k_command(required=False)
pytestmark = [
    pytest.mark.cp2k,
    pytest.mark.skipif(COMMAND is None, reason="no cp2k binary found (set CP2K_COMMAND)"),
]
ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy \[a\.u\.\]:\s+(\S+)")


def run_cp2k(inp: Path) -> tuple[float, str, float]:
    out = inp.with_suffix(".out")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [*COMMAND, "-i", inp.name, "-o", out.name],
        cwd=inp.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.perf_counter() - start
    text = out.read_text() if out.exists() else ""
    assert proc.returncode == 0, (proc.stdout + proc.stderr + text)[-3000:]
    assert "PROGRAM ENDED AT" in text
    assert "SCF run converged" in text and "SCF run NOT converged" not in text
    return float(ENERGY.findall(text)[-1]), text, seconds


def reference_input(
    path: Path,
    atoms: Atoms,
    cell: list[float],
    periodic: str,
    solver: str,
    charge: int,
    basis: str,
    kpoints: list[int] | None,
) -> Path:
    """The quick preset written out by hand as a section tree (not through atomistics.cp2k)."""
    from cp2k_input_tools.generator import CP2KInputGenerator

    lengths = np.array(cell)
    pos = atoms.get_positions()
    if periodic == "NONE":
        pos = pos - (pos.min(0) + pos.max(0)) / 2 + lengths / 2
    symbols = atoms.get_chemical_symbols()
    potentials = {"H": "GTH-PBE-q1", "O": "GTH-PBE-q6", "Li": "GTH-PBE-q3"}
    scf = {"scf_guess": "ATOMIC", "eps_scf": 1e-6}
    if kpoints:
        scf.update(
            {
                "max_scf": 1000,
                "added_mos": 1 if len(atoms) == 2 else 10,
                "+diagonalization": {"_": True, "algorithm": "STANDARD"},
                "+mixing": {"_": True, "method": "BROYDEN_MIXING", "alpha": 0.2, "nbroyden": 8},
                "+smear": {"_": True, "method": "FERMI_DIRAC", "electronic_temperature": 300.0},
            }
        )
    else:
        scf.update(
            {
                "max_scf": 50,
                "+ot": {"minimizer": "DIIS", "preconditioner": "FULL_SINGLE_INVERSE"},
                "+outer_scf": {"eps_scf": 1e-6, "max_scf": 20},
            }
        )
    dft = {
        "basis_set_file_name": "BASIS_MOLOPT",
        "potential_file_name": "GTH_POTENTIALS",
        "charge": charge,
        "+mgrid": {"cutoff": 120, "rel_cutoff": 20, "ngrids": 4},
        "+qs": {"eps_default": 1e-10},
        "+poisson": {"periodic": periodic, "psolver": solver},
        "+scf": scf,
        "+xc": {
            "+xc_functional": {"_": "PBE"},
            "+vdw_potential": {
                "potential_type": "PAIR_POTENTIAL",
                "+pair_potential": {
                    "type": "DFTD3",
                    "parameter_file_name": "dftd3.dat",
                    "reference_functional": "PBE",
                },
            },
        },
    }
    if kpoints:
        dft["+kpoints"] = {"scheme": ["MONKHORST-PACK", *map(str, kpoints)]}
    tree = {
        "+global": {"project": "ref", "run_type": "ENERGY"},
        "+force_eval": {
            "method": "QUICKSTEP",
            "+dft": dft,
            "+subsys": {
                "+cell": {"abc": [str(x) for x in cell], "periodic": periodic},
                "+coord": {
                    "*": [
                        f"{s} {x:.10f} {y:.10f} {z:.10f}"
                        for s, (x, y, z) in zip(symbols, pos, strict=True)
                    ]
                },
                "+kind": [
                    {"_": el, "basis_set": basis, "potential": potentials[el]}
                    for el in sorted(set(symbols))
                ],
            },
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(CP2KInputGenerator().line_iter(tree)) + "\n")
    return path


def _compare(tmp_path: Path, atoms: Atoms, charge: int, basis: str, kpoints=None):
    inp, meta = write_cp2k_input(atoms, "single_point", tmp_path / "ours", "quick", project="sp")
    s = meta["settings"]
    assert s["basis_per_element"] == dict.fromkeys(s["basis_per_element"], basis)
    cell = [row[i] for i, row in enumerate(s["cell"])]
    ref = reference_input(
        tmp_path / "ref" / "ref.inp",
        atoms,
        cell,
        s["periodic"],
        s["poisson_solver"],
        charge,
        basis,
        kpoints,
    )
    e_ours, text, t_ours = run_cp2k(inp)
    e_ref, _, t_ref = run_cp2k(ref)
    print(
        f"{atoms.get_chemical_formula()}: E = {e_ours:.8f} Ha (reference {e_ref:.8f}); "
        f"CP2K {t_ours:.1f} s + {t_ref:.1f} s"
    )
    assert abs(e_ours - e_ref) < 1e-6
    assert (inp.parent / meta["files"]["wavefunction_restart"]).is_file()
    return e_ours, text, inp, meta


def test_charged_isolated_ion_li_plus(tmp_path):
    li = build_molecule("Li+")
    e, text, inp, meta = _compare(tmp_path, li, +1, "DZVP-MOLOPT-SR-GTH")
    assert meta["settings"]["charge"] == 1 and meta["settings"]["poisson_solver"] == "WAVELET"
    assert re.search(r"^\s*CHARGE 1$", inp.read_text(), re.M)  # what we wrote ...
    assert re.search(r"Number of electrons:\s+2$", text, re.M)  # ... and what CP2K used
    # pymatgen's parser (used by the run step) reads the output at PRINT_LEVEL MEDIUM
    from pymatgen.io.cp2k.outputs import Cp2kOutput

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Cp2kOutput(str(inp.with_suffix(".out")), auto_load=True)
    assert out.completed
    assert abs(out.final_energy - e * 27.211386245988) < 1e-3  # pymatgen reports eV


def test_neutral_isolated_molecule_h2(tmp_path):
    _compare(tmp_path, molecule("H2"), 0, "DZVP-MOLOPT-SR-GTH")


def test_periodic_slab_with_kpoint_mesh(tmp_path):
    a = 2.9
    slab = Atoms(
        "LiH", positions=[[0, 0, 5], [a / 2, a / 2, 5]], cell=[a, a, 12.0], pbc=(True, True, False)
    )
    slab.info["name"] = "lih_slab"
    e, text, inp, meta = _compare(tmp_path, slab, 0, "DZVP-MOLOPT-SR-GTH", kpoints=[3, 3, 1])
    assert meta["settings"]["kpoints"] == [3, 3, 1] and meta["settings"]["scf_method"] == "DIAG"
    assert re.search(r"BRILLOUIN\| K-Point grid\s+3\s+3\s+1", text)


def test_relax_writes_trajectory_and_restart(tmp_path):
    h2 = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.80]])
    inp, meta = write_cp2k_input(h2, "relax", tmp_path, "quick", project="relax")
    _, text, seconds = run_cp2k(inp)
    print(f"H2 relax: CP2K {seconds:.1f} s")
    assert (
        "GEOMETRY OPTIMIZATION COMPLETED" in text or "MAXIMUM NUMBER OF OPTIMIZATION STEPS" in text
    )
    for key in ("restart", "trajectory", "wavefunction_restart"):
        assert (tmp_path / meta["files"][key]).is_file(), key
    from ase.io import read

    final = read(tmp_path / meta["files"]["trajectory"], index=-1)
    assert 0.70 < final.get_distance(0, 1) < 0.80  # stretched from 0.80 towards ~0.75 Å
    assert find_cp2k_data_dir() is not None
