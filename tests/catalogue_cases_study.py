"""Issue-16 bad-input cases (study part), merged into tests/test_bad_input_catalogue.py's CASES.

Same tuple shape as there: (id, argv, setup-or-None, *marks). Helpers for setups are
imported from test_bad_input_catalogue's module-level functions where needed.

Every case is refused at load or at the run's pre-flight (engine settings, solvation
models), before any xtb calculation: well under a second each (the bridge.solvation ones
build the 2x1 LiMMT slab of the exchange study first: about two seconds).
"""

from __future__ import annotations

from pathlib import Path

from catalogue_setup import write

#: the issue's S0: two ions and their ion pair, xtb
S0 = """\
name: s0
engine: xtb
systems:
  fsi: {kind: molecule, species: FSI-, conformer: C2}
  li: {kind: molecule, species: Li+}
  lifsi: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}
"""
LI_ONLY = "name: one\nengine: xtb\nsystems:\n  li: {kind: molecule, species: Li+}\n"
RUN = ["run", "s.yaml", "--db", "r.db", "--workdir", "w", "--no-progress"]


def _reaction(reactants: str, products: str = "{lifsi: 1}") -> str:
    return S0 + f"reactions:\n  r:\n    reactants: {reactants}\n    products: {products}\n"


def _xtb(settings: str, base: str = S0) -> str:
    return base + f"calculation:\n  xtb: {{{settings}}}\n"


#: a study whose bridge has a (neutral) exchange reaction and bridge.solvation
EXCHANGE_STUDY = (
    Path(__file__).resolve().parents[1] / "workflows" / "limmt_exchange_2x1.yaml"
).read_text()
SOLVATION = "solvation: {model: cpcm:7.2, approximation: cluster, error: [model]}"
assert SOLVATION in EXCHANGE_STUDY


def _bridge_solvation(solvation: str) -> str:
    return EXCHANGE_STUDY.replace(SOLVATION, f"solvation: {solvation}")


def _case(ident: str, study: str) -> tuple:
    return (ident, RUN, write("s.yaml", study))


CASES: list = [
    # 1. stoichiometric coefficients: a number from 0.01 to 100, never a YAML boolean
    _case(
        "run-coefficient-1e307",
        _reaction("{li: 1.0e+307, fsi: 1.0e+307}", "{lifsi: 1.0e+307}"),
    ),
    _case(
        "run-coefficient-1e300",
        _reaction("{li: 1.0e+300, fsi: 1.0e+300}", "{lifsi: 1.0e+300}"),
    ),
    _case(
        "run-coefficient-1e-320",
        _reaction("{li: 1.0e-320, fsi: 1.0e-320}", "{lifsi: 1.0e-320}"),
    ),
    _case("run-coefficient-yaml-bool", _reaction("{li: yes, fsi: true}")),
    _case("run-coefficient-string", _reaction("{li: '1', fsi: 1}")),
    # 2. the xtb method: tblite's names, exactly
    _case("run-xtb-method-gfn3", _xtb("method: GFN3-xTB")),
    _case("run-xtb-method-lower-case", _xtb("method: gfn1-xtb")),
    _case("run-xtb-method-number", _xtb("method: 2")),
    # 3. solvents tblite has no parameters for (engine, bridge model and its alternative)
    _case("run-xtb-solvation-alpb-unknown", _xtb("solvation: 'alpb:nosuchsolvent'")),
    _case("run-xtb-solvation-cpcm-unknown", _xtb("solvation: 'cpcm:nosuchsolvent'")),
    _case("run-xtb-solvation-gbsa-unparametrised", _xtb("solvation: 'gbsa:ethylacetate'")),
    _case(
        "run-bridge-solvation-model-unknown",
        _bridge_solvation("{model: 'alpb:nosuchsolvent', approximation: cluster}"),
    ),
    _case(
        "run-bridge-solvation-cpcm-unknown",
        _bridge_solvation("{model: 'cpcm:nosuchsolvent', approximation: cluster}"),
    ),
    _case(
        "run-bridge-solvation-alternative-unknown",
        _bridge_solvation(
            "{model: 'cpcm:7.2', alternative: 'alpb:nosuchsolvent', approximation: cluster, error: [model]}"
        ),
    ),
    # 4. tblite settings: finite and > 0
    _case("run-xtb-accuracy-negative", _xtb("accuracy: -1")),
    _case("run-xtb-accuracy-zero", _xtb("accuracy: 0")),
    _case("run-xtb-temperature-negative", _xtb("electronic_temperature: -300")),
    _case("run-xtb-temperature-negative-li", _xtb("electronic_temperature: -300", LI_ONLY)),
    _case("run-xtb-max-iterations-zero", _xtb("max_iterations: 0")),
    # 5. a value of the wrong type is named as the value, not as an unknown setting
    _case("run-xtb-fmax-text", _xtb("fmax: abc")),
    _case("run-xtb-relax-accuracy-text", _xtb("relax_accuracy: abc")),
    _case("run-xtb-fmax-bool", _xtb("fmax: yes")),
    # 6. sp_supercell: a list of two whole numbers, not a string or booleans
    _case("run-sp-supercell-string", _xtb("sp_supercell: '22'")),
    _case("run-sp-supercell-bool", _xtb("sp_supercell: [true, 2]")),
    # 8. a bridge section with no reaction to read
    _case("run-bridge-without-reaction", S0 + "bridge: {current_density: 1 mA/cm^2}\n"),
    (
        "build-bridge-without-reaction",
        ["build", "s.yaml", "-o", "out"],
        write("s.yaml", S0 + "bridge: {current_density: 1 mA/cm^2}\n"),
    ),
    # 10. bridge.exchange naming a charged-fragment binding energy: refused before any job
    _case(
        "run-bridge-exchange-is-charged-binding",
        S0
        + "binding_energies:\n  be: {complex: lifsi, fragments: [li, fsi]}\n"
        + "bridge: {exchange: be, current_density: 1 mA/cm^2}\n",
    ),
]
