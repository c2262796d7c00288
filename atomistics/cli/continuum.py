"""``atomistics sand`` and ``atomistics bridge``: the continuum model on the command line.

Quantities take units (pint): ``--c0 "1 mol/L" --current-density "1 mA/cm^2"``.
``--json`` prints every result in SI units (s, m, mol/m^3, A/m^2, m^2/s; energies
in eV); infinite values (no Sand's time) are printed as ``null``.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from atomistics.errors import AtomisticsError
from atomistics.jsonable import jsonable
from atomistics.paths import plot_path
from atomistics.redact import redact
from atomistics.solvents import DME_PERMITTIVITY
from atomistics.units import check_cell_temperature, parse_quantity


def emit(result: dict, as_json: bool, lines: list[str]) -> int:
    if as_json:
        print(json.dumps(jsonable(result), indent=2))
    else:
        print("\n".join(lines))
    return 0


def _fmt_time(t: float) -> str:
    if not math.isfinite(t):
        return "none (never reached)"
    return f"{t:.6g} s ({t / 3600:.4g} h)"


def _porous(args: argparse.Namespace) -> tuple[float, float]:
    from atomistics.continuum.sand import bruggeman_tortuosity, check_sand_input

    eps = check_sand_input(args.porosity, "porosity", "--porosity")
    if args.bruggeman is not None and args.tortuosity is not None:
        raise AtomisticsError("give either --tortuosity or --bruggeman, not both")
    if args.bruggeman is not None:
        if not (math.isfinite(args.bruggeman) and args.bruggeman >= 1):
            raise AtomisticsError(
                f"--bruggeman: {args.bruggeman!r} is not a Bruggeman exponent; give a number "
                ">= 1, e.g. 1.5 (the tortuosity factor eps^(1 - b) must be >= 1)"
            )
        tort = float(bruggeman_tortuosity(eps, args.bruggeman))
        return eps, check_sand_input(
            tort, "tortuosity", "--bruggeman", f"{args.bruggeman:g} (tortuosity {tort:.3g})"
        )
    if args.tortuosity is None:
        return eps, 1.0
    return eps, check_sand_input(args.tortuosity, "tortuosity", "--tortuosity")


def _sand_numerical(args, c0, d, j, tp, eps, tort, length, tau_semi, result, lines) -> None:
    """``sand --numerical/--plot``: the finite-volume solver on the same cell, its
    difference to the analytic value, and the profiles' plot (``result``/``lines`` grow)."""
    from atomistics.continuum.transport import Layer, simulate, steady_state

    numerical_length = length
    ell = math.sqrt(d / tort * tau_semi)  # the depletion length at Sand's time
    if numerical_length is None:  # semi-infinite: a domain 10 diffusion lengths long
        numerical_length = 10.0 * ell
    elif math.isfinite(result["sand_time"]) and numerical_length > 1e3 * ell:
        # The depletion layer is < 1/1000 of the cell: the far electrode is not felt
        # before Sand's time (the finite-cell series equals the semi-infinite value), and
        # a mesh of the whole cell cannot resolve the layer; solve on 10 lengths of it.
        numerical_length = 10.0 * ell
        lines.append(
            f"  the depletion layer at Sand's time ({ell * 1e6:.3g} um) is < 1/1000 of "
            f"L: the solver's domain is {numerical_length * 1e6:.3g} um (semi-infinite)"
        )
    layer = Layer(numerical_length, d, tp, eps, tort, "separator")
    t_ref = (
        result["sand_time"]
        if math.isfinite(result["sand_time"])
        else 3 * eps * numerical_length**2 * tort / (eps * d)
    )
    outs = [t_ref * f for f in (0.05, 0.2, 0.4, 0.6, 0.8)]
    res = simulate([layer], c0, j, t_end=1.5 * t_ref, profile_times=outs, rtol=args.rtol)
    result["sand_time_numerical"] = res.sand_time
    result["numerical_domain_length"] = numerical_length
    result["numerical_steps"] = res.n_steps
    result["numerical_method"] = res.method
    how = (
        f"modal, closed form in time, {res.n_modes} modes"
        if res.method == "modal"
        else f"BDF2, {res.n_steps} steps"
    )
    lines.append(
        f"Sand's time, finite-volume solver (domain {numerical_length * 1e6:.4g} um, "
        f"{how}): {_fmt_time(res.sand_time)}"
    )
    if length is None or j > result.get("limiting_current_density", 0):
        rel = (
            res.sand_time / result["sand_time"] - 1
            if math.isfinite(res.sand_time)
            else float("nan")
        )
        result["numerical_relative_difference"] = rel
        lines.append(f"  relative difference to the analytic value: {rel:.2e}")
    else:
        _, c_ss, cs = steady_state([layer], c0, j)
        result["steady_surface_concentration_numerical"] = cs
    if args.numerical:
        result["sand_time"] = res.sand_time
        result["method"] = "finite-volume solver"
    if args.plot:
        from atomistics.continuum.plots import plot_profiles

        path = plot_profiles(
            res, args.plot, title=f"J = {j / 10:g} mA/cm², t⁺ = {tp}, c₀ = {c0 / 1000:g} M"
        )
        result["plot"] = str(path)
        lines.append(f"profiles written to {path}")


def cmd_sand(args: argparse.Namespace) -> int:
    from atomistics.continuum import sand
    from atomistics.continuum.sand import check_sand_input

    c0 = check_sand_input(
        parse_quantity(args.c0, "concentration", "--c0"), "concentration", "--c0", args.c0
    )
    d = check_sand_input(
        parse_quantity(args.diffusivity, "diffusivity", "--diffusivity"),
        "diffusivity",
        "--diffusivity",
        args.diffusivity,
    )
    j = check_sand_input(
        parse_quantity(args.current_density, "current_density", "--current-density"),
        "current_density",
        "--current-density",
        args.current_density,
    )
    check_sand_input(args.rtol, "rtol", "--rtol")
    tp = args.t_plus
    eps, tort = _porous(args)
    length = (
        sand.check_cell_length(
            parse_quantity(args.length, "length", "--length"), "--length", args.length
        )
        if args.length
        else None
    )
    tau_semi = float(sand.sand_time(c0, d, j, tp, eps, tort))
    result: dict[str, Any] = {
        "inputs": {
            "c0": c0,
            "diffusivity": d,
            "current_density": j,
            "t_plus": tp,
            "porosity": eps,
            "tortuosity": tort,
            "length": length,
        },
        "sand_time_semi_infinite_analytic": tau_semi,
        "diffusivity_held_fixed": "D (ambipolar)",
    }
    lines = [f"Sand's time, semi-infinite electrolyte (analytic): {_fmt_time(tau_semi)}"]
    if length is not None:
        j_lim = float(sand.limiting_current_density(c0, d, tp, length, eps, tort))
        tau_fin = sand.finite_cell_sand_time(c0, d, j, tp, length, eps, tort)
        cs_ss = float(sand.steady_state_profile(0.0, c0, d, j, tp, length, eps, tort))
        result.update(
            limiting_current_density=j_lim,
            sand_time_finite_cell_analytic=tau_fin,
            steady_surface_concentration=cs_ss if j < j_lim else None,
        )
        lines += [
            f"limiting current density (L = {length * 1e6:g} um): {j_lim:.6g} A/m^2 ({j_lim / 10:.4g} mA/cm^2)",
            f"Sand's time, finite cell (analytic series): {_fmt_time(tau_fin)}",
        ]
        if j < j_lim:
            lines.append(
                f"below the limiting current: steady surface concentration {cs_ss:.6g} mol/m^3"
            )
        result["sand_time"] = tau_fin
        result["method"] = "finite-cell series"
    else:
        result["sand_time"] = tau_semi
        result["method"] = "semi-infinite closed form"
    if args.numerical or args.plot:
        _sand_numerical(args, c0, d, j, tp, eps, tort, length, tau_semi, result, lines)
    return emit(result, args.json, lines)


def _free_energy(args: argparse.Namespace):
    """The adsorption free energy from the command line: exchange reaction, dG, or FITTED.

    Long because it is one dispatch over the four ways a user gives dG (directly, as an exchange energy, as two binding energies, from the results database), each a few lines.
    """
    from atomistics.continuum import coating_model as cmod
    from atomistics.continuum.study_bridge import parse_spread

    given = [
        name
        for name, v in (
            ("--exchange-energy", args.exchange_energy),
            ("--delta-g", args.delta_g),
            ("--e-surface-anion/--e-cation-anion", args.e_surface_anion or args.e_cation_anion),
            ("--db", args.db),
        )
        if v
    ]
    if len(given) > 1:
        raise AtomisticsError(f"give the adsorption energy one way only, not {' and '.join(given)}")
    if args.protocol and not args.db:
        raise AtomisticsError(
            "--protocol selects the results database's energies: give it with --db "
            "(and --study), e.g. --db results.db --study NAME --protocol GFN1-xTB"
        )
    solv = (
        parse_quantity(args.solvation_correction, "energy", "--solvation-correction")
        if args.solvation_correction
        else None
    )
    # a given spread (its origin only chooses the default when none is given)
    spread = parse_spread(args.dg_spread, "exchange", "--dg-spread") if args.dg_spread else None
    exchange_options = {
        "allow_unconverged": args.allow_unconverged,
        "solvation_correction_ev": solv,
        "solvation_model": args.solvation_model,
        "solvation_sigma_ev": (
            parse_quantity(args.solvation_uncertainty, "energy", "--solvation-uncertainty")
            if args.solvation_uncertainty
            else None
        ),
        "surface": args.surface,
        "spread_ev": spread,
    }
    if args.exchange_energy:
        fe = cmod.free_energy_from_exchange(
            parse_quantity(args.exchange_energy, "energy", "--exchange-energy"),
            converged=not args.unconverged_input,
            **exchange_options,
        )
        return fe, "command line (neutral exchange reaction)", None, None
    if args.delta_g:
        fe = cmod.given_free_energy(
            parse_quantity(args.delta_g, "energy", "--delta-g"),
            surface=args.surface,
            spread_ev=spread,
        )
        return fe, "command line (dG given)", None, None
    if args.db:
        from atomistics.continuum.study_bridge import exchange_solvation_options
        from atomistics.reactions.solvation import SolvationCorrection
        from atomistics.stored_reactions import read_binding_energy, read_reaction

        if not args.study:
            raise AtomisticsError(
                "--db needs --study NAME (the study whose binding energies to read)"
            )
        if args.exchange_name:
            record = read_reaction(
                args.db, args.study, args.exchange_name, args.engine, args.protocol
            )
            cmod.check_neutral_exchange(
                record,
                f"--exchange-name {args.exchange_name!r}",
                "give a neutral exchange reaction of the study, or drop --exchange-name to read "
                "the charged-fragment binding energies through the FITTED screening "
                "(--surface-anion-name, --cation-anion-name)",
            )
            source = (
                f"results DB {redact(args.db)} (study {args.study}, reaction {args.exchange_name})"
            )
            if record.solvation and not args.solvation_correction:
                # the study's computed ΔΔG_solv (bridge.solvation), stored with the reaction
                correction = SolvationCorrection.from_record(record.solvation)
                exchange_options.update(exchange_solvation_options(correction))
                source += f"; ddG_solv {correction.ddg_ev:+.4f} eV stored with the reaction"
            fe = cmod.free_energy_from_exchange(record, **exchange_options)
            return fe, source, None, None
        e_sa = read_binding_energy(
            args.db, args.study, args.surface_anion_name, args.engine, args.protocol
        )
        e_ca = read_binding_energy(
            args.db, args.study, args.cation_anion_name, args.engine, args.protocol
        )
        source = f"results DB {redact(args.db)} (study {args.study})"
    elif args.e_surface_anion is not None and args.e_cation_anion is not None:
        e_sa = parse_quantity(args.e_surface_anion, "energy", "--e-surface-anion")
        e_ca = parse_quantity(args.e_cation_anion, "energy", "--e-cation-anion")
        source = "command line"
    else:
        raise AtomisticsError(
            "give the adsorption energy: --exchange-energy '-0.5 eV' (neutral exchange reaction, "
            "primary), --delta-g, or the paper's charged-fragment binding energies (FITTED "
            "screening) --e-surface-anion '-10.39 eV' --e-cation-anion '-8.35 eV', or --db results.db --study NAME"
        )
    fe = cmod.free_energy_from_screening(
        e_sa, e_ca, args.screening, surface=args.surface, spread_ev=spread
    )
    return fe, source, e_sa, e_ca


def _num(value: float, fmt: str) -> str:
    """A number, or "none" (same width) for an infinite time (not reached while the model holds)."""
    if math.isfinite(value):
        return f"{value:{fmt}}"
    return f"{'none':{fmt.split('.')[0]}}"


def _band(iv, fmt: str, scale: float = 1.0) -> str:
    c, lo, hi = iv.central * scale, iv.low * scale, iv.high * scale
    return f"{_num(c, fmt)} [{_num(lo, fmt)}, {_num(hi, fmt)}]"


def _depletion_lines(res) -> list[str]:
    """What the two depletion rows mean, and why a coated column has no dendrite onset."""
    from atomistics.continuum.bridge_report import _electrode_status

    lines = [
        "  Sand = Li+ depletion at the plating electrode (Sand's time proper: the dendrite "
        "criterion), here with the separator SEMI-INFINITE (10 diffusion lengths; the real "
        "cell's own numbers are below); interface = the salt running out at the "
        "coating/separator interface (a voltage rise, not dendrite onset); the first of the "
        "two ends the model; none = not reached"
    ]
    columns = [("trapped anions", res.coated)]
    if getattr(res, "coated_structural", None) is not None:
        columns.insert(0, ("structural X_s", res.coated_structural))
    for name, cell in columns:
        if not math.isfinite(cell.sand_time_semi_infinite):
            lines.append(f"  {name}: {_electrode_status(cell)}")
    return lines


def _real_cell_status(rc) -> str:
    """Why a column's real cell has no Sand's time at the local current (empty if it has)."""
    if rc.event == "sand":
        return ""
    if rc.event == "below J_lim":
        return f"not reached (below J_lim: {rc.limiting_current / 10:.5g} mA/cm^2 > J_loc)"
    head = (
        ""
        if rc.electrode_can_deplete
        else "a constant fixed charge keeps Li+ at the electrode at c+ >= X: no Sand's time at "
        "any current (A* is where its salt runs out at the electrode; at the interface it runs "
        f"out above {rc.interface_limiting_current / 10:.5g} mA/cm^2); "
    )
    if rc.event == "interface":
        return head + (
            f"the salt runs out at the coating/separator interface first, after "
            f"{rc.interface_depletion_time:.4g} s, with Li+ at the electrode still "
            f"{rc.electrode_li_at_interface_depletion:.3g} mol/m^3 (a voltage rise, not dendrite "
            "onset; the electroneutral model ends there)"
        )
    if rc.event == "electrode cannot deplete":
        return head + "below the interface limit: a steady state"
    return head + "not reached within the simulated time"


def _real_cell_rows(res, struct_width: int) -> list[str]:
    """The real finite cell's own numbers (``CellNumbers.real_cell``): steady state at J,
    threshold amplification, and the depletion events at the local current."""
    pe, nt = res.pe, res.coated_neutral
    if getattr(pe, "real_cell", None) is None:
        return []
    rb = getattr(res, "real_cell_bands", None) or {}
    sb = rb.get("coated_structural") or {}
    cb = rb.get("coated") or {}
    structural = getattr(res, "coated_structural", None)

    def row(label: str, key: str, fmt: str, scale: float = 1.0, sand: bool = False) -> str:
        def single(cell, width: int) -> str:
            rc = cell.real_cell
            if sand and rc.event == "below J_lim":
                return f"{'below J_lim':>{width}s}"
            return _num(getattr(rc, key) * scale, f">{width}{fmt}")

        def banded(cell, bands) -> str:
            if sand and cell.real_cell.event == "below J_lim":
                return "below J_lim"
            return _band(bands[key], fmt, scale) if key in bands else single(cell, 0).strip()

        struct = (
            f"{banded(structural, sb):{struct_width}s}"
            if struct_width and structural is not None and structural.real_cell is not None
            else f"{'':{struct_width}s}"
        )
        return f"{label:28s}{single(pe, 14)}{single(nt, 16)}   {struct}{banded(res.coated, cb)}"

    rc = pe.real_cell
    lines = [
        f"real cell at J = {rc.current_density / 10:.4g} mA/cm^2 (PE: "
        f"{res.inputs['separator']['thickness'] * 1e6:.3g} um; coated: "
        f"{res.inputs['coating']['thickness'] * 1e6:.3g} um coating + the separator):",
        row("Li+ at Li, steady (mol/m^3)", "steady_electrode_li", ".6g"),
        row("conc. overpotential (mV)", "concentration_overpotential", ".4g", 1e3),
        row(f"{rc.steady_fraction:.0%} to steady state (s)", "time_to_steady_state", ".4g"),
        row("A* = J_lim/J", "threshold_amplification", ".5g"),
        f"real cell at J_loc = {rc.local_current_density / 10:.5g} mA/cm^2 "
        f"(amplification {rc.local_amplification:.5g}):",
        row("Sand, Li+ out at Li (s)", "sand_time", ".4g", sand=True),
        row("interface salt out (s)", "interface_depletion_time", ".4g", sand=True),
        "  real cell: Li+ at the plating electrode at steady state; concentration overpotential = "
        "the zero-current voltage of the polarised cell (Nernst terms of the two Li electrodes + "
        "diffusion potentials in the layers + Donnan jumps, positive = loss); time for Li+ at the "
        f"electrode to go {rc.steady_fraction:.0%} of the way from its initial to its steady "
        "value; A* = the factor by which a protrusion must concentrate the current for the real "
        "cell to reach a Sand's time; at J_loc the real finite cell's Li+ depletion at the "
        "electrode (Sand) and salt depletion at the interface",
    ]
    columns = [("PE separator", pe), ("coated, X = 0", nt)]
    if structural is not None and structural.real_cell is not None:
        columns.append(("structural X_s", structural))
    columns.append(("trapped anions", res.coated))
    for name, cell in columns:
        status = _real_cell_status(cell.real_cell)
        if status:
            lines.append(f"  {name} at J_loc: {status}")
    return lines


def _limiting_current_line(res) -> str:
    """The J_lim of the bridge's model, in that model's own terms."""
    tr, coated, nt = res.transport, res.coated, res.coated_neutral
    if res.inputs.get("model") == "tms-frozen":
        cap = coated.interface_limiting_current
        return (
            f"  J_lim with a constant X = {tr.fixed_charge:.4g} mol/m^3 (tms-frozen): the salt "
            "runs out at the electrode while Li+ stays at c+ >= X there; past the limit of the "
            f"same coating without charge ({nt.limiting_current / 10:.5g} mA/cm^2) X's "
            "counter-ions carry the current across the depleted coating, "
            f"{res.depleted_coating_voltage * 1e3:.3g} mV ohmic drop at J_lim; the salt running "
            f"out at the coating/separator interface caps it at {cap / 10:.5g} mA/cm^2"
        )
    return (
        "  J_lim with trapped anions (tms): where the salt runs out at the electrode the "
        "traps release their anions (X -> 0 there), so Li+ itself runs out at the electrode "
        "at J_lim, as in a neutral layer: no steady state beyond it"
    )


def _double_layer_line(res) -> list[str]:
    """The Debye length against the coating's pore size, and the regime (empty if absent)."""
    dl = getattr(res, "double_layer", None) or {}
    if not dl:
        return []
    lo, hi = dl["pore_hydraulic_radius_band"]
    return [
        f"COMPUTED  double layers: Debye length at c0 {dl['debye_length'] * 1e9:.3g} nm (mean "
        f"field, eps_r {dl['relative_permittivity']:g}); coating pore hydraulic radius r_h = "
        f"{dl['pore_hydraulic_radius'] * 1e9:.3g} nm [{lo * 1e9:.3g}, {hi * 1e9:.3g}] (pore "
        f"volume / external clay surface {dl['external_specific_surface'] / 1e3:.3g} m^2/g = "
        f"{dl['accessible_fraction']:.0%} of {dl['total_specific_surface'] / 1e3:.3g} m^2/g); "
        f"lambda_D/r_h = {dl['ratio']:.3g}: {dl['regime'].upper()} ({dl['meaning']}); t+ "
        "brackets are [thin double layer, TMS]; J_lim, the depletion times and the real "
        "cell's numbers are TMS only"
    ]


def _bracket_rows(res, struct_width: int) -> list[str]:
    """Rows of the table: t+ of the charged columns as [thin double layer, TMS]."""
    br = getattr(res, "t_plus_bracket", None) or {}
    if not br:
        return []
    rows = []
    for key, label in (
        ("coating", "t+ coating [thin DL, TMS]"),
        ("stack", "t+ stack [thin DL, TMS]"),
    ):
        cells = {k: f"[{v[key][0]:.4f}, {v[key][1]:.4f}]" for k, v in br.items()}
        struct = f"{cells.get('structural', ''):{struct_width}s}" if struct_width else ""
        rows.append(f"{label:28s}{'-':>14s}{'-':>16s}   {struct}{cells['trapped']}")
    return rows


def bridge_report_lines(
    res, e_sa: float | None = None, e_ca: float | None = None, source: str = ""
) -> list[str]:
    """Human-readable bridge result, each number labelled COMPUTED, GIVEN or FITTED."""
    from atomistics.continuum.bridge_report import format_slowing

    fe, tr = res.free_energy, res.transport
    ely = res.inputs["electrolyte"]
    lines = []
    if e_sa is not None and e_ca is not None:
        lines.append(
            f"binding energies ({source}): surface-anion {e_sa:+.4g} eV, cation-anion {e_ca:+.4g} eV "
            f"-> competitive dE = {fe.delta_e_ev:+.4g} eV"
        )
    elif source:
        lines.append(f"adsorption energy from {source}")
    origin = getattr(res, "electrolyte_origin", None) or {}
    if origin:
        lines.append(
            f"electrolyte: c0 = {ely['c0']:.5g} mol/m^3 ({origin.get('c0', '?')}), "
            f"D = {ely['diffusivity']:.4g} m^2/s ({origin.get('diffusivity', '?')}), "
            f"t+ = {ely['t_plus']:.4g} ({origin.get('t_plus', '?')})"
        )
    lines += [
        fe.label(),
        f"surfaces: site density -> {res.surfaces['site_density']}",
        f"          adsorption energy -> {res.surfaces['adsorption_energy']}",
        f"GIVEN     dG spread (1 sigma, in quadrature) {fe.sigma_ev:.3g} eV from "
        + ", ".join(f"{k} {v:.3g}" for k, v in fe.spread_ev.items())
        + f"; 95 % interval dG in [{res.delta_g_interval.low:+.3f}, {res.delta_g_interval.high:+.3f}] eV",
        f"COMPUTED  K = exp(-dG/kT) = 10^{tr.log10_k:.3g}; sites N_T = {tr.site_concentration:.4g} mol/m^3 "
        f"of pore liquid; occupancy theta_T = {tr.trap_occupancy:.6g} (theta_L = {tr.lattice_occupancy:.3g})",
        f"COMPUTED  fixed charge (trapped FSI-) X = {tr.fixed_charge:.4g} mol/m^3: {tr.trapped_fraction:.2%} of "
        f"the coating's anions trapped (at most {tr.trapped_fraction_bound:.2%}: every site filled, "
        "N_T/(N_T + c-))",
        f"COMPUTED  Donnan partition in the coating: c+ = {tr.c_plus_coating:.5g}, c- = {tr.c_minus_coating:.5g} "
        f"mol/m^3 (bulk {ely['c0']:.5g})",
    ]
    sc, sb = getattr(res, "structural", None), getattr(res, "structural_bands", None) or {}
    if sc is not None:
        lines.append(sc.label())
    lines += _double_layer_line(res)
    lines += [
        "",
        f"{'':28s}{'PE separator':>14s}{'coated, X = 0':>16s}   "
        + (f"{'structural X_s [band]':30s}" if sb else "")
        + "trapped anions [95 % band]",
    ]
    pe, nt, bands = res.pe, res.coated_neutral, res.bands

    def struct(key: str, fmt: str, scale: float = 1.0) -> str:
        return f"{_band(sb[key], fmt, scale):30s}" if sb else ""

    lines += [
        f"{'t+ of the coating':28s}{'-':>14s}{nt.t_plus_coating:>16.4f}   "
        f"{struct('t_plus_coating', '.4f')}{_band(bands['t_plus_coating'], '.4f')}",
        f"{'t+ of the stack (B-V)':28s}{pe.t_plus_stack:>14.4f}{nt.t_plus_stack:>16.4f}   "
        f"{struct('t_plus_stack', '.4f')}{_band(bands['t_plus_stack'], '.4f')}",
        *_bracket_rows(res, 30 if sb else 0),
        f"{'J_lim (mA/cm^2)':28s}{pe.limiting_current / 10:>14.5g}{nt.limiting_current / 10:>16.5g}   "
        f"{struct('limiting_current', '.5g', 0.1)}{_band(bands['limiting_current'], '.5g', 0.1)}",
        f"{'Sand, semi-inf. sep. (h)':28s}{_num(pe.sand_time_semi_infinite / 3600, '>14.5g')}"
        f"{_num(nt.sand_time_semi_infinite / 3600, '>16.5g')}   "
        f"{struct('sand_time_semi_infinite', '.5g', 1 / 3600)}"
        f"{_band(bands['sand_time_semi_infinite'], '.5g', 1 / 3600)}",
        f"{'interface salt out (h)':28s}{_num(pe.interface_depletion_time / 3600, '>14.5g')}"
        f"{_num(nt.interface_depletion_time / 3600, '>16.5g')}   "
        + (
            struct("interface_depletion_time", ".5g", 1 / 3600)
            if "interface_depletion_time" in sb
            else (f"{'':30s}" if sb else "")
        )
        + _band(bands["interface_depletion_time"], ".5g", 1 / 3600),
        *_depletion_lines(res),
        *_real_cell_rows(res, 30 if sb else 0),
        "",
        "which way:",
    ]
    lines += [f"  {v}" for v in res.directions.values()]
    mech = getattr(res, "mechanism", None) or {}
    if mech:
        lines.append(f"  which mechanism moves t+: {mech['summary']}")
    lines += [
        _limiting_current_line(res),
        "",
        f"VERDICT: {res.verdict}",
        f"comparison only: Oriani trapping with occupancy slows the anion {1 / tr.oriani_factor:.7f}x; "
        "the low-occupancy form would claim "
        + format_slowing(tr.oriani_low_occupancy_log10_slowing)
        + (" (NOT valid: traps saturated)" if tr.trap_occupancy > 0.9 else ""),
    ]
    if res.calibration is not None:
        lines.append(f"calibration ({res.calibration.target}): {res.calibration.note}")
    lines += [f"WARNING: {w}" for w in res.warnings]
    lines += [f"note: {n}" for n in res.notes]
    return lines


def _local_current(args: argparse.Namespace, applied: float) -> float | None:
    """The local current density of the real-cell depletion rows [A/m^2] from
    ``--local-current`` or ``--amplification`` (x the applied one); None: the default
    (twice the PE cell's J_lim). Either must be at least the applied current density (a
    protrusion concentrates the current) and within the range the solvers take."""
    from atomistics.continuum.sand import check_sand_input

    if args.local_current is not None and args.amplification is not None:
        raise AtomisticsError("give either --local-current or --amplification, not both")
    if args.amplification is not None:
        text = str(args.amplification).strip()
        try:
            a = float(text)
        except ValueError:
            a = math.nan
        if not (math.isfinite(a) and a >= 1):
            raise AtomisticsError(
                f"--amplification: {text!r} is no current amplification; give a number >= 1, "
                "the factor by which a protrusion concentrates the applied current, e.g. 1000"
            )
        return check_sand_input(
            a * applied,
            "current_density",
            "--amplification",
            f"{a:g} x {applied / 10:g} mA/cm^2 = {a * applied / 10:g} mA/cm^2",
        )
    if args.local_current is None:
        return None
    text = args.local_current
    local = check_sand_input(
        parse_quantity(text, "current_density", "--local-current"),
        "current_density",
        "--local-current",
        text,
    )
    if local < applied:
        raise AtomisticsError(
            f"--local-current: {str(text).strip()!r} is below the applied current density "
            f"({applied / 10:g} mA/cm^2); a protrusion concentrates the current: give a value "
            "at or above it, e.g. '1.3 A/cm^2'"
        )
    return local


def cmd_bridge(args: argparse.Namespace) -> int:
    from atomistics.continuum import bridge as br
    from atomistics.continuum import coating_model as cmod

    temperature = check_cell_temperature(
        parse_quantity(args.temperature, "temperature", "--temperature"),
        "--temperature",
        args.temperature,
    )
    fe, source, e_sa, e_ca = _free_energy(args)
    from atomistics.continuum import clay_charge as cc
    from atomistics.continuum.electrolyte_inputs import resolve_electrolyte

    values, origin = resolve_electrolyte(
        None if args.c0 is None else parse_quantity(args.c0, "concentration", "--c0"),
        None
        if args.diffusivity is None
        else parse_quantity(args.diffusivity, "diffusivity", "--diffusivity"),
        args.t_plus,
        t_plus_calibrated=bool(args.calibrate),
        names={"c0": "--c0", "diffusivity": "--diffusivity", "t_plus": "--t-plus"},
        c0_text=args.c0,
    )
    ely = cmod.Electrolyte(
        c0=values["c0"],
        diffusivity=values["diffusivity"],
        t_plus=values["t_plus"],
        temperature=temperature,
        liquid_site_concentration=parse_quantity(
            args.liquid_sites, "concentration", "--liquid-sites"
        ),
    )
    sep = cmod.Separator(
        thickness=parse_quantity(args.separator_thickness, "length", "--separator-thickness"),
        porosity=args.separator_porosity,
        bruggeman=args.bruggeman,
    )
    if not 0 < args.active_fraction <= 1:
        raise AtomisticsError(
            f"--active-fraction must lie in (0, 1] (LiMMT mass fraction), got {args.active_fraction!r}"
        )
    geometry = cc.consistent_geometry(
        None
        if args.coating_thickness is None
        else parse_quantity(args.coating_thickness, "length", "--coating-thickness"),
        None if args.loading is None else parse_quantity(args.loading, "areal_mass", "--loading"),
        args.coating_porosity,
        active_fraction=args.active_fraction,
        names={
            "thickness": "--coating-thickness",
            "loading": "--loading",
            "porosity": "--coating-porosity",
        },
    )
    coat = cmod.Coating(
        thickness=geometry.thickness,
        loading=geometry.loading,
        active_fraction=args.active_fraction,
        site_density=parse_quantity(args.site_density, "specific_amount", "--site-density"),
        porosity=geometry.porosity,
        bruggeman=args.bruggeman,
        site_surface=args.site_surface,
        layer_charge=cc.DEFAULT_LAYER_CHARGE
        if args.layer_charge is None
        else cc.check_layer_charge(args.layer_charge, "--layer-charge"),
        accessible_fraction=cc.ACCESSIBLE_FRACTION
        if args.accessible_fraction is None
        else cc.check_accessible_fraction(args.accessible_fraction, "--accessible-fraction"),
        fixed_charge=None
        if args.fixed_charge is None
        else cc.check_fixed_charge(
            parse_quantity(args.fixed_charge, "concentration", "--fixed-charge"), "--fixed-charge"
        ),
        derived=geometry.derived,
    )
    j_applied = parse_quantity(args.current_density, "current_density", "--current-density")
    res = br.run_bridge(
        fe,
        electrolyte=ely,
        separator=sep,
        coating=coat,
        current_density=j_applied,
        model=args.model,
        calibrate=tuple(args.calibrate) if args.calibrate else None,
        calibrate_target=args.calibrate_target,
        electrolyte_origin=origin,
        local_current_density=_local_current(args, j_applied),
    )
    out = res.to_dict()
    out["energy_source"] = source
    lines = bridge_report_lines(res, e_sa, e_ca, source)
    if args.plot:
        from atomistics.continuum.plots import plot_bridge_bands

        path = plot_bridge_bands(res, args.plot)
        out["plot"] = str(path)
        lines.append(f"t+, J_lim and Sand's time vs dG with the 95 % band written to {path}")
    return emit(out, args.json, lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Long because it is the flat list of the three commands' argparse options (sand, bridge, analyze), one call per option."""
    p = subparsers.add_parser(
        "sand",
        help="Sand's time of a binary electrolyte at constant current",
        description="Sand's time (time for the surface concentration at the plating electrode to "
        "reach zero). Analytic semi-infinite by default; --length gives the finite cell (series "
        "solution, limiting current); --numerical uses the finite-volume solver. D is held fixed.",
    )
    p.add_argument("--c0", required=True, help="salt concentration, e.g. '1 mol/L'")
    p.add_argument(
        "--diffusivity", required=True, help="ambipolar salt diffusivity, e.g. '3e-10 m^2/s'"
    )
    p.add_argument("--current-density", required=True, help="e.g. '1 mA/cm^2'")
    p.add_argument(
        "--t-plus", required=True, type=float, help="cation transference number, 0 <= t+ < 1"
    )
    p.add_argument(
        "--length", help="electrode spacing for the finite cell, 1 um to 10 cm, e.g. '25 um'"
    )
    p.add_argument(
        "--porosity",
        type=float,
        default=1.0,
        help="separator porosity (default 1: free electrolyte)",
    )
    p.add_argument("--tortuosity", type=float, default=None, help="tortuosity factor (default 1)")
    p.add_argument(
        "--bruggeman", type=float, default=None, help="Bruggeman exponent instead of --tortuosity"
    )
    p.add_argument("--numerical", action="store_true", help="solve with the finite-volume solver")
    p.add_argument(
        "--rtol", type=float, default=1e-7, help="solver local error tolerance relative to c0"
    )
    p.add_argument(
        "--plot", type=plot_path, help="write concentration profiles (PNG) from the solver"
    )
    p.add_argument("--json", action="store_true", help="print results as JSON in SI units")
    p.set_defaults(func=cmd_sand)

    b = subparsers.add_parser(
        "bridge",
        help="adsorption free energy -> trapped anions (fixed charge) -> t+, J_lim, Sand's time",
        description="The anion-braking bridge. dG of FSI- on a coating site (from the neutral "
        "exchange reaction slab + [Li+FSI-] -> slab.(FSI-+Li+), or the paper's charged-fragment "
        "binding energies through a FITTED screening) fills the sites with Fermi-Dirac occupancy; "
        "the trapped anions are a fixed charge (Teorell-Meyer-Sievers coating). Prints t+ of the "
        "coating and of the stack, J_lim and the layered Sand's time for the PE and the coated "
        "cell with a 95 % band from the dG spread, which way the coating moves each, and whether "
        "the model supports the paper's claim.",
    )
    b.add_argument(
        "--exchange-energy",
        help="dE of the neutral exchange reaction (negative: the surface wins), e.g. '-0.4 eV'",
    )
    b.add_argument("--solvation-correction", help="ddG_solv added to the exchange energy, eV")
    b.add_argument("--solvation-model", help="name of the implicit-solvent model used (printed)")
    b.add_argument(
        "--solvation-uncertainty",
        help="1-sigma uncertainty of --solvation-correction, e.g. '0.05 eV': its own source "
        "'solvation' in the dG spread",
    )
    b.add_argument(
        "--allow-unconverged",
        action="store_true",
        help="use an exchange energy from unconverged calculations anyway",
    )
    b.add_argument(
        "--unconverged-input",
        action="store_true",
        help="declare that --exchange-energy comes from unconverged calculations",
    )
    b.add_argument("--delta-g", help="give the adsorption free energy directly, e.g. '-0.3 eV'")
    b.add_argument("--e-surface-anion", help="FITTED path: E_bind(surface-anion), e.g. '-10.39 eV'")
    b.add_argument("--e-cation-anion", help="FITTED path: E_bind(cation-anion), e.g. '-8.35 eV'")
    b.add_argument("--db", help="results database (ASE db) to read the binding energies from")
    b.add_argument("--study", help="study name in the results database, e.g. limmt_fsi")
    b.add_argument(
        "--exchange-name",
        help="with --db: the neutral exchange reaction to read (e.g. limmt_exchange); "
        "without it --db reads the two binding energies (FITTED path)",
    )
    b.add_argument("--engine", help="with --db: which engine's energies (xtb or cp2k)")
    b.add_argument(
        "--protocol",
        help="with --db: which protocol's energies (e.g. GFN1-xTB or GFN2-xTB, paper or quick), "
        "when the study was run with several",
    )
    b.add_argument(
        "--surface-anion-name",
        default="limmt_fsi",
        help="binding name of surface-anion (default limmt_fsi)",
    )
    b.add_argument(
        "--cation-anion-name",
        default="li_fsi",
        help="binding name of cation-anion (default li_fsi)",
    )
    b.add_argument(
        "--surface",
        choices=("basal", "edge"),
        default="basal",
        help="surface the adsorption energy refers to (default basal: the study's (001) slab)",
    )
    b.add_argument(
        "--site-surface",
        choices=("edge", "basal"),
        default="edge",
        help="surface the site density describes (default edge: Bradbury & Baeyens 1997)",
    )
    b.add_argument(
        "--dg-spread",
        help="1-sigma spread of dG: one value ('0.2 eV') or sources in quadrature "
        "('site-to-site=0.1 eV,xtb-vs-DFT=0.15 eV,D3-variant=0.05 eV,charged-cell-residual=0.05 eV'); "
        "default: those ASSUMED values (no charged-cell term for the exchange reaction)",
    )
    b.add_argument(
        "--temperature",
        default="298.15 K",
        help="cell temperature, 150-500 K (default 298.15 K; e.g. '25 degC')",
    )
    b.add_argument(
        "--c0",
        help="salt concentration (default the paper's 6 M); any other c0 needs --diffusivity "
        "and --t-plus measured at it (the defaults are 6 M values)",
    )
    b.add_argument(
        "--diffusivity",
        help="ambipolar D of the bulk (default 3e-10 m^2/s, ASSUMED at 6 M)",
    )
    b.add_argument(
        "--t-plus",
        type=float,
        help="bulk t+ (default the paper's PE value 0.32, measured at 6 M)",
    )
    b.add_argument("--current-density", default="1 mA/cm^2")
    b.add_argument(
        "--local-current",
        help="local current density at which the real cell's Sand's time is computed (a "
        "protrusion's tip), >= --current-density, e.g. '1.5 A/cm^2'; default: twice the PE "
        "cell's J_lim (or --current-density if larger), the same for every column",
    )
    b.add_argument(
        "--amplification",
        help="the same as a multiple of --current-density (a protrusion's current "
        "amplification, >= 1), e.g. 1500",
    )
    b.add_argument(
        "--coating-thickness",
        help="coating thickness; give two of --coating-thickness, --loading, "
        "--coating-porosity, the third is derived (default: derived from the loading and "
        "porosity, 3.58 um; the paper's ~2 um cannot hold 0.57 mg/cm^2)",
    )
    b.add_argument(
        "--loading", help="coating areal mass (default the paper's 0.57 mg/cm^2, or derived)"
    )
    b.add_argument(
        "--active-fraction", type=float, default=0.8, help="LiMMT mass fraction (LiMMT:PVDF 80:20)"
    )
    b.add_argument(
        "--site-density", default="0.08 mmol/g", help="anion-binding sites per LiMMT mass"
    )
    b.add_argument(
        "--coating-porosity",
        type=float,
        help="coating porosity (default 0.35, ASSUMED; derived when thickness and loading are given)",
    )
    b.add_argument(
        "--fixed-charge",
        help="the clay's structural fixed charge X_s set directly, mol per m^3 of pore liquid "
        "(e.g. '250 mol/m^3'; 0 turns it off); default: from the layer charge and "
        "--accessible-fraction",
    )
    b.add_argument(
        "--accessible-fraction",
        type=float,
        help="fraction of the clay's layer charge on external tactoid faces (default 0.10, "
        "band 0.05-0.20: tactoids of 10 (20-5) layers, Jonas & Oliver 1967)",
    )
    b.add_argument(
        "--layer-charge",
        type=float,
        help="layer charge x of Li_x(Al2-xMg_x)Si4O10(OH)2 (default 0.25, the slab builder's)",
    )
    b.add_argument("--separator-thickness", default="20 um")
    b.add_argument("--separator-porosity", type=float, default=0.40)
    b.add_argument("--bruggeman", type=float, default=1.5, help="Bruggeman exponent of both layers")
    b.add_argument(
        "--liquid-sites", default=f"{9.635:g} mol/L", help="N_L, anion sites in the liquid (DME)"
    )
    b.add_argument(
        "--screening",
        type=float,
        default=1 / DME_PERMITTIVITY,
        help="FITTED path only: dG/dE (default 1/eps_r(DME) = 1/7.2)",
    )
    b.add_argument(
        "--model",
        choices=("tms", "tms-frozen"),
        default="tms",
        help="tms: traps in equilibrium (default); tms-frozen: constant X",
    )
    b.add_argument(
        "--calibrate",
        nargs=2,
        type=float,
        metavar=("T_BARE", "T_COATED"),
        help="fit dG to measured t+ (paper: 0.32 0.63)",
    )
    b.add_argument(
        "--calibrate-target",
        choices=("stack", "coating"),
        default="stack",
        help="what the coated t+ describes: the whole stack (default, what Bruce-Vincent "
        "measures) or the coating layer",
    )
    b.add_argument(
        "--plot", type=plot_path, help="write t+, J_lim and Sand's time vs dG with the band (PNG)"
    )
    b.add_argument("--json", action="store_true", help="print results as JSON in SI units")
    b.set_defaults(func=cmd_bridge)
