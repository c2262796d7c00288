"""Calculation protocols ("paper", "quick"), user overrides, and the fully resolved settings.

The paper's protocol (methods section):

* stage ``relax``: GEO_OPT, PBE + Grimme D3 (DFTD3 pair potential, ``dftd3.dat``), GTH-PBE
  pseudopotentials, DZVP-MOLOPT-SR-GTH, 600 Ry cutoff (REL_CUTOFF 60), Γ point;
* stage ``single_point``: ENERGY on the relaxed geometry with a TZVP-class basis, 3×3×1
  Monkhorst–Pack k-points for slabs and Γ (isolated) for molecules and ions.

What the text cannot do literally and how it is solved here:

* TZVP-MOLOPT-GTH does not exist for Li, Mg, Al (nor Na, Ca) in BASIS_MOLOPT: each element
  is resolved through a preference list of basis families (:mod:`atomistics.cp2k.basis`).
* OT cannot be used with k-points (CP2K aborts): Γ-only stages use OT, k-point stages use
  diagonalisation with Broyden mixing, Fermi–Dirac smearing and added MOs.
* Charge, spin and periodicity are derived from the structure and checked (see
  :func:`resolve_settings`).

Overrides (study file ``calculation.overrides`` or the API) are a mapping of setting names
(:data:`OVERRIDABLE`) to values, optionally per stage under ``relax:``/``single_point:``, plus
a raw ``cp2k:`` section tree merged into the generated input after checking every key against
the CP2K input schema. Unknown names are errors, never dropped.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from atomistics.cp2k.basis import FAMILIES, resolve_basis
from atomistics.cp2k.locate import find_cp2k_data_dir
from atomistics.errors import AtomisticsError
from atomistics.solvents import DME_PERMITTIVITY, check_permittivity
from atomistics.structures.spin import (
    lowest_multiplicity,
    multiplicity_problem,
    needs_unrestricted,
)

STAGES = ("relax", "single_point")
RUN_TYPES = {"relax": "GEO_OPT", "single_point": "ENERGY"}

# Setting defaults shared by every protocol; presets below change some of them.
_COMMON: dict[str, Any] = {
    "xc": "PBE",
    "dispersion": "D3",  # D3 (zero damping) | D3(BJ) | D2 | none
    "dispersion_parameter_file": "dftd3.dat",
    "cutoff": 600.0,  # Ry
    "rel_cutoff": 60.0,  # Ry
    "ngrids": 4,
    "eps_default": 1e-12,
    "eps_scf": 1e-6,
    "max_scf": 50,  # OT: inner loop; diagonalisation: total SCF steps = max_scf * max_outer_scf
    "max_outer_scf": 20,
    "scf_method": "auto",  # auto: OT at Γ, DIAG with k-points | OT | DIAG
    "ot_minimizer": "DIIS",
    "ot_preconditioner": "FULL_SINGLE_INVERSE",
    "mixing_method": "BROYDEN_MIXING",
    "mixing_alpha": 0.2,
    "mixing_nbroyden": 8,
    "smearing_temperature": 300.0,  # K, Fermi–Dirac
    "added_mos": "auto",  # auto: max(10, 20 % of the occupied orbitals) when diagonalising
    "charge": "auto",  # auto: atoms.info["charge"]
    "multiplicity": "auto",  # auto: atoms.info["spin_multiplicity"] or lowest for the electron count
    "uks": "auto",  # auto: only when the electron count is odd or multiplicity > 1
    "poisson_solver": "auto",  # molecules: WAVELET (default) | MT; slabs: PERIODIC
    "box": "auto",  # molecules: cube edge (Å) or [a, b, c]; auto: from the WAVELET/MT rule
    "density_radius": 3.5,  # Å, how far the electron density reaches beyond the nuclei
    "charged_slab": "background",  # | background+dipole | reject
    "surface_dipole_correction": "auto",  # auto: on only for charged_slab background+dipole
    "kpoints": "auto",  # auto: the stage's mesh for slabs, Γ for molecules; [n1, n2, n3] | "gamma"
    "geo_optimizer": "BFGS",
    "geo_max_iter": 200,
    "geo_max_force": 4.5e-4,  # Ha/bohr (CP2K default)
    "print_level": "MEDIUM",  # pymatgen's Cp2kOutput needs MEDIUM (coordinates, kinds, SCF)
    "basis_families": None,  # set per stage below
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "common": {},
        "relax": {
            "basis_families": ["DZVP-MOLOPT-SR-GTH", "DZVP-MOLOPT-PBE-GTH-UZH"],
            "slab_kpoints": None,
        },
        "single_point": {
            "basis_families": ["TZVP-MOLOPT-GTH", "TZVP-MOLOPT-PBE-GTH-UZH"],
            "slab_kpoints": [3, 3, 1],
        },
    },
    # Cheap enough for tests and demos (a small ion runs in seconds); not for production.
    "quick": {
        "common": {
            "cutoff": 120.0,
            "rel_cutoff": 20.0,
            "eps_default": 1e-10,
            "geo_max_iter": 10,
            "geo_max_force": 3e-3,
            "density_radius": 3.0,
        },
        "relax": {"basis_families": ["SZV-MOLOPT-SR-GTH"], "slab_kpoints": None},
        "single_point": {"basis_families": ["DZVP-MOLOPT-SR-GTH"], "slab_kpoints": [3, 3, 1]},
    },
}

# Poisson solver of an isolated system when "auto". WAVELET (free boundary conditions,
# Genovese et al., J. Chem. Phys. 125, 074105 (2006)) only needs the density inside the box;
# Martyna–Tuckerman (J. Chem. Phys. 110, 2810 (1999)) needs a box twice the density's extent,
# and CP2K's MT works on an extra grid at twice the cutoff: 8× the volume and a 512³ grid for
# FSI⁻ at 600 Ry (over 20 GB). Both give the same energy (tests/test_cp2k_resources.py: F⁻,
# 0.5 meV at the same grid spacing), so WAVELET is the default; MT stays selectable.
MOLECULE_SOLVER = "WAVELET"

# Keys of ``overrides`` that describe the machine, not the calculation: they never reach the
# settings (nor the content hash). See :mod:`atomistics.cp2k.resources`.
MACHINE_KEYS = ("node_memory", "mpi_ranks")

# Names a user may override (a slab's stage mesh is overridden through "kpoints").
OVERRIDABLE = tuple(sorted(_COMMON))
_CHOICES = {
    "xc": ("PBE",),
    "dispersion": ("D3", "D3(BJ)", "D2", "none"),
    "scf_method": ("auto", "OT", "DIAG"),
    "ot_minimizer": ("DIIS", "CG", "BROYDEN"),
    "mixing_method": ("BROYDEN_MIXING", "PULAY_MIXING", "DIRECT_P_MIXING"),
    "poisson_solver": ("auto", "MT", "WAVELET", "PERIODIC"),
    "charged_slab": ("background+dipole", "background", "reject"),
    "geo_optimizer": ("BFGS", "LBFGS", "CG"),
    "print_level": ("MEDIUM", "HIGH", "DEBUG"),
}
_POSITIVE = (
    "cutoff",
    "rel_cutoff",
    "ngrids",
    "eps_default",
    "eps_scf",
    "max_scf",
    "max_outer_scf",
    "mixing_alpha",
    "mixing_nbroyden",
    "smearing_temperature",
    "density_radius",
    "geo_max_iter",
    "geo_max_force",
)
_INTEGER = ("ngrids", "max_scf", "max_outer_scf", "mixing_nbroyden", "geo_max_iter")


@dataclass
class Cp2kSettings:
    """Everything one CP2K calculation uses, resolved (no "auto" left)."""

    protocol: str
    stage: str
    run_type: str
    system_type: str  # molecule | slab
    xc: str
    dispersion: str
    dispersion_parameter_file: str
    basis_families: list[str]
    basis_per_element: dict[str, str]
    potential_per_element: dict[str, str]
    basis_file_per_element: dict[str, str]
    potential_file_per_element: dict[str, str]
    valence_per_element: dict[str, int]
    cutoff: float
    rel_cutoff: float
    ngrids: int
    eps_default: float
    eps_scf: float
    max_scf: int
    max_outer_scf: int
    scf_method: str  # OT | DIAG
    ot_minimizer: str
    ot_preconditioner: str
    mixing_method: str
    mixing_alpha: float
    mixing_nbroyden: int
    smearing_temperature: float | None  # None: no smearing (OT)
    added_mos: int
    kpoints: list[int] | None  # None: Γ only
    charge: int
    n_electrons: int  # valence electrons of the real (non-ghost) atoms
    multiplicity: int
    uks: bool
    periodic: str  # CELL and POISSON periodicity: XYZ | NONE
    poisson_solver: str  # PERIODIC | MT | WAVELET
    cell: list[list[float]]  # Å, rows a, b, c
    density_radius: float
    center_in_box: bool
    charged_slab: str | None
    surface_dipole_correction: bool
    geo_optimizer: str
    geo_max_iter: int
    geo_max_force: float
    print_level: str
    data_dir: str
    cp2k_overrides: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ghost_atoms: list[int] = field(default_factory=list)  # counterpoise: basis only
    frame_center: list[float] | None = None  # Å, centre of the frame an isolated box is built on

    def as_metadata(self) -> dict:
        """JSON-able copy."""
        return asdict(self)


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _split_overrides(overrides: dict | None, stage: str) -> tuple[dict, dict]:
    """Flat settings and the raw ``cp2k`` tree for one stage (stage-specific wins)."""
    overrides = dict(overrides or {})
    if not isinstance(overrides, dict):
        raise AtomisticsError("calculation.overrides must be a mapping of setting names to values.")
    flat: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    per_stage = {s: overrides.pop(s) for s in STAGES if s in overrides}
    for source, where in (
        (overrides, "overrides"),
        (per_stage.get(stage) or {}, f"overrides.{stage}"),
    ):
        if not isinstance(source, dict):
            raise AtomisticsError(f"{where} must be a mapping, got {type(source).__name__}.")
        for key, value in source.items():
            if key == "cp2k":
                if not isinstance(value, dict):
                    raise AtomisticsError(f"{where}.cp2k must be a mapping of CP2K sections.")
                raw = deep_merge(raw, value)
            elif key in MACHINE_KEYS:
                continue  # read by machine_overrides(), not a calculation setting
            elif key in STAGES:
                raise AtomisticsError(f"{where}.{key}: stage sections cannot be nested.")
            elif key not in OVERRIDABLE:
                raise AtomisticsError(
                    f"{where}.{key} is not a setting{_suggest(key, OVERRIDABLE)}; settings are: "
                    f"{', '.join(OVERRIDABLE)}, per stage under {' / '.join(STAGES)}, and raw "
                    "CP2K sections under 'cp2k' (checked against the CP2K input schema)."
                )
            else:
                flat[key] = value
    return flat, raw


#: DME (1,2-dimethoxyethane), the study's solvent: static permittivity at 25 °C
#: (CRC Handbook of Chemistry and Physics, "Permittivity of liquids": 7.20).
DME_DIELECTRIC_CONSTANT = DME_PERMITTIVITY  # atomistics.solvents


def sccs_overrides(dielectric_constant: float = DME_DIELECTRIC_CONSTANT) -> dict:
    """The ``overrides`` that put a calculation in CP2K's implicit solvent (SCCS).

    SCCS: the self-consistent continuum solvation of Andreussi, Dabo & Marzari,
    J. Chem. Phys. 136, 064102 (2012) (CP2K's default ANDREUSSI dielectric function of the
    density), here with the solvent's static permittivity. Use it for Γ-point single points:
    CP2K's SCCS is not validated with k-points, so :func:`resolve_settings` refuses the
    combination. ΔG_solv of a species = E(SCCS) − E(vacuum) at the same geometry and
    settings (tests/test_cp2k_sccs.py checks sign, magnitude and ε-ordering on F⁻).
    """
    eps = check_permittivity(dielectric_constant, "SCCS dielectric constant")
    return {"cp2k": {"FORCE_EVAL": {"DFT": {"SCCS": {"DIELECTRIC_CONSTANT": eps}}}}}


def _has_sccs(raw: dict) -> bool:
    dft = ((raw or {}).get("FORCE_EVAL") or {}).get("DFT") or {}
    return any(str(k).upper() == "SCCS" for k in dft)


def stage_uses_sccs(overrides: dict | None, stage: str) -> bool:
    """Whether ``overrides`` switch CP2K's implicit solvent (SCCS) on for ``stage``."""
    return _has_sccs(_split_overrides(overrides, stage)[1])


def machine_overrides(overrides: dict | None) -> dict:
    """The machine keys (:data:`MACHINE_KEYS`) of ``overrides``: ``node_memory``, ``mpi_ranks``."""
    if not isinstance(overrides, dict):
        return {}
    return {k: overrides[k] for k in MACHINE_KEYS if k in overrides}


def deep_merge(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in, nested dicts key by key (neither is changed)."""
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _check_values(s: dict) -> None:
    for key, choices in _CHOICES.items():
        if str(s[key]) not in choices:
            raise AtomisticsError(
                f"setting {key} = {s[key]!r} is not allowed: choose one of {', '.join(choices)}."
            )
    for key in _POSITIVE:
        v = s[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v < math.inf:
            raise AtomisticsError(f"setting {key} = {v!r} must be a positive, finite number.")
        if key in _INTEGER and int(v) != v:
            raise AtomisticsError(f"setting {key} = {v!r} must be an integer.")
    if s["rel_cutoff"] > s["cutoff"]:
        raise AtomisticsError(
            f"rel_cutoff ({s['rel_cutoff']} Ry) must not exceed cutoff ({s['cutoff']} Ry)."
        )
    fams = s["basis_families"]
    if isinstance(fams, str):
        s["basis_families"] = fams = [fams]
    if not isinstance(fams, list) or not fams or any(f not in FAMILIES for f in fams):
        raise AtomisticsError(
            f"basis_families = {fams!r}: give a non-empty list from {', '.join(FAMILIES)} "
            "(tried in order for each element)."
        )
    for key in ("uks",):
        if s[key] != "auto" and not isinstance(s[key], bool):
            raise AtomisticsError(f"setting {key} = {s[key]!r} must be true, false or 'auto'.")


def system_type(atoms: Atoms) -> str:
    """``molecule`` (no periodicity) or ``slab`` (periodic in a, b; vacuum along c ∥ z)."""
    pbc = tuple(bool(p) for p in atoms.pbc)
    if pbc == (False, False, False):
        return "molecule"
    if pbc == (True, True, False):
        return "slab"
    raise AtomisticsError(
        f"{atoms.info.get('name', 'structure')}: periodicity {pbc} is not supported; use an "
        "isolated molecule (pbc False) or a slab periodic in a and b with vacuum along c."
    )


def _kpoints(value, stype: str, preset_mesh) -> list[int] | None:
    if value == "auto":
        return list(preset_mesh) if (stype == "slab" and preset_mesh) else None
    if value is None or (isinstance(value, str) and value.lower() == "gamma"):
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value)
    ):
        raise AtomisticsError(
            f"kpoints = {value!r}: give three positive integers, e.g. [3, 3, 1], or 'gamma'."
        )
    if list(value) == [1, 1, 1]:
        return None
    if stype == "molecule":
        raise AtomisticsError(
            f"kpoints = {list(value)} for an isolated molecule/ion: an isolated system has no "
            "Brillouin zone; remove the kpoints override (molecules are computed at Γ)."
        )
    if value[2] != 1:
        raise AtomisticsError(
            f"kpoints = {list(value)}: a slab is not periodic along z (vacuum); use n3 = 1, "
            "e.g. [3, 3, 1]."
        )
    return [int(n) for n in value]


def molecule_box(positions: np.ndarray, solver: str, radius: float) -> list[float]:
    """Cubic box edge for an isolated system.

    The density extent along an axis is the span of the nuclei plus ``radius`` on each side.
    MT (Martyna–Tuckerman) is wrong unless the box is at least twice that extent on every axis;
    WAVELET only needs the density to vanish on the faces (extent + 2 Å margin). The edge is
    the largest axis requirement rounded up to 0.5 Å and used on all three axes, so the
    molecule may rotate during the relaxation.
    """
    span = float(np.max(np.ptp(positions, axis=0))) if len(positions) else 0.0
    extent = span + 2 * radius
    edge = 2 * extent if solver == "MT" else extent + 2.0
    return [math.ceil(edge * 2) / 2] * 3


def check_box(lengths, positions: np.ndarray, solver: str, radius: float) -> None:
    spans = np.ptp(positions, axis=0) if len(positions) else np.zeros(3)
    for axis, (length, span) in enumerate(zip(lengths, spans, strict=True)):
        extent = span + 2 * radius
        need = 2 * extent if solver == "MT" else extent
        if length + 1e-6 < need:
            rule = (
                "MT needs the box at least twice the extent of the density"
                if solver == "MT"
                else "WAVELET needs the density to vanish on the faces"
            )
            raise AtomisticsError(
                f"box {'abc'[axis]} = {length:.2f} Å is too small for the {solver} Poisson solver: "
                f"{rule} (nuclei span {span:.2f} Å + 2 × density_radius {radius} Å = "
                f"{extent:.2f} Å, so ≥ {need:.2f} Å); increase 'box' or leave it 'auto'"
                + (" (or use poisson_solver WAVELET, which needs half)." if solver == "MT" else ".")
            )


def _int_charge(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise AtomisticsError(f"{name}: charge {value!r} must be an integer.")
    return int(value)


def frame_positions(atoms: Atoms) -> np.ndarray:
    """Positions that size and centre an isolated system's box.

    Normally the atoms' own. A counterpoise fragment computed alone carries its
    complex's positions in ``atoms.info['frame_positions']``, so that it gets the
    same box and the same absolute positions as the complex and the ghost
    calculation: otherwise the BSSE would include box-size and grid errors.
    """
    frame = atoms.info.get("frame_positions")
    if frame is None:
        return atoms.get_positions()
    frame = np.asarray(frame, dtype=float).reshape(-1, 3)
    return np.vstack([frame, atoms.get_positions()])


def ghost_mask(atoms: Atoms) -> np.ndarray:
    """Boolean mask of ghost atoms (``atoms.arrays['ghost']``; none when absent)."""
    mask = atoms.arrays.get("ghost")
    if mask is None:
        return np.zeros(len(atoms), dtype=bool)
    return np.asarray(mask, dtype=bool)


def _charge_and_spin(atoms: Atoms, s: dict, valence: dict[str, int], name: str) -> dict:
    """Charge, valence-electron count, multiplicity and UKS (ghost atoms carry no electrons)."""
    charge = atoms.info.get("charge", 0) if s["charge"] == "auto" else s["charge"]
    charge = _int_charge(charge, name)
    ghost = ghost_mask(atoms)
    real = [el for el, g in zip(atoms.get_chemical_symbols(), ghost, strict=True) if not g]
    n_el = sum(valence[el] for el in real) - charge
    if n_el <= 0:
        raise AtomisticsError(f"{name}: charge {charge:+d} leaves {n_el} valence electrons.")
    mult = s["multiplicity"]
    if mult == "auto":
        mult = atoms.info.get("spin_multiplicity") or lowest_multiplicity(n_el)
    problem = multiplicity_problem(n_el, mult)
    if problem:
        raise AtomisticsError(
            f"{name}: {problem} (valence electrons, charge {charge:+d}); fix 'multiplicity' or "
            "'charge'."
        )
    need_uks = needs_unrestricted(n_el, mult)
    uks = need_uks if s["uks"] == "auto" else s["uks"]
    if need_uks and not uks:
        raise AtomisticsError(
            f"{name}: {n_el} electrons with multiplicity {mult} need spin-unrestricted (UKS); "
            "remove 'uks: false'."
        )
    return {
        "charge": charge,
        "n_electrons": int(n_el),
        "multiplicity": int(mult),
        "uks": bool(uks),
        "ghost_atoms": [int(i) for i in np.flatnonzero(ghost)],
    }


def _scf(s: dict, kpoints, spin: dict, n_basis: int, name: str) -> dict:
    """SCF method (OT at Γ, diagonalisation with k-points), smearing and added MOs."""
    method = s["scf_method"]
    if method == "auto":
        method = "DIAG" if kpoints else "OT"
    if method == "OT" and kpoints:
        raise AtomisticsError(
            f"{name}: scf_method OT with kpoints {kpoints}: CP2K aborts with 'OT not possible "
            "with kpoint calculations'; use scf_method DIAG (or 'auto') or kpoints 'gamma'."
        )
    n_el, mult = spin["n_electrons"], spin["multiplicity"]
    n_occ = math.ceil(n_el / 2) if not spin["uks"] else (n_el + mult - 1) // 2
    added = s["added_mos"]
    smearing = None
    if method == "DIAG":
        smearing = float(s["smearing_temperature"])
        if added == "auto":
            # 20 % of the occupied orbitals, at least 10, at most what the basis has
            added = max(10, math.ceil(0.2 * n_occ))
            if n_basis:
                added = min(added, n_basis - n_occ)
        if n_basis and isinstance(added, int) and added > n_basis - n_occ:
            raise AtomisticsError(
                f"{name}: added_mos {added} exceeds the {n_basis - n_occ} empty orbitals the basis "
                f"has ({n_basis} functions, {n_occ} occupied); CP2K then aborts with smearing."
            )
        if isinstance(added, bool) or not isinstance(added, int) or added < 1:
            raise AtomisticsError(
                f"{name}: added_mos {added!r}: diagonalisation with smearing needs empty orbitals; "
                "give a positive integer (or 'auto')."
            )
    else:
        if added not in ("auto", 0):
            raise AtomisticsError(
                f"{name}: added_mos {added!r} has no effect with OT; remove it or use scf_method DIAG."
            )
        added = 0
    return {"scf_method": method, "smearing_temperature": smearing, "added_mos": int(added)}


def _molecule_cell(positions: np.ndarray, s: dict, name: str, notes: list[str]) -> dict:
    """Isolated system: PERIODIC NONE, WAVELET (default) or MT, and a cubic box."""
    solver = s["poisson_solver"]
    solver = MOLECULE_SOLVER if solver == "auto" else solver
    if solver == "PERIODIC":
        raise AtomisticsError(
            f"{name}: poisson_solver PERIODIC for an isolated molecule would add periodic "
            "images (and a background for a charged ion); use WAVELET or MT."
        )
    radius = float(s["density_radius"])
    if s["box"] == "auto":
        lengths = molecule_box(positions, solver, radius)
    else:
        box = s["box"]
        lengths = [box] * 3 if isinstance(box, int | float) else list(box)
        if len(lengths) != 3 or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0
            for x in lengths
        ):
            raise AtomisticsError(f"box = {box!r}: give an edge in Å or three lengths [a, b, c].")
        check_box(lengths, positions, solver, radius)
    if solver == "WAVELET" and len(set(lengths)) != 1:
        notes.append(
            "WAVELET with a non-cubic box: CP2K requires a suitable grid; check the output."
        )
    if s["surface_dipole_correction"] not in ("auto", False):
        raise AtomisticsError(f"{name}: surface_dipole_correction applies to slabs only.")
    return {
        "periodic": "NONE",
        "poisson_solver": solver,
        "cell": np.diag(lengths).tolist(),
        "center_in_box": True,
        "charged_slab": None,
        "surface_dipole_correction": False,
    }


def _slab_cell(
    atoms: Atoms, positions: np.ndarray, s: dict, charge: int, name: str, notes: list[str]
) -> dict:
    """Slab: CELL and POISSON periodic XYZ, c along z, a charged slab's background/dipole."""
    if s["poisson_solver"] not in ("auto", "PERIODIC"):
        raise AtomisticsError(
            f"{name}: poisson_solver {s['poisson_solver']} does not match a slab cell: the slab "
            "is computed with CELL and POISSON periodic XYZ (vacuum along z, surface dipole "
            "correction); a mismatch between the cell's and the Poisson periodicity is rejected."
        )
    if s["box"] != "auto":
        raise AtomisticsError(
            f"{name}: 'box' applies to isolated molecules; a slab keeps its cell."
        )
    cellm = atoms.cell.array
    if max(abs(cellm[0, 2]), abs(cellm[1, 2]), abs(cellm[2, 0]), abs(cellm[2, 1])) > 1e-6:
        raise AtomisticsError(
            f"{name}: the slab's a and b must lie in the xy plane and c along z (the surface "
            "dipole correction acts along z); rebuild the slab with c ∥ z."
        )
    vacuum = cellm[2, 2] - float(np.ptp(positions[:, 2]))
    if vacuum < 2 * s["density_radius"]:
        raise AtomisticsError(
            f"{name}: only {vacuum:.1f} Å of vacuum along z; a slab needs at least "
            f"{2 * s['density_radius']:.1f} Å (2 × density_radius) so the images do not overlap."
        )
    dipole = s["surface_dipole_correction"]
    dipole = False if dipole == "auto" else bool(dipole)
    charged_slab = None
    if charge != 0:
        charged_slab = s["charged_slab"]
        if charged_slab == "reject":
            raise AtomisticsError(
                f"{name}: the slab has charge {charge:+d} and charged_slab is 'reject'; build "
                "the neutral counter-ion variant, or choose charged_slab 'background+dipole'."
            )
        if charged_slab == "background+dipole":
            dipole = True
        notes.append(
            f"charged slab ({charge:+d}): CP2K's periodic Poisson solver adds a uniform "
            "neutralising background"
            + (" and the surface dipole correction along z is on." if dipole else ".")
        )
    if dipole and vacuum < 15.0:
        notes.append(
            f"surface dipole correction with {vacuum:.1f} Å of vacuum: CP2K 2023.1 aborted "
            "with 'Dipole correction needs more vacuum space above the surface' in our tests "
            "below about 15 Å; enlarge the vacuum if it does."
        )
    return {
        "periodic": "XYZ",
        "poisson_solver": "PERIODIC",
        "cell": cellm.tolist(),
        "center_in_box": False,
        "charged_slab": charged_slab,
        "surface_dipole_correction": dipole,
    }


def _preset_settings(protocol: str, stage: str, overrides: dict | None) -> tuple[dict, dict]:
    """Defaults < preset < user overrides, checked; and the raw ``cp2k`` tree."""
    if stage not in STAGES:
        raise AtomisticsError(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}.")
    if protocol not in PRESETS:
        raise AtomisticsError(
            f"unknown protocol {protocol!r}{_suggest(protocol, PRESETS)}: choose one of "
            f"{', '.join(PRESETS)}."
        )
    preset = PRESETS[protocol]
    s: dict[str, Any] = {**_COMMON, **preset["common"], **preset[stage]}
    flat, raw = _split_overrides(overrides, stage)
    s.update(flat)
    _check_values(s)
    return s, raw


def resolve_settings(
    atoms: Atoms,
    stage: str,
    protocol: str = "paper",
    overrides: dict | None = None,
    data_dir: str | Path | None = None,
) -> Cp2kSettings:
    """Resolve every setting of one stage for one structure (no CP2K run; data files only).

    The parts: preset and overrides (:func:`_preset_settings`), basis per element, charge and
    spin (:func:`_charge_and_spin`), k-points (:func:`_kpoints`), SCF (:func:`_scf`), and the
    periodicity, Poisson solver and cell (:func:`_molecule_cell`, :func:`_slab_cell`).
    """
    name = atoms.info.get("name", atoms.get_chemical_formula())
    s, raw = _preset_settings(protocol, stage, overrides)
    if len(atoms) == 0:
        raise AtomisticsError(f"{name}: the structure has no atoms.")
    positions = frame_positions(atoms)
    if not np.all(np.isfinite(positions)) or not np.all(np.isfinite(atoms.cell.array)):
        raise AtomisticsError(
            f"{name}: the structure has non-finite (NaN or infinite) coordinates or cell; "
            "rebuild it from finite numbers."
        )
    notes: list[str] = []
    stype = system_type(atoms)
    ddir = Path(data_dir) if data_dir else find_cp2k_data_dir()
    resolved = resolve_basis(atoms.get_chemical_symbols(), s["basis_families"], ddir)
    valence = {el: b.valence for el, b in resolved.items()}
    spin = _charge_and_spin(atoms, s, valence, name)
    kpoints = _kpoints(s["kpoints"], stype, s.get("slab_kpoints"))
    if kpoints is not None and _has_sccs(raw):
        raise AtomisticsError(
            f"{name}: implicit solvent (SCCS) with k-points {kpoints} is not validated in "
            "CP2K; run the solvated single point at the Γ point (overrides: kpoints: gamma)."
        )
    n_basis = sum(resolved[el].n_functions for el in atoms.get_chemical_symbols())
    scf = _scf(s, kpoints, spin, n_basis, name)
    if stype == "molecule":
        geometry = _molecule_cell(positions, s, name, notes)
    else:
        geometry = _slab_cell(atoms, positions, s, spin["charge"], name, notes)
    geometry["cell"] = [[float(x) for x in row] for row in geometry["cell"]]
    return Cp2kSettings(
        protocol=protocol,
        stage=stage,
        run_type=RUN_TYPES[stage],
        system_type=stype,
        xc=s["xc"],
        dispersion=s["dispersion"],
        dispersion_parameter_file=s["dispersion_parameter_file"],
        basis_families=list(s["basis_families"]),
        basis_per_element={el: b.basis for el, b in resolved.items()},
        potential_per_element={el: b.potential for el, b in resolved.items()},
        basis_file_per_element={el: b.basis_file for el, b in resolved.items()},
        potential_file_per_element={el: b.potential_file for el, b in resolved.items()},
        valence_per_element=valence,
        cutoff=float(s["cutoff"]),
        rel_cutoff=float(s["rel_cutoff"]),
        ngrids=int(s["ngrids"]),
        eps_default=float(s["eps_default"]),
        eps_scf=float(s["eps_scf"]),
        max_scf=int(s["max_scf"]),
        max_outer_scf=int(s["max_outer_scf"]),
        ot_minimizer=s["ot_minimizer"],
        ot_preconditioner=s["ot_preconditioner"],
        mixing_method=s["mixing_method"],
        mixing_alpha=float(s["mixing_alpha"]),
        mixing_nbroyden=int(s["mixing_nbroyden"]),
        kpoints=kpoints,
        density_radius=float(s["density_radius"]),
        frame_center=(
            [float(x) for x in (positions.min(axis=0) + positions.max(axis=0)) / 2]
            if "frame_positions" in atoms.info
            else None
        ),
        geo_optimizer=s["geo_optimizer"],
        geo_max_iter=int(s["geo_max_iter"]),
        geo_max_force=float(s["geo_max_force"]),
        print_level=s["print_level"],
        data_dir=str(ddir),
        cp2k_overrides=raw,
        notes=notes,
        **spin,
        **scf,
        **geometry,
    )
