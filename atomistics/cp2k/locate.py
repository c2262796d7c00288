"""Find the CP2K that will run: its command, its data directory, its version and input schema.

Order of precedence (documented in the README section "CP2K inputs"):

* command: env ``CP2K_COMMAND`` (split with :mod:`shlex`, e.g. ``"mpirun -np 4 cp2k.psmp"``),
  else the first of ``cp2k.psmp``, ``cp2k.ssmp``, ``cp2k.popt``, ``cp2k.sopt``, ``cp2k`` on PATH
  (conda-forge's ``cp2k`` package and cluster modules put one there);
* data directory (basis sets, potentials, ``dftd3.dat``): env ``CP2K_DATA_DIR``, else the
  ``__DATA_DIR`` compiled into the binary (``cp2k --version``), else ``share/cp2k/data`` or
  ``share/cp2k`` next to the binary or in ``$CONDA_PREFIX``, else ``/usr/share/cp2k`` (Debian).

The binary's ``--xml`` input schema is cached per binary and version under
``$ATOMISTICS_CACHE_DIR`` (default ``$XDG_CACHE_HOME/atomistics`` or ``~/.cache/atomistics``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from atomistics.errors import AtomisticsError

BINARY_NAMES = ("cp2k.psmp", "cp2k.ssmp", "cp2k.popt", "cp2k.sopt", "cp2k")
# A file that every CP2K data directory has; used to recognise one.
_DATA_MARKER = "BASIS_MOLOPT"
_INSTALL_HINT = (
    "install CP2K (Debian/Ubuntu: `apt install cp2k`; conda: `conda install -c conda-forge cp2k`; "
    "on a cluster: `module load cp2k`) or set CP2K_COMMAND, e.g. "
    "CP2K_COMMAND='mpirun -np 4 cp2k.psmp'"
)


def find_cp2k_command(required: bool = True) -> list[str] | None:
    """The command that runs CP2K, as an argument list (never passed through a shell).

    Honours env ``CP2K_COMMAND``; otherwise looks for a CP2K binary on PATH. Returns ``None``
    when nothing is found and ``required`` is false; raises :class:`AtomisticsError` otherwise.
    """
    env = os.environ.get("CP2K_COMMAND", "").strip()
    if env:
        try:
            cmd = shlex.split(env)
        except ValueError as exc:
            raise AtomisticsError(f"CP2K_COMMAND={env!r} cannot be parsed: {exc}.") from None
        exe = shutil.which(cmd[0])
        if exe is None:
            raise AtomisticsError(
                f"CP2K_COMMAND={env!r}: {cmd[0]!r} is not an executable on PATH; fix CP2K_COMMAND "
                "or unset it to use the CP2K found on PATH."
            )
        return cmd
    for name in BINARY_NAMES:
        exe = shutil.which(name)
        if exe:
            return [exe]
    if required:
        raise AtomisticsError(f"no CP2K executable found on PATH: {_INSTALL_HINT}.")
    return None


def cp2k_binary(command: list[str]) -> list[str]:
    """The bare CP2K binary of a (possibly MPI-launched) command, for ``--version/--xml/--check``.

    Utility calls must not go through ``mpirun``: the last word whose name starts with
    ``cp2k`` is taken as the binary; a command without one is used as given.
    """
    for word in reversed(command):
        if Path(word).name.startswith("cp2k"):
            return [word]
    return list(command)


def _run(
    args: list[str], cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    try:
        return subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except OSError as exc:
        raise AtomisticsError(f"cannot run {shlex.join(args)}: {exc}; {_INSTALL_HINT}.") from None
    except subprocess.TimeoutExpired:
        raise AtomisticsError(f"{shlex.join(args)} did not finish in {timeout:.0f} s.") from None


@functools.lru_cache(maxsize=8)
def _version_info(binary: tuple[str, ...]) -> dict:
    proc = _run([*binary, "--version"])
    text = proc.stdout + proc.stderr
    version = re.search(r"CP2K version\s+(\S+)", text)
    revision = re.search(r"Source code revision\s+(\S+)", text)
    # The compiler flags are wrapped at 70 columns with a 3-space indent: unwrap first.
    flat = re.sub(r"\n   ", "", text)
    data_dir = re.search(r'__DATA_DIR="([^"]+)"', flat)
    if version is None:
        raise AtomisticsError(
            f"{shlex.join(binary)} --version did not print a CP2K version (exit {proc.returncode}); "
            f"is it CP2K? {_INSTALL_HINT}."
        )
    return {
        "version": version.group(1),
        "revision": revision.group(1) if revision else None,
        "compiled_data_dir": data_dir.group(1) if data_dir else None,
        "binary": shutil.which(binary[0]) or binary[0],
    }


def cp2k_version_info(command: list[str] | None = None) -> dict:
    """``{"version", "revision", "compiled_data_dir", "binary"}`` of the CP2K binary."""
    command = command or find_cp2k_command()
    return dict(_version_info(tuple(cp2k_binary(command))))


def _is_data_dir(path: Path) -> bool:
    return (path / _DATA_MARKER).is_file()


def find_cp2k_data_dir(command: list[str] | None = None, required: bool = True) -> Path | None:
    """The data directory of the CP2K that will run (see the module docstring for the order)."""
    env = os.environ.get("CP2K_DATA_DIR", "").strip()
    if env:
        path = Path(env).expanduser()
        if not _is_data_dir(path):
            raise AtomisticsError(
                f"CP2K_DATA_DIR={env!r} has no {_DATA_MARKER} file: point it at CP2K's data "
                "directory (the folder with BASIS_MOLOPT, GTH_POTENTIALS, dftd3.dat)."
            )
        return path
    candidates: list[Path] = []
    if command is None:
        command = find_cp2k_command(required=False)
    if command:
        try:
            compiled = cp2k_version_info(command)["compiled_data_dir"]
        except AtomisticsError:
            compiled = None
        if compiled:
            candidates.append(Path(compiled))
        exe = shutil.which(cp2k_binary(command)[0])
        if exe:
            prefix = Path(exe).resolve().parent.parent
            candidates += [prefix / "share/cp2k/data", prefix / "share/cp2k"]
    if os.environ.get("CONDA_PREFIX"):
        prefix = Path(os.environ["CONDA_PREFIX"])
        candidates += [prefix / "share/cp2k/data", prefix / "share/cp2k"]
    candidates += [Path("/usr/share/cp2k/data"), Path("/usr/share/cp2k")]
    for path in candidates:
        if _is_data_dir(path):
            return path
    if required:
        raise AtomisticsError(
            "cannot find CP2K's data directory (basis sets and potentials); set CP2K_DATA_DIR to "
            f"the folder with BASIS_MOLOPT (looked in: {', '.join(map(str, candidates))})."
        )
    return None


def cache_dir() -> Path:
    """Per-user cache folder (env ``ATOMISTICS_CACHE_DIR`` overrides)."""
    env = os.environ.get("ATOMISTICS_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "atomistics"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cp2k_schema(command: list[str] | None = None) -> tuple[Path, dict]:
    """``cp2k_input.xml`` of the given CP2K (``cp2k --xml``), cached per binary and version.

    Returns the path of the cached schema and the version info of the binary.
    """
    info = cp2k_version_info(command)
    exe = Path(info["binary"])
    stat = exe.stat() if exe.exists() else None
    key_src = f"{exe.resolve() if stat else exe}|{stat.st_size if stat else ''}|{stat.st_mtime_ns if stat else ''}|{info['version']}|{info['revision']}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    target = cache_dir() / f"cp2k_input-{info['version']}-{key}.xml"
    if not target.is_file():
        binary = cp2k_binary(command or find_cp2k_command())
        with tempfile.TemporaryDirectory(prefix="atomistics-cp2k-xml-") as tmp:
            proc = _run([*binary, "--xml"], cwd=tmp, timeout=300)
            produced = Path(tmp) / "cp2k_input.xml"
            if proc.returncode != 0 or not produced.is_file():
                raise AtomisticsError(
                    f"{shlex.join(binary)} --xml failed (exit {proc.returncode}): "
                    f"{(proc.stderr or proc.stdout).strip()[-500:]}"
                )
            # write atomically: concurrent validators may race on the same cache entry
            partial = target.with_suffix(f".{os.getpid()}.part")
            shutil.copyfile(produced, partial)
            os.replace(partial, target)
    return target, info
