"""Continuum model of ion transport in the LiMMT / PE separator.

Modules, one job each:

- :mod:`~atomistics.continuum.constants`: physical constants (CODATA via SciPy).
- :mod:`~atomistics.continuum.sand`: analytic results (Sand's time, semi-infinite and
  finite-cell diffusion, steady state, limiting current, porous-medium versions).
- :mod:`~atomistics.continuum.mesh`: layers, the graded mesh and the finite-volume operators.
- :mod:`~atomistics.continuum.transport`: the finite-volume solver for a layered cell
  (:mod:`~atomistics.continuum.modal`: its exact-in-time solution).
- :mod:`~atomistics.continuum.fixedcharge`: charged (Teorell-Meyer-Sievers) layers: trapped
  anions as fixed charge, Donnan partition, their nonlinear transient, J_lim.
- :mod:`~atomistics.continuum.real_cell`: the real finite cell's own numbers: steady state,
  concentration overpotential, time to steady state, threshold amplification J_lim/J and the
  Sand's time at a local current.
- :mod:`~atomistics.continuum.sweep`: vectorised parameter sweeps.
- :mod:`~atomistics.continuum.coating_model`: the bridge's physics: adsorption free energy ->
  trapped anions -> t+, J_lim, Sand's time; calibration of dG to a measured t+.
- :mod:`~atomistics.continuum.bridge_report`: the bridge's prose (verdict, notes, warnings).
- :mod:`~atomistics.continuum.bridge`: runs the model with uncertainty bands (``run_bridge``).
- :mod:`~atomistics.continuum.plots`: figures (matplotlib Figure objects, no global backend).

The package takes numbers and returns numbers: stored reactions reach it through
:mod:`atomistics.stored_reactions` (below it), never by opening the database here.

All functions take and return SI units (mol/m^3, m^2/s, A/m^2, m, s, K); binding
energies are in eV.
"""
