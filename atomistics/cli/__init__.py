"""The ``atomistics`` console script.

Each subcommand lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` (called with the parsed
arguments, returns an exit code). User errors (:class:`AtomisticsError`) go to
stderr with exit code 2, never as a traceback.

Credentials are never printed: every error message, argparse's usage errors,
and the traceback of an unexpected error (a bug, exit code 1) pass through
:func:`atomistics.redact.redact`. A results-database server that cannot be
reached or refuses the login is a user problem (one line, exit code 2).

A reader that closes the output early (``atomistics bridge | head``) ends any command
quietly: no ``BrokenPipeError`` traceback (the Python documentation's "Note on SIGPIPE":
stdout is pointed at ``os.devnull`` and the exit code is 1).

SIGTERM (``kill``, a queue's ``scancel`` or walltime) unwinds like Ctrl-C
(:class:`Terminated`), so a running CP2K child is stopped by the engine's cleanup and
the interrupted calculation's folder is kept; the exit code is 143 (128 + SIGTERM).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import threading

from atomistics import __version__
from atomistics.errors import AtomisticsError
from atomistics.redact import redact

# Modules that provide subcommands, in the order they appear in --help.
# A module listed here that is not importable (optional feature still under
# development) is skipped so the rest of the CLI keeps working.
SUBCOMMAND_MODULES = (
    "atomistics.cli.build",
    "atomistics.cli.cp2k",
    "atomistics.cli.run",
    "atomistics.cli.screen",
    "atomistics.cli.fireworks",
    "atomistics.cli.continuum",
    "atomistics.cli.analyze",
)


def _load_modules() -> list:
    modules = []
    for name in SUBCOMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
    return modules


#: A value that starts like a negative number, with or without a unit: "-1eV", "-0.5",
#: "-.3mol/L", "-1e-3".
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


class _Parser(argparse.ArgumentParser):
    r"""argparse with its usage errors on one redacted line, and negative quantities as values.

    Workaround, in this one place: argparse reads a token that starts with "-" as an
    option unless it is a bare negative number (its private ``_negative_number_matcher``,
    ``^-\d+$|^-\d*\.\d+$``), so ``--delta-g -1eV`` failed with "expected one argument",
    although every energy of this field is negative. No option of this CLI starts with a
    digit, so any token that starts like a negative number is a value.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str):
        # One line, no usage dump (``--help`` shows it): the message names the option.
        self.exit(2, f"error: {redact(message)} ({self.prog} --help lists the options)\n")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def user_message(exc: BaseException) -> str:
    """An error for the user: credentials masked, on one line (a driver's message may wrap)."""
    lines = [line.strip() for line in redact(exc).splitlines()]
    return " ".join(line for line in lines if line)


def database_error(exc: BaseException) -> str | None:
    """The one-line message for a database server's connection error, else None.

    psycopg2's OperationalError (server down, wrong port, wrong password, no
    such database) reaches the CLI from the first query of ASE's PostgreSQL
    backend, which connects lazily.
    """
    cls = type(exc)
    if (
        cls.__module__.split(".")[0] in ("psycopg2", "psycopg")
        and cls.__name__ == "OperationalError"
    ):
        detail = _one_line(exc) or cls.__name__
        if detail[-1] not in ".?!":
            detail += "."
        return (
            f"cannot use the PostgreSQL results database: {detail} Check the --db URL "
            "(host, port, user, database name), its password (in the URL, PGPASSWORD or "
            "~/.pgpass), and that the server is running and reachable from this machine."
        )
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atomistics",
        description="LiMMT anion-braking separator study: build structures, write CP2K "
        "inputs, run them, compute binding energies and the ion-transport model.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _load_modules():
        module.register(subparsers)
    return parser


def _is_calculation_failure(exc: BaseException) -> bool:
    if "atomistics.engines.base" not in sys.modules:  # no engine ran: cannot be one
        return False
    from atomistics.engines.base import CalculationFailed

    return isinstance(exc, CalculationFailed)


def _stdout_to_devnull() -> None:
    """Point file descriptor 1 at ``os.devnull`` so that Python's final flush of the
    unwritten output cannot fail again at exit (docs.python.org, library/signal,
    "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (captured in tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Terminated(KeyboardInterrupt):
    """SIGTERM received: unwinds the stack like Ctrl-C (every ``except BaseException``
    cleanup runs, e.g. :meth:`atomistics.engines.cp2k.OwnProcessCp2kJob.terminate`).
    Python's default SIGTERM action ends the process at once and orphans its children."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (0 ok, 1 a bug or a failed calculation, 2 a user error).

    The output is flushed here, so that a reader that closed the pipe early shows as a
    :class:`BrokenPipeError` here, for every command (argparse's ``--help`` included), and
    ends quietly with exit code 1 instead of a traceback.
    """
    # The console script's edge, so the handler is installed here (and restored after),
    # never by library code; only the main thread may set signal handlers.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    except BrokenPipeError:
        _stdout_to_devnull()
        return 1


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Modules may offer shorthands (e.g. `build STUDY.yaml` for `build study STUDY.yaml`).
    for module in _load_modules():
        rewrite = getattr(module, "rewrite_argv", None)
        if rewrite is not None:
            argv = rewrite(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AtomisticsError as exc:
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return 2
    except Terminated:
        print(
            "terminated (SIGTERM): any running calculation was stopped and its folder kept; "
            "rerun the same command to continue",
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away: main() ends quietly
        raise
    except Exception as exc:
        if _is_calculation_failure(exc):
            # A calculation that ran and failed (SCF, crashed code): not bad input and not a
            # bug. One line; its folder is kept and a rerun retries only what did not finish.
            print(f"error: calculation failed: {redact(str(exc))}", file=sys.stderr)
            return 1
        message = database_error(exc)
        if message is None:  # a read-only/full disk, a file where a folder goes, a bad SQLite file
            from atomistics.paths import describe_os_error, describe_sqlite_error

            message = describe_os_error(exc) or describe_sqlite_error(exc)
        if message is not None:
            print(f"error: {redact(message)}", file=sys.stderr)
            return 2
        # A bug: keep the traceback for the report, without any credential in it.
        import traceback

        sys.stderr.write(redact(traceback.format_exc()))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
