"""Issue-16 bad-input cases (bridge part), merged into tests/test_bad_input_catalogue.py's CASES.

Same tuple shape as there: (id, argv, setup-or-None, *marks). Helpers for setups are
imported from test_bad_input_catalogue's module-level functions where needed.

Items: 7 (cell temperature of the bridge), 9 (dG spread), 10 (a charged binding energy as
the exchange reaction), 16 (--protocol), 18 (sand --length and the other sand inputs),
21 (one cell-temperature rule for tafel, arrhenius and the bridge); issue 19 items 1, 2
and 6 (the structural fixed charge, the coating geometry, a c0 other than 6 M). Issue 19
item 7's inputs are valid physics that hung or printed nonsense: ``VALID_CASES``.
"""

from __future__ import annotations

import re
from pathlib import Path

from catalogue_setup import write

DATA = Path(__file__).resolve().parent / "data"
TAFEL = ["analyze", "tafel", str(DATA / "tafel.csv")]
SAND = ["sand", "--c0", "1 mol/L", "--diffusivity", "3e-10 m^2/s"]
SAND_J = ["--current-density", "1 mA/cm^2", "--t-plus", "0.3"]
EXCHANGE = ["bridge", "--exchange-energy=-0.5 eV"]
DB = ["bridge", "--db", "r.db", "--study", "s"]

# the three-ion study of tests/mini_study.py with a bridge section naming its binding energy
STUDY = """\
name: s
engine: xtb
systems:
  fsi: {{kind: molecule, species: FSI-, conformer: C2}}
  li: {{kind: molecule, species: Li+}}
  li_fsi: {{kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}}
binding_energies:
  li_fsi: {{complex: li_fsi, fragments: [li, fsi]}}
bridge:
  exchange: li_fsi
  {bridge}
"""

# degC values under a column labelled K: the commonest Arrhenius slip
ARRHENIUS_DEGC_AS_K = "temperature [K],resistance [ohm]\n25,50\n35,41.8\n45,35.3\n55,30.1\n"


def two_protocols_db(cwd: Path) -> None:
    """r.db: study 's' run with GFN1-xTB and GFN2-xTB, each with a neutral exchange
    reaction 'ex' and the paper's charged-fragment binding energy 'be' (li + fsi -> lifsi)."""
    from atomistics import db as dbmod
    from atomistics.reactions import ReactionEnergy

    db = dbmod.connect(cwd / "r.db")
    for protocol, e_ex, e_be in (("GFN1-xTB", -0.4, -8.4), ("GFN2-xTB", -0.6, -8.2)):
        entries = [
            ReactionEnergy(
                name="ex",
                reactants={"slab": 1.0, "pair": 1.0},
                products={"slab_pair": 1.0},
                energy_ev=e_ex,
                energy_raw_ev=e_ex,
                engine="xtb",
                protocol=protocol,
            ),
            ReactionEnergy(
                name="be",
                reactants={"li": 1.0, "fsi": 1.0},
                products={"lifsi": 1.0},
                energy_ev=e_be,
                energy_raw_ev=e_be,
                engine="xtb",
                protocol=protocol,
                charged=True,
            ),
        ]
        dbmod.write_reactions(db, "s", "xtb", protocol, entries)


CASES: list = [
    # --- item 7 / 21: the bridge's temperature (T <= 7 K overflowed exp(-dG/kT)) -------
    ("bridge-temperature-1K", [*EXCHANGE, "--temperature", "1 K"], None),
    ("bridge-temperature-7K", [*EXCHANGE, "--temperature", "7 K"], None),
    ("bridge-temperature-25-as-K", [*EXCHANGE, "--temperature", "25"], None),
    ("bridge-temperature-298degC", [*EXCHANGE, "--temperature", "298 degC"], None),
    (
        "study-bridge-temperature-4K",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", STUDY.format(bridge="electrolyte: {temperature: 4 K}")),
    ),
    # --- item 9: dG spread -------------------------------------------------------------
    ("bridge-dg-spread-1e300", ["bridge", "--delta-g=-0.3 eV", "--dg-spread", "1e300 eV"], None),
    ("bridge-dg-spread-source-1e300", [*EXCHANGE, "--dg-spread", "x=1e300 eV"], None),
    ("bridge-dg-spread-11eV", [*EXCHANGE, "--dg-spread", "site=0.1 eV,xtb=11 eV"], None),
    (
        "study-bridge-dg-spread-1e300",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", STUDY.format(bridge="dg_spread: {x: 1.0e+300 eV}")),
    ),
    # --- item 10: a charged-fragment binding energy named as the exchange reaction ------
    (
        "bridge-db-exchange-is-charged-binding",
        [*DB, "--protocol", "GFN1-xTB", "--exchange-name", "be"],
        two_protocols_db,
    ),
    # --- item 16: two protocols in the database ----------------------------------------
    ("bridge-db-two-protocols", [*DB, "--exchange-name", "ex"], two_protocols_db),
    ("bridge-db-protocol-absent", [*DB, "--protocol", "GFN3-xTB"], two_protocols_db),
    ("bridge-protocol-without-db", [*EXCHANGE, "--protocol", "GFN1-xTB"], None),
    # --- item 18: sand --length and the other sand inputs -------------------------------
    ("sand-length-1e-300m", [*SAND, *SAND_J, "--length", "1e-300 m", "--numerical"], None),
    ("sand-length-1e300m", [*SAND, *SAND_J, "--length", "1e300 m"], None),
    ("sand-length-10nm", [*SAND, *SAND_J, "--length", "10 nm", "--numerical"], None),
    ("sand-length-1m", [*SAND, *SAND_J, "--length", "1 m"], None),
    ("sand-c0-1e-300", ["sand", "--c0", "1e-300 mol/L", *SAND[3:], *SAND_J], None),
    ("sand-current-1e300", [*SAND, "--current-density", "1e300 A/m^2", "--t-plus", "0.3"], None),
    ("sand-diffusivity-1e300", [*SAND[:3], "--diffusivity", "1e300 m^2/s", *SAND_J], None),
    ("sand-porosity-1e-300", [*SAND, *SAND_J, "--porosity", "1e-300", "--numerical"], None),
    ("sand-tortuosity-1e300", [*SAND, *SAND_J, "--tortuosity", "1e300"], None),
    ("sand-bruggeman-0.5", [*SAND, *SAND_J, "--porosity", "0.4", "--bruggeman", "0.5"], None),
    ("sand-rtol-1e-300", [*SAND, *SAND_J, "--rtol", "1e-300", "--numerical"], None),
    # --- issue 19, items 1, 2, 6: structural charge, a coating that exists, c0 != 6 M ----
    ("bridge-c0-1M-without-d-and-tplus", [*EXCHANGE, "--c0", "1 mol/L"], None),
    ("bridge-c0-1M-without-d", [*EXCHANGE, "--c0", "1 mol/L", "--t-plus", "0.4"], None),
    ("bridge-c0-negative", [*EXCHANGE, "--c0", "-1 mol/L"], None),
    (
        "bridge-coating-paper-2um-0.57mg",
        [*EXCHANGE, "--coating-thickness", "2 um", "--loading", "0.57 mg/cm^2"],
        None,
    ),
    (
        "bridge-coating-three-disagree",
        [*EXCHANGE, "--coating-thickness", "5 um", "--loading", "0.57 mg/cm^2"]
        + ["--coating-porosity", "0.35"],
        None,
    ),
    ("bridge-coating-porosity-1", [*EXCHANGE, "--coating-porosity", "1"], None),
    ("bridge-coating-porosity-1e-4", [*EXCHANGE, "--coating-porosity", "1e-4"], None),
    ("bridge-fixed-charge-negative", [*EXCHANGE, "--fixed-charge", "-1 mol/m^3"], None),
    ("bridge-fixed-charge-1e300", [*EXCHANGE, "--fixed-charge", "1e300 mol/m^3"], None),
    ("bridge-fixed-charge-no-unit", [*EXCHANGE, "--fixed-charge", "250"], None),
    ("bridge-fixed-charge-energy", [*EXCHANGE, "--fixed-charge", "250 eV"], None),
    ("bridge-accessible-fraction-1.5", [*EXCHANGE, "--accessible-fraction", "1.5"], None),
    ("bridge-layer-charge-3", [*EXCHANGE, "--layer-charge", "3"], None),
    ("bridge-active-fraction-0", [*EXCHANGE, "--active-fraction", "0"], None),
    # issue 19 item 4: the local current of the real cell's Sand's time
    ("bridge-local-current-no-unit", [*EXCHANGE, "--local-current", "1500"], None),
    ("bridge-local-current-below-applied", [*EXCHANGE, "--local-current", "0.1 mA/cm^2"], None),
    ("bridge-amplification-0.5", [*EXCHANGE, "--amplification", "0.5"], None),
    ("bridge-amplification-1e12", [*EXCHANGE, "--amplification", "1e12"], None),
    (
        "study-bridge-coating-paper-2um-0.57mg",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", STUDY.format(bridge="coating: {thickness: 2 um, loading: 0.57 mg/cm^2}")),
    ),
    (
        "study-bridge-c0-1M-without-d-and-tplus",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", STUDY.format(bridge="electrolyte: {c0: 1 mol/L}")),
    ),
    (
        "study-bridge-fixed-charge-negative",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", STUDY.format(bridge="coating: {fixed_charge: -1 mol/m^3}")),
    ),
    # --- item 21: one cell-temperature rule for the analyses ----------------------------
    ("tafel-temperature-1mK", [*TAFEL, "--temperature", "1e-3 K"], None),
    ("tafel-temperature-298degC", [*TAFEL, "--temperature", "298 degC"], None),
    (
        "arrhenius-degC-labelled-K",
        ["analyze", "arrhenius", "a.csv"],
        write("a.csv", ARRHENIUS_DEGC_AS_K),
    ),
]


# --- issue 19, item 7: inputs that are valid physics but hung or printed nonsense ---------
# (id, argv, check): run by tests/test_catalogue_bridge_valid.py, which asserts exit 0, no
# traceback, an answer within 60 s, and ``check(stdout)``.
PAPER_FITTED = ["bridge", "--e-surface-anion=-10.39 eV", "--e-cation-anion=-8.35 eV"]
PERCENT_OF_ANIONS = re.compile(r"([0-9.]+) ?% of the(?: coating's)? anions")


def _frozen_text(out: str) -> None:
    assert "J_lim with a constant X" in out and "tms-frozen" in out  # its own picture
    assert "never runs out of Li+" in out  # c+ >= X at the electrode: no Sand's time
    assert "interface salt out (h)" in out
    assert "VERDICT: The model CANNOT TELL" in out


def _trapping_text(out: str) -> None:
    assert "traps release their anions" in out
    assert "counter-ions carry" not in out  # the frozen-X picture is not the trap model's


def _given_x_901(out: str) -> None:
    assert "structural fixed charge X_s = 901 mol/m^3" in out
    assert "structural X_s: a constant fixed charge keeps Li+ at the electrode" in out


def _fractions_at_most_one(out: str) -> None:
    found = [float(v) for v in PERCENT_OF_ANIONS.findall(out)]
    assert found, out
    assert all(0 <= v <= 100 for v in found), found


VALID_CASES: list = [
    # hung for > 14 min (3.4 GB) at the band sample dG = -0.030303070957 eV
    ("bridge-tms-frozen-defaults", [*PAPER_FITTED, "--model", "tms-frozen"], _frozen_text),
    # a directly set X = 901 mol/m^3 at 6 M hung as well
    (
        "bridge-fixed-charge-901",
        ["bridge", "--delta-g=-0.3 eV", "--dg-spread", "0 eV", "--model", "tms-frozen"]
        + ["--fixed-charge", "901 mol/m^3"],
        _given_x_901,
    ),
    # printed "at most 450.7 % of the anions can be trapped" (N_T/c0 is no fraction)
    (
        "bridge-trapped-fraction-above-100-percent",
        ["bridge", "--delta-g=-1 eV", "--dg-spread", "0 eV", "--site-density", "0.6918 mol/kg"]
        + ["--model", "tms-frozen", "--c0", "1 mol/L", "--diffusivity", "3e-10 m^2/s"]
        + ["--t-plus", "0.32"],
        _fractions_at_most_one,
    ),
    # the trapping model's J_lim text describes the trapping model only
    ("bridge-tms-text", [*PAPER_FITTED, "--dg-spread", "0 eV"], _trapping_text),
]
