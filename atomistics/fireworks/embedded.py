"""The embedded LaunchPad: FireWorks' mongomock-persistence store, made safe for one process.

FireWorks can run without a MongoDB server on a JSON file through
``mongomock-persistence`` (``fireworks[mongomock]``). As shipped that store is
single-process only: every process loads its own copy of the file and writes
it back at exit, so two launchers run every Firework twice, a killed launcher
loses everything, and a second client in the same process sees a stale copy.
This module keeps that store and file format and adds:

* **one process at a time**: the first client of a process takes an exclusive
  lock (``<store>.lock``, an OS file lock the kernel releases when the process
  dies, even on SIGKILL) and holds it until the process exits, *after* the store
  is written back. A second process is refused with a message naming the holder;
* **one copy per process**: every client in a process shares the same store;
* **durable, atomic writes**: the file is replaced atomically (temporary file +
  rename) at exit and whenever :func:`flush` is called; the Firetasks flush when
  they start and finish, so a killed launcher leaves its Fireworks RUNNING (found
  by ``lpad detect_lostruns``) instead of losing them.

FireWorks reaches this module through ``FW_config.yaml`` (written by
``atomistics submit``)::

    MongoClient: {"@module": atomistics.fireworks.embedded, "@callable": EmbeddedMongoClient}

and a LaunchPad file whose host is ``embedded:<absolute path of the store>``.
Any other host goes to :class:`pymongo.MongoClient` unchanged, so the same
``FW_config.yaml`` also works with a real MongoDB LaunchPad file.

This module is imported while ``fireworks.fw_config`` is being loaded: it must
not import ``fireworks``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomistics.errors import AtomisticsError
from atomistics.redact import redact

#: Prefix of a LaunchPad ``host`` that selects the embedded store.
SCHEME = "embedded:"
#: FireWorks' command-line tools: a refused lock ends them with a message, not a traceback.
FIREWORKS_SCRIPTS = ("rlaunch", "lpad", "qlaunch", "mlaunch")


class EmbeddedStoreBusy(AtomisticsError):
    """Another process holds the embedded LaunchPad."""


def is_embedded_host(host: Any) -> bool:
    return isinstance(host, str) and host.startswith(SCHEME)


def store_path(host: str) -> Path:
    """The store file named by an ``embedded:<path>`` host."""
    raw = host[len(SCHEME) :]
    if raw.startswith("//"):
        raw = raw[2:]
    if not raw:
        raise AtomisticsError(
            f"LaunchPad host {host!r} names no store file: use embedded:/absolute/path/launchpad.json."
        )
    return Path(raw).expanduser()


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


# ------------------------------------------------------------------- the store


def _mongomock():
    try:
        import mongomock.gridfs
        import mongomock_persistence  # noqa: F401  (patches mongomock's stores for to/from dict)
        from mongomock.store import DatabaseStore, ServerStore
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise AtomisticsError(
            "the embedded LaunchPad needs mongomock-persistence: pip install 'fireworks[mongomock]'."
        ) from exc
    return mongomock, ServerStore, DatabaseStore


class EmbeddedStoreCorrupt(AtomisticsError):
    """The embedded LaunchPad's store file is empty, truncated or not a store."""


def _corrupt(path: Path, problem: str) -> EmbeddedStoreCorrupt:
    return EmbeddedStoreCorrupt(
        f"the embedded LaunchPad store {path} {problem}: it was probably cut short by a full "
        f"disk or a killed process, or replaced by another file. Move it away (mv {path} {path}.broken) and run "
        "`atomistics submit STUDY.yaml` again: finished calculations are kept in the results "
        "database and are not rerun."
    )


def _load_databases(path: Path) -> dict:
    """The store's databases; a missing file is an empty store, a 0-byte or broken one an error.

    ``acquire`` creates a new store as ``{}``, so an empty file is never a
    valid store: silently treating it as empty would reset the LaunchPad and
    lose every Firework's state.
    """
    import bson.json_util

    _, _, DatabaseStore = _mongomock()
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _corrupt(path, "is not text (binary bytes)") from None
    except OSError as exc:
        raise AtomisticsError(
            f"cannot read the embedded LaunchPad store {path}: {exc.strerror}."
        ) from None
    if not text.strip():
        raise _corrupt(path, "is empty (0 bytes)" if not text else "holds only blanks")
    try:
        dct = bson.json_util.loads(text)
    except ValueError as exc:
        raise _corrupt(path, f"is not valid JSON ({exc})") from None
    except Exception as exc:  # bson's extended JSON with a wrong value ({"$oid": 1}, ...)
        raise _corrupt(path, f"is not a LaunchPad store ({type(exc).__name__}: {exc})") from None
    if not isinstance(dct, dict):
        raise _corrupt(path, "is not a LaunchPad store (not a JSON object)")
    try:
        return {k: DatabaseStore.from_dict(v) for k, v in dct.items()}
    except Exception as exc:  # mongomock-persistence on a JSON that is not its format
        raise _corrupt(path, f"is not a LaunchPad store ({type(exc).__name__})") from None


def _dump(store) -> str:
    import bson.json_util

    for _ in range(20):  # a FireWorks ping thread may be writing a document right now
        try:
            return bson.json_util.dumps(store.to_dict())
        except RuntimeError:
            time.sleep(0.01)
    return bson.json_util.dumps(store.to_dict())


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _store_class():
    _, ServerStore, _ = _mongomock()

    class DurableServerStore(ServerStore):
        """A mongomock ServerStore backed by one JSON file, written atomically."""

        def __init__(self, filename: Path, *, write_back: bool = True) -> None:
            self._filename = str(filename)
            self._databases = _load_databases(Path(filename))
            self._last_written: str | None = None
            self._write_back = write_back
            if write_back:
                # Runs at interpreter exit, before the OS releases our lock.
                self._finalizer = weakref.finalize(self, self._to_file)

        def _to_file(self) -> None:
            if not self._write_back:
                return
            text = _dump(self)
            if text == self._last_written:
                return
            write_atomic(Path(self._filename), text)
            self._last_written = text

    return DurableServerStore


@dataclass
class _Handle:
    store: Any
    lock: Any
    pid: int
    path: Path


#: The stores this process holds, by resolved path (one lock and one copy each).
_HELD: dict[str, _Handle] = {}


def _holder_text(lock_file: Path) -> str:
    info_file = lock_file.with_name(lock_file.name + ".owner")
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    command = redact(info.get("command"))
    return f"pid {info.get('pid')} on {info.get('host')} ({command}), since {since}"


def busy_message(store: Path) -> str:
    return (
        f"the embedded FireWorks LaunchPad {store} is in use by {_holder_text(lock_path(store))}. "
        "The embedded store serves one process at a time (rlaunch, qlaunch, lpad, lpad webgui, "
        "atomistics submit): wait for that process to finish or stop it, then retry. "
        "To run several launchers at once or jobs on a cluster, move to a MongoDB LaunchPad "
        "(README: 'Running a study with FireWorks')."
    )


def _fail(exc: AtomisticsError):
    """Raise ``exc``; inside FireWorks' own CLIs print it as one line and exit 2 instead.

    rlaunch, lpad and qlaunch would print a traceback for an exception raised
    while they open the LaunchPad.
    """
    if Path(sys.argv[0]).name in FIREWORKS_SCRIPTS:
        print(f"error: {redact(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    raise exc from None


def acquire(store: Path):
    """Take this process's exclusive lock on ``store`` (held until exit) and load it."""
    from filelock import FileLock, Timeout

    key = str(store.resolve())
    held = _HELD.get(key)
    if held is not None:
        if held.pid != os.getpid():
            raise EmbeddedStoreBusy(
                f"the embedded LaunchPad {store} was opened by process {held.pid} before this "
                "process was forked; a forked child cannot use it (rlaunch multi needs MongoDB)."
            )
        return held.store
    if not store.parent.is_dir():
        raise AtomisticsError(
            f"the embedded LaunchPad store {store} is in a folder that does not exist; fix 'host' "
            "in my_launchpad.yaml (embedded:<absolute path>) or run `atomistics submit` in the "
            "study folder to create it."
        )
    lock_file = lock_path(store)
    lock = FileLock(str(lock_file), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        _fail(EmbeddedStoreBusy(busy_message(store)))
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        # the command line may carry a --db URL with its password
        "command": redact(" ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))[:200],
        "since": time.time(),
    }
    write_atomic(lock_file.with_name(lock_file.name + ".owner"), json.dumps(owner))
    try:
        if not store.exists():
            write_atomic(store, "{}")
        instance = _store_class()(store)
    except AtomisticsError as exc:
        lock.release()
        _fail(exc)
    except BaseException:
        lock.release()
        raise
    _HELD[key] = _Handle(instance, lock, os.getpid(), store)
    return instance


def flush() -> int:
    """Write every embedded store held by this process to disk now; return how many."""
    n = 0
    for handle in list(_HELD.values()):
        if handle.pid == os.getpid():
            handle.store._to_file()
            n += 1
    return n


def holds(store: Path) -> bool:
    held = _HELD.get(str(Path(store).resolve()))
    return held is not None and held.pid == os.getpid()


def EmbeddedMongoClient(host=None, port=None, *args: Any, **kwargs: Any):  # noqa: N802
    """Drop-in for ``pymongo.MongoClient``: ``embedded:<path>`` hosts use the embedded store.

    Referenced from ``FW_config.yaml`` as FireWorks' ``MongoClient``.
    """
    if not is_embedded_host(host):
        import pymongo

        return pymongo.MongoClient(host, port, *args, **kwargs)
    mongomock, _, _ = _mongomock()
    mongomock.gridfs.enable_gridfs_integration()
    return mongomock.MongoClient(_store=acquire(store_path(host)))


def snapshot_client(store: Path):
    """A read-only client on the store file as last written (no lock, never written back).

    For status displays while a launcher holds the store: the file is at most one
    Firetask boundary behind.
    """
    mongomock, _, _ = _mongomock()
    if not Path(store).exists():
        raise AtomisticsError(
            f"no embedded LaunchPad at {store}: run `atomistics submit STUDY.yaml` in this folder first."
        )
    return mongomock.MongoClient(_store=_store_class()(Path(store), write_back=False))
