"""Our custodian handlers and the CP2K parser on real CP2K 2023.1 outputs (tests/data/outputs)."""

import shutil
from pathlib import Path

import pytest
from custodian.cp2k.handlers import AbortHandler, UnconvergedRelaxationErrorHandler
from pymatgen.io.cp2k.inputs import Cp2kInput

from atomistics.engines.cp2k_handlers import (
    AnyScfUnconvergedHandler,
    Cp2kAbortHandler,
    GeoOptWalltimeHandler,
)
from atomistics.parse.cp2k import parse_cp2k_output

DATA = Path(__file__).parent / "data" / "outputs"


def _job(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    shutil.copy(DATA / f"{name}.out", d / "cp2k.out")
    shutil.copy(DATA / f"{name}.inp", d / "cp2k.inp")
    return d


def test_parse_converged_single_point(tmp_path):
    p = parse_cp2k_output(_job(tmp_path, "li_single_point"))
    assert p.completed and p.scf_converged and p.geo_converged is None
    assert p.energy_ev == pytest.approx(-196.2026, abs=1e-3) and p.version == "2023.1"
    assert p.timings["CP2K"] > 0 and p.warnings == []


def test_unconverged_scf_is_flagged_not_a_result(tmp_path):
    d = _job(tmp_path, "fsi_scf_unconverged")
    p = parse_cp2k_output(d)
    assert p.completed and p.energy_ev is not None  # CP2K exits 0 and prints an energy ...
    assert not p.scf_converged  # ... which must never be stored
    assert any("did not converge" in w for w in p.warnings)
    assert AnyScfUnconvergedHandler().check(str(d))


def test_input_abort_caught_by_our_handler_not_custodians(tmp_path):
    d = _job(tmp_path, "fsi_input_abort")
    assert not AbortHandler().check(str(d))  # custodian's matches only Cholesky failures
    h = Cp2kAbortHandler()
    assert h.check(str(d))
    assert "unknown keyword MAX_SCFF" in h.message
    assert h.correct(str(d))["actions"] is None  # not correctable: fix the input
    p = parse_cp2k_output(d)
    assert p.aborted and not p.completed


def test_geo_opt_stopped_by_walltime_is_unconverged(tmp_path):
    d = _job(tmp_path, "fsi_geo_walltime")
    assert not UnconvergedRelaxationErrorHandler().check(str(d))  # custodian misses it
    p = parse_cp2k_output(d)
    assert p.walltime_exceeded and p.geo_converged is False and not p.completed
    assert GeoOptWalltimeHandler().check(str(d))
    assert not GeoOptWalltimeHandler().check(str(_job(tmp_path, "li_single_point")))


def test_fluorine_inputs_survive_pymatgen_round_trip(tmp_path):
    """custodian rewrites inputs via Cp2kInput: a bare 'F' kind would become False."""
    src = DATA / "fsi_scf_unconverged.inp"
    ci = Cp2kInput.from_file(str(src))
    out = tmp_path / "rt.inp"
    ci.write_file(input_filename=out.name, output_dir=str(tmp_path))
    text = out.read_text().upper()
    coord = text.split("&COORD")[1].split("&END COORD")[0]
    assert "FALSE" not in coord and "F1" in coord.split()
    assert "ELEMENT F" in text


def test_geo_opt_scf_failures_after_a_converged_first_step(tmp_path):
    """A real GEO_OPT (FSI⁻, quick, MAX_SCF 2 after a restart wavefunction): the first SCF
    converges, every later one does not. pymatgen reads the output in reverse, so
    ``scf_converged[0]`` is the *last* SCF: custodian's handler, which tests only that entry,
    sees one SCF of the run; ours checks all of them. The energy of such a run is never a
    result."""
    import re
    import warnings

    from custodian.cp2k.handlers import UnconvergedScfErrorHandler
    from pymatgen.io.cp2k.outputs import Cp2kOutput

    d = _job(tmp_path, "fsi_geo_later_scf_unconverged")
    text = (d / "cp2k.out").read_text()
    in_order = ["NOT" not in m for m in re.findall(r"SCF run (?:NOT )?converged", text)]
    assert in_order[0] and len(in_order) > 3 and not any(in_order[1:])
    out = Cp2kOutput(str(d / "cp2k.out"), auto_load=False, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out.convergence()
    assert out.data["scf_converged"] == in_order[::-1]  # reversed: [0] is the last SCF
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert UnconvergedScfErrorHandler("cp2k.inp", "cp2k.out").check(str(d))  # last one failed
        assert AnyScfUnconvergedHandler("cp2k.inp", "cp2k.out").check(str(d))
    assert not parse_cp2k_output(d).scf_converged


def test_geo_opt_first_scf_unconverged_later_ones_converged(tmp_path):
    """The case AnyScfUnconvergedHandler exists for (real GEO_OPT of H2O, quick preset,
    MAX_SCF 6 and one outer loop, see make_fixtures.py): the first SCF, from the atomic
    guess, does not converge; every later one, from the previous wavefunction, does.
    custodian's handler looks only at the last SCF and misses it; ours fires. The parser
    keeps the final (converged) energy and warns about the failed SCF."""
    import re
    import warnings

    from custodian.cp2k.handlers import UnconvergedScfErrorHandler

    d = _job(tmp_path, "h2o_geo_first_scf_unconverged")
    text = (d / "cp2k.out").read_text()
    in_order = ["NOT" not in m for m in re.findall(r"SCF run (?:NOT )?converged", text)]
    assert not in_order[0] and len(in_order) > 2 and all(in_order[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert not UnconvergedScfErrorHandler("cp2k.inp", "cp2k.out").check(str(d))
        assert AnyScfUnconvergedHandler("cp2k.inp", "cp2k.out").check(str(d))
    p = parse_cp2k_output(d)
    assert p.scf_history == in_order and p.scf_converged
    assert any(f"1 of {len(in_order)} SCF loop(s) did not converge" in w for w in p.warnings)


def test_output_killed_before_first_scf_is_a_failed_calculation(tmp_path):
    """A real output cut where CP2K was setting up its grids (the paper preset's MT job was
    killed there for memory): pymatgen's parse_energies raised IndexError on it."""
    d = _job(tmp_path, "li_killed_before_scf")
    text = (d / "cp2k.out").read_text()
    assert "PW_GRID" in text and "Update method" not in text  # before the first SCF step
    p = parse_cp2k_output(d)
    assert not p.completed and p.energy_ev is None and not p.scf_converged
    assert any("before its first SCF step" in w for w in p.warnings)
