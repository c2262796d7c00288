"""GFN2-xTB dry-run engine through tblite's ASE calculator.

Molecules and ion pairs relax fully; on the ~170-atom slab only the adsorbate
(and its counter-ion) moves, for at most ``XTB_MAX_STEPS_PERIODIC`` optimizer
steps (enough to reach fmax; a relaxation that does not is flagged unconverged
everywhere its energy appears), and the clay is held at its built geometry in
both the bare slab and the adsorbate system, so its strain cancels in E_bind.
A slab step costs 15–70 s on 2 cores (docs/dry_run_engine.md).

Periodic cells (see ``docs/dry_run_engine.md``):

* tblite treats every periodic cell as 3D-periodic (``pbc = (T, T, F)`` and
  ``(T, T, T)`` give the same energy): a slab interacts with its images along z
  through a 3D Ewald sum with conducting (tin-foil) boundary conditions.  For a
  neutral slab without a dipole that interaction vanishes with the vacuum; a
  slab dipole μ_z leaves the Yeh–Berkowitz term −2π μ_z²/V (Yeh & Berkowitz,
  J. Chem. Phys. 111, 3155 (1999)), which decays as 1/c.
* tblite 0.8.0 is refused for periodic cells: its new Ewald treatment of the
  Klopman–Ohno kernel (GFN1/GFN2) regularises a log-divergent 1/r³ lattice sum
  with a constant that depends on the cell volume and Ewald parameter, so the
  energy of a neutral, dipole-free slab falls by about 1 eV per Å of cell height
  (NaCl(001) and LiMMT slabs; 0.7.0 converges to < 1 meV on NaCl).

Implicit solvation (``solvation=``): tblite's ALPB/GBSA (named solvents) and
ddX-CPCM/COSMO (a permittivity or a named solvent).  tblite's solvation models
ignore the lattice: for a periodic cell they solvate the cell's atoms as an
isolated cluster, so by default they are refused for periodic cells
(``periodic_solvation="refuse"``); ``"cluster"`` accepts that approximation.
"""

from __future__ import annotations

import math
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
XTB_MAX_STEPS_PERIODIC = 200  # converge (fmax) as for molecules; flagged when not reached
#: tblite's accuracy factor during the optimizer steps of a relaxation (SCF energy
#: threshold 1e-6 Eh × accuracy); the final evaluation uses the engine's accuracy.
#: Kept equal to ``accuracy`` by default: accuracy 10 saves ~3 of 19 SCF cycles per
#: step (forces change by 5e-4 eV/Å), but the extra tight evaluation at the end made
#: a 3-step relaxation on the slab 0.91× as fast (benchmarks/bench_dry_run.py).
XTB_RELAX_ACCURACY = 1.0

#: tblite releases whose periodic electrostatics are wrong (docs/dry_run_engine.md).
BAD_PERIODIC_TBLITE = ("0.8.",)

#: Solvation models: name in the engine option → tblite's model, what it takes.
SOLVATION_MODELS = {
    "alpb": "named solvent (parametrised ALPB, e.g. thf)",
    "gbsa": "named solvent (parametrised GBSA, e.g. thf)",
    "cpcm": "relative permittivity (e.g. 7.2) or a named solvent (ddX CPCM)",
    "cosmo": "relative permittivity (e.g. 7.2) or a named solvent (ddX COSMO)",
}
#: DME (1,2-dimethoxyethane), the study's solvent, is not parametrised in tblite;
#: THF (ε = 7.43, also an ether) is the closest parametrised solvent (ε(DME) = 7.2).
DME_PERMITTIVITY = 7.2
PERIODIC_SOLVATION = ("refuse", "cluster")


def parse_solvation(spec: str | None) -> tuple | None:
    """``"alpb:thf"``, ``"gbsa:thf"``, ``"cpcm:7.2"`` → the tuple tblite's ASE calculator takes.

    ``None`` or ``""`` means gas phase.
    """
    if spec is None or spec == "":
        return None
    if not isinstance(spec, str) or ":" not in spec:
        raise AtomisticsError(
            f"solvation {spec!r} not understood: write MODEL:SOLVENT, e.g. 'alpb:thf' or "
            f"'cpcm:{DME_PERMITTIVITY}' (models: {', '.join(SOLVATION_MODELS)})."
        )
    model, _, value = (s.strip() for s in spec.partition(":"))
    model = model.lower()
    if model not in SOLVATION_MODELS or not value:
        raise AtomisticsError(
            f"solvation model {model!r} unknown or solvent missing in {spec!r}: use one of "
            + "; ".join(f"{k}:<{v}>" for k, v in SOLVATION_MODELS.items())
            + "."
        )
    try:
        eps: float | None = float(value)
    except ValueError:
        eps = None
    if model in ("alpb", "gbsa"):
        if eps is not None:
            raise AtomisticsError(
                f"{model} in tblite takes a parametrised solvent name, not a permittivity "
                f"({spec!r}): use 'alpb:thf' (closest to DME) or 'cpcm:{value}'."
            )
        return (model, value.lower())
    if eps is not None and not (math.isfinite(eps) and eps > 1.0):
        raise AtomisticsError(
            f"relative permittivity must be > 1 and finite, got {value} in {spec!r} "
            f"(DME: {DME_PERMITTIVITY})."
        )
    return ("ddX", eps if eps is not None else value.lower(), model)


def _check_periodic(atoms: Atoms, settings: dict[str, Any]) -> None:
    if not any(atoms.pbc):
        return
    version = tblite_version()
    if version.startswith(BAD_PERIODIC_TBLITE):
        raise AtomisticsError(
            f"tblite {version} gives wrong energies for periodic cells (a neutral slab's energy "
            "drifts by ~1 eV per Å of vacuum): pip install 'tblite>=0.7,<0.8'."
        )
    if settings.get("solvation") and settings.get("periodic_solvation", "refuse") == "refuse":
        raise AtomisticsError(
            f"tblite's implicit solvation ignores periodic boundaries ({settings['solvation']} "
            "on a periodic cell would solvate one cell as an isolated cluster): drop the "
            "solvation for slabs, or set periodic_solvation: cluster to accept that "
            "approximation (docs/dry_run_engine.md gives its error)."
        )


def _tblite_factory(atoms: Atoms, settings: dict[str, Any]):
    from tblite.ase import TBLite

    _check_periodic(atoms, settings)
    calc_settings = {k: v for k, v in settings.items() if k in XTB_DEFAULTS}
    solvation = parse_solvation(settings.get("solvation"))
    return TBLite(
        charge=int(atoms.info.get("charge", 0)),
        multiplicity=int(atoms.info.get("spin_multiplicity", 1)),
        verbosity=0,
        solvation=solvation,
        **calc_settings,
    )


def tblite_version() -> str:
    try:
        return _dist_version("tblite")
    except PackageNotFoundError:
        raise AtomisticsError(
            "the xtb engine needs tblite: pip install 'tblite>=0.7,<0.8' (binary wheels for "
            "Python 3.11 x86-64), or choose --engine cp2k."
        ) from None


class XtbEngine(ASECalculatorEngine):
    """GFN2-xTB via tblite (charge and multiplicity from ``atoms.info``).

    Keywords besides the relaxation settings of :class:`ASECalculatorEngine`:
    ``method``, ``accuracy``, ``electronic_temperature``, ``max_iterations``
    (tblite's), ``relax_accuracy`` (accuracy during optimizer steps; the final
    energy and forces always use ``accuracy``), ``solvation`` (``None``,
    ``"alpb:thf"``, ``"gbsa:thf"``, ``"cpcm:7.2"``, …) and
    ``periodic_solvation`` (``"refuse"`` or ``"cluster"``) and ``sp_supercell``
    (``(n, m)``: periodic single points on the n×m in-plane supercell, energy per
    cell; :mod:`atomistics.engines.ase_engine`).
    """

    def __init__(
        self,
        *,
        solvation: str | None = None,
        periodic_solvation: str = "refuse",
        relax_accuracy: float | None = XTB_RELAX_ACCURACY,
        **overrides: Any,
    ) -> None:
        if periodic_solvation not in PERIODIC_SOLVATION:
            raise AtomisticsError(
                f"periodic_solvation {periodic_solvation!r} unknown: use one of "
                f"{list(PERIODIC_SOLVATION)}."
            )
        parse_solvation(solvation)  # refuse a bad spec now, not at run time
        calc = {k: overrides.pop(k) for k in list(overrides) if k in XTB_DEFAULTS}
        settings = {**XTB_DEFAULTS, **calc}
        if solvation:
            settings.update(solvation=solvation, periodic_solvation=periodic_solvation)
        relax = {
            "fmax": XTB_FMAX,
            "max_steps": XTB_MAX_STEPS,
            "max_steps_periodic": XTB_MAX_STEPS_PERIODIC,
        }
        relax.update(overrides)
        relax_overrides = None
        if relax_accuracy is not None and relax_accuracy != settings["accuracy"]:
            if not relax_accuracy > 0:
                raise AtomisticsError(f"relax_accuracy must be > 0, got {relax_accuracy}.")
            relax_overrides = {"accuracy": float(relax_accuracy)}
        super().__init__(
            "xtb",
            _tblite_factory,
            version=f"tblite {tblite_version()}",
            calculator_settings=settings,
            relax_calculator_overrides=relax_overrides,
            **relax,
        )
