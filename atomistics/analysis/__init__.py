"""The paper's electrochemical analyses, as pure functions on SI arrays.

- :mod:`~atomistics.analysis.bruce_vincent`: transference number (Bruce-Vincent/Evans).
- :mod:`~atomistics.analysis.nucleation`: Scharifker-Hills transients, nucleation density.
- :mod:`~atomistics.analysis.arrhenius`: activation energy from resistances vs temperature.
- :mod:`~atomistics.analysis.tafel`: exchange current density from a Tafel fit.
- :mod:`~atomistics.analysis.csvdata`: reading measured columns with units from CSV.
"""
