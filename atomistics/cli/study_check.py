"""Loading a study file for a command: the whole file is checked before any work.

:func:`atomistics.study.load_study` (low layer) checks everything but the ``bridge:``
section's values, which belong to the continuum layer above it (imports go downward only,
tests/test_import_graph.py). The commands load studies through :func:`load_checked_study`,
so a bad bridge value (``temperature: -5 K``, ``porosity: .nan``) fails at load with exit 2,
before `build` writes or `run`/`submit` compute anything.
"""

from __future__ import annotations

from pathlib import Path


def check_study(study):
    """Validate the parts of a loaded study that live above the study layer; return it."""
    if study.bridge is not None:
        from atomistics.continuum.study_bridge import check_bridge_section

        check_bridge_section(study.bridge)
    return study


def load_checked_study(path: str | Path):
    """:func:`atomistics.study.load_study`, then :func:`check_study`."""
    from atomistics.study import load_study

    return check_study(load_study(path))


__all__ = ["check_study", "load_checked_study"]
