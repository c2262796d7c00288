"""``atomistics analyze {bruce-vincent,nucleation,arrhenius,tafel}``: the paper's analyses.

CSV files name each column with its unit in brackets, e.g. ``time [s],current [mA/cm^2]``.
"""

from __future__ import annotations

import argparse

from atomistics.cli.continuum import emit
from atomistics.paths import plot_path
from atomistics.units import CELL_TEMPERATURE_RANGE_K, check_cell_temperature, parse_quantity


def cmd_bruce_vincent(args: argparse.Namespace) -> int:
    from atomistics.analysis.bruce_vincent import bruce_vincent_t_plus

    vals = {
        "delta_v": parse_quantity(args.delta_v, "voltage", "--delta-v"),
        "i0": parse_quantity(args.i0, "current", "--i0"),
        "i_ss": parse_quantity(args.i_ss, "current", "--i-ss"),
        "r0": parse_quantity(args.r0, "resistance", "--r0"),
        "r_ss": parse_quantity(args.r_ss, "resistance", "--r-ss"),
    }
    t = bruce_vincent_t_plus(**vals)
    return emit({"inputs": vals, "t_plus": t}, args.json, [f"t+ (Bruce-Vincent) = {t:.4f}"])


def cmd_nucleation(args: argparse.Namespace) -> int:
    from atomistics.analysis.csvdata import read_columns
    from atomistics.analysis.nucleation import analyze_transient

    cols = read_columns(
        args.csv,
        {
            "time": (("time", "t"), "time", None),
            "current": (
                ("current density", "current_density", "current", "i", "j"),
                "current_density",
                None,
            ),
        },
    )
    c = parse_quantity(args.concentration, "concentration", "--concentration")
    res = analyze_transient(
        cols["time"],
        cols["current"],
        c,
        z=args.z,
        density=parse_quantity(args.density, "density", "--density"),
        molar_mass=parse_quantity(args.molar_mass, "molar_mass", "--molar-mass"),
        t_min=parse_quantity(args.t_min, "time", "--t-min"),
    )
    lines = [
        f"{n:>13}: i_m = {f.i_max:.5g} A/m^2, t_m = {f.t_max:.5g} s, RMS misfit {f.rms_relative:.3%} of i_m"
        for n, f in res.fits.items()
    ]
    lines.append(f"better model: {res.best}")
    if res.nucleation_density is not None:
        lines.append(
            f"nucleation density N0 = {res.nucleation_density:.4g} m^-2 ({res.nucleation_density * 1e-4:.4g} cm^-2)"
        )
    if res.nucleation_rate_density is not None:
        lines.append(f"A N_inf = {res.nucleation_rate_density:.4g} m^-2 s^-1")
    lines.append(f"diffusion coefficient from i_m^2 t_m: {res.diffusivity:.4g} m^2/s")
    out = {
        "fits": res.fits,
        "best": res.best,
        "nucleation_density": res.nucleation_density,
        "nucleation_rate_density": res.nucleation_rate_density,
        "diffusivity": res.diffusivity,
    }
    if args.plot:
        from atomistics.analysis.nucleation import MODELS
        from atomistics.continuum.plots import plot_transient

        out["plot"] = str(plot_transient(cols["time"], cols["current"], res, args.plot, MODELS))
        lines.append(f"fitted transient written to {out['plot']}")
    return emit(out, args.json, lines)


def cmd_arrhenius(args: argparse.Namespace) -> int:
    from atomistics.analysis.arrhenius import arrhenius_fit
    from atomistics.analysis.csvdata import read_columns

    cols = read_columns(
        args.csv,
        {
            "temperature": (("temperature", "t"), "temperature", None),
            "resistance": (("resistance", "r"), "resistance", None),
        },
    )
    lo, hi = CELL_TEMPERATURE_RANGE_K
    for k, kelvin in enumerate(cols["temperature"]):
        if not lo <= kelvin <= hi:  # name the file and row (arrhenius_fit refuses it too)
            check_cell_temperature(float(kelvin), f"{args.csv}: data row {k + 1}, temperature")
    fit = arrhenius_fit(cols["temperature"], cols["resistance"])
    lines = [
        f"activation energy E_a = {fit.activation_energy / 1000:.4g} kJ/mol "
        f"(± {fit.activation_energy_stderr / 1000:.2g}), R^2 = {fit.r_squared:.4f}"
    ]
    return emit({"fit": fit}, args.json, lines)


def cmd_tafel(args: argparse.Namespace) -> int:
    from atomistics.analysis.csvdata import read_columns
    from atomistics.analysis.tafel import tafel_fit

    cols = read_columns(
        args.csv,
        {
            "eta": (("overpotential", "eta", "potential"), "voltage", None),
            "current": (
                ("current density", "current_density", "current", "i", "j"),
                "current_density",
                None,
            ),
        },
    )
    lo = parse_quantity(args.eta_window[0], "voltage", "--eta-window")
    hi = parse_quantity(args.eta_window[1], "voltage", "--eta-window")
    temperature = check_cell_temperature(
        parse_quantity(args.temperature, "temperature", "--temperature"),
        "--temperature",
        args.temperature,
    )
    fit = tafel_fit(cols["eta"], cols["current"], (lo, hi), temperature)
    lines = [
        f"{b.branch:>8}: i0 = {b.exchange_current_density / 10:.4g} mA/cm^2, slope {b.tafel_slope * 1000:.4g} "
        f"mV/dec, alpha = {b.transfer_coefficient:.3f}, {b.n_points} points, R^2 = {b.r_squared:.4f}"
        for b in fit.branches.values()
    ]
    lines.append(f"exchange current density i0 = {fit.exchange_current_density / 10:.4g} mA/cm^2")
    return emit({"fit": fit}, args.json, lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="the paper's electrochemical analyses (t+, nucleation, E_a, i0)"
    )
    sub = p.add_subparsers(dest="analysis", metavar="ANALYSIS")
    sub.required = True

    bv = sub.add_parser("bruce-vincent", help="t+ = I_s (dV - I_0 R_0) / (I_0 (dV - I_s R_s))")
    bv.add_argument("--delta-v", required=True, help="polarisation voltage, e.g. '10 mV'")
    bv.add_argument("--i0", required=True, help="initial current, e.g. '50 uA'")
    bv.add_argument("--i-ss", required=True, help="steady-state current, e.g. '20 uA'")
    bv.add_argument("--r0", required=True, help="interfacial resistance before, e.g. '100 ohm'")
    bv.add_argument("--r-ss", required=True, help="interfacial resistance after, e.g. '120 ohm'")
    bv.add_argument("--json", action="store_true")
    bv.set_defaults(func=cmd_bruce_vincent)

    nu = sub.add_parser(
        "nucleation", help="Scharifker-Hills fit of a current transient (CSV: time, current)"
    )
    nu.add_argument(
        "csv", help="CSV with columns 'time [s]' and 'current [mA/cm^2]' (current density)"
    )
    nu.add_argument(
        "--concentration", default="6 mol/L", help="bulk Li+ concentration (default 6 mol/L)"
    )
    nu.add_argument("--z", type=int, default=1)
    nu.add_argument("--density", default="0.534 g/cm^3", help="deposit density (Li)")
    nu.add_argument("--molar-mass", default="6.94 g/mol", help="deposit molar mass (Li)")
    nu.add_argument(
        "--t-min", default="0 s", help="ignore points before this time (double-layer charging)"
    )
    nu.add_argument("--plot", type=plot_path, help="write the dimensionless fit (PNG)")
    nu.add_argument("--json", action="store_true")
    nu.set_defaults(func=cmd_nucleation)

    ar = sub.add_parser("arrhenius", help="activation energy from resistance vs temperature (CSV)")
    ar.add_argument(
        "csv",
        help="CSV with columns 'temperature [K or degC]' (150-500 K) and 'resistance [ohm]'",
    )
    ar.add_argument("--json", action="store_true")
    ar.set_defaults(func=cmd_arrhenius)

    ta = sub.add_parser("tafel", help="exchange current density from a Tafel fit (CSV)")
    ta.add_argument("csv", help="CSV with columns 'overpotential [V]' and 'current [mA/cm^2]'")
    ta.add_argument(
        "--eta-window",
        nargs=2,
        default=("0.1 V", "0.25 V"),
        metavar=("LOW", "HIGH"),
        help="|overpotential| range of the Tafel region (default 0.1 V 0.25 V)",
    )
    ta.add_argument(
        "--temperature",
        default="298.15 K",
        help="cell temperature, 150-500 K (default 298.15 K; e.g. '25 degC')",
    )
    ta.add_argument("--json", action="store_true")
    ta.set_defaults(func=cmd_tafel)
