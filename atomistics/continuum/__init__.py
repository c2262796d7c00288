"""Continuum model of ion transport in the LiMMT / PE separator.

Modules, one job each:

- :mod:`~atomistics.continuum.constants`: physical constants (CODATA via SciPy).
- :mod:`~atomistics.continuum.sand`: analytic results (Sand's time, semi-infinite and
  finite-cell diffusion, steady state, limiting current, porous-medium versions).
- :mod:`~atomistics.continuum.transport`: the finite-volume solver for a layered cell.
- :mod:`~atomistics.continuum.sweep`: vectorised parameter sweeps.
- :mod:`~atomistics.continuum.bridge`: binding energies -> anion mobility -> t+ -> Sand's time.
- :mod:`~atomistics.continuum.resultsdb`: reading binding energies from a study's ASE database.
- :mod:`~atomistics.continuum.plots`: figures (matplotlib, Agg backend).

All functions take and return SI units (mol/m^3, m^2/s, A/m^2, m, s, K); binding
energies are in eV.
"""
