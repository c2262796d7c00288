"""The bridge's prose: the verdict, the notes, the warnings and the direction lines.

Every function here turns numbers of :mod:`atomistics.continuum.coating_model` (and the
bands :mod:`atomistics.continuum.bridge` samples) into sentences for the user; none
computes a model number. It imports the model only, never the bridge.
"""

from __future__ import annotations

import math
from typing import Any

from atomistics.continuum import clay_charge as cc
from atomistics.continuum.coating_model import (
    IMPLAUSIBLE_DG_EV,
    CellNumbers,
    Coating,
    CoatingTransport,
    Electrolyte,
    FreeEnergy,
    Interval,
    Separator,
)


def format_slowing(log10_factor: float, digits: int = 4) -> str:
    """``"1.23x"``, or ``"10^345x"`` when the factor is beyond 1e15 (``digits`` significant)."""
    if log10_factor < 15:
        return f"{10.0**log10_factor:.{digits}g}x"
    return f"10^{log10_factor:.{digits}g}x"


def _direction(what: str, coated: float, reference: float, by: str) -> str:
    """``"<what>: <by> raises it by +x %"`` (or lowers, or leaves unchanged)."""
    if not (math.isfinite(coated) and math.isfinite(reference)):
        if math.isfinite(reference):
            return f"{what}: not reached with {by.split(' (')[0]} while the model holds"
        return f"{what}: undefined (no finite value)"
    rel = coated / reference - 1
    if abs(rel) < 5e-4:
        return f"{what}: {by} leaves it unchanged (|change| < 0.05 %)"
    return f"{what}: {by} {'RAISES' if rel > 0 else 'LOWERS'} it by {rel:+.2%}"


def _directions(pe: CellNumbers, neutral: CellNumbers, coated: CellNumbers) -> dict[str, str]:
    """Which way the coating (vs PE) and the trapping alone (vs X = 0) move each output."""
    by_coat, by_trap = "the coating (vs PE)", "trapping (vs the same coating with X = 0)"
    onset = "dendrite onset (Li+ out at the electrode)"
    return {
        "t_plus_stack": _direction("stack t+", coated.t_plus_stack, pe.t_plus_stack, by_coat),
        "limiting_current": _direction(
            "J_lim", coated.limiting_current, pe.limiting_current, by_coat
        ),
        "sand_time_semi_infinite": _direction(
            onset, coated.sand_time_semi_infinite, pe.sand_time_semi_infinite, by_coat
        ),
        "limiting_current_trapping_only": _direction(
            "J_lim", coated.limiting_current, neutral.limiting_current, by_trap
        ),
        "sand_time_trapping_only": _direction(
            onset, coated.sand_time_semi_infinite, neutral.sand_time_semi_infinite, by_trap
        ),
    }


def _electrode_status(cell: CellNumbers) -> str:
    """Why a cell has no dendrite onset (Li+ depletion at the plating electrode) in the model."""
    if not cell.electrode_can_deplete:
        return (
            "a constant fixed charge keeps Li+ at the electrode at c+ >= X, so the electrode "
            "never runs out of Li+ in this model (no Sand's time)"
        )
    if math.isfinite(cell.interface_depletion_time):
        return (
            f"Li+ at the electrode is still {cell.electrode_li_at_interface_depletion:.3g} mol/m^3 "
            "when the salt runs out at the coating/separator interface, where the electroneutral "
            "model ends (it cannot say when, or whether, the electrode runs out after that)"
        )
    return "Li+ at the electrode does not run out within the simulated time"


def _verdict(
    res_bare: CellNumbers,
    coated: CellNumbers,
    bands: dict[str, Interval],
    tr: CoatingTransport,
    current_density: float,
    c0: float = 6000.0,
    real_bands: dict[str, Interval] | None = None,
) -> str:
    """The verdict on the paper's claim, for the REAL cell (its own thickness; ``real_cell``).

    Only Li+ depletion at the plating electrode (Sand's time proper) is called dendrite
    onset; salt depletion at the coating/separator interface is a voltage rise, reported as
    such. The judgement is made at the local current of a protrusion (``real_cell``'s
    ``local_current_density``, the same for both cells), because at the applied current the
    real cell reaches a steady state and has no Sand's time; the threshold amplification
    A* = J_lim/J of both cells says how much a protrusion must concentrate the current.
    Without real-cell numbers (``real_cell=None``) it falls back to the semi-infinite
    separator (:func:`_semi_infinite_verdict`).
    """
    pe, co = res_bare.real_cell, coated.real_cell
    if pe is None or co is None:
        return _semi_infinite_verdict(res_bare, coated, bands, tr, current_density)
    onset = "dendrite onset (Li+ depletion at the plating electrode)"
    at = (
        f"at a protrusion's local current J_loc = {co.local_current_density / 10:.5g} mA/cm^2 "
        f"({co.local_amplification:.4g}x the applied)"
    )
    t_pe, t_co = pe.sand_time, co.sand_time
    pe_text = (
        f"the PE cell reaches it after {t_pe:.4g} s"
        if math.isfinite(t_pe)
        else "the PE cell does not reach it (J_loc below its J_lim)"
    )
    if math.isfinite(t_pe) and math.isfinite(t_co):
        rel = t_co / t_pe - 1
        band = (real_bands or {}).get("sand_time")
        lo, hi = (band.low / t_pe - 1, band.high / t_pe - 1) if band is not None else (rel, rel)
        lo, hi = min(lo, rel), max(hi, rel)
        hi_t = f"{hi:+.1%}" if math.isfinite(hi) else "no onset within the model"
        span = f" (95 % band {lo:+.1%} to {hi_t})" if (lo, hi) != (rel, rel) else ""
        if lo > 0.10:
            head = (
                f"The model SUPPORTS the claim: {at} the coating delays {onset} by {rel:+.1%}{span}"
            )
        elif hi < -0.01:
            head = f"The model CONTRADICTS the claim: {at} the coating brings {onset} forward by {rel:+.1%}{span}"
        elif lo >= -0.01 and hi <= 0.10:
            head = f"The model does NOT support the claim: {at} the coating moves {onset} by {rel:+.2%}{span}"
        else:  # the band straddles: the sign of the effect is not known
            head = (
                f"The model CANNOT TELL whether the coating delays {onset}: {at} it moves it by "
                f"{rel:+.1%} at the central dG, but by {lo:+.1%} to {hi_t} over dG's 95 % band"
            )
        head += f" ({t_co:.4g} s against {t_pe:.4g} s)"
    elif co.event == "below J_lim" and math.isfinite(t_pe):
        head = (
            f"The model SUPPORTS the claim: {at} the coated cell stays below its J_lim "
            f"({co.limiting_current / 10:.5g} mA/cm^2) and never reaches {onset}, while {pe_text}"
        )
    elif co.event == "interface":
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; in the "
            f"coated cell the salt runs out at the coating/separator interface first, after "
            f"{co.interface_depletion_time:.4g} s, with Li+ at the electrode still "
            f"{co.electrode_li_at_interface_depletion:.3g} mol/m^3: a rise of the cell voltage, "
            "not dendrite onset, where the electroneutral model ends"
        )
    elif not co.electrode_can_deplete:
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; in the "
            "coated cell a constant fixed charge keeps Li+ at the electrode at c+ >= X, so the "
            "electrode never runs out of Li+ in this model"
        )
    else:
        head = (
            f"The model CANNOT TELL whether the coating delays {onset}: {at} {pe_text}; the "
            f"coated cell does not reach it within the simulated time ({co.event})"
        )
    band = (real_bands or {}).get("sand_time")
    if not math.isfinite(t_co) and band is not None and math.isfinite(band.low):
        # the central dG gives no onset, but part of the band does: say where it goes
        hi_t = f"{band.high:.4g} s" if math.isfinite(band.high) else "never"
        vs = f" ({band.low / t_pe - 1:+.1%} against PE)" if math.isfinite(t_pe) else ""
        head += (
            f"; over dG's 95 % band the coated cell's onset ranges from {band.low:.4g} s{vs} "
            f"to {hi_t}"
        )
    applied = _applied_current_clause(pe, co, current_density)
    limits = (
        f"; at c0 = {c0 / 1000:.3g} M the model is dilute-solution theory (no activity "
        "coefficients, ideal Donnan partition): trends, not numbers"
        if c0 >= 1000
        else ""
    )
    return f"{head}; {applied}{limits}."


def _applied_current_clause(pe, co, current_density: float) -> str:
    """The verdict's clause on the applied current: a steady state or not, and A* = J_lim/J."""
    a_pe, a_co = pe.threshold_amplification, co.threshold_amplification
    applied = f"at the applied {current_density / 10:.4g} mA/cm^2 "
    if a_pe > 1 and a_co > 1:
        return applied + (
            "neither cell reaches dendrite onset (both reach a steady state); a protrusion must "
            f"concentrate the current {a_pe:.4g}x (PE) or {a_co:.4g}x (coated) to reach it: the "
            f"coating {'RAISES' if a_co > a_pe else 'LOWERS'} that threshold by {a_co / a_pe - 1:+.1%}"
        )
    return applied + f"the current is above J_lim (A* = {a_pe:.3g} PE, {a_co:.3g} coated)"


def _semi_infinite_verdict(
    res_bare: CellNumbers,
    coated: CellNumbers,
    bands: dict[str, Interval],
    tr: CoatingTransport,
    current_density: float,
) -> str:
    """The verdict on a semi-infinite separator (``sand_time_semi_infinite``): used only
    when the real cell's numbers are not computed."""
    tau_pe = res_bare.sand_time_semi_infinite
    t_i = coated.interface_depletion_time
    iface = (
        f"; the salt runs out at the coating/separator interface after {t_i / 3600:.4g} h "
        f"({t_i / tau_pe - 1:+.2%} against the PE cell's dendrite onset): a rise of the cell "
        "voltage, not dendrite onset"
        if math.isfinite(t_i)
        else ""
    )
    if not math.isfinite(coated.sand_time_semi_infinite):
        return (
            "The model CANNOT TELL whether the coating delays dendrite onset (Li+ depletion at "
            f"the plating electrode): in the coated cell {_electrode_status(coated)}{iface}."
        )
    rel_tau = coated.sand_time_semi_infinite / tau_pe - 1
    lo = bands["sand_time_semi_infinite"].low / tau_pe - 1
    hi = bands["sand_time_semi_infinite"].high / tau_pe - 1
    lo_t = f"{lo:+.1%}"
    hi_t = f"{hi:+.1%}" if math.isfinite(hi) else "no onset within the model"
    why = (
        f"at most {tr.trapped_fraction_bound:.1%} of the anions can sit on the sites "
        f"(every site filled), so trapping moves the stack t+ only from "
        f"{res_bare.t_plus_stack:.3f} to {coated.t_plus_stack:.3f}"
    )
    onset = "dendrite onset (Li+ depletion at the plating electrode)"
    if lo > 0.10:
        return (
            f"The model SUPPORTS the claim that the coating delays dendrite onset: {onset} comes "
            f"{rel_tau:+.1%} later (95 % band {lo_t} to {hi_t})."
        )
    if math.isfinite(hi) and hi < -0.01:
        return (
            f"The model CONTRADICTS the claim: the coating brings {onset} forward by "
            f"{rel_tau:+.1%} (95 % band {lo_t} to {hi_t}); {why}."
        )
    j_note = (
        f"; J_lim moves by {coated.limiting_current / res_bare.limiting_current - 1:+.1%}, "
        f"but the cell runs at 1/{res_bare.limiting_current / current_density:.0f} of it"
        if current_density < res_bare.limiting_current
        else ""
    )
    hi_t = f"{hi:+.2%}" if math.isfinite(hi) else "no onset within the model"
    return (
        f"The model does NOT support the claim that anion trapping in the coating delays dendrite "
        f"onset: {onset} moves by {rel_tau:+.2%} (95 % band {lo:+.2%} to {hi_t}), because "
        f"{why}, and the thin coating holds far less salt than the depletion layer{j_note}."
    )


def _double_layer_warning(dl: dict[str, Any], bracket: dict[str, dict[str, Any]], c0: float) -> str:
    """The WARNING (thin regime) or note (otherwise) on TMS's validity at c0."""
    lam, r_h, ratio = dl["debye_length"], dl["pore_hydraulic_radius"], dl["ratio"]
    lo, hi = dl["thresholds"]
    s, t = bracket["structural"]["stack"], bracket["trapped"]["stack"]
    head = (
        f"Debye length at c0 = {c0 / 1000:.4g} M (eps_r {dl['relative_permittivity']:g}) "
        f"{lam * 1e9:.3g} nm = {ratio:.3g} x the coating's pore hydraulic radius "
        f"{r_h * 1e9:.3g} nm"
    )
    ends = (
        f"stack t+ {s[0]:.5f} with X_s and {t[0]:.5f} with trapped anions, against TMS's "
        f"{s[1]:.5f} and {t[1]:.5f}"
    )
    if dl["regime"] == "thin":
        return (
            f"TMS outside its validity: {head} (< {lo:g}: thin double layers), where the "
            "uniform-X Donnan partition over-states co-ion exclusion; the model supports the "
            f"THIN-DOUBLE-LAYER end of the t+ brackets ({ends}); J_lim, the depletion "
            "times and the real cell's numbers are TMS only. Caveat: measured screening "
            "lengths in concentrated electrolytes are nm-scale (underscreening); one above "
            f"{lo * r_h * 1e9:.2g} nm would make the regime intermediate, with t+ between "
            "the two ends"
        )
    if dl["regime"] == "overlapping":
        return f"TMS within its validity: {head} (> {hi:g}: overlapping double layers)"
    return (
        f"TMS only partly valid: {head} (between {lo:g} and {hi:g}): neither limit holds and "
        f"t+ lies between the two ends of the brackets ({ends}); J_lim, the depletion "
        "times and the real cell's numbers are TMS only"
    )


def _real_cell_note(pe: CellNumbers, separator: Separator) -> str:
    """What the real (finite) PE cell does at the applied current, in one sentence."""
    rc = pe.real_cell
    if rc is None:
        return "the Sand's times are for a semi-infinite separator"
    head = f"real cell ({separator.thickness * 1e6:.3g} um PE) at J = {rc.current_density / 10:.4g} mA/cm^2: "
    if math.isnan(rc.steady_electrode_li):
        return head + (
            "above its limiting current, no steady state; the 'semi-inf.' Sand's times are "
            "for a semi-infinite separator"
        )
    return head + (
        f"steady state with Li+ at the electrode {rc.steady_electrode_li:.5g} mol/m^3 and a "
        f"concentration overpotential of {rc.concentration_overpotential * 1e3:.3g} mV, "
        f"{rc.steady_fraction:.0%} of the way there in {rc.time_to_steady_state:.3g} s; no "
        "Sand's time below J_lim: a protrusion reaches one only where it concentrates the "
        f"current by A* = J_lim/J = {rc.threshold_amplification:.4g}x; the 'semi-inf.' "
        "Sand's times are for a semi-infinite separator, not this cell"
    )


def _geometry_note(coating: Coating) -> str:
    """Which of thickness, loading and porosity was derived, and from what."""
    given = [k for k in cc.GEOMETRY_KEYS if k != coating.derived]
    shown = {
        "thickness": f"thickness {coating.thickness * 1e6:.3g} um",
        "loading": f"loading {coating.loading * 100:.3g} mg/cm^2",
        "porosity": f"porosity {coating.porosity:.3g}",
    }
    densities = (
        f"solid fraction {1 - coating.porosity:.3g}; LiMMT {coating.active_density / 1000:.3g} "
        f"g/cm^3, PVDF {coating.binder_density / 1000:.3g} g/cm^3"
    )
    if not coating.derived:
        return (
            f"coating geometry: {', '.join(shown.values())}, all given and consistent ({densities})"
        )
    text = (
        f"coating geometry: {shown[coating.derived]} DERIVED from {shown[given[0]]} and "
        f"{shown[given[1]]} ({densities})"
    )
    if coating.derived == "thickness" and math.isclose(coating.loading, cc.PAPER_LOADING):
        paper_solid = coating.implied_solid_fraction * coating.thickness / cc.PAPER_THICKNESS
        text += (
            f"; the paper's ~2 um (SEM) cannot hold 0.57 mg/cm^2: solid fraction {paper_solid:.3g}"
        )
    return text


def _input_warnings(
    coating: Coating, fe: FreeEnergy, tr: CoatingTransport, electrolyte: Electrolyte
) -> list[str]:
    """Inputs that do not fit together or put the model at a limit (mismatched surfaces,
    saturated traps, an implausible dG, too few sites)."""
    warnings = []
    if coating.site_surface != fe.surface:
        warnings.append(
            f"the site density describes the {coating.site_surface} surface but the adsorption energy "
            f"the {fe.surface} surface: they are not the same sites (the paper's Al-OH Lewis-acid "
            "argument applies to the clay's edges); compute dG on an edge model or give the matching site density"
        )
    if tr.trap_occupancy > 0.9:
        warnings.append(
            f"traps saturated (theta_T = {tr.trap_occupancy:.6f}): at most "
            f"{tr.trapped_fraction_bound:.1%} of the anions can be trapped whatever dG is (every "
            "site filled, N_T/(N_T + c-) with the Donnan co-ions c-); "
            f"the low-occupancy Oriani factor "
            f"({format_slowing(tr.oriani_low_occupancy_log10_slowing, 3)} slowing) does "
            f"not apply, with occupancy it is {1 / tr.oriani_factor:.7f}x"
        )
    if abs(fe.delta_g_ev) > IMPLAUSIBLE_DG_EV:
        warnings.append(
            f"|dG| = {abs(fe.delta_g_ev):.4g} eV is beyond any adsorption free energy of a "
            f"molecular anion (|dG| > {IMPLAUSIBLE_DG_EV:g} eV exceeds the strongest chemical "
            "bonds): check the reaction (coefficients, that its total energies cancel) and its "
            f"unit; the sites are {'saturated' if fe.delta_g_ev < 0 else 'empty'} whatever its "
            "exact value, so the outputs are that limit"
        )
    if tr.site_concentration < 0.1 * electrolyte.c0:
        warnings.append(
            f"N_T = {tr.site_concentration:.4g} mol/m^3 << c0 = {electrolyte.c0:.4g} mol/m^3: the sites "
            "can hold only a small fraction of the anions"
        )
    return warnings


def _mechanism_summary(mechanism: dict[str, Any], x_struct: float, x_trapped: float) -> str:
    """The one-line summary of :func:`atomistics.continuum.bridge._mechanism`'s numbers:
    the stack t+ moved by the structural charge ``x_struct``, by adsorption (``x_trapped``
    trapped FSI-) and by both, and which of the two moves it more."""
    t0, st = mechanism["reference_t_plus"], mechanism["stack"]
    dominant, ratio = mechanism["dominant"], mechanism["ratio"]
    if dominant == "neither":
        verdict = "neither moves the stack t+ by 5e-5 or more"
    else:
        other = "adsorption" if dominant == "structural charge" else "the structural charge"
        times = f"{ratio:.3g}x" if ratio is not None and math.isfinite(ratio) else "alone"
        verdict = f"the {dominant} moves the stack t+ more ({times} {other})"
    coat = mechanism["coating"]
    return (
        f"stack t+ {t0:.4f} -> {st['t_plus_both']:.4f} with both: structural charge "
        f"(X_s = {x_struct:.4g} mol/m^3) {st['structural']:+.4f} "
        f"[{st['structural_band'][0]:+.4f}, {st['structural_band'][1]:+.4f}], adsorption "
        f"(X = {x_trapped:.4g} mol/m^3 trapped FSI-) {st['adsorption']:+.4f} "
        f"[{st['adsorption_band'][0]:+.4f}, {st['adsorption_band'][1]:+.4f}], both "
        f"{st['both']:+.4f} (adsorption on top of the structural charge "
        f"{st['adsorption_on_structural']:+.4f}); coating t+ {coat['structural']:+.4f} "
        f"/ {coat['adsorption']:+.4f} / {coat['both']:+.4f}: {verdict}"
    )


def _six_molar_defaults_warning(c0: float, at_6m: list[str]) -> str:
    """c0 is not the paper's 6 M but the named inputs (D, t+) are its 6 M defaults."""
    return (
        f"c0 = {c0 / 1000:.4g} M but {' and '.join(at_6m)} "
        f"{'is the 6 M default' if len(at_6m) == 1 else 'are the 6 M defaults'}: give the "
        f"values measured at {c0 / 1000:.4g} M"
    )


def _dilute_solution_note(c0: float) -> str:
    """The note on the model's limits at c0 (dilute-solution theory)."""
    return (
        f"dilute-solution theory at c0 = {c0 / 1000:.4g} M (no activity "
        "coefficients, ideal Donnan partition): trends, not numbers; "
        "the effective-medium Sand's time (stack t+ in a uniform cell) is not reported: it is not physical"
    )
