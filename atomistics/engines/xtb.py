"""GFN2-xTB dry-run engine through tblite's ASE calculator.

Cheap enough to run the whole LiMMT–FSI⁻ study on a laptop: molecules and ion
pairs relax fully; on the ~170-atom slab only the adsorbate moves, for at most
``XTB_MAX_STEPS_PERIODIC`` optimizer steps (each GFN2 evaluation of the slab
costs ~20 s on 2 cores), and the clay is held at its built geometry in both the
bare slab and the adsorbate system, so its strain cancels in E_bind.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import Any

from ase import Atoms

from atomistics.engines.ase_engine import ASECalculatorEngine
from atomistics.errors import AtomisticsError

XTB_DEFAULTS: dict[str, Any] = {
    "method": "GFN2-xTB",
    "accuracy": 1.0,
    "electronic_temperature": 300.0,
    "max_iterations": 250,
}
XTB_FMAX = 0.05  # eV/Å
XTB_MAX_STEPS = 200
XTB_MAX_STEPS_PERIODIC = 8


def _tblite_factory(atoms: Atoms, settings: dict[str, Any]):
    from tblite.ase import TBLite

    return TBLite(
        charge=int(atoms.info.get("charge", 0)),
        multiplicity=int(atoms.info.get("spin_multiplicity", 1)),
        verbosity=0,
        **settings,
    )


def tblite_version() -> str:
    try:
        return _dist_version("tblite")
    except PackageNotFoundError:
        raise AtomisticsError(
            "the xtb engine needs tblite: pip install tblite (binary wheels for Python 3.11 "
            "x86-64), or choose --engine cp2k."
        ) from None


class XtbEngine(ASECalculatorEngine):
    """GFN2-xTB via tblite (charge and multiplicity from ``atoms.info``)."""

    def __init__(self, **overrides: Any) -> None:
        calc = {k: overrides.pop(k) for k in list(overrides) if k in XTB_DEFAULTS}
        relax = {
            "fmax": XTB_FMAX,
            "max_steps": XTB_MAX_STEPS,
            "max_steps_periodic": XTB_MAX_STEPS_PERIODIC,
        }
        relax.update(overrides)
        super().__init__(
            "xtb",
            _tblite_factory,
            version=f"tblite {tblite_version()}",
            calculator_settings={**XTB_DEFAULTS, **calc},
            **relax,
        )
