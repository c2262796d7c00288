"""Anions, cations and contact ion pairs, built from internal coordinates.

Supported species: FSI⁻ (N(SO2F)2⁻; conformers C2 = trans, C1 = cis),
TFSI⁻ (N(SO2CF3)2⁻; C2, C1), PF6⁻ (Oh), Li⁺, Na⁺. Geometries are starting
points for a DFT relaxation: bond lengths and angles are typical gas-phase DFT
values for these ions (S–N 1.58, S=O 1.45, S–F 1.64, S–C 1.86, C–F 1.33,
P–F 1.61 Å; S–N–S 123°), not final structures.

Every returned ``Atoms`` carries ``info['charge']``, ``info['spin_multiplicity']``
(the pymatgen ``Molecule`` names), ``info['species']`` and ``info['name']``; it
is non-periodic with no cell (the CP2K writer chooses the box).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ase import Atoms

from atomistics.errors import AtomisticsError


def _place(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, dihedral: float
) -> np.ndarray:
    """Natural-extension reference frame (NeRF): position of D bonded to C.

    ``angle`` is B–C–D and ``dihedral`` A–B–C–D, both in degrees
    (Parsons et al., J. Comput. Chem. 26, 1063 (2005)).
    """
    theta, phi = np.radians(angle), np.radians(dihedral)
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = bond * np.array([-np.cos(theta), np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


# Sulfonylimide scaffold parameters (Å, degrees)
R_SN, R_SO, R_SF, R_SC, R_CF = 1.58, 1.45, 1.64, 1.86, 1.33
A_SNS, A_NSO, A_NSF, A_NSC, A_SCF = 123.0, 110.0, 103.0, 103.0, 110.0
# F–S–N–S (or C–S–N–S) dihedrals of the two halves: equal → C2 (trans), unequal
# and of opposite sign → C1 (cis). Values from the usual FSI⁻/TFSI⁻ conformer picture.
CONFORMER_DIHEDRALS = {"C2": (90.0, 90.0), "C1": (90.0, -75.0)}


def _sulfonylimide(substituent: str, conformer: str) -> Atoms:
    if conformer not in CONFORMER_DIHEDRALS:
        raise AtomisticsError(
            f"unknown conformer {conformer!r}: choose one of {', '.join(CONFORMER_DIHEDRALS)} "
            "(C2 = trans, C1 = cis)."
        )
    tau = CONFORMER_DIHEDRALS[conformer]
    n = np.zeros(3)
    s = [np.array([R_SN, 0.0, 0.0])]
    ang = np.radians(A_SNS)
    s.append(R_SN * np.array([np.cos(ang), np.sin(ang), 0.0]))
    symbols, positions = ["N", "S", "S"], [n, s[0], s[1]]
    for k in range(2):
        other, me = s[1 - k], s[k]
        t = tau[k]
        if substituent == "F":
            x = _place(other, n, me, R_SF, A_NSF, t)
            symbols.append("F")
            positions.append(x)
        else:  # CF3
            x = _place(other, n, me, R_SC, A_NSC, t)
            symbols.append("C")
            positions.append(x)
            for dih in (60.0, 180.0, 300.0):
                symbols.append("F")
                positions.append(_place(n, me, x, R_CF, A_SCF, dih))
        for offset in (125.0, -125.0):
            symbols.append("O")
            positions.append(_place(other, n, me, R_SO, A_NSO, t + offset))
    atoms = Atoms(symbols, positions=np.array(positions))
    atoms.positions -= atoms.get_center_of_mass()
    return atoms


def build_fsi(conformer: str = "C2") -> Atoms:
    """Bis(fluorosulfonyl)imide, N(SO2F)2⁻, charge −1, singlet."""
    return _finish(_sulfonylimide("F", conformer), "FSI-", -1, conformer)


def build_tfsi(conformer: str = "C2") -> Atoms:
    """Bis(trifluoromethanesulfonyl)imide, N(SO2CF3)2⁻, charge −1, singlet."""
    return _finish(_sulfonylimide("CF3", conformer), "TFSI-", -1, conformer)


def build_pf6(conformer: str = "Oh") -> Atoms:
    """Hexafluorophosphate, PF6⁻ (octahedral, P–F 1.61 Å), charge −1, singlet."""
    if conformer != "Oh":
        raise AtomisticsError(f"PF6- has only the Oh geometry, got conformer {conformer!r}.")
    r = 1.61
    pos = [[0, 0, 0], [r, 0, 0], [-r, 0, 0], [0, r, 0], [0, -r, 0], [0, 0, r], [0, 0, -r]]
    return _finish(Atoms("PF6", positions=pos), "PF6-", -1, conformer)


def _monatomic(symbol: str) -> Callable[[str | None], Atoms]:
    def build(conformer: str | None = None) -> Atoms:
        if conformer not in (None, "atom"):
            raise AtomisticsError(f"{symbol}+ is a single ion; it has no conformer {conformer!r}.")
        return _finish(Atoms(symbol, positions=[[0.0, 0.0, 0.0]]), f"{symbol}+", 1, "atom")

    return build


def _finish(atoms: Atoms, species: str, charge: int, conformer: str) -> Atoms:
    n_electrons = int(atoms.numbers.sum()) - charge
    atoms.info = {
        "name": species,
        "species": species,
        "charge": charge,
        "spin_multiplicity": 1 if n_electrons % 2 == 0 else 2,
        "conformer": conformer,
    }
    atoms.pbc = False
    return atoms


MOLECULE_BUILDERS: dict[str, Callable[..., Atoms]] = {
    "FSI-": build_fsi,
    "TFSI-": build_tfsi,
    "PF6-": build_pf6,
    "Li+": _monatomic("Li"),
    "Na+": _monatomic("Na"),
}
DEFAULT_CONFORMER = {"FSI-": "C2", "TFSI-": "C2", "PF6-": "Oh", "Li+": None, "Na+": None}
_ALIASES = {k.lower(): k for k in MOLECULE_BUILDERS} | {
    "fsi": "FSI-",
    "tfsi": "TFSI-",
    "pf6": "PF6-",
    "li": "Li+",
    "na": "Na+",
}


def canonical_species(name: str) -> str:
    """Canonical species name ('fsi', 'FSI-', 'fsi-' → 'FSI-'), or a clear error."""
    key = str(name).strip().lower().replace("⁻", "-").replace("⁺", "+")
    if key not in _ALIASES:
        raise AtomisticsError(
            f"unknown molecule or ion {name!r}: known species are {', '.join(MOLECULE_BUILDERS)}."
        )
    return _ALIASES[key]


def build_molecule(species: str, conformer: str | None = None) -> Atoms:
    """Build an ion by name (see :data:`MOLECULE_BUILDERS`)."""
    key = canonical_species(species)
    conf = DEFAULT_CONFORMER[key] if conformer is None else conformer
    return MOLECULE_BUILDERS[key](conf)


# Li–O 1.95 Å, Li–F 1.85 Å: typical first-shell distances of Li⁺ to sulfonyl O / fluoride.
CONTACT_DISTANCE = {("Li", "O"): 1.95, ("Li", "F"): 1.85, ("Na", "O"): 2.30, ("Na", "F"): 2.20}


def bidentate_pair(anion: Atoms, element: str) -> tuple[int, int]:
    """Two ``element`` atoms for bidentate binding: on different central atoms if possible, closest first."""
    idx = [a.index for a in anion if a.symbol == element]
    heavy = [a.index for a in anion if a.symbol in ("S", "P")]
    if len(idx) < 2:
        raise AtomisticsError(f"{anion.info.get('species')} has fewer than two {element} atoms.")

    def parent(k: int) -> int:
        return min(heavy, key=lambda h: anion.get_distance(h, k)) if heavy else -1

    pairs = [(anion.get_distance(p, q), p, q) for n, p in enumerate(idx) for q in idx[n + 1 :]]
    cross = [t for t in pairs if parent(t[1]) != parent(t[2])]
    _, p, q = min(cross or pairs)
    return p, q


def build_ion_pair(cation: str = "Li+", anion: str = "FSI-", conformer: str | None = None) -> Atoms:
    """Contact ion pair with the cation bidentate to two anion atoms (O,O for sulfonylimides).

    The cation sits in the plane bisecting the chosen pair, on the side away
    from the anion's centre, at the contact distance from both atoms.
    """
    cat = build_molecule(cation)
    an = build_molecule(anion, conformer)
    if cat.info["charge"] <= 0 or an.info["charge"] >= 0:
        raise AtomisticsError(
            f"an ion pair needs a cation and an anion, got {cat.info['species']} and "
            f"{an.info['species']}."
        )
    ligand = "O" if "O" in an.get_chemical_symbols() else "F"
    p, q = bidentate_pair(an, ligand)
    r = CONTACT_DISTANCE[(cat[0].symbol, ligand)]
    mid = 0.5 * (an.positions[p] + an.positions[q])
    half = 0.5 * an.get_distance(p, q)
    if half >= r:
        raise AtomisticsError(f"{ligand}–{ligand} pair too far apart for a bidentate contact.")
    pq = an.positions[q] - an.positions[p]
    pq /= np.linalg.norm(pq)
    out = mid - an.get_center_of_mass()
    out -= np.dot(out, pq) * pq
    out /= np.linalg.norm(out)
    li_pos = mid + np.sqrt(r**2 - half**2) * out
    pair = an + Atoms(cat[0].symbol, positions=[li_pos])
    pair.positions -= pair.get_center_of_mass()
    charge = cat.info["charge"] + an.info["charge"]
    name = f"{cat.info['species']}_{an.info['species']}"
    n_electrons = int(pair.numbers.sum()) - charge
    pair.info = {
        "name": name,
        "species": name,
        "charge": charge,
        "spin_multiplicity": 1 if n_electrons % 2 == 0 else 2,
        "conformer": an.info["conformer"],
        "contact_atoms": [int(p), int(q)],
    }
    pair.pbc = False
    return pair
