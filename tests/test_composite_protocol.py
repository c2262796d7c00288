"""The composite protocol: geometries from xtb, energies from real CP2K (PBE-D3 // GFN-xTB).

Through ``atomistics run`` and through FireWorks (real ``submit`` + ``rlaunch``), with the
same rows; the relaxations are the xtb study's own (same hash: reused, not recomputed).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_fireworks_embedded import _same, store_both_ways

from atomistics import db as dbmod
from atomistics.cli import main

pytest.importorskip("tblite")
pytestmark = pytest.mark.cp2k

FSI = """\
name: composite
engine: cp2k
calculation:
  protocol: quick
  relax_engine: xtb
  xtb: {method: GFN1-xTB}
systems:
  fsi: {kind: molecule, species: FSI-, conformer: C2}
"""
LI = FSI.replace(
    "fsi: {kind: molecule, species: FSI-, conformer: C2}", "li: {kind: molecule, species: Li+}"
)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _calcs(db_path):
    return {r.stage: r for r in dbmod.calculation_rows(dbmod.connect(db_path), "composite")}


def test_cp2k_energy_on_the_xtb_geometry_with_its_origin_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(FSI)
    # the same study with xtb alone first: its relaxation is what the composite reuses
    xtb_only = FSI.replace("engine: cp2k", "engine: xtb").replace(
        "  protocol: quick\n  relax_engine: xtb\n", ""
    )
    (tmp_path / "x.yaml").write_text(xtb_only)
    common = ["--db", "r.db", "--workdir", "runs", "--no-progress"]
    assert main(["run", "x.yaml", *common]) == 0, capsys.readouterr().err
    xtb_relax = dbmod.connect("r.db").get(kind="calculation", stage="relax")
    capsys.readouterr()
    assert main(["run", "s.yaml", *common]) == 0, capsys.readouterr().err
    rows = _calcs(tmp_path / "r.db")
    relax, sp = rows["relax"], rows["single_point"]
    # the relaxation is the xtb study's (one hash, one row), labelled as xtb
    assert relax.calc_hash == xtb_relax.calc_hash and relax.engine == "xtb"
    assert relax.protocol == "GFN1-xTB" and relax.geo_converged
    # the single point is CP2K's, on exactly that geometry, and says where it came from
    assert sp.engine == "cp2k" and sp.protocol == "quick//GFN1-xTB" and sp.scf_converged
    assert np.allclose(sp.positions, relax.positions, atol=1e-5)
    assert "cp2k" in sp.engine_version and sp.energy < -1000  # a PBE total energy in eV
    calc_json = next((tmp_path / "runs").rglob("single_point-*")) / "calculation.json"
    record = json.loads(calc_json.read_text())
    origin = record["settings"]["geometry_from"]  # hashed: part of the single point's identity
    assert origin["engine"] == "xtb" and origin["protocol"] == "GFN1-xTB"
    assert "tblite" in origin["version"]
    assert sp.geometry_from == relax.calc_hash
    assert record["meta"]["geometry"]["engine"] == "xtb"
    # a rerun computes nothing
    capsys.readouterr()
    assert main(["run", "s.yaml", *common]) == 0
    assert "0 calculation(s) run, 2 reused" in capsys.readouterr().err
    # xtb's relax and single point, and CP2K's single point on xtb's geometry
    assert len(list(dbmod.connect(tmp_path / "r.db").select(kind="calculation"))) == 3


def test_run_and_fireworks_store_identical_composite_rows(tmp_path):
    rows_run, rows_fw = store_both_ways(tmp_path, LI, timeout=300)
    assert set(rows_run) == set(rows_fw) and len(rows_run) == 2
    for key in rows_run:
        _same(rows_run[key], rows_fw[key], str(key))
    engines = {key: rows_run[key]["engine"] for key in rows_run}
    assert sorted(engines.values()) == ["cp2k", "xtb"]
