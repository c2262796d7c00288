"""Cut the CP2K data-file subset in this folder from a CP2K data directory (run by hand).

    python tests/data/cp2k_data/make_subset.py /usr/share/cp2k

Keeps, for the elements the tests and the study use, the basis sets of the families in
atomistics.cp2k.basis.FAMILIES and the GTH-PBE potentials, verbatim (CP2K 2023.1 files),
so that input generation is tested without a CP2K install.
"""

import re
import sys
from pathlib import Path

ELEMENTS = {"H", "Li", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl"}
KEEP = {
    "BASIS_MOLOPT": r"^(SZV|DZVP|TZVP)-MOLOPT-(SR-)?GTH(-q\d+)?$",
    "BASIS_MOLOPT_UZH": r"^(DZVP|TZVP)-MOLOPT-PBE-GTH-q\d+$",
    "GTH_POTENTIALS": r"^GTH-PBE-q\d+$",
    "POTENTIAL_UZH": r"^GTH-PBE-q\d+$",
}


def entries(text: str):
    """(header words, lines) of every entry: a header starts with an element symbol."""
    current = None
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if (
            words
            and re.fullmatch(r"[A-Za-z]{1,2}", words[0])
            and len(words) > 1
            and not re.match(r"^[-+\d.]", words[1])
        ):
            current = (words, [line])
            yield current
        elif current is not None and words:
            current[1].append(line)


src = Path(sys.argv[1])
here = Path(__file__).parent
for name, pattern in KEEP.items():
    kept = [f"# subset of CP2K 2023.1 data/{name} for the atomistics tests (make_subset.py)"]
    for words, lines in list(entries((src / name).read_text())):
        if words[0].capitalize() in ELEMENTS and any(re.match(pattern, w) for w in words[1:]):
            kept += lines
    (here / name).write_text("\n".join(kept) + "\n")
