"""The ``atomistics`` console script.

Each subcommand lives in its own module with a ``register(subparsers)``
function that adds its parser and sets ``func`` (called with the parsed
arguments, returns an exit code). User errors (:class:`AtomisticsError`) go to
stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from atomistics import __version__
from atomistics.errors import AtomisticsError

# Modules that provide subcommands, in the order they appear in --help.
# A module listed here that is not importable (optional feature still under
# development) is skipped so the rest of the CLI keeps working.
SUBCOMMAND_MODULES = (
    "atomistics.cli.build",
    "atomistics.cli.cp2k",
    "atomistics.cli.run",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def main(argv: list[str] | None = None) -> int:
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
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
