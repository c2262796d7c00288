"""Montmorillonite from pyrophyllite: bulk LiMMT and the LiMMT(001) slab.

Model (standard for montmorillonite, which has no single-crystal structure;
e.g. Skipper, Refson & McConnell, J. Chem. Phys. 94, 7434 (1991)): the
pyrophyllite-1Tc 2:1 layer (Lee & Guggenheim, Am. Mineral. 66, 350 (1981);
``structures/pyrophyllite_1Tc_LG1981.cif``) with isomorphic Al³⁺→Mg²⁺
substitution in the octahedral sheet, each substitution balanced by one
exchangeable Li⁺. Ideal formula per O10(OH)2 unit: Liₓ(Al₂₋ₓMgₓ)Si₄O₁₀(OH)₂,
montmorillonite having layer charge x ≈ 0.2–0.6.

Default substitution: layer charge x = 0.25 per O10(OH)2 (2 Mg in the 2×2
slab, 8 formula units; at least one Mg), Mg placed so that no two Mg share a
hydroxyl and the smallest Mg–Mg distance (minimum image) is as large as the
cell allows; ties between equivalent patterns are broken by a seeded RNG, so
the same parameters always give the same structure.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.geometry import find_mic
from ase.neighborlist import neighbor_list

from atomistics.errors import AtomisticsError
from atomistics.limits import check_atom_count, finite

PYROPHYLLITE_CIF = "pyrophyllite_1Tc_LG1981.cif"
LIMMT_D001 = 12.42  # Å, the paper's XRD for Li-MMT
CAMMT_D001 = 13.28  # Å, the paper's XRD for Ca-MMT
DEFAULT_LAYER_CHARGE = 0.25  # per O10(OH)2 formula unit
DEFAULT_VACUUM = 15.0  # Å, the paper's "about 15 Å"
DEFAULT_LI_HEIGHT = 1.0  # Å above the mean basal-oxygen plane, over a cavity
FORMULA_UNITS_PER_CELL = 2  # Al4Si8O20(OH)4 = 2 × Al2Si4O10(OH)2
MAX_EXHAUSTIVE_PATTERNS = 100_000
MAX_VACUUM = 1000.0  # Å; more is a typo (and an absurd plane-wave grid), not a model


def structures_dir() -> Path:
    """Folder with the reference structure files (``$ATOMISTICS_STRUCTURES_DIR`` overrides)."""
    env = os.environ.get("ATOMISTICS_STRUCTURES_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "structures")
    for path in candidates:
        if (path / PYROPHYLLITE_CIF).is_file():
            return path
    raise AtomisticsError(
        f"cannot find {PYROPHYLLITE_CIF}: looked in {', '.join(map(str, candidates))}. "
        "Install the package from a clone of the repository (pip install -e .) or set "
        "ATOMISTICS_STRUCTURES_DIR to the repository's structures/ folder."
    )


def load_pyrophyllite() -> Atoms:
    """Pyrophyllite-1Tc, 40 atoms, Al4Si8O20(OH)4, as published (see structures/README.md)."""
    atoms = ase.io.read(structures_dir() / PYROPHYLLITE_CIF)
    atoms.info = {"name": "pyrophyllite", "charge": 0, "spin_multiplicity": 1}
    atoms.arrays["clay"] = np.ones(len(atoms), dtype=bool)
    return atoms


def default_mg_count(n_formula_units: int, layer_charge: float = DEFAULT_LAYER_CHARGE) -> int:
    """Number of Al→Mg substitutions for the default layer charge (at least one)."""
    return max(1, int(math.floor(layer_charge * n_formula_units + 0.5)))


def _check_supercell(supercell: tuple[int, int]) -> tuple[int, int]:
    try:
        n, m = (int(v) for v in supercell)
    except (TypeError, ValueError):
        raise AtomisticsError(
            f"supercell must be two positive integers N M, got {supercell!r}."
        ) from None
    if n < 1 or m < 1 or (n, m) != tuple(supercell):
        raise AtomisticsError(
            f"supercell must be two positive integers N M, got {tuple(supercell)}: use e.g. 2 2."
        )
    return n, m


def _check_seed(seed: object) -> int:
    """The Mg-pattern tie-break seed: a non-negative integer (numpy's SeedSequence rule)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise AtomisticsError(f"seed must be a non-negative integer, got {seed!r}: use e.g. 0.")
    return int(seed)


ATOMS_PER_CELL = 40  # pyrophyllite-1Tc, Al4Si8O20(OH)4


def _check_size(n: int, m: int, mg: int | None, max_atoms: int | None, what: str) -> None:
    """Refuse, from the counts alone (before any array is built), a cell above the ceiling."""
    if mg is not None and (isinstance(mg, bool) or not isinstance(mg, int | np.integer) or mg < 0):
        raise AtomisticsError(f"mg must be a non-negative integer number of Mg, got {mg!r}.")
    n_layer = ATOMS_PER_CELL * n * m
    n_ions = default_mg_count(FORMULA_UNITS_PER_CELL * n * m) if mg is None else int(mg)
    check_atom_count(n_layer + min(n_ions, 4 * n * m), f"a {n}x{m} {what}", max_atoms)


def _layer_centered(layer: Atoms) -> np.ndarray:
    """Cartesian positions with the octahedral (Al) plane's centre at the origin."""
    centre = layer.positions[layer.numbers == 13].mean(axis=0)
    return layer.positions - centre


def _classify_oxygens(atoms: Atoms) -> dict[str, np.ndarray]:
    """Indices of basal (2 Si), apical (1 Si) and hydroxyl (bonded to H) oxygens."""
    i, j, d = neighbor_list("ijd", atoms, 2.0)
    symbols = np.array(atoms.get_chemical_symbols())
    basal, apical, hydroxyl = [], [], []
    for o in np.nonzero(symbols == "O")[0]:
        neigh = symbols[j[i == o]]
        n_si = int((neigh == "Si").sum())
        if (neigh == "H").any():
            hydroxyl.append(o)
        elif n_si == 2:
            basal.append(o)
        elif n_si == 1:
            apical.append(o)
    return {"basal": np.array(basal), "apical": np.array(apical), "hydroxyl": np.array(hydroxyl)}


def cavity_centres(atoms: Atoms, face: str) -> np.ndarray:
    """Cartesian centres of the ditrigonal cavities of one face ('top' or 'bottom').

    Each hydroxyl of a 2:1 layer sits at the bottom of a ditrigonal cavity of the
    tetrahedral sheet on its own side; the cavity centre is the centroid
    (minimum image) of the six basal oxygens nearest to that hydroxyl in the
    plane, at the mean height of those oxygens.
    """
    clay = atoms.arrays.get("clay", np.ones(len(atoms), bool))
    kinds = _classify_oxygens(atoms[np.nonzero(clay)[0]])
    clay_idx = np.nonzero(clay)[0]
    z_mid = (
        atoms.positions[clay_idx][atoms[clay_idx].numbers == 13, 2].mean()
        if (atoms[clay_idx].numbers == 13).any()
        else atoms.positions[clay_idx, 2].mean()
    )
    pos = atoms.positions[clay_idx]
    sign = 1.0 if face == "top" else -1.0
    basal = kinds["basal"][sign * (pos[kinds["basal"], 2] - z_mid) > 0]
    hydroxyl = kinds["hydroxyl"][sign * (pos[kinds["hydroxyl"], 2] - z_mid) > 0]
    centres = []
    cell, pbc = atoms.cell, atoms.pbc
    for oh in hydroxyl:
        vec = pos[basal] - pos[oh]
        vec[:, 2] = 0.0
        vec, dist = find_mic(vec, cell, pbc)
        ring = np.argsort(dist)[:6]
        centre = pos[oh] + vec[ring].mean(axis=0)
        centre[2] = pos[basal[ring], 2].mean()
        centres.append(centre)
    return np.array(centres)


def _pairwise_mic(atoms: Atoms, indices: np.ndarray) -> np.ndarray:
    pos = atoms.positions[indices]
    vec = pos[:, None, :] - pos[None, :, :]
    _, dist = find_mic(vec.reshape(-1, 3), atoms.cell, atoms.pbc)
    return dist.reshape(len(indices), len(indices))


def choose_mg_sites(atoms: Atoms, count: int, seed: int = 0) -> list[int]:
    """Pick ``count`` octahedral Al to turn into Mg.

    Rule: no two Mg share a hydroxyl (Loewenstein-like avoidance of Mg–OH–Mg),
    and the smallest Mg–Mg distance (minimum image) is maximised. Ties are
    broken by ``numpy.random.default_rng(seed)``.

    Cost, bounded for every supercell (never exponential): with N octahedral
    Al and k Mg,

    - when C(N, k) ≤ ``MAX_EXHAUSTIVE_PATTERNS`` (100 000) every pattern is
      scored: at most 100 000 × k(k−1)/2 distance look-ups, and the result is
      the exact optimum;
    - otherwise a seeded greedy farthest-point choice (Gonzalez, Theor. Comput.
      Sci. 38, 293 (1985)), O(k·N) look-ups after the O(N²) distance matrix.
      For max–min dispersion with metric distances (minimum-image distance is
      one) the greedy choice is a 2-approximation (Ravi, Rosenkrantz & Tayi,
      Oper. Res. 42, 299 (1994)): its smallest Mg–Mg distance is at least half
      the optimum d*, whenever d*/2 exceeds the ≈3 Å of Al pairs that share a
      hydroxyl (so the hydroxyl rule cannot exclude the point the proof uses).
      ``tests/test_structures_limits.py`` checks it against the exhaustive optimum.

    With the 5 000-atom ceiling (N ≤ 500) a pattern takes well under a second.
    """
    al = np.nonzero(atoms.numbers == 13)[0]
    if count < 0 or count > len(al):
        raise AtomisticsError(
            f"cannot substitute {count} Mg: the cell has {len(al)} octahedral Al. "
            f"Use 0 <= mg <= {len(al)} or a larger supercell."
        )
    if count == 0:
        return []
    rng = np.random.default_rng(seed)
    kinds = _classify_oxygens(atoms)
    i, j, d = neighbor_list("ijd", atoms, 2.3)
    # Al × hydroxyl incidence; two Al share a hydroxyl when their rows overlap.
    row = {int(a): k for k, a in enumerate(al)}
    col = {int(o): k for k, o in enumerate(kinds["hydroxyl"])}
    incidence = np.zeros((len(al), max(len(col), 1)), dtype=np.int32)
    for a, o in zip(i, j, strict=True):
        if int(a) in row and int(o) in col:
            incidence[row[int(a)], col[int(o)]] = 1
    shares = (incidence @ incidence.T) > 0
    np.fill_diagonal(shares, False)
    dist = _pairwise_mic(atoms, al)
    # minimum image ignores the site's own periodic images; a single Mg is fine.
    if math.comb(len(al), count) <= MAX_EXHAUSTIVE_PATTERNS:
        combos = np.array(list(itertools.combinations(range(len(al)), count)), dtype=int)
        if count == 1:
            score = np.full(len(combos), np.inf)
            valid = np.ones(len(combos), bool)
        else:
            pairs = np.array(list(itertools.combinations(range(count), 2)))
            a, b = combos[:, pairs[:, 0]], combos[:, pairs[:, 1]]
            valid = ~shares[a, b].any(axis=1)
            score = dist[a, b].min(axis=1)
        if not valid.any():
            raise AtomisticsError(
                f"cannot place {count} Mg in this cell without two Mg sharing a hydroxyl: "
                "use fewer Mg or a larger supercell."
            )
        best = score[valid].max()
        winners = np.nonzero(valid & (score >= best - 1e-3))[0]
        chosen = combos[rng.choice(winners)]
        return sorted(int(al[k]) for k in chosen)
    chosen = [int(rng.integers(len(al)))]
    while len(chosen) < count:
        allowed = [k for k in range(len(al)) if k not in chosen and not shares[k, chosen].any()]
        if not allowed:
            raise AtomisticsError(
                f"cannot place {count} Mg in this cell without two Mg sharing a hydroxyl: "
                "use fewer Mg or a larger supercell."
            )
        score = dist[np.ix_(allowed, chosen)].min(axis=1)
        top = [allowed[k] for k in np.nonzero(score >= score.max() - 1e-3)[0]]
        chosen.append(int(rng.choice(top)))
    return sorted(int(al[k]) for k in chosen)


def _substitute_and_balance(
    layer: Atoms, mg: int | None, seed: int, n_fu: int, mg_sites: list[int] | None
) -> list[int]:
    count = default_mg_count(n_fu) if mg is None else int(mg)
    if mg_sites is not None:
        sites = sorted(int(s) for s in mg_sites)
        bad = [s for s in sites if s >= len(layer) or layer[s].symbol != "Al"]
        if bad or len(set(sites)) != len(sites):
            raise AtomisticsError(
                f"mg_sites {bad or sites} are not distinct octahedral Al indices of the layer."
            )
    else:
        sites = choose_mg_sites(layer, count, seed)
    symbols = layer.get_chemical_symbols()
    for s in sites:
        symbols[s] = "Mg"
    layer.set_chemical_symbols(symbols)
    return sites


def _layer_supercell(n: int, m: int) -> Atoms:
    """One 2:1 layer, n×m in-plane, cell a,b in-plane and c along z (placeholder length)."""
    ref = load_pyrophyllite()
    a, b = ref.cell[0], ref.cell[1]
    if abs(a[2]) > 1e-8 or abs(b[2]) > 1e-8:  # ASE puts a ∥ x and b in xy
        raise AtomisticsError("reference cell must have a and b in the xy plane")
    layer = Atoms(
        ref.get_chemical_symbols(),
        positions=_layer_centered(ref),
        cell=[a, b, [0.0, 0.0, 100.0]],
        pbc=[True, True, False],
    )
    layer.arrays["clay"] = np.ones(len(layer), dtype=bool)
    layer.wrap()
    return layer.repeat((n, m, 1))


def build_limmt_slab(
    supercell: tuple[int, int] = (2, 2),
    vacuum: float = DEFAULT_VACUUM,
    mg: int | None = None,
    seed: int = 0,
    li_height: float = DEFAULT_LI_HEIGHT,
    mg_sites: list[int] | None = None,
    max_atoms: int | None = None,
) -> Atoms:
    """LiMMT(001) slab: one 2:1 layer, n×m in plane, Li⁺ over cavities, vacuum along z.

    The c axis is orthogonal (c ∥ z) with ``vacuum`` Å of empty space between the
    outermost atoms of periodic images; ``pbc = (True, True, False)`` (ASE slab
    convention). Each Mg gets one Li⁺ over a ditrigonal cavity, on the top and
    bottom faces alternately (so an even count gives a symmetric, dipole-free
    slab), each over the free cavity nearest (in-plane) to its Mg, at
    ``li_height`` Å above (below) the mean basal-oxygen plane.

    Returns an ``Atoms`` with ``info`` ``charge=0``, ``spin_multiplicity=1``,
    ``mg_sites``, ``li_faces`` and ``arrays['clay']`` marking the layer atoms.
    """
    n, m = _check_supercell(supercell)
    if isinstance(vacuum, bool) or not isinstance(vacuum, int | float | np.floating):
        raise AtomisticsError(f"vacuum must be a positive length in Å, got {vacuum!r}.")
    vacuum = finite(vacuum, "vacuum (Å)")
    if not vacuum > 0:
        raise AtomisticsError(f"vacuum must be a positive length in Å, got {vacuum!r}.")
    if vacuum > MAX_VACUUM:
        raise AtomisticsError(
            f"vacuum {vacuum:g} Å is above {MAX_VACUUM:g} Å: no slab model needs that much "
            "(the paper uses about 15 Å); give e.g. --vacuum 15."
        )
    li_height = finite(li_height, "li_height (Å)")
    seed = _check_seed(seed)
    _check_size(n, m, mg, max_atoms, "LiMMT slab")
    if not 0.0 < li_height <= 3.0:
        raise AtomisticsError(
            f"li_height must be in (0, 3] Å above the basal-oxygen plane, got {li_height}."
        )
    layer = _layer_supercell(n, m)
    sites = _substitute_and_balance(layer, mg, seed, FORMULA_UNITS_PER_CELL * n * m, mg_sites)
    cavities = {face: cavity_centres(layer, face) for face in ("top", "bottom")}
    used: dict[str, set[int]] = {"top": set(), "bottom": set()}
    li_positions, faces = [], []
    for k, site in enumerate(sites):
        face = "top" if k % 2 == 0 else "bottom"
        vec = cavities[face] - layer.positions[site]
        vec[:, 2] = 0.0
        _, dist = find_mic(vec, layer.cell, layer.pbc)
        order = [c for c in np.argsort(dist) if c not in used[face]]
        if not order:
            raise AtomisticsError(
                f"no free cavity left on the {face} face for Li⁺: use fewer Mg or a larger supercell."
            )
        used[face].add(int(order[0]))
        pos = cavities[face][order[0]].copy()
        pos[2] += li_height if face == "top" else -li_height
        li_positions.append(pos)
        faces.append(face)
    slab = layer.copy()
    if li_positions:
        li = Atoms(["Li"] * len(li_positions), positions=li_positions)
        li.arrays["clay"] = np.zeros(len(li), dtype=bool)
        slab += li
    z = slab.positions[:, 2]
    thickness = float(z.max() - z.min())
    slab.cell[2] = [0.0, 0.0, thickness + float(vacuum)]
    slab.positions[:, 2] += -z.min() + 0.5 * float(vacuum)
    slab.wrap()
    slab.info = {
        "name": "limmt_slab",
        "charge": 0,
        "spin_multiplicity": 1,
        "clay_charge": -len(sites),
        "mg_sites": sites,
        "li_faces": faces,
        "supercell": [n, m],
        "vacuum": float(vacuum),
        "seed": int(seed),
    }
    return slab


def build_montmorillonite_bulk(
    supercell: tuple[int, int] = (1, 1),
    mg: int | None = None,
    seed: int = 0,
    d001: float = LIMMT_D001,
    cation: str = "Li",
    max_atoms: int | None = None,
) -> Atoms:
    """Bulk Li-montmorillonite: pyrophyllite layers with Al→Mg and interlayer cations.

    The stacking vector keeps the direction of pyrophyllite's c axis and is
    scaled so that the layer repeat distance normal to (001) equals ``d001``
    (default 12.42 Å, the paper's XRD for LiMMT; 13.28 Å for Ca-MMT). The
    interlayer water that such spacings imply is not modelled: cations sit at
    mid-gallery over the cavity nearest to their Mg. ``cation`` is 'Li' or 'Na'
    (monovalent: one per Mg).
    """
    n, m = _check_supercell(supercell)
    d001 = finite(d001, "d001 (Å)")
    seed = _check_seed(seed)
    _check_size(n, m, mg, max_atoms, "montmorillonite bulk cell")
    if not d001 < MAX_VACUUM:
        raise AtomisticsError(f"d001 = {d001:g} Å is not a basal spacing: use e.g. 12.42 Å.")
    if cation not in ("Li", "Na"):
        raise AtomisticsError(f"cation must be 'Li' or 'Na' (monovalent), got {cation!r}.")
    ref = load_pyrophyllite()
    layer_thickness = float(np.ptp(ref.positions[:, 2]))
    if not d001 > layer_thickness + 1.0:
        raise AtomisticsError(
            f"d001 = {d001} Å is too small for a {layer_thickness:.2f} Å thick 2:1 layer; "
            "use the measured basal spacing (LiMMT 12.42 Å, Ca-MMT 13.28 Å)."
        )
    c_old = ref.cell[2]
    c_new = c_old * (d001 / c_old[2])
    bulk = Atoms(
        ref.get_chemical_symbols(),
        positions=_layer_centered(ref) + 0.5 * c_new,
        cell=[ref.cell[0], ref.cell[1], c_new],
        pbc=True,
    )
    bulk.arrays["clay"] = np.ones(len(bulk), dtype=bool)
    bulk = bulk.repeat((n, m, 1))
    sites = _substitute_and_balance(bulk, mg, seed, FORMULA_UNITS_PER_CELL * n * m, None)
    cavities = cavity_centres(bulk, "top")
    used: set[int] = set()
    z_gallery = 0.5 * c_new[2] + 0.5 * d001  # mid-plane between this layer and the next
    positions = []
    for site in sites:
        vec = cavities - bulk.positions[site]
        vec[:, 2] = 0.0
        _, dist = find_mic(vec, bulk.cell, bulk.pbc)
        free = [c for c in np.argsort(dist) if c not in used]
        used.add(int(free[0]))
        pos = cavities[free[0]].copy()
        pos[2] = z_gallery
        positions.append(pos)
    if positions:
        ions = Atoms([cation] * len(positions), positions=positions)
        ions.arrays["clay"] = np.zeros(len(ions), dtype=bool)
        bulk += ions
    bulk.wrap()
    bulk.info = {
        "name": f"{cation.lower()}mmt_bulk",
        "charge": 0,
        "spin_multiplicity": 1,
        "clay_charge": -len(sites),
        "mg_sites": sites,
        "d001": float(d001),
        "supercell": [n, m],
        "seed": int(seed),
    }
    return bulk


def interlayer_spacing(atoms: Atoms) -> float:
    """d001: the layer repeat distance normal to the ab plane (cell height along z)."""
    normal = np.cross(atoms.cell[0], atoms.cell[1])
    normal /= np.linalg.norm(normal)
    return float(abs(np.dot(atoms.cell[2], normal)))
