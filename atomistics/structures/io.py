"""Writing built structures to files (CIF for VESTA, extxyz for OVITO/ASE).

Files are never silently overwritten: an existing file with identical content
is left alone, a different one is an error unless ``force=True``.
"""

from __future__ import annotations

import io
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms

from atomistics.errors import AtomisticsError
from atomistics.paths import check_output_folder

FORMATS = {".cif": "cif", ".extxyz": "extxyz", ".xyz": "extxyz", ".vasp": "vasp"}


def _json_safe_info(atoms: Atoms) -> Atoms:
    out = atoms.copy()
    out.info = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in atoms.info.items()
        if isinstance(v, str | int | float | bool | list | tuple)
    }
    for key in list(out.arrays):
        if key not in ("numbers", "positions"):
            arr = out.arrays[key]
            if arr.dtype == bool:
                out.arrays[key] = arr.astype(np.int8)
    return out


def structure_text(atoms: Atoms, fmt: str) -> str:
    """The file content ``atoms`` would be written as, in format ``fmt``."""
    from atomistics.structures.checks import check_finite

    check_finite(atoms)  # never write "nan" coordinates
    if fmt == "cif" and not atoms.pbc.any():
        raise AtomisticsError(
            f"{atoms.info.get('name', 'structure')} is an isolated molecule: CIF needs a periodic "
            "cell; write .extxyz or .xyz instead."
        )
    # ASE's CIF writer writes bytes, the others text.
    buf = io.BytesIO() if fmt == "cif" else io.StringIO()
    ase.io.write(buf, _json_safe_info(atoms), format=fmt)
    value = buf.getvalue()
    return value.decode() if isinstance(value, bytes) else value


def write_structure(atoms: Atoms, path: str | Path, force: bool = False) -> Path:
    """Write ``atoms`` to ``path`` (format from the suffix); refuse to clobber a different file."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AtomisticsError(
            f"unknown structure file suffix {path.suffix!r} in {path}: use one of {', '.join(FORMATS)}."
        )
    text = structure_text(atoms, fmt)
    if path.is_dir():
        raise AtomisticsError(
            f"{path} is a folder: give a file name ending in {', '.join(FORMATS)}."
        )
    if path.exists() and not force:
        if path.read_bytes() == text.encode():
            return path
        raise AtomisticsError(
            f"{path} exists with different content: choose another name or pass --force."
        )
    check_output_folder(path.parent, "output folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves a half-written structure file
    return path
