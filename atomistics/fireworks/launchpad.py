"""Open the LaunchPad: the embedded one in the study folder, or MongoDB from a LaunchPad file.

Without ``--launchpad`` the embedded LaunchPad of the current folder is used;
``atomistics submit`` creates it, writing (only where absent, never over a
user's file):

* ``FW_config.yaml`` - makes FireWorks (``rlaunch``, ``lpad``, ``qlaunch``) use
  :func:`atomistics.fireworks.embedded.EmbeddedMongoClient`;
* ``my_launchpad.yaml`` - ``host: embedded:<folder>/launchpad.json``;
* ``launchpad.json`` - the store (FireWorks' mongomock-persistence format).

With ``--launchpad FILE`` the file is read as FireWorks reads it
(``LaunchPad.from_file``). Nothing here prints a password or a connection URI
with credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from atomistics.errors import AtomisticsError
from atomistics.fireworks import embedded
from atomistics.redact import redact

FW_CONFIG = "FW_config.yaml"
LAUNCHPAD_FILE = "my_launchpad.yaml"
STORE_FILE = "launchpad.json"

_CALLABLE = {"@module": "atomistics.fireworks.embedded", "@callable": "EmbeddedMongoClient"}

FW_CONFIG_TEXT = """\
# FireWorks settings for this folder, written by `atomistics submit` (embedded LaunchPad,
# no MongoDB server). rlaunch / lpad / qlaunch started in this folder read it; queue jobs
# find it through FW_CONFIG_FILE (see README, "Running a study with FireWorks").
# MongoClient: LaunchPad hosts "embedded:<path>" use the single-process embedded store,
# any other host goes to pymongo unchanged.
MongoClient:
  "@module": atomistics.fireworks.embedded
  "@callable": EmbeddedMongoClient
LAUNCHPAD_LOC: {launchpad}
"""

LAUNCHPAD_TEXT = """\
# Embedded FireWorks LaunchPad (no server), written by `atomistics submit`.
# One process at a time; move to MongoDB for parallel launchers or a cluster
# (README, "Running a study with FireWorks").
host: {host}
name: fireworks
"""


@dataclass
class Opened:
    """An open LaunchPad and what to tell the user about it (no credentials)."""

    launchpad: Any
    description: str
    embedded_store: Path | None = None


# ------------------------------------------------------------------ the files


def _yaml_text(path: Path, what: str, fix: str) -> str:
    """The text of ``path``: refuse binary or non-UTF-8 bytes with one line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AtomisticsError(f"cannot read {what} {path}: {exc.strerror}.") from None
    if b"\x00" in raw:
        bad = raw.index(0)
    else:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = exc.start
    raise AtomisticsError(
        f"{path} is not a YAML {what} (binary or non-UTF-8 bytes at byte {bad}): {fix}"
    )


def _problem(exc: yaml.YAMLError) -> str:
    """'line L, column C: what' of a PyYAML error, without the quoted line (it may hold a password)."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:
        return redact(" ".join(str(exc).split()))
    return redact(f"line {mark.line + 1}, column {mark.column + 1}: {problem}")


def _read_yaml(path: Path, what: str, fix: str) -> dict:
    """The mapping in the YAML file ``path``; anything else is one line naming it and ``fix``."""
    text = _yaml_text(path, what, fix)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AtomisticsError(f"{what} {path} is not valid YAML ({_problem(exc)}): {fix}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AtomisticsError(f"{what} {path} must be a YAML mapping: {fix}")
    return data


def rewrite_fix(path: Path) -> str:
    """How to replace a broken file that ``atomistics submit`` writes (FW_config, LaunchPad)."""
    return (
        f"move it away (mv {path} {path}.broken) and run `atomistics submit STUDY.yaml` in "
        f"{path.parent} to write a new one (submitted Fireworks and stored results are kept)."
    )


GIVEN_LAUNCHPAD_FIX = (
    "give your LaunchPad file (FireWorks' my_launchpad.yaml: host, port, name, ...), or leave "
    "out --launchpad to use the embedded LaunchPad of this folder."
)


def fireworks_config_file(folder: Path) -> Path | None:
    """The FW_config.yaml FireWorks' tools read when started in ``folder`` (their order), if any."""
    for path in (folder / FW_CONFIG, Path.home() / ".fireworks" / FW_CONFIG):
        if path.exists():
            return path
    env = os.environ.get("FW_CONFIG_FILE")
    return Path(env) if env and Path(env).exists() else None


def check_fireworks_config(folder: Path) -> None:
    """Refuse a FW_config.yaml that rlaunch/lpad/qlaunch here would crash on (not YAML)."""
    path = fireworks_config_file(folder)
    if path is None:
        return
    if path.parent.resolve() == folder.resolve():
        fix = rewrite_fix(path)
    else:  # ~/.fireworks or $FW_CONFIG_FILE: not one `atomistics submit` writes
        fix = "fix its YAML or move it away (every FireWorks tool on this machine reads it)."
    _read_yaml(
        path,
        "FireWorks config file",
        f"rlaunch, lpad and qlaunch read it first and would fail; {fix}",
    )


def uses_embedded_client(fw_config: Path) -> bool:
    config = _read_yaml(fw_config, "FireWorks config file", rewrite_fix(fw_config))
    client = config.get("MongoClient")
    return isinstance(client, dict) and all(client.get(k) == v for k, v in _CALLABLE.items())


def ensure_embedded(folder: Path) -> tuple[Path, list[Path]]:
    """Make ``folder`` an embedded-LaunchPad folder; return (LaunchPad file, files written).

    Existing files are kept; one that contradicts the embedded mode is an error
    naming the fix (nothing is submitted).
    """
    folder = folder.resolve()
    written: list[Path] = []
    store = folder / STORE_FILE
    lp_file = folder / LAUNCHPAD_FILE
    config = folder / FW_CONFIG
    if lp_file.exists():
        host = _read_yaml(lp_file, "LaunchPad file", rewrite_fix(lp_file)).get("host")
        if not embedded.is_embedded_host(host):
            raise AtomisticsError(
                f"{lp_file} points to a MongoDB server, not to the embedded LaunchPad: pass "
                f"--launchpad {LAUNCHPAD_FILE} to submit there, or move it away to use the "
                "embedded LaunchPad of this folder."
            )
        store = embedded.store_path(host)
    if config.exists():
        if not uses_embedded_client(config):
            raise AtomisticsError(
                f"{config} exists but does not enable the embedded LaunchPad, so rlaunch/lpad "
                "here would not find it. Add this line to it: "
                'MongoClient: {"@module": atomistics.fireworks.embedded, '
                '"@callable": EmbeddedMongoClient}; '
                "or pass --launchpad my_launchpad.yaml for a MongoDB LaunchPad."
            )
        if "LAUNCHPAD_LOC" not in _read_yaml(config, "FireWorks config file", rewrite_fix(config)):
            print(
                f"note: {config.name} has no LAUNCHPAD_LOC; queue jobs (which start in their "
                f"launcher_* folders) need `LAUNCHPAD_LOC: {lp_file}` in it."
            )
    else:
        config.write_text(FW_CONFIG_TEXT.format(launchpad=lp_file))
        written.append(config)
    if not lp_file.exists():
        lp_file.write_text(LAUNCHPAD_TEXT.format(host=f"{embedded.SCHEME}{store}"))
        written.append(lp_file)
    return lp_file, written


# ---------------------------------------------------------------- credentials


def _secrets(spec: dict) -> list:
    """The literal secrets of a LaunchPad spec (password, and any *pass* client argument)."""
    out = [spec.get("password")]
    for key, value in (spec.get("mongoclient_kwargs") or {}).items():
        if "pass" in str(key).lower() and value:
            out.append(value)
    return [s for s in out if s]


def describe(spec: dict) -> str:
    """'MongoDB host:port/db (user u)' or 'embedded LaunchPad <path>', never a password.

    A ``host`` that is a ``mongodb://`` URI (with or without ``uri_mode``) is
    shown with its password masked, as is everything else here.
    """
    host = spec.get("host") or "localhost"
    if embedded.is_embedded_host(host):
        return f"embedded LaunchPad {embedded.store_path(host)}"
    name = spec.get("name") or "fireworks"
    if spec.get("uri_mode") or "://" in str(host):
        return redact(f"MongoDB {host} (database {name})", _secrets(spec))
    user = f", user {spec['username']}" if spec.get("username") else ""
    return redact(f"MongoDB {host}:{spec.get('port') or 27017}/{name}{user}", _secrets(spec))


def redact_spec(text: str, spec: dict) -> str:
    """``text`` with URL passwords and the LaunchPad spec's literal secrets masked."""
    return redact(text, _secrets(spec))


# ------------------------------------------------------------------- opening


def launchpad_spec(launchpad_file: Path | None, folder: Path) -> tuple[Path, dict]:
    path = launchpad_file if launchpad_file is not None else folder / LAUNCHPAD_FILE
    if not path.is_file():
        if launchpad_file is None:
            raise AtomisticsError(
                f"no LaunchPad in {folder}: run `atomistics submit STUDY.yaml` here first, or "
                "pass --launchpad my_launchpad.yaml."
            )
        raise AtomisticsError(f"LaunchPad file {path} does not exist.")
    fix = rewrite_fix(path) if launchpad_file is None else GIVEN_LAUNCHPAD_FIX
    spec = _read_yaml(path, "LaunchPad file", fix)
    if "host" not in spec and not spec.get("uri_mode"):
        spec.setdefault("host", "localhost")
    return path, spec


def open_launchpad(launchpad_file: Path | None, folder: Path, *, check: bool = True) -> Opened:
    """The LaunchPad of ``launchpad_file`` (or the folder's embedded one), connected."""
    check_fireworks_config(folder)  # importing FireWorks reads it: one line, not a traceback
    import fireworks.core.launchpad as fw_launchpad
    from fireworks import LaunchPad

    path, spec = launchpad_spec(launchpad_file, folder)
    what = describe(spec)
    host = spec.get("host")
    if embedded.is_embedded_host(host):
        store = embedded.store_path(host)
        # This process may have imported FireWorks before FW_config.yaml existed:
        # use the embedded client for this construction whatever FireWorks loaded.
        previous = fw_launchpad.MongoClient
        fw_launchpad.MongoClient = embedded.EmbeddedMongoClient
        try:
            lp = LaunchPad.from_dict(spec)
        finally:
            fw_launchpad.MongoClient = previous
        initialise(lp)
        return Opened(lp, what, store)
    try:
        lp = LaunchPad.from_dict(
            {
                **spec,
                "mongoclient_kwargs": {
                    "serverSelectionTimeoutMS": 10000,
                    **(spec.get("mongoclient_kwargs") or {}),
                },
            }
        )
        if check:
            lp.connection.admin.command("ping")
            lp.fireworks.find_one({}, {"_id": 1})
    except Exception as exc:  # pymongo errors: no server, bad auth, bad URI
        # pymongo appends its whole topology description: the first part says what failed.
        detail = " ".join(str(exc).split()).split(", Topology Description")[0]
        message = redact_spec(f"{type(exc).__name__}: {detail}", spec)
        raise AtomisticsError(
            f"cannot use the LaunchPad of {path} ({what}): {message[:400]}. Check host, port, "
            "database name and credentials in that file, and that the server is reachable "
            "from this machine."
        ) from None
    initialise(lp)
    return Opened(lp, what, None)


def initialise(lp) -> None:
    """Reset a LaunchPad that was never initialised (no fw_id counter, no Fireworks)."""
    if lp.fw_id_assigner.find_one({}) is None and lp.fireworks.find_one({}) is None:
        lp.reset("", require_password=False)


def fireworks_collection(launchpad_file: Path | None, folder: Path):
    """(fireworks collection, description, note) for read-only queries.

    The embedded store is read from its file without taking the lock, so status
    works while a launcher runs (the note says it is a snapshot).
    """
    check_fireworks_config(folder)  # rlaunch/lpad here would crash on a broken one
    path, spec = launchpad_spec(launchpad_file, folder)
    host = spec.get("host")
    if embedded.is_embedded_host(host):
        store = embedded.store_path(host)
        client = (
            embedded.EmbeddedMongoClient(host)
            if embedded.holds(store)
            else embedded.snapshot_client(store)
        )
        db = client[spec.get("name") or "fireworks"]
        return (
            db.fireworks,
            describe(spec),
            "snapshot of the store file, as of the last Firetask boundary",
        )
    opened = open_launchpad(launchpad_file, folder)
    return opened.launchpad.fireworks, opened.description, ""
