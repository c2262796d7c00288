"""Binding energies E(AB) − Σ E(X): the special case of :mod:`atomistics.reactions`.

Kept as a name for the binding-energy vocabulary; everything lives in
:mod:`atomistics.reactions` (one assembler for ``atomistics run`` and FireWorks).
"""

from atomistics.reactions import (
    ReactionEnergy,
    binding_energy,
    compute,
    counterpoise_correction,
    counterpoise_structures,
    format_table,
    fragment_indices,
    plot,
    to_csv,
)

#: A binding energy is a reaction energy (fragments → complex).
BindingEnergy = ReactionEnergy

__all__ = [
    "BindingEnergy",
    "binding_energy",
    "compute",
    "counterpoise_correction",
    "counterpoise_structures",
    "format_table",
    "fragment_indices",
    "plot",
    "to_csv",
]
