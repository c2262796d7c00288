r"""The bridge: adsorption free energy -> trapped anions (fixed charge) -> t+, J_lim, Sand's time.

:func:`run_bridge` runs the coating model on the PE cell, the coated cell without trapped
anions, the coated cell with them and the coated cell with the clay's structural charge,
carries dG's spread (and the accessible-fraction range) through every output as 95 %
bands, and returns a :class:`BridgeResult`. Three modules, imports one way (this module
imports the other two, the report imports the model, the model neither):

- :mod:`atomistics.continuum.coating_model`: the physics (its docstring states the model
  step by step): the inputs (Electrolyte, Separator, Coating, FreeEnergy and its
  constructors), occupancy and Oriani factors, the coating's t+ and the stack's
  (Bruce-Vincent), the cells' J_lim and depletion times (``cell_numbers``), the
  calibration of dG to a measured t+ and the double-layer (TMS validity) check. Pure
  functions, SI units.
- :mod:`atomistics.continuum.bridge_report`: the prose: the VERDICT, the direction
  lines, the notes and the warnings.
- this module: the run and its sampling: the adsorption bands over dG's 95 % interval,
  the structural-charge column and its band, the real cell's bands, which mechanism
  moves t+, the calibrated dG and the local current of the real cell's depletion events.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from atomistics.continuum import clay_charge as cc
from atomistics.continuum.bridge_report import (
    _dilute_solution_note,
    _directions,
    _double_layer_warning,
    _geometry_note,
    _input_warnings,
    _mechanism_summary,
    _real_cell_note,
    _six_molar_defaults_warning,
    _verdict,
)
from atomistics.continuum.coating_model import (
    SURFACES,
    Calibration,
    CellNumbers,
    Coating,
    CoatingTransport,
    Electrolyte,
    FreeEnergy,
    Interval,
    Separator,
    _double_layer_check,
    calibrate_free_energy,
    cell_numbers,
    coating_transport,
    separator_layer,
    structural_transference,
    t_plus_sweep,
)
from atomistics.continuum.electrolyte_inputs import is_paper_concentration, origin_from_values
from atomistics.continuum.fixedcharge import depleted_layer_voltage
from atomistics.continuum.mesh import Layer
from atomistics.continuum.transport import limiting_current
from atomistics.errors import AtomisticsError

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def _interval(values: list[float], central: float) -> Interval:
    vals = [v for v in values if v is not None]
    return Interval(central, float(min(vals)), float(max(vals)))


@dataclass
class BridgeResult:
    """Everything the bridge computed, in SI units (energies in eV)."""

    inputs: dict
    free_energy: FreeEnergy
    transport: CoatingTransport
    pe: CellNumbers  # the PE separator alone
    coated_neutral: CellNumbers  # the coating as a layer without trapped anions (X = 0)
    coated: CellNumbers  # the coating with trapped anions (fixed charge)
    bands: dict[str, Interval]  # 95 % intervals from the dG spread
    delta_g_interval: Interval
    directions: dict[str, str]
    verdict: str
    surfaces: dict[str, str]
    #: V, tms-frozen only (None for tms): ohmic cost of carrying J_lim through a coating
    #: depleted of co-ions by the constant X's counter-ions alone (the frozen-X picture)
    depleted_coating_voltage: float | None
    coating_implied_solid_fraction: float
    calibration: Calibration | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the clay's structural (layer) charge X_s and the coating with it alone (constant X)
    structural: cc.StructuralCharge | None = None
    coated_structural: CellNumbers | None = None
    structural_bands: dict[str, Interval] = field(default_factory=dict)  # accessible-fraction range
    #: which mechanism moves t+ and by how much (:func:`_mechanism`)
    mechanism: dict[str, Any] = field(default_factory=dict)
    #: thickness, loading, porosity and which one was derived
    coating_geometry: dict[str, Any] = field(default_factory=dict)
    #: where c0, D and t+ came from (GIVEN, PAPER, ASSUMED, CALIBRATION)
    electrolyte_origin: dict[str, str] = field(default_factory=dict)
    #: Debye length at c0 against the coating's pore hydraulic radius, and the regime
    #: (:func:`~atomistics.continuum.coating_model._double_layer_check`,
    #: :mod:`atomistics.continuum.double_layer`)
    double_layer: dict[str, Any] = field(default_factory=dict)
    #: t+ of the charged columns ("structural", "trapped") as a bracket
    #: ``{"coating": (thin, TMS), "stack": (thin, TMS), "fixed_charge": (thin, TMS)}``
    t_plus_bracket: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: bands of the real cell's numbers (:data:`REAL_CELL_BAND_KEYS`) of the charged
    #: columns, ``{"coated": {...}, "coated_structural": {...}}``, over the ends of their bands
    real_cell_bands: dict[str, dict[str, Interval]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["free_energy"]["sigma_ev"] = self.free_energy.sigma_ev
        return out


def _structural_column(
    coating: Coating,
    electrolyte: Electrolyte,
    separator: Separator,
    current_density: float,
    model: str,
    cells: int,
    band_points: int,
    neutral: CellNumbers,
    local_current_density: float | None = None,
) -> tuple[cc.StructuralCharge, CellNumbers, dict[str, Interval], dict[str, Interval]]:
    """The coating with the clay's structural charge X_s alone (constant X, TMS), and its
    band over the accessible-fraction range (t+ closed form at the ends, which bound it:
    t+ rises with X; J_lim and Sand's time sampled on up to 3 values of X). The real
    cell's numbers (``local_current_density`` given) at X_s and the band's two ends: the
    fourth item, their bands (:func:`_real_cell_bands`)."""
    sc = coating.structural_charge()
    x = sc.fixed_charge

    def numbers(xv: float, local: float | None = None) -> CellNumbers:
        if xv <= 0:
            return neutral
        return cell_numbers(
            None,
            electrolyte,
            separator,
            coating,
            current_density,
            model,
            cells,
            fixed_charge=xv,
            local_current_density=local,
        )

    col = numbers(x, local_current_density)
    lo, hi = sc.band
    n = min(2 * (band_points // 2) + 1, 3)
    samples = [float(v) for v in np.linspace(lo, hi, n)] if (hi > lo and n > 1) else []
    ends = [numbers(v, local_current_density if v in (lo, hi) else None) for v in samples if v != x]
    t_ends = [
        structural_transference(v, None, electrolyte, separator, coating) if v > 0 else None
        for v in (lo, hi)
    ]
    t_c = [col.t_plus_coating] + [t[0] if t else electrolyte.t_plus for t in t_ends]
    t_s = [col.t_plus_stack] + [t[1] if t else electrolyte.t_plus for t in t_ends]
    bands = {
        "fixed_charge": Interval(x, lo, hi),
        "t_plus_coating": _interval(t_c, col.t_plus_coating),
        "t_plus_stack": _interval(t_s, col.t_plus_stack),
        "limiting_current": _interval(
            [col.limiting_current] + [e.limiting_current for e in ends], col.limiting_current
        ),
        "sand_time_semi_infinite": _interval(
            [col.sand_time_semi_infinite] + [e.sand_time_semi_infinite for e in ends],
            col.sand_time_semi_infinite,
        ),
        "interface_depletion_time": _interval(
            [col.interface_depletion_time] + [e.interface_depletion_time for e in ends],
            col.interface_depletion_time,
        ),
    }
    return sc, col, bands, _real_cell_bands(col, ends)


#: the real cell's numbers that get a band (:class:`~atomistics.continuum.real_cell.RealCellNumbers`)
REAL_CELL_BAND_KEYS = (
    "steady_electrode_li",
    "concentration_overpotential",
    "time_to_steady_state",
    "threshold_amplification",
    "sand_time",
    "interface_depletion_time",
)


def _real_cell_bands(central: CellNumbers, ends: list[CellNumbers]) -> dict[str, Interval]:
    """Bands of the real cell's numbers over the samples that carry them (nan: no value);
    the threshold amplification J_lim/J over every sample's J_lim (the J_lim band's)."""
    if central.real_cell is None:
        return {}
    cells = [central.real_cell] + [e.real_cell for e in ends if e.real_cell is not None]
    out = {}
    for key in REAL_CELL_BAND_KEYS:
        c = getattr(central.real_cell, key)
        vals = [v for v in (getattr(r, key) for r in cells) if not math.isnan(v)]
        if key == "threshold_amplification":
            j = central.real_cell.current_density
            vals = [e.limiting_current / j for e in [central, *ends]]
        out[key] = Interval(c, min(vals), max(vals)) if vals else Interval(c, c, c)
    return out


def _mechanism(
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    delta_g_ev: float,
    tr: CoatingTransport,
    sc: cc.StructuralCharge,
    structural_bands: dict[str, Interval],
    adsorption_bands: dict[str, Interval],
) -> dict[str, Any]:
    """Which mechanism moves t+, structural charge or adsorption, and by how much.

    Changes of t+ against the same coating without charge (X = 0, t+ = the bulk's): the
    structural charge alone (X_s), adsorption alone (trapped FSI-, as in the adsorption
    column), and both together (one Donnan partition with ``c+ = c- + X_s + c_T``,
    :func:`structural_transference`), each for the stack (what Bruce-Vincent measures)
    and the coating; bands from the accessible-fraction range and the dG spread.
    """
    t0 = electrolyte.t_plus
    x = sc.fixed_charge
    both = structural_transference(x, delta_g_ev, electrolyte, separator, coating)
    t_struct = (
        structural_transference(x, None, electrolyte, separator, coating) if x > 0 else (t0, t0)
    )
    out: dict[str, Any] = {"reference_t_plus": t0}
    for k, what in enumerate(("coating", "stack")):
        key = f"t_plus_{what}"
        s_band, a_band = structural_bands[key], adsorption_bands[key]
        out[what] = {
            "structural": t_struct[k] - t0,
            "structural_band": (s_band.low - t0, s_band.high - t0),
            "adsorption": (tr.t_plus_coating, tr.t_plus_stack)[k] - t0,
            "adsorption_band": (a_band.low - t0, a_band.high - t0),
            "both": both[k] - t0,
            "adsorption_on_structural": both[k] - t_struct[k],
            "t_plus_both": both[k],
        }
    d_s, d_a = out["stack"]["structural"], out["stack"]["adsorption"]
    if max(abs(d_s), abs(d_a)) < 5e-5:
        dominant, ratio = "neither", None
    elif abs(d_s) >= abs(d_a):
        dominant, ratio = "structural charge", abs(d_s) / abs(d_a) if d_a else math.inf
    else:
        dominant, ratio = "adsorption", abs(d_a) / abs(d_s) if d_s else math.inf
    out["dominant"], out["ratio"] = dominant, ratio
    out["summary"] = _mechanism_summary(out, x, tr.fixed_charge)
    return out


#: The default local current of the real-cell depletion rows, as a multiple of the PE
#: cell's J_lim: twice the smallest current at which the bare cell reaches a Sand's time,
#: so that the PE column has one (its finite-cell Sand's time is then ~0.6 of the
#: semi-infinite one at that current), the same local current for every column.
DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT = 2.0


def _calibrated(
    fe: FreeEnergy,
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    calibrate: tuple[float, float],
    target: str,
    notes: list[str],
) -> tuple[FreeEnergy, Electrolyte, Calibration]:
    """dG fitted to the measured pair ``calibrate`` (bulk t+ set to its first value); the
    given dG is kept, with a note, when the pair is unreachable."""
    cal = calibrate_free_energy(
        calibrate[0],
        calibrate[1],
        electrolyte,
        separator,
        coating,
        target,
        fe.delta_e_ev if fe.origin == "screening" else None,
    )
    electrolyte = replace(electrolyte, t_plus=calibrate[0])
    if cal.reachable and cal.delta_g_ev is not None:
        fe = replace(
            fe,
            delta_g_ev=cal.delta_g_ev,
            fitted=True,
            screening=cal.screening if fe.origin == "screening" else fe.screening,
        )
        notes.append(f"dG FITTED to t+ {calibrate[0]} -> {calibrate[1]} ({target})")
    else:
        notes.append(
            f"calibration not reachable (see the calibration line): dG kept at the given "
            f"{fe.delta_g_ev:+.4g} eV"
        )
    return fe, electrolyte, cal


def _local_current(
    given: float | None, electrolyte: Electrolyte, separator: Separator, current_density: float
) -> float:
    """The local current of the real cell's depletion events: ``given``, else twice the PE
    cell's J_lim (or the applied J if that is larger, which then reaches a Sand's time)."""
    local = given
    if local is None:
        j_pe = limiting_current([separator_layer(electrolyte, separator)], electrolyte.c0)
        local = max(DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT * j_pe, current_density)
    if not (math.isfinite(local) and local > 0):
        raise AtomisticsError(f"local current density must be > 0, got {local!r}")
    return float(local)


def _adsorption_bands(
    fe: FreeEnergy,
    tr: CoatingTransport,
    coated: CellNumbers,
    cell_at: Callable[[float, bool], CellNumbers],
    electrolyte: Electrolyte,
    separator: Separator,
    coating: Coating,
    band_points: int,
) -> tuple[dict[str, Interval], list[CellNumbers], float, float]:
    """The outputs over the 95 % interval of dG: t+ on a fine grid (closed form), J_lim and
    the depletion times on ``band_points`` samples (``cell_at(dG, with_real_cell)``, the
    real cell at the two ends only: each is a transient solve)."""
    sigma = fe.sigma_ev
    dg_lo, dg_hi = fe.delta_g_ev - Z95 * sigma, fe.delta_g_ev + Z95 * sigma
    t_c, t_s = t_plus_sweep(np.linspace(dg_lo, dg_hi, 201), electrolyte, separator, coating)
    # offsets from the central dG, so that the middle sample is the central value itself
    # (a linspace between the ends missed it by an ulp in ~1 case in 10: a second solve)
    samples = fe.delta_g_ev + Z95 * sigma * np.linspace(-1.0, 1.0, 2 * (band_points // 2) + 1)
    ends = [
        cell_at(float(dg), dg in (samples[0], samples[-1]))
        for dg in (samples if sigma > 0 else ())
        if dg != fe.delta_g_ev
    ]
    if sigma > 0:
        t_c_lo, t_c_hi = float(t_c.min()), float(t_c.max())
        t_s_lo, t_s_hi = float(t_s.min()), float(t_s.max())
    else:  # no spread: the band is the central value
        t_c_lo = t_c_hi = tr.t_plus_coating
        t_s_lo = t_s_hi = tr.t_plus_stack

    def over(key: str) -> Interval:
        return _interval(
            [getattr(coated, key)] + [getattr(e, key) for e in ends], getattr(coated, key)
        )

    bands = {
        "t_plus_coating": Interval(
            tr.t_plus_coating, min(t_c_lo, tr.t_plus_coating), max(t_c_hi, tr.t_plus_coating)
        ),
        "t_plus_stack": Interval(
            tr.t_plus_stack, min(t_s_lo, tr.t_plus_stack), max(t_s_hi, tr.t_plus_stack)
        ),
        **{
            k: over(k)
            for k in ("limiting_current", "sand_time_semi_infinite", "interface_depletion_time")
        },
    }
    return bands, ends, dg_lo, dg_hi


def _origin(
    electrolyte: Electrolyte, given: dict[str, str] | None, calibrated: bool, warnings: list[str]
) -> dict[str, str]:
    """Where c0, D and t+ came from; a warning when c0 is not 6 M but D or t+ are 6 M's."""
    origin = dict(given or {}) or origin_from_values(
        electrolyte.c0, electrolyte.diffusivity, electrolyte.t_plus
    )
    if calibrated:
        origin["t_plus"] = "CALIBRATION: the measured bare-PE t+"
    at_6m = [k for k in ("diffusivity", "t_plus") if "6 M" in origin.get(k, "")]
    if not is_paper_concentration(electrolyte.c0) and at_6m:
        warnings.append(_six_molar_defaults_warning(electrolyte.c0, at_6m))
    return origin


def _frozen_coating_voltage(
    model: str, coating: Coating, electrolyte: Electrolyte, tr: CoatingTransport, j_lim: float
) -> float | None:
    """tms-frozen only: the ohmic cost of carrying J_lim through a co-ion-depleted coating."""
    if model != "tms-frozen":
        return None
    frozen_coat = Layer(
        coating.thickness,
        electrolyte.diffusivity,
        electrolyte.t_plus,
        coating.porosity,
        coating.tortuosity,
        "coating",
        fixed_charge=max(tr.fixed_charge, 1e-300),
    )
    return depleted_layer_voltage(frozen_coat, j_lim, electrolyte.temperature)


def run_bridge(
    free_energy: FreeEnergy,
    *,
    electrolyte: Electrolyte | None = None,
    separator: Separator | None = None,
    coating: Coating | None = None,
    current_density: float = 10.0,
    model: str = "tms",
    calibrate: tuple[float, float] | None = None,
    calibrate_target: Literal["stack", "coating"] = "stack",
    cells: int = 600,
    band_points: int = 7,
    electrolyte_origin: dict[str, str] | None = None,
    local_current_density: float | None = None,
) -> BridgeResult:
    """Free energy -> fixed charge -> t+, J_lim, Sand's time with bands (module docstring).

    Each column also gets the real cell's own numbers (``CellNumbers.real_cell``, bands in
    ``real_cell_bands``): at ``current_density`` its steady state, concentration
    overpotential and time to steady state; the threshold amplification J_lim/J; and its
    depletion events at ``local_current_density`` [A/m^2], the same for every column
    (default: twice the PE cell's J_lim, :data:`DEFAULT_LOCAL_AMPLIFICATION_OF_PE_LIMIT`,
    or the applied J if that is larger).

    The clay's structural charge (``coating.structural_charge()``) is its own column
    (``coated_structural``, constant X) beside the adsorption column (``coated``), and
    ``mechanism`` says which of the two moves t+ and by how much.
    ``electrolyte_origin``: where c0, D and t+ came from (CLI/study,
    :func:`atomistics.continuum.electrolyte_inputs.resolve_electrolyte`); default: a
    value equal to the 6 M default is labelled as that default.

    ``current_density`` in A/m^2. ``model``: "tms" (traps in equilibrium, default) or
    "tms-frozen" (constant X: trapped anions never released). With
    ``calibrate=(t_bare, t_coated)`` dG is fitted (bulk t+ set to ``t_bare``); if the
    pair is unreachable the given dG is used and the calibration says what would be
    needed.

    Long because its second half is the BridgeResult's constructor, one keyword per field; the computations are the helpers above it (_calibrated, _adsorption_bands, _structural_column, _origin) and the model's, the sentences bridge_report's (_directions, _input_warnings, _verdict).
    """
    electrolyte = electrolyte or Electrolyte()
    separator = separator or Separator()
    coating = coating or Coating()
    if model not in ("tms", "tms-frozen"):
        raise AtomisticsError(f"unknown bridge model {model!r}; use 'tms' or 'tms-frozen'")
    if not (math.isfinite(current_density) and current_density > 0):
        raise AtomisticsError(f"current density must be > 0, got {current_density!r}")
    notes: list[str] = []
    cal, fe = None, free_energy
    if calibrate is not None:
        fe, electrolyte, cal = _calibrated(
            fe, electrolyte, separator, coating, calibrate, calibrate_target, notes
        )
    tr = coating_transport(fe.delta_g_ev, electrolyte, separator, coating)
    local = _local_current(local_current_density, electrolyte, separator, current_density)

    def cell(dg: float | None, coat: Coating | None, with_real_cell: bool = True) -> CellNumbers:
        return cell_numbers(
            dg,
            electrolyte,
            separator,
            coat,
            current_density,
            model,
            cells,
            local_current_density=local if with_real_cell else None,
        )

    pe, neutral, coated = cell(None, None), cell(None, coating), cell(fe.delta_g_ev, coating)
    sc, structural_cell, structural_bands, structural_real = _structural_column(
        coating, electrolyte, separator, current_density, model, cells, band_points, neutral, local
    )
    bands, ends, dg_lo, dg_hi = _adsorption_bands(
        fe,
        tr,
        coated,
        lambda dg, real: cell(dg, coating, real),
        electrolyte,
        separator,
        coating,
        band_points,
    )
    warnings = _input_warnings(coating, fe, tr, electrolyte)
    double_layer, t_plus_bracket = _double_layer_check(
        electrolyte, separator, coating, tr, sc.fixed_charge, fe.delta_g_ev
    )
    (warnings if double_layer["regime"] == "thin" else notes).append(
        _double_layer_warning(double_layer, t_plus_bracket, electrolyte.c0)
    )
    notes.append(_geometry_note(coating))
    origin = _origin(electrolyte, electrolyte_origin, calibrate is not None, warnings)
    notes.append(_real_cell_note(pe, separator))
    notes.append(_dilute_solution_note(electrolyte.c0))
    solid = coating.implied_solid_fraction
    return BridgeResult(
        inputs={
            "current_density": current_density,
            "model": model,
            "electrolyte": asdict(electrolyte),
            "separator": asdict(separator),
            "coating": asdict(coating),
            "trap_concentration": coating.trap_concentration,
            "structural_charge": sc.fixed_charge,
        },
        free_energy=fe,
        transport=tr,
        pe=pe,
        coated_neutral=neutral,
        coated=coated,
        bands=bands,
        delta_g_interval=Interval(fe.delta_g_ev, dg_lo, dg_hi),
        directions=_directions(pe, neutral, coated),
        verdict=_verdict(
            pe, coated, bands, tr, current_density, electrolyte.c0, _real_cell_bands(coated, ends)
        ),
        surfaces={
            "site_density": f"{coating.site_surface}: {SURFACES[coating.site_surface]}",
            "adsorption_energy": f"{fe.surface}: {SURFACES[fe.surface]}",
        },
        depleted_coating_voltage=_frozen_coating_voltage(
            model, coating, electrolyte, tr, coated.limiting_current
        ),
        coating_implied_solid_fraction=solid,
        calibration=cal,
        notes=notes,
        warnings=warnings,
        structural=sc,
        coated_structural=structural_cell,
        structural_bands=structural_bands,
        mechanism=_mechanism(
            electrolyte, separator, coating, fe.delta_g_ev, tr, sc, structural_bands, bands
        ),
        coating_geometry={
            "thickness": coating.thickness,
            "loading": coating.loading,
            "porosity": coating.porosity,
            "derived": coating.derived,
            "solid_fraction": solid,
        },
        electrolyte_origin=origin,
        double_layer=double_layer,
        t_plus_bracket=t_plus_bracket,
        real_cell_bands={
            "coated": _real_cell_bands(coated, ends),
            "coated_structural": structural_real,
        },
    )
