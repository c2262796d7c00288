"""GFN2-xTB dry-run engine through tblite's ASE calculator.

Molecules and ion pairs relax fully; on a slab the surface region moves (the clay
layer's top half, its Li⁺ and any adsorbate; the bottom half stays at the built
geometry: :func:`atomistics.structures.relax_region.surface_region`), for at most
``XTB_MAX_STEPS_PERIODIC`` optimizer steps (a relaxation that does not reach fmax is
flagged unconverged everywhere its energy appears). A 2×1 slab step costs about 3–10 s
on 2 cores, a 2×2 one 15–70 s (docs/dry_run_engine.md).

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
A solvated single point starts its SCF from the converged gas-phase SCF at the same
geometry (:data:`SOLVATED_SCF_GUESS`), so that ΔG_solv = E_solv − E_gas compares one
electronic state in two environments; a fresh guess can end the solvated SCF of a
slab in another state (ΔG_solv > 0 with a purely electrostatic model) or not at all.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import Any

from ase import Atoms
from ase.calculators.calculator import CalculationFailed

from atomistics.engines.ase_engine import ASECalculatorEngine
from atomistics.engines.relaxation import OPTIMIZERS
from atomistics.errors import AtomisticsError
from atomistics.limits import finite
from atomistics.solvents import DME_PERMITTIVITY, check_permittivity, is_permittivity
from atomistics.structures.relax_region import RELAX_REGIONS

XTB_DEFAULTS: dict[str, Any] = {
    "method": "GFN2-xTB",
    "accuracy": 1.0,
    "electronic_temperature": 300.0,
    "max_iterations": 250,
}
#: tblite's methods (``tblite.interface.Calculator``), by their exact names: the name is
#: the results' protocol and part of every content hash, so 'gfn2-xtb' is not accepted as
#: another spelling of 'GFN2-xTB' (it would store the same physics under a second name).
XTB_METHODS = ("GFN2-xTB", "GFN1-xTB", "IPEA1-xTB")
XTB_FMAX = 0.05  # eV/Å
XTB_MAX_STEPS = 200
XTB_MAX_STEPS_PERIODIC = 200  # converge (fmax) as for molecules; flagged when not reached
#: tblite's accuracy factor during the optimizer steps of a relaxation (SCF energy
#: threshold 1e-6 Eh × accuracy); the final evaluation uses the engine's accuracy.
#: Kept equal to ``accuracy`` by default: accuracy 10 saves ~3 of 19 SCF cycles per
#: step (forces change by 5e-4 eV/Å), but the extra tight evaluation at the end made
#: a 3-step relaxation on the slab 0.91× as fast (benchmarks/bench_dry_run.py).
XTB_RELAX_ACCURACY = 1.0

#: How a solvated single point's SCF starts (part of its hashed settings): from the
#: converged gas-phase SCF of the same atoms, the usual practice for reaction-field
#: models (e.g. Klamt & Schüürmann, J. Chem. Soc. Perkin Trans. 2, 799 (1993): the
#: COSMO SCF iterates the solute density in the field of its own screening charges).
SOLVATED_SCF_GUESS = "converged gas-phase SCF at the same geometry"
#: If that SCF still fails: tblite's Broyden mixer damped harder, with more cycles
#: (the same fixed point, so the same energy; tblite's default damping is 0.4).
SCF_RETRY_DAMPING = 0.2

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
#: THF (ε = 7.43, also an ether) is the closest parametrised solvent (ε(DME): solvents.py).

#: How far tblite's surface (slab) reaction energies move with the convention for the
#: short-range Coulomb tail, measured on the LiMMT 2×1 exchange reaction
#: slab + [Li⁺–FSI⁻] → slab·(FSI⁻ + Li⁺) with GFN1-xTB at one geometry (eV): tblite 0.7,
#: 1×1 cell at Γ −3.23 (2×1 −3.97, 2×2 −5.17: its supercells do not converge, because
#: it adds the Klopman–Ohno correction γ − 1/r for each pair's nearest image only);
#: CP2K 2023.1's GFN1-xTB, which cuts the same tail at COULOMB_SR_CUT, −7.42 at its
#: default cut-off, −5.17 / −6.83 / −7.85 / −8.41 at 10 / 20 / 40 / 80 bohr, about −9.0
#: extrapolated as 1/R. The isolated Li⁺–FSI⁻ pair agrees between the codes to 3 meV,
#: so the disagreement is the periodic slab's. 5.8 eV = |−3.23 − (−9.0)|, the distance
#: from the number tblite reports to the converged-tail estimate (docs/dry_run_engine.md,
#: "No converged surface energy"). tblite 0.8 sums the tail over the 3D lattice but its
#: slab energies then drift with the vacuum (BAD_PERIODIC_TBLITE).
SURFACE_TAIL_CONVENTION_SPREAD_EV = 5.8
PERIODIC_SOLVATION = ("refuse", "cluster")


class XtbSettingError(AtomisticsError):
    """A bad value of one xtb setting ``calculation.xtb.<key>`` (the study names its line)."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"calculation.xtb.{key}: {detail}")
        self.key, self.detail = key, detail


#: settings that must be finite numbers > 0: key -> (unit, example)
_POSITIVE_SETTINGS = {
    "accuracy": ("", "1.0"),
    "electronic_temperature": (" K", "300"),
    "fmax": (" eV/Å", "0.05"),
    "relax_accuracy": ("", "1.0"),
}
#: whole-number settings: key -> (smallest value, example)
_COUNT_SETTINGS = {
    "max_iterations": (1, 250),
    "max_steps": (0, 200),
    "max_steps_periodic": (0, 200),
}
_CHOICE_SETTINGS = {
    "optimizer": tuple(OPTIMIZERS),
    "relax_region_periodic": RELAX_REGIONS,
    "periodic_solvation": PERIODIC_SOLVATION,
}
#: every setting of calculation.xtb (XtbEngine's and ASECalculatorEngine's keywords)
XTB_SETTINGS = tuple(
    dict.fromkeys(
        [
            *XTB_DEFAULTS,
            *_POSITIVE_SETTINGS,
            *_COUNT_SETTINGS,
            *_CHOICE_SETTINGS,
            "solvation",
            "sp_supercell",
            "reuse_calculator",
        ]
    )
)


def _method_hint(value: Any) -> str:
    """``" (did you mean 'GFN1-xTB'?)"`` for ``gfn1-xtb``, ``gfn1`` or ``1``; else ``""``."""
    given = re.sub(r"[^a-z0-9]", "", str(value).lower())
    for method in XTB_METHODS:
        name = re.sub(r"[^a-z0-9]", "", method.lower())
        if given and given in (name, name.removesuffix("xtb"), name[3:].removesuffix("xtb")):
            return f" (did you mean {method!r}? names are case-sensitive)"
    return ""


def check_method(value: Any) -> str:
    """One of :data:`XTB_METHODS`, spelled exactly."""
    if value not in XTB_METHODS or not isinstance(value, str):
        raise XtbSettingError(
            "method",
            f"{value!r} is not a tblite method{_method_hint(value)}: use one of "
            f"{', '.join(XTB_METHODS)}.",
        )
    return value


def _positive(key: str, value: Any) -> float:
    unit, example = _POSITIVE_SETTINGS[key]
    expected = f"give a finite number > 0{unit}, e.g. {key}: {example}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise XtbSettingError(key, f"{value!r} is not a number: {expected}.")
    try:
        number = finite(value, key)
    except AtomisticsError:
        raise XtbSettingError(key, f"{value!r} is not a finite number: {expected}.") from None
    if not number > 0:
        raise XtbSettingError(key, f"{value!r} is not > 0: {expected}.")
    return number


def _count(key: str, value: Any) -> int:
    least, example = _COUNT_SETTINGS[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise XtbSettingError(
            key, f"{value!r} is not a whole number ≥ {least}: give e.g. {key}: {example}."
        )
    return value


def _check_sp_supercell(value: Any) -> None:
    """A list of two whole numbers (the numbers themselves: ase_engine._check_supercell)."""
    if value is None:
        return
    if not isinstance(value, list | tuple) or any(isinstance(v, bool | str) for v in value):
        raise XtbSettingError(
            "sp_supercell",
            f"{value!r} is not a list of two whole numbers: give e.g. sp_supercell: [2, 2] "
            "(the in-plane repetition of the single point's cell).",
        )


def check_settings(settings: dict[str, Any]) -> None:
    """Every value of ``calculation.xtb`` checked before the engine is built (one
    :class:`XtbSettingError` naming the key, the value and what is expected)."""
    for key, value in settings.items():
        if key not in XTB_SETTINGS:
            raise XtbSettingError(
                key,
                f"the xtb engine does not use the setting {key!r}: remove it (its settings: "
                f"{', '.join(XTB_SETTINGS)}).",
            )
        if key == "method":
            check_method(value)
        elif key in _POSITIVE_SETTINGS and not (key == "relax_accuracy" and value is None):
            _positive(key, value)
        elif key in _COUNT_SETTINGS:
            _count(key, value)
        elif key in _CHOICE_SETTINGS and value not in _CHOICE_SETTINGS[key]:
            raise XtbSettingError(
                key, f"{value!r} unknown: use one of {', '.join(_CHOICE_SETTINGS[key])}."
            )
        elif key == "sp_supercell":
            _check_sp_supercell(value)
        elif key == "reuse_calculator" and not isinstance(value, bool):
            raise XtbSettingError(key, f"{value!r}: give true or false.")
    method = settings.get("method", XTB_DEFAULTS["method"])
    try:
        parse_solvation(settings.get("solvation"), method)
    except AtomisticsError as exc:
        raise XtbSettingError("solvation", str(exc)) from None


def _tblite_knows(solvation: tuple, method: str) -> bool:
    """Whether tblite accepts ``solvation`` (its tuple) with ``method``: the same
    ``Calculator.add`` call its ASE calculator makes at the first calculation, made now on
    a two-atom structure (milliseconds)."""
    import numpy as np
    from tblite.exceptions import TBLiteRuntimeError, TBLiteValueError
    from tblite.interface import Calculator

    calc = Calculator(method, np.array([1, 1]), np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.4]]))
    model, *args = solvation
    try:
        calc.add(f"{model}-solvation", *args)
    except (TBLiteRuntimeError, TBLiteValueError):  # no parameters for that solvent
        return False
    return True


def _check_solvent(spec: str, solvation: tuple, method: str) -> None:
    """Refuse a solvent name tblite has no parameters for (it is otherwise an error at the
    first solvated calculation, after the gas-phase ones)."""
    if not isinstance(solvation[1], str) or _tblite_knows(solvation, method):
        return  # a permittivity (checked in parse_solvation), or a solvent tblite knows
    model, _, solvent = (part.strip().lower() for part in spec.partition(":"))
    if model in ("alpb", "gbsa"):
        raise AtomisticsError(
            f"tblite has no {model.upper()} parameters for the solvent {solvent!r} with "
            f"{method}: name a parametrised solvent, e.g. {model}:thf (closest to "
            f"DME), {model}:water or {model}:acetonitrile, or give a permittivity with "
            f"cpcm:{DME_PERMITTIVITY}."
        )
    raise AtomisticsError(
        f"tblite's solvent database has no {solvent!r}: name one, e.g. {model}:thf "
        f"or {model}:water, or give the relative permittivity, e.g. {model}:{DME_PERMITTIVITY} "
        "(DME)."
    )


def parse_solvation(spec: str | None, method: str | None = None) -> tuple | None:
    """``"alpb:thf"``, ``"gbsa:thf"``, ``"cpcm:7.2"`` → the tuple tblite's ASE calculator takes.

    ``None`` or ``""`` means gas phase. With ``method`` (one of :data:`XTB_METHODS`) a
    solvent name is also checked against tblite's parameters for that method.
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
        out: tuple = (model, value.lower())
    elif eps is not None and not is_permittivity(eps):
        check_permittivity(eps, f"solvation {spec!r}")
    else:
        out = ("ddX", eps if eps is not None else value.lower(), model)
    if method is not None:
        _check_solvent(spec, out, method)
    return out


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


def _switch_on_solvation(calc: Any, solvation: tuple) -> None:
    """Add the implicit solvent to a TBLite calculator that holds a converged gas-phase
    SCF, keeping that SCF as the restart guess, and recompute energy and forces.

    Workaround (tblite 0.7, ``tblite/ase.py``): ``TBLite.set(solvation=...)`` drops the
    API calculator and its result, so the solvated SCF would start from a fresh guess.
    Instead the solvent is pushed onto the live API calculator (``Calculator.add``, the
    call ``tblite.ase`` itself makes when it builds one) and the calculation rerun with
    no system change, so ``singlepoint`` restarts from the stored result.
    Tested against a solvated calculator built from scratch (tests/test_xtb_solvated_guess.py).
    """
    calc._xtb.add(f"{solvation[0]}-solvation", *solvation[1:])
    calc.parameters.solvation = solvation
    calc.calculate(calc.atoms, ["energy", "forces"], [])


def tblite_version() -> str:
    try:
        return _dist_version("tblite")
    except PackageNotFoundError:
        raise AtomisticsError(
            "the xtb engine needs tblite: pip install 'tblite>=0.7,<0.8' (binary wheels for "
            "Python 3.11 x86-64), or choose --engine cp2k."
        ) from None


def _solvated_from_gas(
    atoms: Atoms, calc_settings: dict[str, Any], damping: float | None
) -> tuple[float, float, list]:
    """(E_gas, E_solv, solvated forces) of ``atoms``, the solvated SCF seeded by the gas one."""
    gas_settings = {
        k: v for k, v in calc_settings.items() if k not in ("solvation", "periodic_solvation")
    }
    if damping is not None:
        gas_settings["max_iterations"] = 2 * int(gas_settings["max_iterations"])
    calc = _tblite_factory(atoms, gas_settings)
    if damping is not None:
        calc.set(mixer_damping=damping)
    work = atoms.copy()
    work.calc = calc
    e_gas = float(work.get_potential_energy())
    _switch_on_solvation(calc, parse_solvation(calc_settings["solvation"]))
    return e_gas, float(calc.results["energy"]), calc.results["forces"].tolist()


class XtbEngine(ASECalculatorEngine):
    """GFN2-xTB via tblite (charge and multiplicity from ``atoms.info``).

    Keywords besides the relaxation settings of :class:`ASECalculatorEngine`:
    ``method``, ``accuracy``, ``electronic_temperature``, ``max_iterations``
    (tblite's), ``relax_accuracy`` (accuracy during optimizer steps; the final
    energy and forces always use ``accuracy``), ``solvation`` (``None``,
    ``"alpb:thf"``, ``"gbsa:thf"``, ``"cpcm:7.2"``, …) and
    ``periodic_solvation`` (``"refuse"`` or ``"cluster"``) and ``sp_supercell``
    (``(n, m)``: periodic single points on the n×m in-plane supercell, energy per
    cell; :mod:`atomistics.engines.ase_engine`). Every setting is checked when the
    engine is built (:func:`check_settings`), before any calculation.
    """

    def __init__(
        self,
        *,
        solvation: str | None = None,
        periodic_solvation: str = "refuse",
        relax_accuracy: float | None = XTB_RELAX_ACCURACY,
        **overrides: Any,
    ) -> None:
        version = tblite_version()
        # every value refused now, with its key, not at the first calculation
        check_settings(
            {
                **overrides,
                "solvation": solvation,
                "periodic_solvation": periodic_solvation,
                "relax_accuracy": relax_accuracy,
            }
        )
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
            relax_overrides = {"accuracy": float(relax_accuracy)}
        super().__init__(
            "xtb",
            _tblite_factory,
            version=f"tblite {version}",
            calculator_settings=settings,
            relax_calculator_overrides=relax_overrides,
            **relax,
        )

    def variant(self, **changes: Any) -> XtbEngine:
        """A single-point variant of this engine: the same calculator settings (method,
        accuracy, electronic temperature, SCF cycles) with ``changes`` (e.g.
        ``solvation="cpcm:7.2", periodic_solvation="cluster"``), one cell at Γ (no
        ``sp_supercell``). The implicit-solvent correction builds its gas-phase and solvated
        engines this way, so they differ from the study's engine only in ``changes``."""
        calc = {k: v for k, v in self.calculator_settings.items() if k in XTB_DEFAULTS}
        return XtbEngine(**{**calc, **changes})

    def settings(self, atoms: Atoms, stage: str) -> dict[str, Any]:
        out = super().settings(atoms, stage)
        if stage == "single_point" and self.calculator_settings.get("solvation"):
            out["solvated_scf_guess"] = SOLVATED_SCF_GUESS
        return out

    def _energy_and_forces(
        self, atoms: Atoms, settings: dict[str, Any], stage: str, notes: list[str]
    ) -> tuple[float, list]:
        if not settings.get("solvated_scf_guess"):
            return super()._energy_and_forces(atoms, settings, stage, notes)
        calc_settings = settings["calculator"]
        try:
            e_gas, energy, forces = _solvated_from_gas(atoms, calc_settings, None)
        except CalculationFailed:
            # custodian-style correction, recorded: the same SCF, damped harder
            e_gas, energy, forces = _solvated_from_gas(atoms, calc_settings, SCF_RETRY_DAMPING)
            notes.append(
                f"SCF converged only with Broyden damping {SCF_RETRY_DAMPING} and "
                f"{2 * int(calc_settings['max_iterations'])} cycles (default damping failed)"
            )
        notes.append(f"solvated SCF started from the {SOLVATED_SCF_GUESS} (E_gas {e_gas:.6f} eV)")
        return energy, forces
