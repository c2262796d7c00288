"""Independent derivations for the LiMMT-coated Li-metal cell (checker's own code).

Nothing here imports ``atomistics``: every number is derived from typed-in constants with
numpy/scipy (and mpmath for one numerical Laplace inversion), so that
``tests/test_independent_coating.py`` can compare the package against it.

Cell geometry (1-D, x from the plating electrode): x = 0 plating Li, [0, L_c] porous LiMMT
coating (porosity eps_c, tortuosity tau_c), [L_c, L_c + L_s] porous separator (eps_s,
tau_s), stripping Li at x = L_c + L_s.  Binary 1:1 salt (LiFSI in DME), pore-liquid salt
concentration c(x, t).  Effective diffusivity D_eff = eps D / tau (Bruggeman: tau = eps^-1/2,
so D_eff = eps^1.5 D), storage eps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

# --------------------------------------------------------------------------------------
# Constants, typed in by hand
# --------------------------------------------------------------------------------------

#: CODATA 2018 exact SI values (unchanged in CODATA 2022 for these four)
AVOGADRO = 6.02214076e23  # 1/mol
ELEMENTARY_CHARGE = 1.602176634e-19  # C
BOLTZMANN = 1.380649e-23  # J/K
FARADAY = AVOGADRO * ELEMENTARY_CHARGE  # 96485.33212... C/mol
GAS_CONSTANT = AVOGADRO * BOLTZMANN  # 8.314462618... J/(mol K)
#: CODATA 2018 vacuum permittivity (2022: 8.8541878188e-12; the difference is 7e-10 relative)
VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m

#: IUPAC conventional standard atomic weights, g/mol (Al: the 2013 value 26.9815385)
ATOMIC_WEIGHTS = {
    "Li": 6.94,
    "Mg": 24.305,
    "Al": 26.9815385,
    "Si": 28.085,
    "O": 15.999,
    "H": 1.008,
}

#: skeletal densities used for the coating's solid volume, kg/m^3
RHO_CLAY = 2700.0
RHO_BINDER = 1780.0


# --------------------------------------------------------------------------------------
# 1. Cation-exchange capacity -> fixed charge
# --------------------------------------------------------------------------------------


def limmt_formula_mass(x: float) -> float:
    """Formula mass of Li_x (Al_{2-x} Mg_x) Si4 O10 (OH)2 in kg/mol.

    Per O10(OH)2 formula unit: x Li + (2 - x) Al + x Mg + 4 Si + 12 O + 2 H.  Each
    octahedral Mg2+ on an Al3+ site leaves one negative layer charge, balanced by one
    exchangeable Li+ (so the Li count equals the Mg count x).  For x = 0.25:
    1.735 + 47.21769 + 6.07625 + 112.34 + 191.988 + 2.016 = 361.37294 g/mol.
    """
    w = ATOMIC_WEIGHTS
    grams = x * w["Li"] + (2.0 - x) * w["Al"] + x * w["Mg"] + 4 * w["Si"] + 12 * w["O"] + 2 * w["H"]
    return grams * 1e-3


def cation_exchange_capacity(x: float) -> float:
    """CEC = x / M  [mol of exchangeable Li+ per kg of clay]; 0.25/0.36137 = 0.6918 mol/kg."""
    return x / limmt_formula_mass(x)


def coating_thickness(
    loading: float,
    porosity: float,
    clay_fraction: float,
    rho_clay: float = RHO_CLAY,
    rho_binder: float = RHO_BINDER,
) -> float:
    """Coating thickness L from loading m [kg/m^2] and porosity.

    Solid volume per area V_s = m (w/rho_clay + (1 - w)/rho_binder) must equal (1 - eps) L,
    so L = V_s / (1 - eps).  (0.57 mg/cm^2 = 5.7e-3 kg/m^2, w = 0.8, eps = 0.35:
    V_s = 2.32934e-6 m, L = 3.58360e-6 m.)
    """
    solid = loading * (clay_fraction / rho_clay + (1.0 - clay_fraction) / rho_binder)
    return solid / (1.0 - porosity)


def total_fixed_charge(
    loading: float, clay_fraction: float, thickness: float, porosity: float, x: float
) -> float:
    """Layer charge per volume of pore liquid X_tot = m w CEC / (eps L)  [mol/m^3].

    Moles of exchangeable sites per area, m w CEC, divided by the pore volume per area eps L.
    """
    return loading * clay_fraction * cation_exchange_capacity(x) / (porosity * thickness)


def accessible_fixed_charge(
    loading: float,
    clay_fraction: float,
    thickness: float,
    porosity: float,
    x: float,
    accessible_fraction: float,
) -> float:
    """X = f X_tot: only the fraction f of the sites (external basal + edge) faces the pores."""
    return accessible_fraction * total_fixed_charge(loading, clay_fraction, thickness, porosity, x)


def xray_density(
    x: float, a: float, b: float, gamma_deg: float, d001: float, formula_units: int
) -> float:
    """Crystallographic (X-ray) density in kg/m^3 of the LiMMT cell.

    The cell volume of a (possibly oblique) layer cell is the in-plane area times the basal
    spacing: V = a b sin(gamma) d001 (d001 is the height perpendicular to the ab plane, so
    the c-axis tilt does not enter).  rho = Z M / (N_A V).  Lengths in metres.
    """
    volume = a * b * math.sin(math.radians(gamma_deg)) * d001
    return formula_units * limmt_formula_mass(x) / (AVOGADRO * volume)


# --------------------------------------------------------------------------------------
# 2. Donnan (TMS) vs thin-double-layer partition
# --------------------------------------------------------------------------------------


def tms_partition(c_bath, fixed_charge):
    """Teorell-Meyer-Sievers uniform Donnan partition (c+, c-).

    Ideal Donnan equilibrium of a 1:1 salt: mu_+ + mu_- equal in bath and layer, so
    c+ c- = c^2; electroneutrality with a fixed negative charge X: c+ = c- + X.
    Then c-^2 + X c- - c^2 = 0 -> c- = (-X + sqrt(X^2 + 4c^2))/2, c+ = c- + X.
    (Teorell 1935; Meyer & Sievers 1936; e.g. Helfferich, Ion Exchange, ch. 5.)
    The root is written as 2 c^2 / (X + sqrt(X^2 + 4 c^2)) to avoid cancellation.
    """
    c = np.asarray(c_bath, dtype=float)
    x = np.asarray(fixed_charge, dtype=float)
    root = np.sqrt(x * x + 4.0 * c * c)
    c_minus = 2.0 * c * c / (x + root)
    return c_minus + x, c_minus


def thin_double_layer_partition(c_bath, fixed_charge):
    """Thin-double-layer (surface-conduction) partition (c+, c-), volume-averaged.

    When the Debye length is much smaller than the pore size, the pore core is neutral at
    the bath concentration c; the fixed charge is screened within the double layers by an
    excess of counter-ions equal to X (per pore volume), and co-ion exclusion in the thin
    double layers is negligible by volume.  Hence <c-> = c and <c+> = c + X.
    (Dukhin number Du = X / (2c) picture; e.g. Bazant & Dydek, surface conduction.)
    """
    c = np.asarray(c_bath, dtype=float)
    x = np.asarray(fixed_charge, dtype=float)
    return c + x, c * np.ones_like(x)


def diffusivity_ratio(t_plus_free: float) -> float:
    """D+/D- from the free-solution transference number t0 = D+/(D+ + D-): t0/(1 - t0)."""
    return t_plus_free / (1.0 - t_plus_free)


def layer_transference_number(c_plus, c_minus, d_plus, d_minus):
    """t+ = D+ c+ / (D+ c+ + D- c-): Nernst-Einstein conductivity share of the cation."""
    return d_plus * c_plus / (d_plus * c_plus + d_minus * c_minus)


def debye_length(concentration, relative_permittivity, temperature=298.15):
    """Debye length of a 1:1 electrolyte: lambda = sqrt(eps_r eps0 R T / (2 F^2 c)) [m].

    From linearised Poisson-Boltzmann with ionic strength I = c (mol/m^3):
    kappa^2 = 2 F^2 I / (eps_r eps0 R T).
    """
    c = np.asarray(concentration, dtype=float)
    return np.sqrt(
        relative_permittivity
        * VACUUM_PERMITTIVITY
        * GAS_CONSTANT
        * temperature
        / (2.0 * FARADAY**2 * c)
    )


# --------------------------------------------------------------------------------------
# 3. Depletion (Sand's) time of a finite neutral cell
# --------------------------------------------------------------------------------------
#
# Salt balance of a neutral binary electrolyte in a porous medium (dilute solution theory):
#   eps c_t = d/dx (D_eff c_x),  D_eff = eps D / tau,
# with, at both electrodes, the anion flux zero.  Writing the anion flux
# N- = -D_eff c_x - t- i/F / (z ...) and eliminating the field gives the salt boundary
# condition D_eff c_x = g at x = 0 and at x = L, g = (1 - t+) J / F: salt is removed at the
# plating electrode at rate g and returned at the stripping electrode at the same rate, so
# the inventory int eps c dx is conserved.  With the same electrolyte in both layers the
# migration flux t+ J/F is continuous at the interface, so c and D_eff c_x are continuous.


def salt_flux(current_density: float, t_plus: float) -> float:
    """g = (1 - t+) J / F  [mol m^-2 s^-1]."""
    return (1.0 - t_plus) * current_density / FARADAY


def single_layer_surface_concentration(
    t, c0, diffusivity, current_density, t_plus, length, porosity=1.0, tortuosity=1.0, n_terms=4000
):
    """c(0, t) of one layer with flux g at both ends (Fourier cosine series).

    u = c - c0 obeys u_t = Da u_xx (Da = D_eff/eps = D/tau), D_eff u_x = g at x = 0, L,
    u(x, 0) = 0.  Steady state u_ss = (g/D_eff)(x - L/2) (zero mean).  The transient is
    -u_ss expanded in cos(n pi x / L): coefficients (2/L) int (x - L/2) cos(n pi x/L) dx
    = -4 L / (n pi)^2 for odd n, 0 for even n.  So
      c(0, t) = c0 - g L / (2 D_eff)
                + (g/D_eff) sum_{n odd} 4 L/(n pi)^2 exp(-Da n^2 pi^2 t / L^2).
    At t = 0, sum_{n odd} 1/n^2 = pi^2/8 restores c0.  (Carslaw & Jaeger, sec. 3.4.)
    """
    d_eff = porosity * diffusivity / tortuosity
    da = diffusivity / tortuosity
    g = salt_flux(current_density, t_plus)
    n = np.arange(1, 2 * n_terms, 2, dtype=float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    decay = np.exp(-da * (n[None, :] * np.pi / length) ** 2 * t[:, None])
    series = (4.0 * length / (n * np.pi) ** 2 * decay).sum(axis=1)
    out = c0 - g * length / (2.0 * d_eff) + g / d_eff * series
    return out if out.size > 1 else float(out[0])


def single_layer_limiting_current(c0, diffusivity, t_plus, length, porosity=1.0, tortuosity=1.0):
    """J_lim = 2 F c0 D_eff / ((1 - t+) L): the steady c(0) = c0 - gL/(2 D_eff) reaches 0."""
    d_eff = porosity * diffusivity / tortuosity
    return 2.0 * FARADAY * c0 * d_eff / ((1.0 - t_plus) * length)


def single_layer_sand_time(
    c0, diffusivity, current_density, t_plus, length, porosity=1.0, tortuosity=1.0
):
    """Root of c(0, t) = 0 of the series above; inf when J <= J_lim."""
    if current_density <= single_layer_limiting_current(
        c0, diffusivity, t_plus, length, porosity, tortuosity
    ):
        return math.inf

    def f(t):
        return single_layer_surface_concentration(
            t, c0, diffusivity, current_density, t_plus, length, porosity, tortuosity
        )

    # semi-infinite Sand time is a lower bound (the finite cell depletes later)
    g = salt_flux(current_density, t_plus)
    da = diffusivity / tortuosity
    # u_t = Da u_xx with Da u_x = g/eps: t_semi = pi Da c0^2 / (4 (g/eps)^2)
    t_semi = math.pi * da * c0**2 / (4.0 * (g / porosity) ** 2)
    hi = t_semi
    while f(hi) > 0.0:
        hi *= 2.0
    return brentq(f, 0.5 * t_semi, hi, xtol=1e-14 * hi, rtol=1e-13)


@dataclass(frozen=True)
class Slab:
    """One neutral porous layer: thickness [m], porosity, D_eff [m^2/s]."""

    thickness: float
    porosity: float
    d_eff: float

    @classmethod
    def bruggeman_free(cls, thickness, porosity, diffusivity, tortuosity):
        """D_eff = eps D / tau."""
        return cls(thickness, porosity, porosity * diffusivity / tortuosity)

    @property
    def da(self) -> float:
        """Apparent (storage-weighted) diffusivity D_eff / eps = D / tau."""
        return self.d_eff / self.porosity


def two_layer_steady(coat: Slab, sep: Slab, c0, current_density, t_plus):
    """Steady profile of the two-layer cell: returns (c_surface, profile(x)).

    Every cross-section carries the same salt flux: D_eff,i c_x = g, so c is piecewise
    linear with slopes g/D_c, g/D_s.  With c(0) = c_s:
      coating   c = c_s + g x / D_c,
      separator c = c_s + g L_c / D_c + g (x - L_c)/D_s.
    Inventory conservation int eps c dx = c0 (eps_c L_c + eps_s L_s) fixes
      c_s = c0 - g [eps_c L_c^2/(2 D_c) + eps_s L_s L_c / D_c + eps_s L_s^2 / (2 D_s)]
                 / (eps_c L_c + eps_s L_s).
    """
    g = salt_flux(current_density, t_plus)
    lc, ls = coat.thickness, sep.thickness
    moment = (
        coat.porosity * lc**2 / (2 * coat.d_eff)
        + sep.porosity * ls * lc / coat.d_eff
        + sep.porosity * ls**2 / (2 * sep.d_eff)
    )
    pore = coat.porosity * lc + sep.porosity * ls
    c_s = c0 - g * moment / pore

    def profile(x):
        x = np.asarray(x, dtype=float)
        return np.where(
            x <= lc, c_s + g * x / coat.d_eff, c_s + g * lc / coat.d_eff + g * (x - lc) / sep.d_eff
        )

    return c_s, profile


def two_layer_limiting_current(coat: Slab, sep: Slab, c0, t_plus):
    """J_lim: c_s = 0 in :func:`two_layer_steady`, i.e. J_lim = F g_lim / (1 - t+),
    g_lim = c0 (eps_c L_c + eps_s L_s) / [eps_c L_c^2/(2D_c) + eps_s L_s L_c/D_c + eps_s L_s^2/(2D_s)].
    """
    c_s_unit, _ = two_layer_steady(coat, sep, 0.0, FARADAY / (1.0 - t_plus), t_plus)  # g = 1
    return FARADAY * c0 / (-c_s_unit) / (1.0 - t_plus)


def two_layer_surface_laplace(t, coat: Slab, sep: Slab, c0, current_density, t_plus, dps=30):
    """c(0, t) by Talbot inversion (mpmath) of the exact Laplace-domain solution.

    With U = L[c - c0], q_i = sqrt(s / Da_i):
      coating   U = A cosh(q1 x) + B sinh(q1 x),     D_c q1 B = g/s   (flux at x = 0),
      separator U = C cosh(q2 y) + E sinh(q2 y), y = L - x,  D_s q2 E = -g/s (flux at x = L).
    Continuity of U and of D U_x at x = L_c (y = L_s) eliminates C:
      A = (g/s) [1/ch2 - ch1 - (D_s q2 / (D_c q1)) th2 sh1] / (D_c q1 sh1 + D_s q2 th2 ch1),
    ch1 = cosh(q1 L_c), sh1 = sinh(q1 L_c), ch2 = cosh(q2 L_s), th2 = tanh(q2 L_s).
    Check: L_s -> 0 gives A = -(g/(s D q)) tanh(q L/2), the one-layer result.
    """
    import mpmath as mp

    g = salt_flux(current_density, t_plus)
    with mp.workdps(dps):
        g_m = mp.mpf(g)
        dc, ds = mp.mpf(coat.d_eff), mp.mpf(sep.d_eff)
        ac, as_ = mp.mpf(coat.da), mp.mpf(sep.da)
        lc, ls = mp.mpf(coat.thickness), mp.mpf(sep.thickness)

        def laplace(s):
            q1 = mp.sqrt(s / ac)
            q2 = mp.sqrt(s / as_)
            ch1, sh1 = mp.cosh(q1 * lc), mp.sinh(q1 * lc)
            ch2, th2 = mp.cosh(q2 * ls), mp.tanh(q2 * ls)
            num = 1 / ch2 - ch1 - (ds * q2 / (dc * q1)) * th2 * sh1
            den = dc * q1 * sh1 + ds * q2 * th2 * ch1
            return g_m / s * num / den

        value = mp.invertlaplace(laplace, mp.mpf(t), method="talbot")
        return float(c0 + value)


class TwoLayerModes:
    """Eigenfunction expansion of the two-layer Neumann Sturm-Liouville problem.

    (p phi')' + lambda w phi = 0, p = D_eff,i, w = eps_i, phi'(0) = phi'(L) = 0, phi and
    p phi' continuous at L_c.  With mu = sqrt(lambda), k_i = mu / sqrt(Da_i):
      coating   phi = P cos(k1 x),  separator phi = Q cos(k2 (L - x)),
      [cos(k1 L_c)          -cos(k2 L_s)        ] [P]   [0]
      [D_c k1 sin(k1 L_c)    D_s k2 sin(k2 L_s) ] [Q] = [0],
    so the eigenvalues are the roots of
      det(mu)/mu = (D_c/sqrt(Da_c)) sin(k1 L_c) cos(k2 L_s)
                   + (D_s/sqrt(Da_s)) sin(k2 L_s) cos(k1 L_c) = 0.
    The modes are orthogonal with weight eps.  Then
      c(x, t) = c_ss(x) + sum_n a_n phi_n(x) exp(-lambda_n t),
      a_n = -int eps (c_ss - c0) phi_n dx / int eps phi_n^2 dx
    (the lambda = 0 mode carries no weight: the steady deviation has zero inventory).
    Roots are bracketed on a grid of 200 points per pi/(a+b), a = L_c/sqrt(Da_c),
    b = L_s/sqrt(Da_s), and refined with brentq; completeness is checked by Parseval.
    """

    def __init__(self, coat: Slab, sep: Slab, n_modes: int = 400):
        self.coat, self.sep = coat, sep
        self.k1f = 1.0 / math.sqrt(coat.da)
        self.k2f = 1.0 / math.sqrt(sep.da)
        a = coat.thickness * self.k1f
        b = sep.thickness * self.k2f
        w1 = coat.d_eff * self.k1f
        w2 = sep.d_eff * self.k2f

        def det(mu):
            return w1 * np.sin(a * mu) * np.cos(b * mu) + w2 * np.sin(b * mu) * np.cos(a * mu)

        # the roots are spaced on average pi/(a + b) apart
        step = math.pi / (a + b) / 200.0
        mus: list[float] = []
        lo = 0.5 * step  # skip the mu = 0 (uniform) mode
        chunk = 20000
        while len(mus) < n_modes:
            grid = lo + step * np.arange(chunk + 1)
            vals = det(grid)
            idx = np.nonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0)[0]
            for i in idx:
                mus.append(brentq(det, grid[i], grid[i + 1], xtol=1e-15 * grid[i + 1], rtol=1e-15))
                if len(mus) == n_modes:
                    break
            lo = grid[-1]
        self.mu = np.array(mus)
        self.lam = self.mu**2
        k1 = self.mu * self.k1f
        k2 = self.mu * self.k2f
        lc, ls = coat.thickness, sep.thickness
        # null vector of the 2x2 matrix; pick the better-conditioned of two candidates
        p1, q1 = np.cos(k2 * ls), np.cos(k1 * lc)
        p2, q2 = sep.d_eff * k2 * np.sin(k2 * ls), -coat.d_eff * k1 * np.sin(k1 * lc)
        n1 = np.hypot(p1, q1)
        n2 = np.hypot(p2, q2)
        use1 = n1 >= n2 / np.maximum(np.hypot(coat.d_eff * k1, sep.d_eff * k2), 1e-300)
        self.P = np.where(use1, p1 / n1, p2 / n2)
        self.Q = np.where(use1, q1 / n1, q2 / n2)
        self.k1, self.k2 = k1, k2
        # weighted norms  int eps phi^2
        self.norm = coat.porosity * self.P**2 * (lc / 2 + np.sin(2 * k1 * lc) / (4 * k1)) + (
            sep.porosity * self.Q**2 * (ls / 2 + np.sin(2 * k2 * ls) / (4 * k2))
        )

    def phi(self, x):
        """Mode shapes at positions x: array (len(x), n_modes)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))[:, None]
        lc = self.coat.thickness
        total = lc + self.sep.thickness
        return np.where(
            x <= lc, self.P * np.cos(self.k1 * x), self.Q * np.cos(self.k2 * (total - x))
        )

    def coefficients(self, c0, current_density, t_plus):
        """a_n for the start from uniform c0, plus the steady surface value and the
        Parseval residual  sum a_n^2 N_n / int eps u_ss^2 - 1  (completeness check)."""
        coat, sep = self.coat, self.sep
        c_s, _ = two_layer_steady(coat, sep, c0, current_density, t_plus)
        g = salt_flux(current_density, t_plus)
        lc, ls = coat.thickness, sep.thickness
        k1, k2 = self.k1, self.k2
        # u_ss = c_ss - c0: coating alpha1 + beta1 x; separator (in y = L - x) alpha2 - beta2 y
        alpha1, beta1 = c_s - c0, g / coat.d_eff
        alpha2 = c_s - c0 + g * lc / coat.d_eff + g * ls / sep.d_eff  # value at x = L (y = 0)
        beta2 = g / sep.d_eff

        def lin_cos(alpha, beta, k, length):
            # int_0^length (alpha + beta s) cos(k s) ds
            return alpha * np.sin(k * length) / k + beta * (
                length * np.sin(k * length) / k + (np.cos(k * length) - 1.0) / k**2
            )

        proj = coat.porosity * self.P * lin_cos(alpha1, beta1, k1, lc) + (
            sep.porosity * self.Q * lin_cos(alpha2, -beta2, k2, ls)
        )
        a = -proj / self.norm

        def lin_sq(alpha, beta, length):
            return alpha**2 * length + alpha * beta * length**2 + beta**2 * length**3 / 3.0

        energy = coat.porosity * lin_sq(alpha1, beta1, lc) + sep.porosity * lin_sq(
            alpha2, -beta2, ls
        )
        parseval = float(np.sum(a**2 * self.norm) / energy - 1.0)
        return a, c_s, parseval

    def surface(self, t, c0, current_density, t_plus):
        """c(0, t) from the expansion."""
        a, c_s, _ = self.coefficients(c0, current_density, t_plus)
        phi0 = self.phi(0.0)[0]
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = c_s + (a * phi0 * np.exp(-self.lam[None, :] * t[:, None])).sum(axis=1)
        return out if out.size > 1 else float(out[0])

    def sand_time(self, c0, current_density, t_plus):
        """Root of c(0, t) = 0; inf when the steady c(0) stays positive."""
        c_s, _ = two_layer_steady(self.coat, self.sep, c0, current_density, t_plus)
        if c_s >= 0.0:
            return math.inf

        def f(t):
            return self.surface(t, c0, current_density, t_plus)

        # the slowest mode has decayed to < 1e-12 after 28/lambda_1; c(0) is monotone
        hi = 1e-3 / self.lam[0]
        while f(hi) > 0.0:
            hi *= 2.0
        lo = hi / 2.0
        while f(lo) < 0.0:
            lo /= 2.0
        return brentq(f, lo, hi, xtol=1e-15 * hi, rtol=1e-13)

    def time_to_fraction(self, c0, current_density, t_plus, fraction=0.99):
        """First t with c0 - c(0, t) = fraction (c0 - c_ss(0)) (J below J_lim)."""
        c_s, _ = two_layer_steady(self.coat, self.sep, c0, current_density, t_plus)
        target = c0 - fraction * (c0 - c_s)

        def f(t):
            return self.surface(t, c0, current_density, t_plus) - target

        hi = 1e-3 / self.lam[0]
        while f(hi) > 0.0:
            hi *= 2.0
        return brentq(f, 0.0, hi, xtol=1e-15 * hi, rtol=1e-13)


def two_layer_sand_time_laplace(coat: Slab, sep: Slab, c0, current_density, t_plus, t_guess):
    """Sand's time from the Talbot-inverted Laplace solution (second, independent method).

    ``t_guess`` only seeds the bracket (it is widened until c(0) changes sign).
    """

    def f(t):
        return two_layer_surface_laplace(t, coat, sep, c0, current_density, t_plus)

    lo, hi = 0.5 * t_guess, 2.0 * t_guess
    while f(lo) < 0.0:
        lo /= 2.0
    while f(hi) > 0.0:
        hi *= 2.0
    return brentq(f, lo, hi, xtol=1e-14 * hi, rtol=1e-12)
