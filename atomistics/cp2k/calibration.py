"""Measured CP2K runs of the real slab, and the fit of the memory model's matrix terms.

The grid part of :mod:`atomistics.cp2k.resources` was calibrated on small ions (its
docstring). A slab adds what the grids do not see, measured here on the 81-atom LiMMT 2×1
bare slab (``limmt_exref`` of workflows/limmt_exchange_2x1.yaml), CP2K 2023.1 (Debian),
one MPI rank, one thread, peak resident size (``benchmarks/cp2k_slab/resources.jsonl``,
written by ``benchmarks/cp2k_slab/measure_resources.py``):

* sparse (DBCSR) matrices: ``8·c_sparse·S`` bytes, S the matrix elements of one sparse
  matrix with its periodic images (:func:`~atomistics.cp2k.resources.basis_pairs`);
* diagonalisation: Broyden mixing keeps ``2·NBROYDEN`` complex densities on the finest
  G-space grid (``32·NBROYDEN·N_0`` bytes, CP2K ``qs_mixing``/``qs_gspace_mixing``: the
  G-space Broyden history), plus ``8·c_diag·N_b²`` for the dense eigenvector and work
  matrices;
* k-points: ``16·c_k·N_b²`` bytes per irreducible k-point (complex dense matrices).

:func:`fit_slab_memory` fits ``c_sparse``, ``c_diag`` and ``c_k`` (non-negative least
squares on the relative error) to :data:`SLAB_RUNS`; the constants in ``resources`` are
its result, and ``tests/test_cp2k_slab_calibration.py`` refits them and checks that
the queue request covers every measured peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlabRun:
    """One measured CP2K single point of the slab and the features the model uses."""

    case: str
    scf_method: str  # OT | DIAG
    n_kpoints: int  # irreducible k-points (1 at Γ)
    n_fine: int  # grid points of all multigrid levels
    n_finest: int  # points of the finest grid (the G-space mixing works on it)
    basis_pairs: float  # S: elements of one sparse matrix, periodic images included
    n_basis: int  # spherical basis functions
    nbroyden: int
    peak_gb: float  # measured peak resident size, one rank
    source: str


#: LiMMT 2×1 bare slab (81 atoms), single point, Γ or 3×3×1 Monkhorst–Pack (5 irreducible
#: k-points). quick: DZVP-MOLOPT, 120/20 Ry, EPS_DEFAULT 1e-10; paper: TZVP-MOLOPT,
#: 600/60 Ry, EPS_DEFAULT 1e-12.
SLAB_RUNS: tuple[SlabRun, ...] = (
    SlabRun("quick-gamma", "OT", 1, 968_400, 777_600, 3.0961e6, 978, 8, 0.489, "measure_resources.py"),
    SlabRun("quick-k331", "DIAG", 5, 968_400, 777_600, 3.0961e6, 978, 8, 2.446, "measure_resources.py"),
    SlabRun("paper-gamma", "OT", 1, 10_864_050, 8_748_000, 1.6993e7, 1272, 8, 2.922, "measure_resources.py (VmHWM)"),
    SlabRun("paper-gamma-diag", "DIAG", 1, 10_864_050, 8_748_000, 1.6993e7, 1272, 8, 5.64, "measured: 2x1 slab, 1 rank"),
    SlabRun("paper-k331", "DIAG", 5, 10_864_050, 8_748_000, 1.6993e7, 1272, 8, 8.82, "measured: 2x1 slab, 1 rank"),
)  # fmt: skip


def matrix_features(run: SlabRun) -> np.ndarray:
    """Bytes per unit of (c_sparse, c_diag, c_k) for one run (one rank)."""
    diag = run.scf_method == "DIAG"
    return np.array(
        [
            8.0 * run.basis_pairs,
            8.0 * run.n_basis**2 if diag else 0.0,
            16.0 * run.n_basis**2 * run.n_kpoints if run.n_kpoints > 1 else 0.0,
        ]
    )


def broyden_bytes(run: SlabRun) -> float:
    return 32.0 * run.nbroyden * run.n_finest if run.scf_method == "DIAG" else 0.0


def fit_slab_memory(runs=SLAB_RUNS, grid_bytes=None) -> tuple[np.ndarray, float]:
    """(c_sparse, c_diag, c_k) and the largest relative error of the fitted model.

    ``grid_bytes(run)``: the grid part of the model for a run (default: the resources
    module's, one rank). Non-negative least squares on (model − measured)/measured.
    """
    from scipy.optimize import nnls

    if grid_bytes is None:
        from atomistics.cp2k.resources import grid_memory_bytes

        def grid_bytes(run):
            return grid_memory_bytes(run.n_fine, 0, 1, wavelet=False)

    rows, rhs = [], []
    for run in runs:
        measured = run.peak_gb * 1e9
        rows.append(matrix_features(run) / measured)
        rhs.append(1.0 - (grid_bytes(run) + broyden_bytes(run)) / measured)
    coef, _ = nnls(np.array(rows), np.array(rhs))
    errors = [
        (grid_bytes(r) + broyden_bytes(r) + matrix_features(r) @ coef) / (r.peak_gb * 1e9) - 1
        for r in runs
    ]
    return coef, float(max(abs(e) for e in errors))
