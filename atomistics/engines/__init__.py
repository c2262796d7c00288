"""Engines: CP2K through custodian, GFN2-xTB (tblite) and any ASE calculator.

:func:`engine_options` is the one place that turns a study (and the chosen
engine's name) into the engine's physics options; :func:`get_engine` builds
the engine from them plus the machine settings (CP2K command, data folder,
threads), which are always passed explicitly, never through ``os.environ``.
Both refuse a setting the chosen engine does not use instead of dropping it.
``atomistics run`` and the FireWorks tasks go through these two functions; from
Python any :class:`ASECalculatorEngine` (or any object following
:class:`Engine`) can be passed to the runner instead.
"""

from __future__ import annotations

from typing import Any

from atomistics.engines.ase_engine import ASECalculatorEngine
from atomistics.engines.base import (
    CP_STAGES,
    STAGES,
    CalculationFailed,
    Engine,
    EngineResult,
)
from atomistics.errors import AtomisticsError

ENGINE_NAMES = ("xtb", "cp2k")
#: Machine settings each engine takes (not hashed, not in the study file).
MACHINE_OPTIONS: dict[str, tuple[str, ...]] = {
    "xtb": (),
    "cp2k": ("command", "data_dir", "omp_threads", "max_errors"),
}
#: CP2K's defaults in the study's ``calculation`` section (``protocol``, ``overrides``).
_CP2K_DEFAULT_PROTOCOL = "paper"

__all__ = [
    "ASECalculatorEngine",
    "CP_STAGES",
    "CalculationFailed",
    "ENGINE_NAMES",
    "Engine",
    "EngineResult",
    "MACHINE_OPTIONS",
    "STAGES",
    "engine_for_study",
    "engine_options",
    "get_engine",
    "relax_engine_name",
]


def _check_name(name: str) -> None:
    if name not in ENGINE_NAMES:
        raise AtomisticsError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}.")


#: Keys of an engine's options that make it a composite (engines/composite.py): the relax
#: engine's name and its own options. They travel with the options, so the FireWorks tasks
#: build the same engine from their spec as ``atomistics run`` does.
RELAX_KEYS = ("relax_engine", "relax_engine_options")


def engine_options(
    study, name: str | None = None, relax_engine: str | None = None
) -> dict[str, Any]:
    """The physics options of engine ``name`` (default: the study's) from the study file.

    CP2K reads ``calculation.protocol`` and ``calculation.overrides``; xtb reads
    ``calculation.xtb``. A CP2K setting changed from its default while the study
    runs with xtb is refused, naming the key: xtb cannot honour it. The
    ``calculation.xtb`` section is the dry-run engine's own, so a study file can
    carry it next to its CP2K protocol and run with either engine; CP2K does not
    read it (the same study file serves ``--engine xtb`` and ``--engine cp2k``).
    """
    name = name or study.engine
    _check_name(name)
    relax_name = relax_engine_name(study, relax_engine)
    if relax_name is not None and relax_name != name:
        return {
            **_own_options(study, name),
            "relax_engine": relax_name,
            "relax_engine_options": _own_options(study, relax_name),
        }
    calc = study.calculation
    if name == "cp2k":
        return _own_options(study, name)
    unused = []
    if calc.overrides:
        unused.append("calculation.overrides")
    if calc.protocol != _CP2K_DEFAULT_PROTOCOL:
        unused.append(f"calculation.protocol = {calc.protocol!r}")
    if unused:
        raise AtomisticsError(
            f"{' and '.join(unused)} are CP2K settings; the xtb engine does not use them: "
            "remove them, or run with --engine cp2k (xtb settings go under calculation.xtb)."
        )
    return dict(calc.xtb)


def _own_options(study, name: str) -> dict[str, Any]:
    """Engine ``name``'s own section of the study: CP2K's protocol/overrides, or calculation.xtb."""
    calc = study.calculation
    if name == "cp2k":
        return {"protocol": calc.protocol, "overrides": dict(calc.overrides)}
    return dict(calc.xtb)


def get_engine(
    name: str, options: dict[str, Any] | None = None, machine: dict[str, Any] | None = None
) -> Engine:
    """Engine ``name`` with physics ``options`` and ``machine`` settings, all used as given.

    A machine setting that is ``None`` is left to the engine's discovery on this
    machine (e.g. ``CP2K_COMMAND`` or ``cp2k.psmp`` on ``PATH``). Options holding
    :data:`RELAX_KEYS` give a composite engine (relax with the one, energies with the
    other); machine settings go to whichever of the two is CP2K.
    """
    _check_name(name)
    options = dict(options or {})
    if options.get("relax_engine") is not None:
        from atomistics.engines.composite import CompositeEngine

        relax_name = options.pop("relax_engine")
        relax_options = options.pop("relax_engine_options", {})
        _check_name(relax_name)
        machine = machine or {}
        main = get_engine(name, options, machine if name == "cp2k" else None)
        relax = get_engine(relax_name, relax_options, machine if relax_name == "cp2k" else None)
        return CompositeEngine(main, relax)
    options.pop("relax_engine", None)
    options.pop("relax_engine_options", None)
    machine = {k: v for k, v in (machine or {}).items() if v is not None}
    foreign = sorted(set(machine) - set(MACHINE_OPTIONS[name]))
    if foreign:
        raise AtomisticsError(
            f"machine setting(s) {foreign} do not apply to the {name} engine "
            f"(it takes {list(MACHINE_OPTIONS[name]) or 'none'})."
        )
    clash = sorted(set(options) & set(MACHINE_OPTIONS[name]))
    if clash:
        raise AtomisticsError(f"{clash} are machine settings, not study options of {name}.")
    try:
        if name == "xtb":
            from atomistics.engines.xtb import XtbEngine

            return XtbEngine(**options)
        from atomistics.engines.cp2k import Cp2kEngine

        return Cp2kEngine(**options, **machine)
    except TypeError as exc:  # an option the constructor does not know
        raise AtomisticsError(
            f"the {name} engine does not use the setting(s) given ({exc}); remove them "
            "from the study's calculation section."
        ) from None


def engine_for_study(
    study,
    name: str | None = None,
    machine: dict[str, Any] | None = None,
    relax_engine: str | None = None,
) -> Engine:
    """The engine a study runs with: ``get_engine(name, engine_options(study, name), machine)``.

    With a relax engine (``relax_engine``, else ``calculation.relax_engine``) other than
    ``name``, a :class:`~atomistics.engines.composite.CompositeEngine`: geometries from the
    relax engine, energies from ``name``.

    A bad ``calculation.xtb`` value is refused here, before any calculation, naming its
    key and line in the study file.
    """
    from atomistics.engines.xtb import XtbSettingError

    name = name or study.engine
    try:
        return get_engine(name, engine_options(study, name, relax_engine), machine)
    except XtbSettingError as exc:
        where = getattr(study, "where", None)
        if where is None:
            raise
        raise AtomisticsError(f"{where('calculation', 'xtb', exc.key)}: {exc.detail}") from None


def relax_engine_name(study, given: str | None) -> str | None:
    """The engine that relaxes the geometries: ``given`` (``--relax-engine``), else the
    study's ``calculation.relax_engine``, else None (the study's engine relaxes)."""
    name = given if given is not None else getattr(study.calculation, "relax_engine", None)
    if name is not None:
        _check_name(name)
    return name
