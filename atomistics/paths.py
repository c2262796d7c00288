"""Where the tool may write: one check that a path stays inside its root.

Every file the tool writes lies under a folder the user chose (``--workdir``,
``-o``): a name taken from a study file (study name, system name) must never
lead outside it (``..``, an absolute path, a symlink pointing elsewhere).
:func:`inside` is the single place that asserts this; writers call it on the
path they are about to create.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from atomistics.errors import AtomisticsError


def inside(path: str | os.PathLike, root: str | os.PathLike) -> Path:
    """Return ``path`` unchanged if it resolves inside ``root`` (or is ``root``), else refuse.

    Both are resolved (symlinks followed, ``..`` removed; a part that does not
    exist yet is taken literally), so ``root/../x`` and a symlink out of
    ``root`` are caught. Relative ``path`` is taken relative to the current
    folder, like ``open`` does.
    """
    target = Path(path).resolve()
    base = Path(root).resolve()
    if target != base and base not in target.parents:
        raise AtomisticsError(
            f"refusing to write {os.fspath(path)}: it resolves to {target}, outside the output "
            f"folder {base}. Check the study/system names (letters, digits, '_', '-', '.') and "
            "symlinks under the output folder."
        )
    return Path(path)


def check_output_folder(folder: str | os.PathLike, option: str = "-o") -> Path:
    """Refuse an output *folder* that is an existing file (one clear line instead of an OSError)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise AtomisticsError(
            f"{option} {folder} is an existing file, not a folder: give a folder path "
            "(it is created if missing)."
        )
    for parent in folder.parents:
        if parent.exists() and not parent.is_dir():
            raise AtomisticsError(
                f"{option} {folder}: {parent} is a file, not a folder: choose another path."
            )
    return folder


# errno values that mean "the user's disk or path", not a bug in the tool.
_USER_ERRNOS = {
    errno.EROFS: "the file system is read-only: choose a writable folder (--workdir, -o, --db)",
    errno.ENOSPC: "the disk is full: free space or choose another folder",
    errno.EDQUOT: "the disk quota is exceeded: free space or choose another folder",
    errno.EACCES: "permission denied: choose a folder you can write, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a folder you can write",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "it is a folder, not a file: give a file path",
    errno.EEXIST: "it already exists as a file: give a folder path that is free",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter path",
    errno.ENOENT: "no such file or folder: check the path",
}


def describe_os_error(exc: BaseException) -> str | None:
    """One line for an OSError the user can fix (read-only or full disk, a file where a folder
    should be, ...), else None. Used by the CLI entry point; the caller redacts it."""
    if not isinstance(exc, OSError) or exc.errno not in _USER_ERRNOS:
        return None
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    what = f" {where}" if where else ""
    return f"cannot use{what}: {exc.strerror or exc}; {_USER_ERRNOS[exc.errno]}."


def describe_sqlite_error(exc: BaseException) -> str | None:
    """One line for an SQLite results database that is not one, is read-only or full."""
    import sqlite3

    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    text = " ".join(str(exc).split())
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        fix = "the results database is read-only: give a writable --db path"
    elif "full" in low:
        fix = "the disk holding the results database is full: free space or use another --db"
    elif "not a database" in low or "malformed" in low or "file is encrypted" in low:
        fix = "the --db file is not an SQLite results database: give the right file or a new path"
    elif "locked" in low:
        fix = "another process holds the results database: wait for it or use another --db"
    else:
        fix = "check the --db file (a copy from `atomistics run`) or give a new path"
    return f"results database error ({text}): {fix}."


__all__ = [
    "check_output_folder",
    "describe_os_error",
    "describe_sqlite_error",
    "inside",
]


#: Figure formats the plotting commands write (matplotlib backends every install has).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def plot_path(value: str) -> Path:
    """An argparse ``type`` for ``--plot``-like options: checked before any work is done.

    A format matplotlib cannot write would otherwise fail only after the calculations,
    with a traceback. A missing folder is created when the plot is written (the one rule
    for output paths); a part of the path that is an existing file is refused here.
    """
    import argparse

    path = Path(value)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{value!r}: a plot is written as {', '.join(PLOT_SUFFIXES)}; give a file name "
            "ending in one of them"
        )
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a folder: give a file name for the plot")
    try:
        check_output_folder(path.parent, "the plot's folder")
    except AtomisticsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path
