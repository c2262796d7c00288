"""`atomistics build ...` through a real subprocess, as a user runs it."""

import json

import ase.io
import pytest


def test_build_slab_writes_cif_and_prints_summary(run_cli, tmp_path):
    rc, out, err = run_cli(
        "build", "limmt-slab", "--supercell", "2", "2", "--vacuum", "15", "-o", "slab.cif"
    )
    assert rc == 0, err
    assert "H16Al14Li2Mg2O96Si32" in out and "atoms 162" in out and "vacuum 15.00" in out
    atoms = ase.io.read(tmp_path / "slab.cif")
    assert len(atoms) == 162


def test_build_is_deterministic(run_cli, tmp_path):
    for name in ("a.extxyz", "b.extxyz"):
        rc, _, err = run_cli("build", "limmt-slab", "--mg", "3", "--seed", "4", "-o", name)
        assert rc == 0, err
    assert (tmp_path / "a.extxyz").read_bytes() == (tmp_path / "b.extxyz").read_bytes()
    # rebuilding onto the same file is a no-op, a different structure is refused
    assert run_cli("build", "limmt-slab", "--mg", "3", "--seed", "4", "-o", "a.extxyz")[0] == 0
    rc, _, err = run_cli("build", "limmt-slab", "--mg", "2", "-o", "a.extxyz")
    assert rc == 2 and "exists with different content" in err


def test_build_molecule_json(run_cli, tmp_path):
    rc, out, err = run_cli("build", "molecule", "FSI-", "-o", "fsi.xyz", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["formula"] == "F2NO4S2" and data["charge"] == -1 and data["n_atoms"] == 9
    atoms = ase.io.read(tmp_path / "fsi.xyz")
    assert atoms.info["charge"] == -1 and atoms.info["spin_multiplicity"] == 1


def test_build_study(run_cli, tmp_path, study_file):
    rc, out, err = run_cli("build", str(study_file), "-o", "out", "--json")
    assert rc == 0, err
    rows = json.loads(out)
    charges = {r["name"]: r["charge"] for r in rows}
    from atomistics.study import load_study

    assert list(charges) == list(load_study(study_file).systems)  # every system, in file order
    paper = {"limmt": 0, "fsi": -1, "li": 1, "li_fsi": 0, "limmt_fsi": -1, "fsi_slabcell": -1}
    paper["limmt_fsiref"] = 0
    assert {k: charges[k] for k in paper} == paper
    for name in charges:
        assert (tmp_path / "out" / f"{name}.extxyz").is_file()
    assert (tmp_path / "out" / "limmt_fsi.cif").is_file()


def test_build_placements(run_cli, tmp_path):
    rc, out, err = run_cli(
        "build", "placements", "--mg", "0", "--sites", "al-oh", "--azimuths", "0", "-o", "pl"
    )
    assert rc == 0, err
    assert "2 symmetry-distinct placements" in out
    assert len(list((tmp_path / "pl").glob("*.extxyz"))) == 2


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["build", "limmt-slab", "--supercell", "0", "2"],
            "supercell must be two positive integers",
        ),
        (["build", "limmt-slab", "--vacuum", "-1"], "vacuum must be a positive length"),
        (["build", "molecule", "BF4-"], "unknown molecule or ion 'BF4-'"),
        (["build", "molecule", "Li+", "-o", "li.cif"], "CIF needs a periodic cell"),
        (["build", "adsorbate", "--site-index", "40"], "site_index 40 out of range"),
        (["build", "nonexistent.yaml", "-o", "x"], "does not exist"),
        (["build", "limmt-slab", "-o", "slab.pdf"], "unknown structure file suffix"),
    ],
)
def test_errors_go_to_stderr_with_exit_2(run_cli, args, message):
    rc, out, err = run_cli(*args)
    assert rc == 2
    assert message in err
    assert "Traceback" not in err


def test_help_on_every_build_kind(run_cli):
    for kind in ("limmt-slab", "bulk", "molecule", "ion-pair", "adsorbate", "placements", "study"):
        rc, out, _ = run_cli("build", kind, "--help")
        assert rc == 0 and "usage:" in out
