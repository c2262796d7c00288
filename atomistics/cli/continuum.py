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


def cmd_sand(args: argparse.Namespace) -> int:
    from atomistics.continuum import sand
    from atomistics.continuum.sand import check_sand_input
    from atomistics.continuum.transport import Layer, simulate, steady_state

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
    numerical_length = length
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
    return emit(result, args.json, lines)


def _free_energy(args: argparse.Namespace):
    """The adsorption free energy from the command line: exchange reaction, dG, or FITTED."""
    from atomistics.continuum import bridge as br
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
        fe = br.free_energy_from_exchange(
            parse_quantity(args.exchange_energy, "energy", "--exchange-energy"),
            converged=not args.unconverged_input,
            **exchange_options,
        )
        return fe, "command line (neutral exchange reaction)", None, None
    if args.delta_g:
        fe = br.given_free_energy(
            parse_quantity(args.delta_g, "energy", "--delta-g"),
            surface=args.surface,
            spread_ev=spread,
        )
        return fe, "command line (dG given)", None, None
    if args.db:
        from atomistics.continuum.resultsdb import (
            read_binding_energy,
            read_reaction,
            solvated_systems,
        )

        if not args.study:
            raise AtomisticsError(
                "--db needs --study NAME (the study whose binding energies to read)"
            )
        if args.exchange_name:
            record = read_reaction(
                args.db, args.study, args.exchange_name, args.engine, args.protocol
            )
            br.check_neutral_exchange(
                record,
                f"--exchange-name {args.exchange_name!r}",
                "give a neutral exchange reaction of the study, or drop --exchange-name to read "
                "the charged-fragment binding energies through the FITTED screening "
                "(--surface-anion-name, --cation-anion-name)",
            )
            fe = br.free_energy_from_exchange(record, **exchange_options)
            source = (
                f"results DB {redact(args.db)} (study {args.study}, reaction {args.exchange_name})"
            )
            solvated = solvated_systems(args.db, args.study, record)
            if solvated and not args.solvation_correction:
                # The study computed ΔΔG_solv (bridge.solvation); this reader has only the
                # gas-phase reaction energy and the default spread: say so, do not hide it.
                source += (
                    f"; NOTE: the database also holds implicit-solvent single points of "
                    f"{', '.join(solvated)} (bridge.solvation): this is the gas-phase energy with "
                    "the default spread; `atomistics run STUDY.yaml` (all cached, seconds) prints "
                    "the bridge with the computed ddG_solv and the study's dg_spread"
                )
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
    fe = br.free_energy_from_screening(
        e_sa, e_ca, args.screening, surface=args.surface, spread_ev=spread
    )
    return fe, source, e_sa, e_ca


def _band(iv, fmt: str, scale: float = 1.0) -> str:
    c, lo, hi = iv.central * scale, iv.low * scale, iv.high * scale
    return f"{c:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def bridge_report_lines(
    res, e_sa: float | None = None, e_ca: float | None = None, source: str = ""
) -> list[str]:
    """Human-readable bridge result, each number labelled COMPUTED, GIVEN or FITTED."""
    from atomistics.continuum.bridge import format_slowing

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
        f"the coating's anions trapped (bound N_T/c0 = {tr.trapped_fraction_bound:.2%})",
        f"COMPUTED  Donnan partition in the coating: c+ = {tr.c_plus_coating:.5g}, c- = {tr.c_minus_coating:.5g} "
        f"mol/m^3 (bulk {ely['c0']:.5g})",
        "",
        f"{'':28s}{'PE separator':>14s}{'coated, X = 0':>16s}   coated, trapped anions [95 % band]",
    ]
    pe, nt, bands = res.pe, res.coated_neutral, res.bands
    lines += [
        f"{'t+ of the coating':28s}{'-':>14s}{nt.t_plus_coating:>16.4f}   {_band(bands['t_plus_coating'], '.4f')}",
        f"{'t+ of the stack (B-V)':28s}{pe.t_plus_stack:>14.4f}{nt.t_plus_stack:>16.4f}   {_band(bands['t_plus_stack'], '.4f')}",
        f"{'J_lim (mA/cm^2)':28s}{pe.limiting_current / 10:>14.5g}{nt.limiting_current / 10:>16.5g}   "
        f"{_band(bands['limiting_current'], '.5g', 0.1)}",
        f"{'Sand time, layered (h)':28s}{pe.sand_time_layered / 3600:>14.5g}{nt.sand_time_layered / 3600:>16.5g}   "
        f"{_band(bands['sand_time_layered'], '.5g', 1 / 3600)}",
        "",
        "which way:",
    ]
    lines += [f"  {v}" for v in res.directions.values()]
    lines += [
        f"  J_lim with trapped anions is carried past the neutral limit by the coating's counter-ions: "
        f"{res.depleted_coating_voltage * 1e3:.3g} mV ohmic drop across a depleted coating at J_lim",
        "",
        f"VERDICT: {res.verdict}",
        f"comparison only: Oriani trapping with occupancy slows the anion {1 / tr.oriani_factor:.7f}x; "
        "the low-occupancy form (former bridge) would claim "
        + format_slowing(tr.oriani_low_occupancy_log10_slowing)
        + (" (NOT valid: traps saturated)" if tr.trap_occupancy > 0.9 else ""),
    ]
    if res.calibration is not None:
        lines.append(f"calibration ({res.calibration.target}): {res.calibration.note}")
    lines += [f"WARNING: {w}" for w in res.warnings]
    lines += [f"note: {n}" for n in res.notes]
    return lines


def cmd_bridge(args: argparse.Namespace) -> int:
    from atomistics.continuum import bridge as br

    temperature = check_cell_temperature(
        parse_quantity(args.temperature, "temperature", "--temperature"),
        "--temperature",
        args.temperature,
    )
    fe, source, e_sa, e_ca = _free_energy(args)
    ely = br.Electrolyte(
        c0=parse_quantity(args.c0, "concentration", "--c0"),
        diffusivity=parse_quantity(args.diffusivity, "diffusivity", "--diffusivity"),
        t_plus=args.t_plus,
        temperature=temperature,
        liquid_site_concentration=parse_quantity(
            args.liquid_sites, "concentration", "--liquid-sites"
        ),
    )
    sep = br.Separator(
        thickness=parse_quantity(args.separator_thickness, "length", "--separator-thickness"),
        porosity=args.separator_porosity,
        bruggeman=args.bruggeman,
    )
    coat = br.Coating(
        thickness=parse_quantity(args.coating_thickness, "length", "--coating-thickness"),
        loading=parse_quantity(args.loading, "areal_mass", "--loading"),
        active_fraction=args.active_fraction,
        site_density=parse_quantity(args.site_density, "specific_amount", "--site-density"),
        porosity=args.coating_porosity,
        bruggeman=args.bruggeman,
        site_surface=args.site_surface,
    )
    res = br.run_bridge(
        fe,
        electrolyte=ely,
        separator=sep,
        coating=coat,
        current_density=parse_quantity(
            args.current_density, "current_density", "--current-density"
        ),
        model=args.model,
        calibrate=tuple(args.calibrate) if args.calibrate else None,
        calibrate_target=args.calibrate_target,
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
    b.add_argument("--c0", default="6 mol/L", help="salt concentration (default the paper's 6 M)")
    b.add_argument(
        "--diffusivity", default="3e-10 m^2/s", help="ambipolar D of the bulk (assumed default)"
    )
    b.add_argument(
        "--t-plus", type=float, default=0.32, help="bulk t+ (default the paper's PE value 0.32)"
    )
    b.add_argument("--current-density", default="1 mA/cm^2")
    b.add_argument("--coating-thickness", default="2 um")
    b.add_argument("--loading", default="0.57 mg/cm^2", help="coating areal mass")
    b.add_argument(
        "--active-fraction", type=float, default=0.8, help="LiMMT mass fraction (LiMMT:PVDF 80:20)"
    )
    b.add_argument(
        "--site-density", default="0.08 mmol/g", help="anion-binding sites per LiMMT mass"
    )
    b.add_argument("--coating-porosity", type=float, default=0.35)
    b.add_argument("--separator-thickness", default="20 um")
    b.add_argument("--separator-porosity", type=float, default=0.40)
    b.add_argument("--bruggeman", type=float, default=1.5, help="Bruggeman exponent of both layers")
    b.add_argument(
        "--liquid-sites", default=f"{9.635:g} mol/L", help="N_L, anion sites in the liquid (DME)"
    )
    b.add_argument(
        "--screening",
        type=float,
        default=1 / 7.2,
        help="FITTED path only: dG/dE (default 1/eps_r(DME) = 1/7.2)",
    )
    b.add_argument(
        "--model",
        choices=("tms", "tms-frozen", "oriani"),
        default="tms",
        help="tms: traps in equilibrium (default; 'oriani' is an alias); tms-frozen: constant X",
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
