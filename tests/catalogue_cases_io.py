"""Issue-16 bad-input cases (io part), merged into tests/test_bad_input_catalogue.py's CASES.

Same tuple shape as there: (id, argv, setup-or-None, *marks). Helpers for setups are
imported from test_bad_input_catalogue's module-level functions where needed.

Items: 11 (``start_from`` geometries outside the cell / not adsorbed), 12 (``inputs
--ranks 0``), 13 (a binary LaunchPad file), 14 (a corrupt ``FW_config.yaml``), 20 (binary
bytes in a CP2K input are still refused; a Latin-1 comment is accepted, see
tests/test_issue16_io_inputs.py).
"""

from __future__ import annotations

import random
from pathlib import Path

from catalogue_setup import both, write
from mini_study import MINI_STUDY

ADSORBATE_STUDY = """\
name: s
systems:
  slab: {kind: limmt-slab}
  ads: {kind: adsorbate, slab: slab, adsorbate: FSI-%s}
"""
START_FROM_STUDY = ADSORBATE_STUDY % ", start_from: placed.extxyz"
GOOD_STUDY = """\
name: ok
systems:
  li: {kind: molecule, species: Li+}
"""
FW_CONFIG = (
    'MongoClient: {"@module": atomistics.fireworks.embedded, "@callable": EmbeddedMongoClient}\n'
)


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def placed_file(dz: float, cell_height: float | None = None):
    """A setup writing placed.extxyz: the study's own ``ads`` system, its adsorbate moved up
    by ``dz`` Å (and the file's cell height set to ``cell_height`` Å)."""

    def setup(cwd: Path) -> None:
        import ase.io

        from atomistics.study import build_study_structures, parse_study

        atoms = build_study_structures(parse_study(ADSORBATE_STUDY % ""))["ads"]
        atoms.positions[atoms.arrays["adsorbate"].astype(bool), 2] += dz
        if cell_height is not None:
            cell = atoms.cell.array.copy()
            cell[2, 2] = cell_height
            atoms.set_cell(cell)
        ase.io.write(cwd / "placed.extxyz", atoms, format="extxyz")

    return setup


def embedded_launchpad(cwd: Path) -> None:
    """my_launchpad.yaml of an embedded LaunchPad in ``cwd`` (the store file need not exist)."""
    (cwd / "my_launchpad.yaml").write_text(f"host: embedded:{cwd / 'launchpad.json'}\n")


START_FROM = write("s.yaml", START_FROM_STUDY)
BROKEN_FW_CONFIG = FW_CONFIG + "LAUNCHPAD_LOC: [unclosed\n  : x\n"

CASES: list = [
    # --- 11: start_from geometries --------------------------------------------------------
    (
        "start-from-adsorbate-500A-above-cell",
        ["build", "s.yaml", "-o", "out"],
        both(START_FROM, placed_file(500.0)),
    ),
    (
        "start-from-adsorbate-below-cell",
        ["build", "s.yaml", "-o", "out"],
        both(START_FROM, placed_file(-30.0)),
    ),
    (
        "start-from-not-adsorbed",
        ["build", "s.yaml", "-o", "out"],
        both(START_FROM, placed_file(500.0, cell_height=600.0)),
    ),
    (
        "start-from-outside-the-slab-cell",
        ["build", "s.yaml", "-o", "out"],
        both(START_FROM, placed_file(4.0, cell_height=40.0)),
    ),
    (
        "inputs-start-from-above-cell",
        ["inputs", "s.yaml", "-o", "inp"],
        both(START_FROM, placed_file(500.0)),
    ),
    # --- 12: inputs --ranks ----------------------------------------------------------------
    (
        "inputs-ranks-zero",
        ["inputs", "s.yaml", "-o", "inp", "--ranks", "0"],
        write("s.yaml", GOOD_STUDY),
    ),
    (
        "inputs-ranks-negative",
        ["inputs", "s.yaml", "-o", "inp", "--ranks", "-3"],
        write("s.yaml", GOOD_STUDY),
    ),
    # --- 13: a binary LaunchPad file -------------------------------------------------------
    (
        "status-launchpad-binary",
        ["status", "--launchpad", "lp.yaml"],
        write("lp.yaml", random_bytes(200, 13)),
    ),
    (
        "submit-launchpad-binary",
        ["submit", "mini.yaml", "--launchpad", "lp.yaml"],
        both(write("mini.yaml", MINI_STUDY), write("lp.yaml", random_bytes(200, 13))),
    ),
    (
        "status-embedded-launchpad-binary",
        ["status"],
        write("my_launchpad.yaml", random_bytes(200, 14)),
    ),
    (
        "submit-embedded-launchpad-binary",
        ["submit", "mini.yaml"],
        both(write("mini.yaml", MINI_STUDY), write("my_launchpad.yaml", random_bytes(200, 14))),
    ),
    (
        "status-launchpad-nul-bytes",
        ["status", "--launchpad", "lp.yaml"],
        write("lp.yaml", b"host: localhost\x00\x01\n"),
    ),
    # --- 14: a corrupt FW_config.yaml ------------------------------------------------------
    (
        "status-fw-config-not-yaml",
        ["status"],
        both(embedded_launchpad, write("FW_config.yaml", BROKEN_FW_CONFIG)),
    ),
    (
        "status-fw-config-binary",
        ["status"],
        both(embedded_launchpad, write("FW_config.yaml", random_bytes(200, 15))),
    ),
    (
        "submit-fw-config-not-yaml",
        ["submit", "mini.yaml", "--launchpad", "lp.yaml"],
        both(
            write("mini.yaml", MINI_STUDY),
            write("lp.yaml", "host: localhost\n"),
            write("FW_config.yaml", BROKEN_FW_CONFIG),
        ),
    ),
    # --- 20: binary bytes in a CP2K input (a Latin-1 comment is accepted) ---------------------
    ("validate-nul-in-utf8", ["validate", "n.inp"], write("n.inp", b"&GLOBAL\n\x00\x00\n&END\n")),
    (
        "validate-latin1-with-control-bytes",
        ["validate", "c.inp"],
        write("c.inp", "! café\n&GLOBAL\n".encode("latin-1") + b"\x01\x02\x1b\n&END GLOBAL\n"),
    ),
]
