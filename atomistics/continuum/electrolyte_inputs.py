"""Which electrolyte properties the bridge uses, and where each came from.

The bridge's defaults describe one electrolyte: the paper's 6.0 M LiFSI in DME. Its
t+ = 0.32 was measured at 6 M with the bare PE separator (Bruce-Vincent, the paper's
Figure 2c); D = 3e-10 m^2/s is ASSUMED (no measured ambipolar D of 6 M LiFSI/DME is
used). Neither is known as a function of c here (no cited data), so at any other
concentration the user must give both: :func:`resolve_electrolyte` refuses a non-default
c0 without them, naming the missing option, and labels each value GIVEN, PAPER or
ASSUMED. The dilute-solution note of the bridge states the concentration used.
"""

from __future__ import annotations

import math

from atomistics.errors import AtomisticsError

PAPER_C0 = 6000.0  # mol/m^3: 6.0 M LiFSI in DME (the paper's electrolyte)
DEFAULT_DIFFUSIVITY = 3e-10  # m^2/s, ambipolar, free solution: ASSUMED at 6 M
DEFAULT_T_PLUS = 0.32  # the paper's Bruce-Vincent t+ with bare PE, at 6 M

DEFAULT_ORIGIN = {
    "c0": "PAPER: 6.0 M LiFSI in DME",
    "diffusivity": "ASSUMED at 6 M: no measured value used",
    "t_plus": "PAPER: Bruce-Vincent with bare PE, at 6 M",
}


def is_paper_concentration(c0: float) -> bool:
    return math.isclose(float(c0), PAPER_C0, rel_tol=1e-9)


def resolve_electrolyte(
    c0: float | None = None,
    diffusivity: float | None = None,
    t_plus: float | None = None,
    *,
    t_plus_calibrated: bool = False,
    names: dict[str, str] | None = None,
    c0_text: str | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """``(values, origin)`` for c0, diffusivity and t_plus; ``None`` means not given.

    At the paper's 6 M a missing D or t+ takes the 6 M default (labelled). At any other
    c0 both must be given (``t_plus_calibrated``: ``--calibrate`` sets the bulk t+, so
    only D is needed); otherwise one ``AtomisticsError`` names the missing option(s)
    (``names``: key -> option or study key) and the concentration.
    """
    names = {
        k: (names or {}).get(k, default)
        for k, default in (("c0", "c0"), ("diffusivity", "diffusivity"), ("t_plus", "t_plus"))
    }
    values: dict[str, float] = {}
    origin: dict[str, str] = {}
    if c0 is not None and not (math.isfinite(c0) and c0 > 0):
        shown = c0_text if c0_text is not None else f"{c0!r} mol/m^3"
        raise AtomisticsError(f"{names['c0']} must be a positive concentration, got {shown}")
    if c0 is None:
        values["c0"], origin["c0"] = PAPER_C0, DEFAULT_ORIGIN["c0"]
    else:
        values["c0"] = float(c0)
        origin["c0"] = "GIVEN" + (": the paper's 6 M" if is_paper_concentration(c0) else "")
    paper = is_paper_concentration(values["c0"])
    if not paper:
        missing = [
            names[k]
            for k, v in (("diffusivity", diffusivity), ("t_plus", t_plus))
            if v is None and not (k == "t_plus" and t_plus_calibrated)
        ]
        if missing:
            shown = c0_text if c0_text is not None else f"{values['c0']:g} mol/m^3"
            raise AtomisticsError(
                f"{names['c0']} '{shown}' ({values['c0'] / 1000:g} M) is not the paper's 6 M: "
                f"give {' and '.join(missing)} measured at {values['c0'] / 1000:g} M (the "
                f"defaults D = {DEFAULT_DIFFUSIVITY:g} m^2/s and t+ = {DEFAULT_T_PLUS:g} are "
                "for 6 M LiFSI/DME; no D(c) or t+(c) data are built in)"
            )
    for key, v, default in (
        ("diffusivity", diffusivity, DEFAULT_DIFFUSIVITY),
        ("t_plus", t_plus, DEFAULT_T_PLUS),
    ):
        if v is not None:
            values[key], origin[key] = float(v), "GIVEN"
        elif key == "t_plus" and t_plus_calibrated:
            values[key], origin[key] = default, "CALIBRATION: the measured bare-PE t+"
        else:
            values[key], origin[key] = default, DEFAULT_ORIGIN[key]
    return values, origin


def origin_from_values(c0: float, diffusivity: float, t_plus: float) -> dict[str, str]:
    """Labels for an :class:`~atomistics.continuum.coating_model.Electrolyte` built in code:
    a value equal to the 6 M default is labelled as the default, anything else GIVEN."""
    out = {}
    for key, v, default in (
        ("c0", c0, PAPER_C0),
        ("diffusivity", diffusivity, DEFAULT_DIFFUSIVITY),
        ("t_plus", t_plus, DEFAULT_T_PLUS),
    ):
        out[key] = DEFAULT_ORIGIN[key] if math.isclose(v, default, rel_tol=1e-12) else "GIVEN"
    return out
