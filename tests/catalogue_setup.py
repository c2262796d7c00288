"""Setup steps for the bad-input catalogue's cases (shared by its case files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    """A setup that writes ``content`` to ``name`` in the command's folder."""

    def setup(cwd: Path) -> None:
        path = cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return setup


def both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    """A setup that runs ``setups`` in order."""

    def setup(cwd: Path) -> None:
        for s in setups:
            s(cwd)

    return setup
