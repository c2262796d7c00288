"""Physical constants in SI units (CODATA 2018 values as shipped with SciPy)."""

from scipy import constants as _c

FARADAY: float = _c.physical_constants["Faraday constant"][0]  # C/mol
GAS_CONSTANT: float = _c.R  # J/(mol K)
BOLTZMANN_EV: float = _c.physical_constants["Boltzmann constant in eV/K"][0]  # eV/K
AVOGADRO: float = _c.N_A  # 1/mol
