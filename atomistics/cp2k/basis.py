"""Per-element basis set and pseudopotential resolution from CP2K's own data files.

A *basis family* names a basis set in a basis file and the matching GTH potential in a
potential file, with ``{q}`` standing for the number of valence electrons. The basis and the
potential of an element must have the same valence ``q``: the basis' valence is read from the
``-qN`` name on its header line, the potential's from its electron-count line.

For each element the families of a stage are tried in the declared preference order
(see :mod:`atomistics.cp2k.protocol`); within a family the largest valence wins (semicore, as
the MOLOPT-SR sets use: Li q3, Mg q10, Na q9). The files are those of the CP2K that will run,
so a data directory without a set is detected before a job is submitted. The files are read
with pymatgen's CP2K data-file readers (as atomate2 does), through one small workaround for
CP2K's placeholder entries (:func:`_pymatgen_readable`).
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from atomistics.errors import AtomisticsError


@dataclass(frozen=True)
class BasisFamily:
    """A basis set name pattern and the potential to pair it with."""

    basis_file: str
    basis: str  # may contain {q}
    potential_file: str
    potential: str  # contains {q}
    description: str = ""


# Families that the presets refer to by id. Potentials: GTH_POTENTIALS holds the
# Goedecker–Teter–Hutter/Krack PBE set the MOLOPT bases were made for; the UZH bases were
# optimised with the re-fitted potentials of POTENTIAL_UZH (same names, slightly different
# numbers), so each family names its own potential file and the input sets it per kind.
FAMILIES: dict[str, BasisFamily] = {
    "DZVP-MOLOPT-SR-GTH": BasisFamily(
        "BASIS_MOLOPT",
        "DZVP-MOLOPT-SR-GTH",
        "GTH_POTENTIALS",
        "GTH-PBE-q{q}",
        "VandeVondele & Hutter 2007, short-range DZVP (the paper's stage-1 basis)",
    ),
    "DZVP-MOLOPT-GTH": BasisFamily(
        "BASIS_MOLOPT",
        "DZVP-MOLOPT-GTH",
        "GTH_POTENTIALS",
        "GTH-PBE-q{q}",
        "VandeVondele & Hutter 2007, DZVP",
    ),
    "TZVP-MOLOPT-GTH": BasisFamily(
        "BASIS_MOLOPT",
        "TZVP-MOLOPT-GTH",
        "GTH_POTENTIALS",
        "GTH-PBE-q{q}",
        "VandeVondele & Hutter 2007, TZVP (H, C, N, O, F, Si, P, S, ...; not Li, Na, Mg, Al, Ca)",
    ),
    "TZVP-MOLOPT-PBE-GTH-UZH": BasisFamily(
        "BASIS_MOLOPT_UZH",
        "TZVP-MOLOPT-PBE-GTH-q{q}",
        "POTENTIAL_UZH",
        "GTH-PBE-q{q}",
        "UZH MOLOPT TZVP for PBE, paired with the UZH GTH-PBE potential of the same valence",
    ),
    "DZVP-MOLOPT-PBE-GTH-UZH": BasisFamily(
        "BASIS_MOLOPT_UZH",
        "DZVP-MOLOPT-PBE-GTH-q{q}",
        "POTENTIAL_UZH",
        "GTH-PBE-q{q}",
        "UZH MOLOPT DZVP for PBE with the UZH GTH-PBE potential",
    ),
    "SZV-MOLOPT-SR-GTH": BasisFamily(
        "BASIS_MOLOPT",
        "SZV-MOLOPT-SR-GTH",
        "GTH_POTENTIALS",
        "GTH-PBE-q{q}",
        "single-zeta short-range MOLOPT (quick preset only; not for production)",
    ),
}


@dataclass(frozen=True)
class ElementBasis:
    """What one element got."""

    element: str
    family: str
    basis: str
    basis_file: str
    potential: str
    potential_file: str
    valence: int
    n_functions: int  # spherical basis functions per atom (for the ADDED_MOS cap)

    def as_dict(self) -> dict:
        return asdict(self)


def _pymatgen_readable(text: str) -> str:
    """CP2K data-file text in the form pymatgen's readers accept.

    Workaround (pymatgen 2024–2026, ``pymatgen.io.cp2k``): CP2K reads element symbols
    case-insensitively and marks missing potentials with an entry whose body is the line
    ``NA``, but pymatgen's ``chunk`` starts a new entry at every alphabetic first word (so
    ``NA`` becomes an entry) and ``Element("NA")`` fails (BASIS_MOLOPT_UZH writes ``NA`` and
    ``GE`` for Na and Ge). Drop the ``NA`` placeholder lines and capitalise the symbols; the
    placeholder headers left without a body are skipped by :func:`_read_entries`.
    """
    text = re.sub(r"^[ \t]*NA[ \t]*$", "", text, flags=re.M)
    return re.sub(r"^([A-Za-z]{1,2})(?=[ \t])", lambda m: m.group(1).capitalize(), text, flags=re.M)


@functools.lru_cache(maxsize=32)
def _read_entries(path: Path, mtime: int, kind: str) -> tuple:
    """Every entry of a BASIS (``kind`` "basis") or GTH POTENTIAL file, read by pymatgen.

    Entries pymatgen cannot read (placeholders without a body, non-GTH formats) are
    skipped: they cannot be used by an input of ours either.
    """
    from pymatgen.io.cp2k.inputs import GaussianTypeOrbitalBasisSet, GthPotential
    from pymatgen.io.cp2k.utils import chunk

    reader = GaussianTypeOrbitalBasisSet if kind == "basis" else GthPotential
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about names it cannot classify
        for entry in chunk(_pymatgen_readable(path.read_text(errors="replace"))):
            try:
                out.append(reader.from_str(entry))
            except (ValueError, IndexError, KeyError):
                continue
    return tuple(out)


def _n_functions(basis) -> int:
    """Spherical functions of one basis set: per set, shells of l times (2l + 1)."""
    return sum(
        n * (2 * int(l) + 1)
        for shells in basis.nshell
        for l, n in shells.items()  # noqa: E741
    )


@functools.lru_cache(maxsize=32)
def _basis_functions(path: Path, mtime: int) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for b in _read_entries(path, mtime, "basis"):
        for name in (b.name, *b.alias_names):
            out.setdefault((b.element.symbol, name), _n_functions(b))
    return out


@functools.lru_cache(maxsize=32)
def _smallest_exponents(path: Path, mtime: int) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for b in _read_entries(path, mtime, "basis"):
        alpha = min(min(float(e) for e in exps) for exps in b.exponents)
        for name in (b.name, *b.alias_names):
            out.setdefault((b.element.symbol, name), alpha)
    return out


def smallest_exponents(data_dir: Path, basis_file: str) -> dict[tuple[str, str], float]:
    """(element, basis name) -> the most diffuse Gaussian exponent (bohr⁻²) of that basis:
    what sets how far its functions reach (:func:`atomistics.cp2k.resources.basis_pairs`)."""
    path = _data_file(Path(data_dir), basis_file)
    return _smallest_exponents(path, int(path.stat().st_mtime))


@functools.lru_cache(maxsize=32)
def _basis_names(path: Path, mtime: int) -> dict[str, tuple[str, ...]]:
    """element -> all basis names (header lines) in a basis file."""
    names: dict[str, list[str]] = {}
    for b in _read_entries(path, mtime, "basis"):
        names.setdefault(b.element.symbol, []).extend((b.name, *b.alias_names))
    return {el: tuple(v) for el, v in names.items()}


@functools.lru_cache(maxsize=32)
def _potentials(path: Path, mtime: int) -> dict[tuple[str, str], int]:
    """(element, name) -> valence electrons, for every potential in a potential file."""
    out: dict[tuple[str, str], int] = {}
    for p in _read_entries(path, mtime, "potential"):
        for name in (p.name, *p.alias_names):
            out.setdefault((p.element.symbol, name), int(sum(p.n_elecs.values())))
    return out


def _data_file(data_dir: Path, name: str) -> Path:
    path = Path(name) if Path(name).is_absolute() else Path(data_dir) / name
    if not path.is_file():
        raise AtomisticsError(
            f"CP2K data file {path} does not exist: check CP2K_DATA_DIR (now resolving to "
            f"{data_dir}) points at the data directory of the CP2K that will run."
        )
    return path


def basis_names(data_dir: Path, basis_file: str) -> dict[str, tuple[str, ...]]:
    path = _data_file(data_dir, basis_file)
    return _basis_names(path, path.stat().st_mtime_ns)


def potential_valences(data_dir: Path, potential_file: str) -> dict[tuple[str, str], int]:
    path = _data_file(data_dir, potential_file)
    return _potentials(path, path.stat().st_mtime_ns)


def basis_function_counts(data_dir: Path, basis_file: str) -> dict[tuple[str, str], int]:
    """(element, basis name) -> spherical basis functions, for every set in a basis file."""
    path = _data_file(data_dir, basis_file)
    return _basis_functions(path, path.stat().st_mtime_ns)


def _pattern(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(r"\{q\}", r"(\d+)") + "$")


def resolve_family(element: str, family_id: str, data_dir: Path) -> ElementBasis | None:
    """The basis/potential of ``family_id`` for ``element``, or None when the files lack it."""
    fam = FAMILIES[family_id]
    names = basis_names(data_dir, fam.basis_file).get(element, ())
    pots = potential_valences(data_dir, fam.potential_file)
    pat = _pattern(fam.basis)
    candidates: list[tuple[int, str]] = []  # (valence, basis name as written in the input)
    if "{q}" in fam.basis:
        for name in names:
            m = pat.match(name)
            if m:
                candidates.append((int(m.group(1)), name))
    elif fam.basis in names:
        # the valence of a set without {q} in its name comes from its "-qN" alias
        qalias = _pattern(fam.basis + "-q{q}")
        for name in names:
            m = qalias.match(name)
            if m:
                candidates.append((int(m.group(1)), fam.basis))
    nfun = basis_function_counts(data_dir, fam.basis_file)
    for q, bname in sorted(set(candidates), reverse=True):
        pname = fam.potential.format(q=q)
        if pots.get((element, pname)) == q:
            return ElementBasis(
                element,
                family_id,
                bname,
                fam.basis_file,
                pname,
                fam.potential_file,
                q,
                nfun.get((element, bname), 0),
            )
    return None


def available_sets(
    element: str, data_dir: Path, files: tuple[str, ...] = ("BASIS_MOLOPT", "BASIS_MOLOPT_UZH")
) -> list[str]:
    """Basis names an element has in the given files (for error messages)."""
    out = []
    for f in files:
        try:
            out += [f"{f}:{n}" for n in basis_names(data_dir, f).get(element, ())]
        except AtomisticsError:
            continue
    return out


def resolve_basis(
    elements: list[str], families: list[str], data_dir: Path
) -> dict[str, ElementBasis]:
    """Resolve every element through the family preference list; errors list what exists."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise AtomisticsError(f"unknown basis family {unknown}: choose from {', '.join(FAMILIES)}.")
    out: dict[str, ElementBasis] = {}
    missing = []
    for el in sorted(set(elements)):
        for fam in families:
            got = resolve_family(el, fam, data_dir)
            if got:
                out[el] = got
                break
        else:
            missing.append(el)
    if missing:
        lines = []
        for el in missing:
            sets = available_sets(el, data_dir)
            shown = ", ".join(sets[:12]) + (f", ... ({len(sets)} in all)" if len(sets) > 12 else "")
            lines.append(f"  {el}: available {shown or 'nothing'}")
        raise AtomisticsError(
            f"no basis set/potential pair for {', '.join(missing)} in {data_dir} with the families "
            f"{families}; add a family that has them (override 'basis_families'):\n"
            + "\n".join(lines)
        )
    return out
