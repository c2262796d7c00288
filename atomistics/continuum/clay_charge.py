r"""The clay's own layer charge as a fixed charge, and a coating geometry that can exist.

Pure functions; the coating model (:mod:`atomistics.continuum.coating_model`) calls them and carries
the result through the existing Teorell-Meyer-Sievers (TMS) machinery
(:mod:`atomistics.continuum.fixedcharge`): this module solves no transport.

1. **Cation exchange capacity from the composition.** LiMMT,
   ``Li_x(Al_{2-x}Mg_x)Si4O10(OH)2``: each octahedral Mg2+ in place of Al3+ leaves one
   negative charge on the 2:1 layer, balanced by one exchangeable Li+, so one formula unit
   (O10(OH)2) carries ``x`` mol of exchangeable charge and

       CEC = x / M_fu        [mol_c per kg of clay]

   (the CEC is exchangeable charge per mass; this is its value from the structural
   formula, which the paper credits as LiMMT's "permanent negative charge"). ``M_fu`` is summed from
   the standard atomic weights (:func:`limmt_formula_mass`) or read off a built structure
   (:func:`composition`). The slab builder's default ``x = 0.25``
   (:data:`atomistics.structures.clay.DEFAULT_LAYER_CHARGE`) gives M_fu = 361.37 g/mol and
   CEC = 0.692 mol/kg; natural montmorillonites have 0.8-1.2 mol/kg.

2. **A coating geometry that can exist.** Per unit area the solid occupies
   ``V_s = m (w/rho_clay + (1 - w)/rho_binder)`` (loading ``m``, clay mass fraction ``w``),
   so thickness ``L``, loading and porosity ``eps`` obey ``V_s = (1 - eps) L``: give two,
   the third follows (:func:`consistent_geometry`). The paper's 0.57 mg/cm^2 in 2 um is a
   solid fraction of 1.16 (1.20 with a clay density of 2.6 g/cm^3): no pores at all. The
   default keeps the weighed loading and an ASSUMED porosity of 0.35 and derives the
   thickness (3.58 um): the loading is a mass, the 2 um an SEM reading of a flake layer
   on porous PE, into whose surface pores part of the clay goes.

3. **The structural charge as a TMS fixed charge.** The clay's charge per volume of pore
   liquid is ``X_tot = m w CEC / (eps L)``. Only the charge on the external faces of the
   clay tactoids faces the pore liquid; the interlayer charge is compensated inside the
   particle. For a tactoid of ``n`` layers 2 of its 2n faces are external, so the
   accessible fraction is ``f = 1/n`` and ``X = f X_tot``. Jonas & Oliver, Clays Clay
   Miner. 15, 27 (1967) (DOI 10.1346/CCMN.1967.0150103) measured 6-11 layers per
   crystallite in four bentonitic montmorillonites (f = 9-17 %). Default f = 0.10
   (n = 10), band 0.05-0.20 (n = 20 to 5). X is independent of any FSI- adsorption.

4. **Both charges together** (:func:`donnan_with_traps`): a coating with the structural
   charge ``X_s`` and adsorption sites in equilibrium has the Donnan product
   ``c+ c- = c0^2`` with ``c+ = c- + X_s + c_T(c-)``.

The clay's skeletal density (:data:`LIMMT_SKELETAL_DENSITY`) is the X-ray density of the
collapsed layer (:func:`xray_density`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq

from atomistics.errors import AtomisticsError
from atomistics.structures.clay import DEFAULT_LAYER_CHARGE

# Standard atomic weights (IUPAC, conventional values; as in ase.data) [g/mol]
ATOMIC_WEIGHTS = {
    "Li": 6.94,
    "Mg": 24.305,
    "Al": 26.9815385,
    "Si": 28.085,
    "O": 15.999,
    "H": 1.008,
}
AVOGADRO = 6.02214076e23  # 1/mol (SI, exact)

#: Pyrophyllite-1Tc cell of Lee & Guggenheim, Am. Mineral. 66, 350 (1981) (the cell the
#: slab builder uses): a, b [Angstrom] and gamma [degrees]; 2 formula units per cell.
PYROPHYLLITE_A, PYROPHYLLITE_B, PYROPHYLLITE_GAMMA = 5.160, 8.966, 89.64
FORMULA_UNITS_PER_CELL = 2

#: Basal spacing of collapsed (dry) Li-montmorillonite [Angstrom]: Li-montmorillonite
#: heated dry collapses to 9.5-9.6 A (Hofmann & Klemen, Z. anorg. Chem. 262, 95 (1950);
#: the basis of the Greene-Kelly test). The paper's 12.42 A is the hydrated spacing.
COLLAPSED_LI_D001 = 9.6

#: Skeletal (grain) density of dry LiMMT [kg/m^3]: the X-ray density of
#: Li0.25(Al1.75Mg0.25)Si4O10(OH)2 in the Lee & Guggenheim a-b cell with d001 = 9.6 A,
#: 2.702 g/cm^3 (:func:`xray_density`), rounded; within the 2.6-2.8 g/cm^3 of measured
#: montmorillonite grain densities. An electrolyte-swollen layer (12.42 A) would take
#: 29 % more volume: that is in the porosity's uncertainty, not in this number.
LIMMT_SKELETAL_DENSITY = 2700.0

#: PVDF binder density [kg/m^3]: typical of semicrystalline PVDF (1.75-1.80 g/cm^3);
#: ASSUMED (the binder is 20 % of the mass).
PVDF_DENSITY = 1780.0

#: The paper's coating: 0.57 mg/cm^2 (weighed), LiMMT:PVDF 80:20, "about 2 um" (SEM).
PAPER_LOADING = 0.57e-2  # kg/m^2
PAPER_THICKNESS = 2e-6  # m (reported, not used by default: see the module docstring)
PAPER_ACTIVE_FRACTION = 0.80
#: Porosity of the coating: ASSUMED (not reported in the paper).
DEFAULT_COATING_POROSITY = 0.35

#: Accessible fraction of the layer charge: external faces of a tactoid of n layers, 1/n.
#: Default n = 10, band n = 20 to 5 (Jonas & Oliver 1967: 6-11 layers).
ACCESSIBLE_FRACTION = 0.10
ACCESSIBLE_FRACTION_RANGE = (0.05, 0.20)

#: Largest fixed charge accepted [mol/m^3 of pore liquid]: ~ the whole structural charge of
#: a binder-free x = 0.25 clay at 2 % porosity (1868 mol/m^3 of solid x 0.98/0.02 =
#: 9.2e4); more is a unit slip, not a coating.
MAX_FIXED_CHARGE = 1e5

GEOMETRY_KEYS = ("thickness", "loading", "porosity")


def limmt_formula_mass(layer_charge: float = DEFAULT_LAYER_CHARGE) -> float:
    """Molar mass of one formula unit Li_x(Al_{2-x}Mg_x)Si4O10(OH)2 [kg/mol].

    Summed from :data:`ATOMIC_WEIGHTS`: x Li + (2 - x) Al + x Mg + 4 Si + 12 O + 2 H.
    """
    x = check_layer_charge(layer_charge)
    w = ATOMIC_WEIGHTS
    grams = x * w["Li"] + (2 - x) * w["Al"] + x * w["Mg"] + 4 * w["Si"] + 12 * w["O"] + 2 * w["H"]
    return grams * 1e-3


def _zero_to_one(value: float, name: str, what: str, hint: str) -> float:
    """``value`` as a float in [0, 1] (finite), or one error line naming it and the range."""
    v = float(value)
    if not (math.isfinite(v) and 0 <= v <= 1):
        raise AtomisticsError(f"{name}: {value!r} is no {what}; give 0 to 1 ({hint})")
    return v


def check_layer_charge(layer_charge: float, name: str = "layer charge x") -> float:
    """``0 <= x <= 1`` per O10(OH)2 (montmorillonite 0.2-0.6, micas 1)."""
    return _zero_to_one(
        layer_charge,
        name,
        "layer charge per O10(OH)2",
        "montmorillonite 0.2-0.6, the builder's default 0.25",
    )


def cation_exchange_capacity(layer_charge: float, formula_mass: float) -> float:
    """Structural CEC = x / M_fu [mol of charge per kg of clay] (module docstring, 1)."""
    x = check_layer_charge(layer_charge)
    if not (math.isfinite(formula_mass) and formula_mass > 0):
        raise AtomisticsError(f"formula mass must be > 0 kg/mol, got {formula_mass!r}")
    return x / formula_mass


def composition(atoms) -> tuple[float, float]:
    """``(x, M_fu [kg/mol])`` of a built clay (an :class:`ase.Atoms` of the 2:1 layer).

    Formula units are counted by Si (4 per O10(OH)2; no tetrahedral substitution in the
    builder's montmorillonite); ``x`` is octahedral Mg per formula unit; ``M_fu`` the
    structure's mass (ase's standard atomic masses) per formula unit, exchangeable Li
    included.
    """
    symbols = atoms.get_chemical_symbols()
    n_fu = symbols.count("Si") / 4
    if n_fu <= 0:
        raise AtomisticsError("the structure has no Si: it is not a 2:1 clay layer")
    return symbols.count("Mg") / n_fu, float(atoms.get_masses().sum()) * 1e-3 / n_fu


def xray_density(
    layer_charge: float = DEFAULT_LAYER_CHARGE, d001: float = COLLAPSED_LI_D001
) -> float:
    """X-ray density [kg/m^3] of LiMMT in the pyrophyllite a-b cell with basal spacing d001 [A].

    ``rho = Z M_fu / (N_A a b sin(gamma) d001)``, Z = 2 formula units per cell
    (:data:`PYROPHYLLITE_A` ...; Lee & Guggenheim 1981). The cell volume is the a-b
    area times the layer repeat d001 whatever the stacking.
    """
    area = PYROPHYLLITE_A * PYROPHYLLITE_B * math.sin(math.radians(PYROPHYLLITE_GAMMA))  # A^2
    volume = area * float(d001) * 1e-30  # m^3
    return FORMULA_UNITS_PER_CELL * limmt_formula_mass(layer_charge) / (AVOGADRO * volume)


def solid_volume_per_area(
    loading: float, active_fraction: float, active_density: float, binder_density: float
) -> float:
    """Solid volume per coating area [m]: ``m (w/rho_clay + (1 - w)/rho_binder)``."""
    return loading * (active_fraction / active_density + (1 - active_fraction) / binder_density)


@dataclass(frozen=True)
class CoatingGeometry:
    """Thickness [m], loading [kg/m^2] and porosity of a coating, consistent with its solid."""

    thickness: float
    loading: float
    porosity: float
    derived: str  # which of the three was derived ("" when all three were given and agree)
    solid_fraction: float


def _um(v: float) -> str:
    return f"{v * 1e6:.3g} um"


def _mg_cm2(v: float) -> str:
    return f"{v * 100:.3g} mg/cm^2"


def consistent_geometry(
    thickness: float | None = None,
    loading: float | None = None,
    porosity: float | None = None,
    *,
    active_fraction: float = PAPER_ACTIVE_FRACTION,
    active_density: float = LIMMT_SKELETAL_DENSITY,
    binder_density: float = PVDF_DENSITY,
    names: dict[str, str] | None = None,
    tolerance: float = 1e-6,
) -> CoatingGeometry:
    """Complete (thickness, loading, porosity) from two of them: ``V_s = (1 - eps) L``.

    Missing values take the defaults in this order: porosity
    (:data:`DEFAULT_COATING_POROSITY`) unless thickness and loading are both given, then
    the paper's loading unless the thickness and porosity are given; the remaining one is
    derived. All three given must agree (porosity within ``tolerance``). A solid
    fraction above 1 (loading too heavy for the thickness) is refused, naming the inputs
    (``names``: key -> how the user wrote it, e.g. ``--coating-thickness``) and the fix.
    """
    names = {k: (names or {}).get(k, f"coating {k}") for k in GEOMETRY_KEYS}
    for key, v in (("thickness", thickness), ("loading", loading)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise AtomisticsError(f"{names[key]} must be > 0, got {v!r}")
    if porosity is not None and not (math.isfinite(porosity) and 0 < porosity < 1):
        raise AtomisticsError(
            f"{names['porosity']} must lie in (0, 1) (a coating with a loading has solid), "
            f"got {porosity!r}"
        )
    per_mass = solid_volume_per_area(1.0, active_fraction, active_density, binder_density)
    if porosity is None and not (thickness is not None and loading is not None):
        porosity = DEFAULT_COATING_POROSITY
    if loading is None and thickness is None:
        loading = PAPER_LOADING
    if thickness is not None and loading is not None:
        solid = loading * per_mass / thickness
        if solid >= 1:
            fit = loading * per_mass
            eps = porosity if porosity is not None else DEFAULT_COATING_POROSITY
            raise AtomisticsError(
                f"{names['loading']} {_mg_cm2(loading)} does not fit in {names['thickness']} "
                f"{_um(thickness)}: its solid alone is {_um(fit)} thick (solid fraction "
                f"{solid:.3g} > 1); give two of {names['thickness']}, {names['loading']}, "
                f"{names['porosity']}, e.g. drop {names['thickness']} (porosity {eps:g} gives "
                f"{_um(fit / (1 - eps))}) or give a thickness above {_um(fit)}"
            )
        if porosity is not None:  # all three given: they must agree
            if abs((1 - solid) - porosity) > tolerance:
                raise AtomisticsError(
                    f"{names['thickness']} {_um(thickness)}, {names['loading']} "
                    f"{_mg_cm2(loading)} and {names['porosity']} {porosity:g} disagree (thickness "
                    f"and loading imply porosity {1 - solid:.3g}): give two of the three, the "
                    "third follows from the solid densities"
                )
            return CoatingGeometry(thickness, loading, porosity, "", solid)
        return CoatingGeometry(thickness, loading, 1 - solid, "porosity", solid)
    if thickness is None:
        thickness = loading * per_mass / (1 - porosity)
        derived = "thickness"
    else:
        loading = thickness * (1 - porosity) / per_mass
        derived = "loading"
    return CoatingGeometry(thickness, loading, porosity, derived, 1 - porosity)


def structural_fixed_charge(
    cec: float,
    loading: float,
    active_fraction: float,
    thickness: float,
    porosity: float,
    accessible_fraction: float = ACCESSIBLE_FRACTION,
) -> float:
    """``X = f m w CEC / (eps L)`` [mol/m^3 of pore liquid] (module docstring, 3).

    ``cec`` [mol/kg], ``loading`` m [kg/m^2], clay mass fraction w, thickness L [m],
    porosity eps, accessible fraction f.
    """
    check_accessible_fraction(accessible_fraction)
    return accessible_fraction * loading * active_fraction * cec / (porosity * thickness)


def check_accessible_fraction(f: float, name: str = "accessible fraction") -> float:
    return _zero_to_one(
        f,
        name,
        "fraction of the layer charge",
        "external faces of tactoids: 0.05-0.20, default 0.10",
    )


def check_fixed_charge(x: float, name: str = "fixed charge") -> float:
    """A fixed charge in ``[0, MAX_FIXED_CHARGE]`` mol/m^3 of pore liquid."""
    v = float(x)
    if not (math.isfinite(v) and 0 <= v <= MAX_FIXED_CHARGE):
        raise AtomisticsError(
            f"{name}: {x!r} mol/m^3 is no fixed charge of a porous coating; give 0 to "
            f"{MAX_FIXED_CHARGE:g} mol/m^3 of pore liquid (the layer charge of a binder-free "
            "clay at 2 % porosity), e.g. '250 mol/m^3'"
        )
    return v


@dataclass(frozen=True)
class StructuralCharge:
    """The clay's structural (layer) charge as a fixed charge X of the coating."""

    source: str  # "composition" (from x, M_fu, geometry, accessible fraction) or "given"
    fixed_charge: float  # X, mol/m^3 of pore liquid (accessible)
    band: tuple[float, float]  # X over the accessible-fraction range (= X, X when given)
    layer_charge: float | None = None  # x per O10(OH)2
    formula_mass: float | None = None  # kg/mol
    cec: float | None = None  # mol/kg
    total_charge: float | None = None  # X_tot, all the layer charge per pore volume
    accessible_fraction: float | None = None
    accessible_range: tuple[float, float] | None = None

    def label(self) -> str:
        if self.source == "given":
            return f"GIVEN     structural fixed charge X_s = {self.fixed_charge:.4g} mol/m^3 of pore liquid"
        lo, hi = self.accessible_range
        return (
            f"COMPUTED  structural charge: Li_{self.layer_charge:g}(Al_{2 - self.layer_charge:g}"
            f"Mg_{self.layer_charge:g})Si4O10(OH)2, M = {self.formula_mass * 1e3:.2f} g/mol, "
            f"CEC = x/M = {self.cec:.4g} mol/kg -> {self.total_charge:.4g} mol/m^3 of pore liquid; "
            f"accessible (external tactoid faces) {self.accessible_fraction:.0%} "
            f"[{lo:.0%}-{hi:.0%}]: X_s = {self.fixed_charge:.4g} "
            f"[{self.band[0]:.4g}, {self.band[1]:.4g}] mol/m^3"
        )


def structural_charge(
    *,
    loading: float,
    active_fraction: float,
    thickness: float,
    porosity: float,
    layer_charge: float = DEFAULT_LAYER_CHARGE,
    formula_mass: float | None = None,
    accessible_fraction: float = ACCESSIBLE_FRACTION,
    accessible_range: tuple[float, float] = ACCESSIBLE_FRACTION_RANGE,
    given: float | None = None,
) -> StructuralCharge:
    """The coating's structural fixed charge: ``given`` (X set directly), or from the clay.

    From the clay: ``CEC = x/M_fu`` (``formula_mass`` default :func:`limmt_formula_mass`),
    ``X = f m w CEC/(eps L)``; the band is X at the ends of ``accessible_range`` (widened
    to include ``accessible_fraction``).
    """
    if given is not None:
        x = check_fixed_charge(given)
        return StructuralCharge("given", x, (x, x))
    m_fu = limmt_formula_mass(layer_charge) if formula_mass is None else formula_mass
    cec = cation_exchange_capacity(layer_charge, m_fu)
    f = check_accessible_fraction(accessible_fraction)
    lo, hi = (check_accessible_fraction(v, "accessible fraction range") for v in accessible_range)
    lo, hi = min(lo, hi, f), max(lo, hi, f)
    total = structural_fixed_charge(cec, loading, active_fraction, thickness, porosity, 1.0)
    x = f * total
    if x > MAX_FIXED_CHARGE:
        raise AtomisticsError(
            f"the clay's accessible layer charge would be X_s = {x:.4g} mol/m^3 of pore liquid "
            f"(> {MAX_FIXED_CHARGE:g}): porosity {porosity:g} leaves too little pore liquid for "
            "a porous coating; raise the coating porosity (default 0.35) or set the fixed charge "
            "directly"
        )
    return StructuralCharge(
        "composition",
        x,
        (lo * total, hi * total),
        float(layer_charge),
        m_fu,
        cec,
        total,
        f,
        (lo, hi),
    )


def donnan_with_traps(c_bath: float, x_struct: float, traps=None) -> tuple[float, float, float]:
    """``(c+, c-, c_T)`` in a coating with structural charge ``x_struct`` and adsorption sites.

    Electroneutrality ``c+ = c- + X_s + c_T(c-)`` and the Donnan product ``c+ c- =
    c_bath^2`` (ideal, dilute) give ``c- (c- + X_s + c_T(c-)) = c_bath^2``, whose left side
    rises monotonically in c- (``c_T`` = :meth:`~atomistics.continuum.mesh.TrapSites.trapped`,
    0 without traps); solved by Brent's method on ``(0, c_bath]``. Without traps it is
    the TMS partition ``c- = (sqrt(X^2 + 4 c^2) - X)/2``.
    """
    x = float(x_struct)
    if traps is None:
        cm = (math.sqrt(x * x + 4 * c_bath * c_bath) - x) / 2
        return cm + x, cm, 0.0

    def f(c: float) -> float:
        return c * (c + x + float(traps.trapped(c))) - c_bath * c_bath

    cm = float(brentq(f, 0.0, c_bath, xtol=1e-14 * c_bath, rtol=1e-15))
    ct = float(traps.trapped(cm))
    return cm + x + ct, cm, ct
