"""Write CP2K inputs: resolved settings → input tree → cp2k-input-tools generator → file.

One path, no hand-built strings: the input is a nested dict in cp2k-input-tools' simplified
format, rendered by :class:`cp2k_input_tools.generator.CP2KInputGenerator` against the input
schema of the CP2K that will run (the bundled schema when none is installed), then validated
(:func:`atomistics.cp2k.validate.validate_input`). pymatgen's ``Cp2kInput`` is not used to
write (it ignores the project name, turns UKS on by default and writes a k-point mesh without
its numbers); it is used in the tests to check that the files survive its round trip, which
custodian relies on.

Every kind gets a label that is not a bare element symbol (``F1``, not ``F``) plus an
explicit ``ELEMENT`` keyword: pymatgen's reader turns a bare ``F`` into ``False``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
from ase import Atoms

from atomistics import __version__
from atomistics.cp2k.locate import find_cp2k_command
from atomistics.cp2k.protocol import Cp2kSettings, machine_overrides, resolve_settings
from atomistics.cp2k.resources import check_fits, estimate_resources, mpi_ranks, parse_memory
from atomistics.cp2k.validate import merge_raw_overrides, schema_for, validate_input

_COORD_FMT = "{:.10f}"


def kind_label(element: str, ghost: bool = False) -> str:
    """Kind label for an element: never a bare symbol (see the module docstring).

    Ghost atoms (counterpoise) get their own kind, ``F_ghost``, with the element's
    basis set, the ``GHOST`` keyword and no pseudopotential (no nucleus, no electrons).
    """
    return f"{element}_ghost" if ghost else f"{element}1"


def cell_and_positions(atoms: Atoms, settings: Cp2kSettings) -> tuple[np.ndarray, np.ndarray]:
    """Cell (Å, rows) and positions as written; isolated systems are centred in their box."""
    cell = np.array(settings.cell)
    pos = atoms.get_positions()
    if settings.center_in_box and len(pos):
        if settings.frame_center is not None:  # counterpoise: the complex's centre
            middle = np.array(settings.frame_center)
        else:
            middle = (pos.min(axis=0) + pos.max(axis=0)) / 2
        pos = pos - middle + cell.sum(axis=0) / 2
    return cell, pos


def build_input_tree(atoms: Atoms, settings: Cp2kSettings, project: str = "cp2k") -> dict:
    """The CP2K input as a nested dict (cp2k-input-tools' simplified format).

    Long because it writes the CP2K input tree section by section in the input's own order (GLOBAL, FORCE_EVAL/DFT/SCF/XC, SUBSYS, MOTION), so it reads like the input it makes.
    """
    s = settings
    cell, pos = cell_and_positions(atoms, s)
    ghost = np.zeros(len(atoms), dtype=bool)
    if s.ghost_atoms:
        ghost[s.ghost_atoms] = True
    symbols = atoms.get_chemical_symbols()
    elements = sorted({el for el, g in zip(symbols, ghost, strict=True) if not g})
    ghost_elements = sorted({el for el, g in zip(symbols, ghost, strict=True) if g})

    scf: dict = {
        "scf_guess": "RESTART",  # CP2K falls back to ATOMIC when no restart file exists
        "eps_scf": s.eps_scf,
        "max_scf": s.max_scf,
        "+print": {"+restart": {"backup_copies": 1}},
    }
    if s.scf_method == "OT":
        scf["+ot"] = {"minimizer": s.ot_minimizer, "preconditioner": s.ot_preconditioner}
        scf["+outer_scf"] = {"eps_scf": s.eps_scf, "max_scf": s.max_outer_scf}
    else:
        # diagonalisation for k-points: one long SCF loop with mixing and smearing
        scf["max_scf"] = s.max_scf * s.max_outer_scf
        scf["added_mos"] = s.added_mos
        scf["+diagonalization"] = {"_": True, "algorithm": "STANDARD"}
        scf["+mixing"] = {
            "_": True,
            "method": s.mixing_method,
            "alpha": s.mixing_alpha,
            "nbroyden": s.mixing_nbroyden,
        }
        scf["+smear"] = {
            "_": True,
            "method": "FERMI_DIRAC",
            "electronic_temperature": s.smearing_temperature,
        }

    xc: dict = {"+xc_functional": {"_": s.xc}}
    if s.dispersion != "none":
        pair = {"type": {"D3": "DFTD3", "D3(BJ)": "DFTD3(BJ)", "D2": "DFTD2"}[s.dispersion]}
        pair["reference_functional"] = s.xc
        if s.dispersion.startswith("D3"):
            pair["parameter_file_name"] = s.dispersion_parameter_file
        xc["+vdw_potential"] = {"potential_type": "PAIR_POTENTIAL", "+pair_potential": pair}

    dft: dict = {
        "basis_set_file_name": sorted(set(s.basis_file_per_element.values())),
        "potential_file_name": sorted(set(s.potential_file_per_element.values()))[0],
        "charge": s.charge,
        "multiplicity": s.multiplicity,
        "uks": s.uks,
        "+mgrid": {"cutoff": s.cutoff, "rel_cutoff": s.rel_cutoff, "ngrids": s.ngrids},
        "+qs": {"eps_default": s.eps_default},
        "+poisson": {"periodic": s.periodic, "psolver": s.poisson_solver},
        "+scf": scf,
        "+xc": xc,
    }
    if s.surface_dipole_correction:
        dft["surface_dipole_correction"] = True
        dft["surf_dip_dir"] = "Z"
    if s.kpoints:
        dft["+kpoints"] = {"scheme": ["MONKHORST-PACK", *(str(n) for n in s.kpoints)]}

    subsys = {
        "+cell": {
            "a": [_COORD_FMT.format(x) for x in cell[0]],
            "b": [_COORD_FMT.format(x) for x in cell[1]],
            "c": [_COORD_FMT.format(x) for x in cell[2]],
            "periodic": s.periodic,
        },
        "+coord": {
            # COORD's default keyword is one string per atom: "LABEL X Y Z"
            "*": [
                " ".join([kind_label(el, g), *(_COORD_FMT.format(x) for x in p)])
                for el, g, p in zip(symbols, ghost, pos, strict=True)
            ]
        },
        "+kind": [
            {
                "_": kind_label(el),
                "element": el,
                "basis_set": [["ORB", s.basis_per_element[el]]],
                "potential": s.potential_per_element[el],
                # per kind: the UZH bases need POTENTIAL_UZH's potentials of the same name
                "potential_file_name": s.potential_file_per_element[el],
            }
            for el in elements
        ]
        + [
            {
                "_": kind_label(el, ghost=True),
                "element": el,
                "basis_set": [["ORB", s.basis_per_element[el]]],
                "ghost": True,
            }
            for el in ghost_elements
        ],
    }

    tree: dict = {
        "+global": {"project_name": project, "run_type": s.run_type, "print_level": s.print_level},
        "+force_eval": {
            "method": "QUICKSTEP",
            "+dft": dft,
            "+subsys": subsys,
            "+print": {"+forces": {"_": "ON"}},
        },
    }
    if s.run_type == "GEO_OPT":
        tree["+motion"] = {
            "+geo_opt": {
                "optimizer": s.geo_optimizer,
                "max_iter": s.geo_max_iter,
                "max_force": s.geo_max_force,
            },
            "+print": {
                "+trajectory": {"format": "XYZ", "+each": {"geo_opt": 1}},
                "+restart": {"backup_copies": 1, "+each": {"geo_opt": 1}},
            },
        }
        fixed = fixed_atoms(atoms)
        if fixed:
            tree["+motion"]["+constraint"] = {"+fixed_atoms": {"list": _index_list(fixed)}}
    return tree


def fixed_atoms(atoms: Atoms) -> list[int]:
    """0-based indices a slab relaxation holds fixed: all but :func:`surface_region`.

    The same region as the xtb engine's relaxation (``relax_region_periodic: surface``), so
    both engines relax the same atoms of a slab; a molecule (not periodic in-plane) moves
    every atom.
    """
    from atomistics.structures.relax_region import surface_region

    if not (atoms.pbc[0] and atoms.pbc[1]):
        return []
    return sorted(set(range(len(atoms))) - set(surface_region(atoms).tolist()))


def _index_list(indices: list[int]) -> str:
    """CP2K's 1-based LIST: [0, 1, 2, 5] -> '1 2 3 6'. (CP2K also reads ranges, '1..3',
    but cp2k-input-tools' parser, which validates our inputs, does not.)"""
    return " ".join(str(i + 1) for i in indices)


@functools.lru_cache(maxsize=4)
def _generator(schema: str):
    from cp2k_input_tools.generator import CP2KInputGenerator

    return CP2KInputGenerator(schema)


def _natural_order(node):
    """Reverse the sections of every level: the generator emits them from a stack (last first)."""
    if isinstance(node, list):
        return [_natural_order(n) for n in node]
    if not isinstance(node, dict):
        return node
    keys = [k for k in node if not k.startswith(("+", "&"))]
    sections = [k for k in node if k.startswith(("+", "&"))]
    return {k: _natural_order(node[k]) for k in keys + sections[::-1]}


def render(tree: dict, schema: Path) -> str:
    """Input text for a tree, rendered against ``schema``."""
    try:
        lines = list(_generator(str(schema)).line_iter(_natural_order(tree)))
    except Exception as exc:  # the generator's errors carry no path; add what we have
        from atomistics.errors import AtomisticsError

        raise AtomisticsError(
            f"cannot render the CP2K input: {type(exc).__name__}: {exc}"
        ) from None
    return "\n".join(lines) + "\n"


def output_files(settings: Cp2kSettings, project: str) -> dict[str, str]:
    """Files CP2K will write that the run step needs (restart, trajectory)."""
    files = {
        "output": f"{project}.out",
        "wavefunction_restart": f"{project}-RESTART.{'kp' if settings.kpoints else 'wfn'}",
    }
    if settings.run_type == "GEO_OPT":
        files["restart"] = f"{project}-1.restart"
        files["trajectory"] = f"{project}-pos-1.xyz"
    return files


def write_cp2k_input(
    atoms: Atoms,
    stage: str,
    directory: str | Path,
    protocol: str = "paper",
    overrides: dict | None = None,
    project: str = "cp2k",
    data_dir: str | Path | None = None,
    validate: bool = True,
    settings: Cp2kSettings | None = None,
    node_memory: str | float | None = None,
    ranks: int | None = None,
    overwrite: bool = True,
) -> tuple[Path, dict]:
    """Write ``directory/{project}.inp``; return its path and the metadata (settings + provenance).

    ``settings``: already resolved settings, rendered as given (the engine passes the
    hashed ones, so a restart cannot resolve them differently).

    The metadata's ``resources`` holds the memory and wall-time estimate
    (:func:`atomistics.cp2k.resources.estimate_resources`) for ``ranks`` MPI ranks (default:
    ``overrides['mpi_ranks']``, else the ``-np`` of the CP2K command, else 1). With
    ``node_memory`` (or ``overrides['node_memory']``, e.g. ``"24GB"``) a job that would not fit
    one node is refused before anything is written. With ``overwrite=False`` an existing input
    with different content (e.g. edited by hand) is refused; identical content is rewritten.
    """
    from atomistics.errors import AtomisticsError

    if not project or any(c in project for c in "/\\ \t"):
        raise AtomisticsError(f"project name {project!r} must be a non-empty word without '/'.")
    if settings is None:
        settings = resolve_settings(atoms, stage, protocol, overrides, data_dir)
    command = find_cp2k_command(required=False)
    machine = machine_overrides(overrides)
    node_memory = node_memory if node_memory is not None else machine.get("node_memory")
    if ranks is None:  # 0 is a value (refused below), not "unset"
        ranks = machine.get("mpi_ranks")
    if ranks is None:
        ranks = mpi_ranks(command)
    if isinstance(ranks, bool) or not isinstance(ranks, int) or ranks < 1:
        raise AtomisticsError(f"mpi_ranks {ranks!r} must be a positive integer.")
    estimate = estimate_resources(
        settings, atoms.get_chemical_symbols(), ranks, positions=atoms.positions
    )
    node_gb = parse_memory(node_memory) if node_memory is not None else None
    if node_gb is not None:
        check_fits(estimate, node_gb, f"{atoms.info.get('name', 'structure')} ({stage})")
    schema, schema_info = schema_for(command)
    tree = build_input_tree(atoms, settings, project)
    if settings.cp2k_overrides:
        tree = merge_raw_overrides(tree, settings.cp2k_overrides, schema)
    text = render(tree, schema)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{project}.inp"
    if not overwrite and path.is_file() and path.read_text(errors="replace") != text:
        raise AtomisticsError(
            f"{path} exists and differs from the input that would be written (edited by hand?); "
            "move it away, choose another output folder, or pass --force to overwrite it."
        )
    path.write_text(text)
    warnings: list[str] = []
    if validate:
        warnings = validate_input(path, command)
    metadata = {
        "structure": atoms.info.get("name"),
        "stage": stage,
        "protocol": protocol,
        "project": project,
        "input": path.name,
        "files": output_files(settings, project),
        "settings": settings.as_metadata(),
        "provenance": {
            **schema_info,
            "data_dir": settings.data_dir,
            "generator": "cp2k-input-tools CP2KInputGenerator",
            "atomistics_version": __version__,
        },
        "validation": {"validated": validate, "warnings": warnings},
        "resources": {**estimate.as_dict(), "node_memory_gb": node_gb},
    }
    json.dumps(metadata)  # must stay JSON-able
    return path, metadata
