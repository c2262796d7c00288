"""The one spin-multiplicity rule, shared by the structure checks, the CP2K protocol and the
CP2K input validator.

A state with N electrons and total spin S has multiplicity 2S + 1, and S runs over
N/2, N/2 − 1, … down to 0 (N even) or 1/2 (N odd). Hence: 2S = multiplicity − 1 must have the
parity of N and cannot exceed N. The count may be all electrons or valence electrons only:
the pseudopotential cores are closed shells (an even number of electrons), so the parity is
the same.
"""

from __future__ import annotations

import numbers


def lowest_multiplicity(n_electrons: int) -> int:
    """Singlet for an even count, doublet for an odd one."""
    return 1 if int(n_electrons) % 2 == 0 else 2


def multiplicity_problem(n_electrons: int, multiplicity) -> str | None:
    """Why ``multiplicity`` is impossible for ``n_electrons``, or None when it is possible."""
    if (
        isinstance(multiplicity, bool)
        or not isinstance(multiplicity, numbers.Integral)
        or multiplicity < 1
    ):
        return f"multiplicity {multiplicity!r} must be a positive integer (2S+1)"
    multiplicity, n_electrons = int(multiplicity), int(n_electrons)
    if n_electrons < 0:
        return f"{n_electrons} electrons is not a possible count"
    if (multiplicity - 1) % 2 != n_electrons % 2 or multiplicity - 1 > n_electrons:
        parity = "odd" if n_electrons % 2 == 0 else "even"
        return (
            f"multiplicity {multiplicity} is impossible with {n_electrons} electrons: an "
            f"{'even' if n_electrons % 2 == 0 else 'odd'} count needs an {parity} multiplicity "
            f"(2S+1) of at most {n_electrons + 1}"
        )
    return None


def needs_unrestricted(n_electrons: int, multiplicity: int) -> bool:
    """Open shell: an odd count or a multiplicity above 1 needs spin-unrestricted DFT."""
    return int(n_electrons) % 2 == 1 or int(multiplicity) != 1
