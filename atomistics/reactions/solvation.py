r"""Implicit-solvent correction ΔΔG_solv of a reaction, from solvated single points.

For every system X of the reaction, at its final (relaxed) geometry and with the
engine of the study::

    ΔG_solv(X) = E(X, implicit solvent) − E(X, gas phase)        (same geometry, same engine)
    ΔΔG_solv   = Σ_p ν_p ΔG_solv(P) − Σ_r ν_r ΔG_solv(R)         (eV)

so that the bridge's adsorption free energy is ``ΔG = ΔE_exch + ΔΔG_solv`` (the
geometry is not relaxed in the solvent, and thermal/entropic terms are not included:
the correction is the electrostatic + cavity free energy of the continuum at fixed
geometry). Each solvated single point is an ordinary calculation (planned, hashed,
cached and stored as its own database row under the name ``<system>~solv-<model>``);
the gas-phase rows are only read.

Models
------
* **xtb** (tblite): ALPB/GBSA with a parametrised solvent (Ehlert, Stahn, Spicher &
  Grimme, J. Chem. Theory Comput. 17, 4250 (2021)) or ddX CPCM/COSMO with a
  permittivity (Nottoli et al., J. Chem. Theory Comput. 20, 9951 (2024)). DME is not
  parametrised; ``cpcm:7.2`` uses its permittivity (ε = 7.2) and ``alpb:thf`` the
  closest parametrised ether (THF, ε = 7.43).
* **cp2k**: SCCS (Andreussi, Dabo & Marzari, J. Chem. Phys. 136, 064102 (2012)),
  ``sccs:7.2``, through :func:`atomistics.cp2k.protocol.sccs_overrides`. CP2K's SCCS is
  not validated with k-points, so the gas and the solvated single points both run at
  the Γ point (a study whose slab single points use k-points gets a Γ-point ΔΔG_solv,
  and the result says so).

The cluster approximation (xtb on periodic cells) and its error
----------------------------------------------------------------
tblite's solvation models ignore the lattice: for a periodic cell they solvate the
cell's atoms as one isolated cluster (``approximation: cluster``). The cluster's
lateral faces, which the periodic slab does not have, are wrongly exposed to the
continuum; that error largely cancels in complex − bare slab (the same faces on both
sides), but not entirely: the adsorbate's reaction field is that of one adsorbate on a
finite patch instead of a periodic array, and it reaches the cut faces.

**Edge estimate** (``error: [edge]``, computed, not assumed): every periodic system of
the reaction is doubled along its shorter in-plane axis (|b| ≤ |a|; all periodic
systems of the reaction must share one in-plane cell) and its gas and solvated single
points are repeated; per adsorbate (ΔG_solv of a doubled cell / 2; molecules unchanged)
this gives ΔΔG₂, and δ = ΔΔG₂ − ΔΔG₁. Taking the cluster error proportional to the
patch's perimeter/area ratio r (an edge term over an areal one), r₁ = 2(|a| + |b|)/A
and r₂ = (|a| + 2|b|)/A, the error of the single cell, extrapolated to r → 0 (the
periodic limit), is

    σ_edge = |δ| r₁/(r₁ − r₂) = |δ| (2 + 2|b|/|a|)          (between 2|δ| and 4|δ|)

This costs a gas and a solvated single point of each doubled cell (about 4× a single
cell each with GFN2: ~15 s for the 2×1 LiMMT cell on 2 cores, minutes for the 2×2).

**Model estimate** (``error: [model]``): the same ΔΔG_solv with a second model
(``alternative``, by default ALPB(THF) against CPCM(ε = 7.2) and the reverse), and
σ_model = |ΔΔG(model) − ΔΔG(alternative)| (the whole difference of two defensible
models taken as one standard deviation). It costs one solvated single point per system.

With both, σ = (σ_edge² + σ_model²)^½. The result (:class:`SolvationCorrection`)
carries the model's name, ΔΔG_solv, σ and how it was estimated, and the convergence of
every underlying single point; the bridge refuses an unconverged one like any other
unconverged input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

from atomistics.engines.base import Engine
from atomistics.errors import AtomisticsError
from atomistics.execution.hashing import round_positions
from atomistics.execution.record import CalcResult, why_unconverged
from atomistics.execution.steps import Calculation, plan_calculation, stage_input
from atomistics.solvents import DME_PERMITTIVITY, check_permittivity
from atomistics.study import signed_coefficients

XTB_MODELS = ("alpb", "gbsa", "cpcm", "cosmo")
CP2K_MODELS = ("sccs",)
ERROR_ESTIMATES = ("edge", "model")
APPROXIMATIONS = ("cluster", "none")
#: Å: periodic systems of one reaction must share their in-plane cell to this tolerance
CELL_TOLERANCE = 1e-3
#: Purely electrostatic models (ddX CPCM/COSMO) can only lower the SCF energy: with the
#: density of the gas phase the polarisation energy is ≤ 0 and the SCF in solvent then
#: minimises over densities, so E(solv) ≤ E(gas) in the same electronic state. A ΔG_solv
#: above this (eV; SCF noise) is not a solvation energy: flagged. (The xtb solvated SCF
#: starts from the gas-phase one, so the cause is not the SCF's guess: on the 2×1 exchange
#: product, +0.31 eV both ways, tblite's cluster solvation of a periodic cell is the suspect.)
ELECTROSTATIC_ONLY = ("cpcm", "cosmo")
POSITIVE_TOLERANCE_EV = 0.05


@dataclass(frozen=True)
class SolvationMethod:
    """``bridge.solvation`` resolved for one engine."""

    model: str  # "cpcm:7.2", "alpb:thf", "sccs:7.2"
    approximation: str  # "cluster" (xtb, periodic cells) or "none"
    error: tuple[str, ...]
    alternative: str | None
    engine: str

    @property
    def label(self) -> str:
        """The model's name as the bridge prints it."""
        return model_label(self.model) + (
            f", {self.engine} cluster approximation" if self.approximation == "cluster" else ""
        )


def model_label(model: str) -> str:
    """``"cpcm:7.2"`` → ``"CPCM ε=7.2 (DME)"``; ``"alpb:thf"`` → ``"ALPB(THF)"``."""
    kind, _, value = model.partition(":")
    try:
        eps = float(value)
    except ValueError:
        return f"{kind.upper()}({value.upper()})"
    dme = " (DME)" if eps == DME_PERMITTIVITY else ""
    return f"{kind.upper()} ε={eps:g}{dme}"


def _tag(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]", "", model.lower())


def _check_model(model: str, engine_name: str, key: str, method: str | None) -> None:
    """``bridge.solvation.<key>`` (``model`` or ``alternative``) is a model of the engine;
    with xtb and its ``method``, a solvent tblite has parameters for."""
    where = f"bridge.solvation.{key}"
    kind = model.partition(":")[0]
    if engine_name == "xtb":
        from atomistics.engines.xtb import parse_solvation

        if kind not in XTB_MODELS:
            raise AtomisticsError(
                f"{where} = {model!r} is not a tblite model: use alpb:thf, gbsa:thf, "
                f"cpcm:{DME_PERMITTIVITY} or cosmo:{DME_PERMITTIVITY} with --engine xtb."
            )
        try:
            parse_solvation(model, method)
        except AtomisticsError as exc:
            raise AtomisticsError(f"{where} = {model!r}: {exc}") from None
    elif engine_name == "cp2k":
        if kind not in CP2K_MODELS:
            raise AtomisticsError(
                f"{where} = {model!r}: the cp2k engine has SCCS only; use sccs:{DME_PERMITTIVITY}."
            )
        _sccs_eps(model)
    else:
        raise AtomisticsError(
            "bridge.solvation needs the xtb or the cp2k engine (this study runs with "
            f"{engine_name!r})."
        )


def resolve_method(
    section: Mapping[str, Any], engine_name: str, method: str | None = None
) -> SolvationMethod:
    """Check ``bridge.solvation`` against the engine; fill in the defaults.

    ``section``: ``{model, approximation, error, alternative}`` (already checked for
    types by :mod:`atomistics.study`). Defaults: ``error`` is ``[edge]`` for the
    cluster approximation, ``[model]`` otherwise with xtb and ``[]`` with CP2K;
    ``alternative`` is ALPB(THF) for CPCM/COSMO and CPCM(ε = 7.2) for ALPB/GBSA.
    ``method``: the xtb method, to check solvent names against tblite's parameters.
    """
    where = "bridge.solvation"
    model = str(section.get("model") or "").strip().lower()
    approximation = section.get("approximation") or "none"
    kind = model.partition(":")[0]
    _check_model(model, engine_name, "model", method)
    if engine_name == "cp2k" and approximation != "none":
        raise AtomisticsError(
            f"{where}.approximation = {approximation!r}: CP2K's SCCS solvates periodic "
            "cells as they are; remove the approximation key with --engine cp2k."
        )
    if approximation not in APPROXIMATIONS:
        raise AtomisticsError(
            f"{where}.approximation = {approximation!r}: use one of {list(APPROXIMATIONS)}."
        )
    error = section.get("error")
    if error is None:
        error = (
            ["edge"] if approximation == "cluster" else (["model"] if engine_name == "xtb" else [])
        )
    elif isinstance(error, str):
        error = [error]
    error = tuple(dict.fromkeys(error))
    unknown = [e for e in error if e not in ERROR_ESTIMATES]
    if unknown:
        raise AtomisticsError(f"{where}.error {unknown}: use any of {list(ERROR_ESTIMATES)}.")
    if "edge" in error and approximation != "cluster":
        raise AtomisticsError(
            f"{where}.error: 'edge' estimates the cluster approximation's error; it needs "
            "approximation: cluster (xtb), or drop it."
        )
    alternative = section.get("alternative")
    if alternative is not None:
        alternative = str(alternative).strip().lower()
        if "model" not in error:
            raise AtomisticsError(
                f"{where}.alternative is used only by error: [model]; add 'model' or remove it."
            )
    if "model" in error:
        if alternative is None:
            if engine_name != "xtb":
                raise AtomisticsError(
                    f"{where}.error: [model] with cp2k needs alternative: sccs:<permittivity> "
                    "(a second SCCS setting to compare with)."
                )
            alternative = "alpb:thf" if kind in ("cpcm", "cosmo") else f"cpcm:{DME_PERMITTIVITY:g}"
        _check_model(alternative, engine_name, "alternative", method)
        if alternative == model:
            raise AtomisticsError(
                f"{where}.alternative = {alternative!r} is the model itself: choose another one."
            )
    return SolvationMethod(model, approximation, error, alternative, engine_name)


def _sccs_eps(model: str) -> float:
    _, _, value = model.partition(":")
    try:
        eps = float(value)
    except ValueError:
        raise AtomisticsError(
            f"bridge.solvation: {model!r}: SCCS takes a permittivity, e.g. sccs:{DME_PERMITTIVITY}."
        ) from None
    return check_permittivity(eps, f"bridge.solvation: {model!r}")


# ------------------------------------------------------------------ engine variants


def gas_engine(engine: Engine) -> Engine:
    """The engine of the gas-phase reference: the study's own (xtb), or CP2K at Γ."""
    if engine.name == "cp2k":
        return engine.variant({"single_point": {"kpoints": "gamma"}})
    if getattr(engine, "sp_supercell", None):
        # The solvated single point is one cell at Γ (the cluster approximation solvates
        # one cell's atoms), so its gas-phase partner is the same cell at Γ, not the
        # study's n×m-supercell single point: ΔG_solv then compares like with like.
        return engine.variant()
    return engine


def solvated_engine(engine: Engine, model: str, approximation: str) -> Engine:
    """The study's engine with the implicit solvent ``model`` switched on."""
    if engine.name == "xtb":
        return engine.variant(
            solvation=model,
            periodic_solvation="cluster" if approximation == "cluster" else "refuse",
        )
    if engine.name == "cp2k":
        from atomistics.cp2k.protocol import sccs_overrides

        return engine.variant(
            {"single_point": {"kpoints": "gamma", **sccs_overrides(_sccs_eps(model))}}
        )
    raise AtomisticsError(
        f"bridge.solvation needs the xtb or the cp2k engine, not {engine.name!r}."
    )


def _check_gas_engine(engine: Engine) -> None:
    calc = getattr(engine, "calculator_settings", {}) or {}
    if calc.get("solvation"):
        raise AtomisticsError(
            f"bridge.solvation computes solvated single points against gas-phase ones, but the "
            f"study already runs in solvent (calculation.xtb.solvation = {calc['solvation']!r}): "
            "remove one of the two."
        )
    if engine.name == "cp2k":
        from atomistics.cp2k.protocol import stage_uses_sccs

        for stage in ("relax", "single_point"):
            if stage_uses_sccs(engine.overrides, stage):
                raise AtomisticsError(
                    "bridge.solvation computes SCCS single points against gas-phase ones, but "
                    f"calculation.overrides already switch SCCS on for {stage}: remove one of the two."
                )


# ------------------------------------------------------------------ geometry


def in_plane_axes(atoms: Atoms) -> tuple[int, int]:
    """(longer, shorter) periodic in-plane axis indices of a slab cell."""
    axes = [i for i in range(3) if atoms.pbc[i]][:2]
    if len(axes) < 2:
        axes = [0, 1]
    lengths = atoms.cell.lengths()
    a, b = sorted(axes, key=lambda i: (-lengths[i], i))
    return a, b


def edge_factor(atoms: Atoms) -> float:
    """r₁/(r₁ − r₂) = 2 + 2|b|/|a| for a patch doubled along its shorter axis b (module doc)."""
    a, b = in_plane_axes(atoms)
    lengths = atoms.cell.lengths()
    return 2.0 + 2.0 * lengths[b] / lengths[a]


def doubled(atoms: Atoms) -> Atoms:
    """``atoms`` repeated twice along its shorter in-plane axis, charge doubled."""
    mult = int(atoms.info.get("spin_multiplicity", 1))
    if mult != 1:
        raise AtomisticsError(
            f"{atoms.info.get('name', atoms.get_chemical_formula())}: the edge estimate doubles "
            f"the cell, which an open-shell system (multiplicity {mult}) does not allow; use "
            "bridge.solvation.error: [model]."
        )
    _, b = in_plane_axes(atoms)
    reps = [1, 1, 1]
    reps[b] = 2
    out = atoms.repeat(reps)
    out.info = dict(atoms.info)
    out.info["charge"] = 2 * int(atoms.info.get("charge", 0))
    out.set_constraint()
    return round_positions(out)


# ------------------------------------------------------------------ the result


@dataclass
class SystemSolvation:
    """ΔG_solv of one system of the reaction (eV)."""

    name: str
    coefficient: float  # signed: + products, − reactants
    periodic: bool
    e_gas_ev: float
    e_solv_ev: float
    dg_solv_ev: float
    #: ΔG_solv per cell from the doubled cell (edge estimate), if computed
    dg_solv_doubled_ev: float | None = None
    #: ΔG_solv with the alternative model (model estimate), if computed
    dg_solv_alternative_ev: float | None = None


@dataclass
class SolvationCorrection:
    """ΔΔG_solv of a reaction with its 1σ uncertainty and provenance."""

    reaction: str
    model: str  # "cpcm:7.2"
    label: str  # "CPCM ε=7.2 (DME), xtb cluster approximation"
    ddg_ev: float
    sigma_ev: float
    sigma_components_ev: dict[str, float]
    sigma_method: str  # how σ was estimated, in words
    engine: str
    approximation: str
    alternative: str | None = None
    systems: list[SystemSolvation] = field(default_factory=list)
    converged: bool = True
    unconverged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calc_hashes: list[str] = field(default_factory=list)

    @property
    def description(self) -> str:
        """Model name and how its uncertainty was estimated (the bridge's "solvation:" text)."""
        return f"{self.label}; 1 sigma {self.sigma_ev:.3g} eV from {self.sigma_method}"

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> SolvationCorrection:
        """The correction stored on a reaction's record (:meth:`to_record`)."""
        data = dict(rec)
        data["systems"] = [SystemSolvation(**s) for s in data.get("systems", [])]
        return cls(**data)

    def report_lines(self) -> list[str]:
        lines = [
            f"Implicit solvent for {self.reaction!r}: {self.label} ({self.engine})",
            f"{'system':<28} {'nu':>5} {'E gas / eV':>16} {'E solv / eV':>16} {'dG_solv / eV':>13}",
        ]
        for s in self.systems:
            lines.append(
                f"{s.name:<28} {s.coefficient:>+5g} {s.e_gas_ev:>16.6f} {s.e_solv_ev:>16.6f} "
                f"{s.dg_solv_ev:>+13.4f}"
            )
        lines.append(
            f"ddG_solv = sum nu dG_solv = {self.ddg_ev:+.4f} eV, 1 sigma {self.sigma_ev:.3g} eV "
            f"({self.sigma_method})"
        )
        if not self.converged:
            lines.append(f"NOT CONVERGED: {'; '.join(self.unconverged)}")
        lines += [f"note: {n}" for n in self.notes]
        return lines


def reaction_solvation(coefficients: Mapping[str, float], dg_solv_ev: Mapping[str, float]) -> float:
    """ΔΔG_solv = Σ ν_X ΔG_solv(X) with signed coefficients (+ products, − reactants)."""
    missing = [n for n in coefficients if n not in dg_solv_ev]
    if missing:
        raise AtomisticsError(f"no solvation energy for {missing}.")
    return float(sum(nu * dg_solv_ev[n] for n, nu in coefficients.items()))


def _edge_setup(
    method, geometries: Mapping[str, Atoms], periodic: Mapping[str, bool], reaction: str, notes
) -> float | None:
    """The cluster-edge extrapolation factor (None: no edge error is estimated).

    Refused unless every periodic system of the reaction shares one in-plane cell.
    """
    edge = "edge" in method.error and any(periodic.values())
    if "edge" in method.error and not edge:
        notes.append("no periodic cell in the reaction: no cluster edges, edge error 0")
    if not edge:
        return None
    cells = [geometries[n] for n, p in periodic.items() if p]
    ref = cells[0]
    for other in cells[1:]:
        if not np.allclose(other.cell.lengths()[:2], ref.cell.lengths()[:2], atol=CELL_TOLERANCE):
            raise AtomisticsError(
                "bridge.solvation.error: [edge] needs every periodic system of "
                f"{reaction!r} in one in-plane cell (an exchange reaction's in-cell "
                "references are); use error: [model]."
            )
    return edge_factor(ref)


def _error_estimate(
    method,
    coefficients: Mapping[str, float],
    systems: list[SystemSolvation],
    ddg: float,
    factor: float | None,
    first_cell: Atoms | None,
) -> tuple[dict[str, float], list[str]]:
    """The components of ΔΔG_solv's 1σ (cluster edge, model spread) and how each was found."""
    components: dict[str, float] = {}
    how: list[str] = []
    if factor is not None:
        ddg2 = reaction_solvation(
            coefficients,
            {
                s.name: s.dg_solv_doubled_ev if s.dg_solv_doubled_ev is not None else s.dg_solv_ev
                for s in systems
            },
        )
        delta = ddg2 - ddg
        components["edge"] = float(abs(delta) * factor)
        _, b = in_plane_axes(first_cell)
        how.append(
            f"the cluster edge: cell doubled along {'abc'[b]} changes ddG_solv per adsorbate by "
            f"{delta:+.3g} eV, x {factor:.3g} extrapolated to the periodic limit "
            "(error taken proportional to the patch's perimeter/area)"
        )
    elif "edge" in method.error:
        components["edge"] = 0.0
        how.append("no cluster edge (no periodic cell)")
    if method.alternative:
        ddg_alt = reaction_solvation(
            coefficients, {s.name: s.dg_solv_alternative_ev for s in systems}
        )
        components["model"] = float(abs(ddg - ddg_alt))
        how.append(
            f"the model spread: |{model_label(method.model)} - {model_label(method.alternative)}| "
            f"= |{ddg:+.3g} - ({ddg_alt:+.3g})| eV"
        )
    if not how:
        how.append("nothing: no error estimate requested (bridge.solvation.error)")
    return components, how


def _positive_solvation_flags(method, systems: list[SystemSolvation]) -> list[str]:
    """A purely electrostatic model lowers the energy of one electronic state: a positive
    ΔG_solv from it is not a solvation energy (flagged as unconverged)."""
    flags = []
    for s in systems:
        for model, value, what in (
            (method.model, s.dg_solv_ev, ""),
            (method.model, s.dg_solv_doubled_ev, " (doubled cell)"),
            (method.alternative, s.dg_solv_alternative_ev, ""),
        ):
            if (
                value is not None
                and model.partition(":")[0] in ELECTROSTATIC_ONLY
                and value > POSITIVE_TOLERANCE_EV
            ):
                flags.append(
                    f"{s.name}{what}: dG_solv {value:+.3g} eV > 0 with the purely electrostatic "
                    f"{model_label(model)}, which lowers the energy of one electronic state: "
                    "not a solvation energy (a different state, or the model inconsistent "
                    "for this system)"
                )
    return flags


def _cp2k_gamma_note(engine: Engine, geometries: Mapping[str, Atoms]) -> str:
    kp = [
        n
        for n, a in geometries.items()
        if any(a.pbc) and engine.settings(a, "single_point").get("kpoints")
    ]
    return "gas and solvated single points at the Gamma point (CP2K's SCCS is not validated " + (
        "with k-points)" + (f"; the study's single points of {kp} use k-points" if kp else "")
    )


def compute_solvation(
    study: str,
    reaction: str,
    reactants: Mapping[str, float],
    products: Mapping[str, float],
    structures: Mapping[str, Atoms],
    finals: Mapping[str, CalcResult],
    engine: Engine,
    section: Mapping[str, Any],
    run_one: Callable[[Calculation, Engine], CalcResult],
    planned: Callable[[int], None] | None = None,
) -> SolvationCorrection:
    """ΔΔG_solv of ``reactants → products`` at the final geometries ``finals`` (module doc).

    ``structures``: the built systems (charge, multiplicity, masks); ``finals``: each
    system's gas-phase single point (its geometry is the relaxed one); ``section``: the
    study's ``bridge.solvation``; ``run_one(calculation, engine)``: runs or reuses one
    planned calculation with that engine (``atomistics run`` and the FireWorks task pass
    :func:`atomistics.calcstore.run_cached` bound to their work folder and database); ``planned(n)`` is told how many
    calculations this will ask for (a progress bar), before the first.

    Long because it plans every calculation before running any (a misfit fails before the first one), then runs and assembles them; the error estimate and the flags are their own functions.
    """
    xtb_method = (getattr(engine, "calculator_settings", None) or {}).get("method")
    method = resolve_method(section, engine.name, xtb_method if engine.name == "xtb" else None)
    _check_gas_engine(engine)
    coefficients = signed_coefficients(reactants, products)
    missing = [n for n in coefficients if n not in finals]
    if missing:
        raise AtomisticsError(f"solvation of {reaction!r}: no single point of {missing} yet.")
    gas = gas_engine(engine)
    solv = solvated_engine(engine, method.model, method.approximation)
    alt = (
        solvated_engine(engine, method.alternative, method.approximation)
        if method.alternative
        else None
    )
    geometries = {n: stage_input(structures[n], finals[n]) for n in coefficients}
    periodic = {n: bool(any(a.pbc)) for n, a in geometries.items()}
    notes: list[str] = []
    if method.approximation == "none" and any(periodic.values()) and engine.name == "xtb":
        raise AtomisticsError(
            f"bridge.solvation: {[n for n, p in periodic.items() if p]} are periodic cells and "
            "tblite's solvation ignores the lattice; set approximation: cluster to solvate each "
            "cell's atoms as a cluster (its error is estimated with error: [edge])."
        )
    factor = _edge_setup(method, geometries, periodic, reaction, notes)

    # plan everything first (a misfit fails before any calculation runs)
    plans: dict[tuple[str, str], tuple[Calculation, Engine]] = {}

    def plan(key: tuple[str, str], label: str, atoms: Atoms, eng: Engine) -> None:
        calc = plan_calculation(study, label, "single_point", atoms, eng, previous=finals[key[0]])
        plans[key] = (calc, eng)

    for n, atoms in geometries.items():
        if gas is not engine:
            plan((n, "gas"), f"{n}~gas", atoms, gas)
        plan((n, "solv"), f"{n}~solv-{_tag(method.model)}", atoms, solv)
        if alt is not None:
            plan((n, "alt"), f"{n}~solv-{_tag(method.alternative)}", atoms, alt)
        if factor is not None and periodic[n]:
            big = doubled(atoms)
            plan((n, "x2gas"), f"{n}~x2~gas", big, gas)
            plan((n, "x2solv"), f"{n}~x2~solv-{_tag(method.model)}", big, solv)
    if planned is not None:
        planned(len(plans))
    results = {key: run_one(calc, eng) for key, (calc, eng) in plans.items()}

    systems = []
    for n, nu in coefficients.items():
        e_gas = (results.get((n, "gas")) or finals[n]).energy_ev
        e_solv = results[(n, "solv")].energy_ev
        s = SystemSolvation(n, nu, periodic[n], e_gas, e_solv, e_solv - e_gas)
        if (n, "alt") in results:
            s.dg_solv_alternative_ev = results[(n, "alt")].energy_ev - e_gas
        if (n, "x2solv") in results:
            s.dg_solv_doubled_ev = (
                results[(n, "x2solv")].energy_ev - results[(n, "x2gas")].energy_ev
            ) / 2.0
        systems.append(s)
    ddg = reaction_solvation(coefficients, {s.name: s.dg_solv_ev for s in systems})
    first_cell = next((geometries[n] for n, p in periodic.items() if p), None)
    components, how = _error_estimate(method, coefficients, systems, ddg, factor, first_cell)
    if engine.name == "cp2k":
        notes.append(_cp2k_gamma_note(engine, geometries))
    used = [*results.values(), *(finals[n] for n in coefficients if (n, "gas") not in results)]
    unconverged = list(dict.fromkeys(w for r in used if (w := why_unconverged(r))))
    unconverged += _positive_solvation_flags(method, systems)
    return SolvationCorrection(
        reaction=reaction,
        model=method.model,
        label=method.label,
        ddg_ev=ddg,
        sigma_ev=math.sqrt(sum(v * v for v in components.values())),
        sigma_components_ev=components,
        sigma_method="; ".join(how),
        engine=engine.name,
        approximation=method.approximation,
        alternative=method.alternative,
        systems=systems,
        converged=not unconverged,
        unconverged=unconverged,
        notes=notes,
        calc_hashes=[r.calc_hash for r in used],
    )


def check_solvation(
    section: Mapping[str, Any],
    engine: Engine,
    structures: Mapping[str, Atoms],
    systems: list[str],
) -> SolvationMethod:
    """Resolve ``bridge.solvation`` and every setting its single points need, before any job."""
    xtb_method = (getattr(engine, "calculator_settings", None) or {}).get("method")
    method = resolve_method(section, engine.name, xtb_method if engine.name == "xtb" else None)
    _check_gas_engine(engine)
    variants = [gas_engine(engine), solvated_engine(engine, method.model, method.approximation)]
    if method.alternative:
        variants.append(solvated_engine(engine, method.alternative, method.approximation))
    periodic = [n for n in systems if any(structures[n].pbc)]
    if engine.name == "xtb" and periodic and method.approximation != "cluster":
        raise AtomisticsError(
            f"bridge.solvation: {periodic} are periodic cells and tblite's solvation ignores the "
            "lattice; set approximation: cluster to solvate each cell's atoms as a cluster (its "
            "error is estimated with error: [edge])."
        )
    for variant in variants:
        for n in systems:
            variant.settings(structures[n], "single_point")
    return method


__all__ = [
    "SolvationCorrection",
    "SolvationMethod",
    "SystemSolvation",
    "check_solvation",
    "compute_solvation",
    "doubled",
    "edge_factor",
    "gas_engine",
    "model_label",
    "reaction_solvation",
    "resolve_method",
    "solvated_engine",
]
