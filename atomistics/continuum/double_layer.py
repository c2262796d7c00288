r"""Where the uniform-X (TMS) coating model holds: Debye length against pore size.

Pure functions in SI units; the coating model (:mod:`atomistics.continuum.coating_model`)
calls them, and the bridge reports the coating's transference number as a bracket between
two limits.

Two limits of a charged pore
----------------------------
A pore wall with fixed (surface) charge is screened by a diffuse double layer of
thickness ~ the Debye length ``lambda_D``. Compare it with the pore's hydraulic radius
``r_h`` (pore volume / wetted surface; the half-width of a slit, half the radius of a
cylinder):

* **Overlapping double layers**, ``lambda_D >~ r_h``: the potential has no room to
  return to the bath value, it is nearly uniform across the pore, and the pore liquid is
  a homogeneous phase with a fixed charge X per volume in Donnan equilibrium with the
  bath: ``c+ c- = c^2``, ``c+ = c- + X``. That is the Teorell-Meyer-Sievers model
  (T. Teorell, Proc. Soc. Exp. Biol. Med. 33, 282 (1935); Prog. Biophys. Biophys.
  Chem. 3, 305 (1953); K. H. Meyer & J.-F. Sievers, Helv. Chim. Acta 19, 649 (1936)) of
  :mod:`atomistics.continuum.fixedcharge`; it is also the "uniform potential" limit of
  the space-charge model of a charged capillary (R. J. Gross & J. F. Osterle, J. Chem.
  Phys. 49, 228 (1968)), which it reaches when the pore is narrower than the Debye length.
* **Thin double layers**, ``lambda_D << r_h`` (the surface-conduction limit): the pore
  core is neutral electrolyte at the bath concentration ``c`` and the counter-ion excess
  that balances the wall charge sits in a double layer of negligible volume. Volume
  averaged, ``c- = c`` and ``c+ = c + X`` (X: the wall charge per pore volume): no
  Donnan exclusion of the co-ion, the excess counter-ions conduct along the walls
  (surface conductance: J. J. Bikerman, Trans. Faraday Soc. 36, 154 (1940); S. S.
  Dukhin & B. V. Derjaguin, in *Surface and Colloid Science*
  vol. 7, ed. E. Matijevic, Wiley (1974); J. Lyklema, *Fundamentals of Interface and
  Colloid Science* vol. II, Academic Press (1995), ch. 3-4). E. V. Dydek et al.,
  "Overlimiting current in a microchannel", Phys. Rev. Lett. 107, 118301 (2011)
  model surface conduction in exactly this volume-averaged form, with the surface charge
  per pore volume as a background charge in the electroneutrality condition (its
  homogenised derivation: M. Schmuck & M. Z. Bazant, SIAM J. Appl. Math. 75, 1369 (2015)).

Inside a layer both limits give the same volume-averaged Nernst-Planck equations with
``c+ = c- + X``; they differ only in the partition at the layer's boundaries (co-ion
continuous instead of Donnan) and hence in the concentrations the layer holds.

The limits bracket the truth (ideal Poisson-Boltzmann, local equilibrium across the
pore). With the potential ``y = F phi/RT`` measured from the bath, the local
concentrations are ``c e^{-y}`` (Li+) and ``c e^{y}`` (anion) and the wall's charge is
negative, so ``y <= 0`` everywhere: the volume-averaged co-ion concentration is at most
``c`` (the thin limit). By the Cauchy-Schwarz inequality ``<e^y><e^{-y}> >= 1``, i.e.
``<c+><c-> >= c^2`` with ``<c+> = <c-> + X``: it is at least the Donnan value (the TMS
limit), reached only for a uniform potential. Along the pore the conductances add
(``<D+ c+ + D- c->``), and the transference number ``D+ <c+>/(D+ <c+> + D- <c->)``
falls as ``<c->`` rises at fixed X: the coating's t+ lies in ``[thin, TMS]``, and so
does the Bruce-Vincent t+ of coating + separator (a weighted mean of the coating's t+
and the separator's, in which a lower ``<c->`` raises both the coating's t+ and its
weight). Not included: electro-osmotic flow, a Stern layer, ion sizes and correlations,
and any change of the ions' mobilities near the wall.

Regime thresholds (:func:`double_layer_regime`)
------------------------------------------------
The co-ion deficit of a Gouy-Chapman diffuse layer per wall area, ``c ∫ (1 - e^y) dx``,
is at most ``2 c lambda_D`` (the limit of a highly charged wall; Lyklema vol. II, ch.
3, "negative adsorption"); per pore volume that is a relative deficit of at most
``2 lambda_D / r_h``. Below ``lambda_D / r_h = 0.1`` the thin limit is therefore right
to within 20 % in ``c-`` (and the uniform-potential TMS partition, which excludes
``c - c-_Donnan`` of the co-ions, over-states the exclusion): "thin". Above
``lambda_D / r_h = 1`` the double layers of opposite walls overlap across the whole pore
and the potential is nearly uniform, the TMS condition: "overlapping". In between
neither limit holds and the truth lies in the bracket: "intermediate". A
Poisson-Boltzmann solution in a slit pore (half-width h = r_h; the test suite's own
solver) at X = 4.5 c gives ``<c-> = 0.81 c`` at ``lambda_D/h = 0.1`` (thin limit: c;
TMS: 0.21 c), and at ``lambda_D/h = 1`` a ``<c->`` within 2 % of the bracket's width of
the TMS value.

Caveats at 6 M LiFSI in DME
---------------------------
The mean-field Debye length at 6 M with the solvent's permittivity 7.2 is 0.04 nm,
smaller than any ion: Debye-Hueckel screening has no meaning there, and the salt
lowers the permittivity further (dielectric decrement), which only shortens it.
Surface-force measurements in concentrated electrolytes and ionic liquids instead find
screening lengths of ~1-10 nm that GROW with concentration ("underscreening": R. M.
Gebbie et al., PNAS 110, 9674 (2013); A. M. Smith, A. A. Lee & S. Perkin, J. Phys.
Chem. Lett. 7, 2157 (2016); A. A. Lee et al., Phys. Rev. Lett. 119, 026002 (2017));
their origin is debated. If such a length governs the co-ion exclusion in the coating's
nm pores, ``lambda / r_h`` is of order 1 and the TMS end of the bracket cannot be
excluded. What the model can say: the two ideal limits bracket t+; which end applies
at 6 M is not settled by dilute-solution theory.

Pore size of the coating (:func:`pore_hydraulic_radius`)
---------------------------------------------------------
``r_h = eps L / (m w a_ext)``: pore volume per coating area over the wetted clay surface
per coating area (loading m, clay mass fraction w), with the clay's external specific
surface ``a_ext = f a_total``. ``a_total`` (:func:`clay_specific_surface`) counts both
basal faces of every 2:1 layer: each a-b cell of area ``A_ab = a b sin(gamma)`` (the
pyrophyllite cell of :mod:`atomistics.continuum.clay_charge`) holds Z = 2 formula units
of mass ``M_fu/N_A``, so ``a_total = 2 A_ab N_A / (Z M_fu)`` = 771 m^2/g for LiMMT
(x = 0.25), within the 700-800 m^2/g total (ethylene-glycol / EGME) surface of
montmorillonite (ethylene glycol monoethyl ether adsorption: D. L. Carter, M. D.
Heilman & C. L. Gonzalez, Soil Sci. 100, 356 (1965); ~800 m^2/g from the crystal
structure). Only the external faces of the tactoids wet the
pores: the same accessible fraction f = 1/n (n layers per tactoid) as the structural
charge (:data:`~atomistics.continuum.clay_charge.ACCESSIBLE_FRACTION`, 0.10, band
0.05-0.20), so a_ext = 77 m^2/g, within the ~30-85 m^2/g N2 (BET) surface of
montmorillonites (the Clay Minerals Society source clays SWy-1 32 and STx-1 84 m^2/g:
H. van Olphen & J. J. Fripiat, *Data Handbook for Clay Materials and Other Non-Metallic
Minerals*, Pergamon (1979)). ASSUMED: the PVDF binder's surface and the tactoid edges are
neglected (both would shorten r_h), and all pores take part. Since the thickness
follows from the loading (``(1 - eps) L = m (w/rho_clay + (1 - w)/rho_binder)``), r_h
depends on the porosity, the composition and f, not on the loading: the default
coating (porosity 0.35, w = 0.8) gives r_h = 3.6 nm [1.8, 7.1] over the f band.
"""

from __future__ import annotations

import math

from scipy import constants as _c

from atomistics.continuum import clay_charge as cc
from atomistics.continuum.constants import FARADAY, GAS_CONSTANT
from atomistics.errors import AtomisticsError
from atomistics.solvents import check_permittivity
from atomistics.structures.clay import DEFAULT_LAYER_CHARGE

VACUUM_PERMITTIVITY: float = _c.epsilon_0  # F/m (CODATA via SciPy)

#: lambda_D / r_h below which the double layers are thin (TMS over-states co-ion
#: exclusion) and above which they overlap (TMS applies); module docstring.
THIN_LIMIT = 0.1
OVERLAP_LIMIT = 1.0

REGIMES = {
    "thin": (
        "thin double layers: the uniform-X (TMS) Donnan partition over-states co-ion "
        "exclusion; the thin-double-layer (surface-conduction) limit applies"
    ),
    "intermediate": "neither limit holds: the truth lies between thin-double-layer and TMS",
    "overlapping": "overlapping double layers: the uniform-X (TMS) Donnan partition applies",
}


def _positive(value: float, name: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise AtomisticsError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _fixed_charge(value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise AtomisticsError(f"fixed charge must be finite and >= 0 mol/m^3, got {value!r}")
    return v


def debye_length(
    concentration: float, relative_permittivity: float, temperature: float = 298.15
) -> float:
    """Debye length [m] of a 1:1 electrolyte: ``sqrt(eps_r eps_0 R T / (2 F^2 c))``.

    ``concentration`` c [mol/m^3], ``relative_permittivity`` eps_r of the solvent,
    ``temperature`` [K]. Mean-field (Debye-Hueckel) screening of ideal point ions; at
    6 M in DME (eps_r 7.2) it is 0.038 nm, below an ion's size (module docstring,
    "Caveats").
    """
    c = _positive(concentration, "concentration")
    eps = check_permittivity(relative_permittivity, "debye_length")
    t = _positive(temperature, "temperature")
    return math.sqrt(eps * VACUUM_PERMITTIVITY * GAS_CONSTANT * t / (2 * FARADAY**2 * c))


def thin_double_layer_partition(c_bath: float, fixed_charge: float) -> tuple[float, float]:
    """Volume-averaged ``(c+, c-)`` in a pore with thin double layers: ``(c + X, c)``.

    The pore core is neutral bath electrolyte (co-ion continuous, no Donnan exclusion);
    the counter-ion excess X [mol/m^3 of pore liquid] sits in the wall's double layer
    (module docstring; Dydek et al. 2011). The TMS counterpart is
    :func:`atomistics.continuum.fixedcharge.donnan_partition`.
    """
    c = _positive(c_bath, "bath concentration")
    x = _fixed_charge(fixed_charge)
    return c + x, c


def thin_double_layer_transference_number(
    c_bath: float, fixed_charge: float, d_plus: float, d_minus: float
) -> float:
    """Cation transference number of a pore with thin double layers.

    ``t+ = D+ (c + X) / (D+ (c + X) + D- c)`` (:func:`thin_double_layer_partition`,
    conductances added along the pore): the free solution's ``D+/(D+ + D-)`` at X = 0,
    the lower end of the bracket whose upper end is the TMS value
    (:func:`atomistics.continuum.fixedcharge.tms_transference_number`).
    """
    cp, cm = thin_double_layer_partition(c_bath, fixed_charge)
    dp, dm = _positive(d_plus, "D+"), _positive(d_minus, "D-")
    return dp * cp / (dp * cp + dm * cm)


def clay_specific_surface(layer_charge: float = DEFAULT_LAYER_CHARGE) -> float:
    """Total specific surface of the clay [m^2/kg]: both basal faces of every layer.

    ``a_total = 2 A_ab N_A / (Z M_fu)`` with the pyrophyllite a-b cell ``A_ab = a b
    sin(gamma)``, Z = 2 formula units per cell and ``M_fu``
    (:func:`~atomistics.continuum.clay_charge.limmt_formula_mass`); 7.71e5 m^2/kg
    (771 m^2/g) for x = 0.25.
    """
    area = (
        cc.PYROPHYLLITE_A * cc.PYROPHYLLITE_B * math.sin(math.radians(cc.PYROPHYLLITE_GAMMA))
    ) * 1e-20  # m^2
    cell_mass = cc.FORMULA_UNITS_PER_CELL * cc.limmt_formula_mass(layer_charge) / cc.AVOGADRO
    return 2 * area / cell_mass


def external_specific_surface(
    accessible_fraction: float = cc.ACCESSIBLE_FRACTION,
    layer_charge: float = DEFAULT_LAYER_CHARGE,
) -> float:
    """External (pore-wetted) specific surface of the clay [m^2/kg]: ``f a_total``.

    f: the external faces of a tactoid of n layers, 1/n (the same fraction as the
    structural charge's, :data:`~atomistics.continuum.clay_charge.ACCESSIBLE_FRACTION`).
    """
    f = cc.check_accessible_fraction(accessible_fraction)
    return f * clay_specific_surface(layer_charge)


def pore_hydraulic_radius(
    thickness: float | None = None,
    porosity: float | None = None,
    loading: float | None = None,
    active_fraction: float = cc.PAPER_ACTIVE_FRACTION,
    accessible_fraction: float = cc.ACCESSIBLE_FRACTION,
    layer_charge: float = DEFAULT_LAYER_CHARGE,
) -> float:
    """Hydraulic radius of the coating's pores [m]: ``r_h = eps L / (m w a_ext)``.

    Pore volume per coating area over the external clay surface per coating area
    (:func:`external_specific_surface`). Thickness L [m], porosity eps and loading m
    [kg/m^2] not given are completed by
    :func:`~atomistics.continuum.clay_charge.consistent_geometry` (default: the paper's
    0.57 mg/cm^2 at porosity 0.35, thickness derived: r_h = 3.6 nm). ASSUMED: binder and
    edge surfaces neglected (module docstring). ``accessible_fraction = 0`` (no wetted
    clay surface) gives ``inf``: pores without walls, the thin-double-layer limit.
    """
    if thickness is None or porosity is None or loading is None:
        g = cc.consistent_geometry(thickness, loading, porosity, active_fraction=active_fraction)
        thickness, porosity, loading = g.thickness, g.porosity, g.loading
    eps = float(porosity)
    if not (math.isfinite(eps) and 0 < eps < 1):
        raise AtomisticsError(f"coating porosity must lie in (0, 1), got {porosity!r}")
    w = float(active_fraction)
    if not (math.isfinite(w) and 0 < w <= 1):
        raise AtomisticsError(f"clay mass fraction must lie in (0, 1], got {active_fraction!r}")
    wetted = (
        _positive(loading, "loading")
        * w
        * external_specific_surface(accessible_fraction, layer_charge)
    )
    volume = eps * _positive(thickness, "thickness")
    return volume / wetted if wetted > 0 else math.inf


def double_layer_regime(debye_length: float, pore_radius: float) -> str:
    """``"thin"`` (lambda_D/r_h < 0.1), ``"overlapping"`` (> 1) or ``"intermediate"``.

    Thresholds :data:`THIN_LIMIT` and :data:`OVERLAP_LIMIT` (module docstring: below 0.1
    the co-ion deficit of the double layers is < 20 % of the pore's co-ions; above 1 the
    layers of opposite walls overlap). The values at the thresholds themselves count as
    intermediate; an infinite pore radius (no walls) is thin. What each regime means:
    :data:`REGIMES`.
    """
    r = float(pore_radius)
    if not (r > 0 and not math.isnan(r)):
        raise AtomisticsError(f"pore radius must be > 0, got {pore_radius!r}")
    ratio = _positive(debye_length, "Debye length") / r
    if ratio < THIN_LIMIT:
        return "thin"
    if ratio > OVERLAP_LIMIT:
        return "overlapping"
    return "intermediate"
