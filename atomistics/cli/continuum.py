"""``atomistics sand`` and ``atomistics bridge``: the continuum model on the command line.

Quantities take units (pint): ``--c0 "1 mol/L" --current-density "1 mA/cm^2"``.
``--json`` prints every result in SI units (s, m, mol/m^3, A/m^2, m^2/s; energies
in eV); infinite values (no Sand's time) are printed as ``null``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from typing import Any

import numpy as np

from atomistics.errors import AtomisticsError
from atomistics.units import parse_quantity


def jsonable(obj: Any) -> Any:
    """Dataclasses/NumPy -> plain JSON types; inf and nan -> None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


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
    from atomistics.continuum.sand import bruggeman_tortuosity

    eps = args.porosity
    if args.bruggeman is not None and args.tortuosity is not None:
        raise AtomisticsError("give either --tortuosity or --bruggeman, not both")
    if args.bruggeman is not None:
        return eps, float(bruggeman_tortuosity(eps, args.bruggeman))
    return eps, 1.0 if args.tortuosity is None else args.tortuosity


def cmd_sand(args: argparse.Namespace) -> int:
    from atomistics.continuum import sand
    from atomistics.continuum.transport import Layer, simulate, steady_state

    c0 = parse_quantity(args.c0, "concentration", "--c0")
    d = parse_quantity(args.diffusivity, "diffusivity", "--diffusivity")
    j = parse_quantity(args.current_density, "current_density", "--current-density")
    tp = args.t_plus
    eps, tort = _porous(args)
    length = parse_quantity(args.length, "length", "--length") if args.length else None
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
        if numerical_length is None:  # semi-infinite: a domain 10 diffusion lengths long
            numerical_length = 10.0 * math.sqrt(d / tort * tau_semi)
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
            f"modal, exact in time, {res.n_modes} modes"
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


def _binding_energies(args: argparse.Namespace) -> tuple[float, float, str]:
    if args.db:
        from atomistics.continuum.resultsdb import read_binding_energy

        if args.e_surface_anion is not None or args.e_cation_anion is not None:
            raise AtomisticsError(
                "give the binding energies either as numbers or with --db, not both"
            )
        if not args.study:
            raise AtomisticsError(
                "--db needs --study NAME (the study whose binding energies to read)"
            )
        e_sa = read_binding_energy(args.db, args.study, args.surface_anion_name)
        e_ca = read_binding_energy(args.db, args.study, args.cation_anion_name)
        from atomistics.redact import redact

        return e_sa, e_ca, f"results DB {redact(args.db)} (study {args.study})"
    if args.e_surface_anion is None or args.e_cation_anion is None:
        raise AtomisticsError(
            "give both binding energies, e.g. --e-surface-anion '-10.39 eV' --e-cation-anion '-8.35 eV' "
            "(the paper's values), or read them with --db results.db --study NAME"
        )
    return (
        parse_quantity(args.e_surface_anion, "energy", "--e-surface-anion"),
        parse_quantity(args.e_cation_anion, "energy", "--e-cation-anion"),
        "command line",
    )


def bridge_report_lines(res, e_sa: float, e_ca: float, source: str) -> list[str]:
    """Human-readable bridge result, each line saying whether it was COMPUTED, GIVEN or FITTED."""
    tr = res.transport
    fitted = res.calibration is not None and res.calibration.reachable
    lines = [
        f"binding energies ({source}): surface-anion {e_sa:+.4g} eV, cation-anion {e_ca:+.4g} eV",
        f"COMPUTED  competitive adsorption dE = {tr.delta_e_ev:+.4g} eV",
        f"{'FITTED   ' if fitted else 'GIVEN    '} screening factor s = {tr.screening:.4g}  ->  dG = s dE = {tr.delta_g_ev:+.4g} eV",
        f"COMPUTED  Boltzmann factor exp(-dG/kT) = 10^{tr.log10_boltzmann:.3g}; N_T/N_L = {tr.trap_ratio:.3g}",
        f"COMPUTED  anion transport in coating slowed by {1 / tr.anion_factor:.4g}x ({res.inputs['model']} model)",
        f"COMPUTED  t+ bulk {res.inputs['electrolyte']['t_plus']:.3f} -> coating {tr.t_plus_coating:.4f}, "
        f"coating + separator stack {tr.t_plus_stack:.4f}",
        f"COMPUTED  Sand's time (semi-infinite) without coating {_fmt_time(res.sand_time_bare)}",
        f"          with coating, stack t+ as uniform medium (D fixed) {_fmt_time(res.sand_time_effective_medium)}",
        f"          with coating, layered numerical solution {_fmt_time(res.sand_time_layered)}",
        f"COMPUTED  limiting current of the real cell: {res.limiting_current_bare / 10:.4g} mA/cm^2 without, "
        f"{res.limiting_current_coated / 10:.4g} mA/cm^2 with coating",
    ]
    if res.calibration is not None:
        lines.append(f"calibration ({res.calibration.target}): {res.calibration.note}")
    lines += [f"note: {n}" for n in res.notes]
    return lines


def cmd_bridge(args: argparse.Namespace) -> int:
    from atomistics.continuum import bridge as br

    e_sa, e_ca, source = _binding_energies(args)
    ely = br.Electrolyte(
        c0=parse_quantity(args.c0, "concentration", "--c0"),
        diffusivity=parse_quantity(args.diffusivity, "diffusivity", "--diffusivity"),
        t_plus=args.t_plus,
        temperature=parse_quantity(args.temperature, "temperature", "--temperature"),
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
    )
    if args.model not in br.MODELS:
        raise AtomisticsError(f"unknown model {args.model!r}; use one of {sorted(br.MODELS)}")
    res = br.run_bridge(
        e_sa,
        e_ca,
        electrolyte=ely,
        separator=sep,
        coating=coat,
        current_density=parse_quantity(
            args.current_density, "current_density", "--current-density"
        ),
        screening=args.screening,
        model=br.MODELS[args.model],
        calibrate=tuple(args.calibrate) if args.calibrate else None,
        calibrate_target=args.calibrate_target,
    )
    tr = res.transport
    out = res.to_dict()
    out["binding_energy_source"] = source
    lines = bridge_report_lines(res, e_sa, e_ca, source)
    if args.plot:
        from atomistics.continuum.plots import plot_sand_vs_t_plus

        marks = {"PE": ely.t_plus, "LiMMT (model)": round(tr.t_plus_stack, 3)}
        if args.calibrate:
            marks = {"PE": args.calibrate[0], "LiMMT": args.calibrate[1]}
        path = plot_sand_vs_t_plus(
            ely.c0,
            ely.diffusivity,
            res.inputs["current_density"],
            args.plot,
            sep.porosity,
            float(br.bruggeman_tortuosity(sep.porosity, sep.bruggeman)),
            marks=marks,
            t_plus_ref=ely.t_plus,
        )
        out["plot"] = str(path)
        lines.append(f"Sand's time vs t+ written to {path}")
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
    p.add_argument("--length", help="electrode spacing for the finite cell, e.g. '25 um'")
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
    p.add_argument("--plot", help="write concentration profiles (PNG) from the solver")
    p.add_argument("--json", action="store_true", help="print results as JSON in SI units")
    p.set_defaults(func=cmd_sand)

    b = subparsers.add_parser(
        "bridge",
        help="binding energies -> anion mobility -> t+ -> Sand's time",
        description="Competitive adsorption dE = E(surface-anion) - E(cation-anion), screened to "
        "dG = s dE, Oriani trapping of the anion in the coating, t+ of coating and stack, Sand's "
        "time with and without the coating. --calibrate fits s to a measured t+ pair.",
    )
    b.add_argument("--e-surface-anion", help="E_bind(surface-anion), e.g. '-10.39 eV'")
    b.add_argument("--e-cation-anion", help="E_bind(cation-anion), e.g. '-8.35 eV'")
    b.add_argument("--db", help="results database (ASE db) to read the binding energies from")
    b.add_argument("--study", help="study name in the results database, e.g. limmt_fsi")
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
    b.add_argument("--temperature", default="298.15 K")
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
        "--screening", type=float, default=1 / 7.2, help="dG/dE (default 1/eps_r(DME) = 1/7.2)"
    )
    b.add_argument("--model", default="oriani", help="mobility model: oriani (default) or barrier")
    b.add_argument(
        "--calibrate",
        nargs=2,
        type=float,
        metavar=("T_BARE", "T_COATED"),
        help="fit the screening factor to measured t+ (paper: 0.32 0.63)",
    )
    b.add_argument(
        "--calibrate-target",
        choices=("stack", "coating"),
        default="stack",
        help="what the coated t+ describes: the whole stack (default) or the coating layer",
    )
    b.add_argument("--plot", help="write Sand's time vs t+ (PNG)")
    b.add_argument("--json", action="store_true", help="print results as JSON in SI units")
    b.set_defaults(func=cmd_bridge)
