"""The results database on a real PostgreSQL server (issue 12, item 14).

The server: ``ATOMISTICS_TEST_PG_URL`` (a ``postgresql://user:password@host:port/db``
URL whose user may create databases), as `.ci/run` exports it; without it, a
throw-away server is started with tests/pg_server.sh when the PostgreSQL
server binaries are installed (Debian: ``apt-get install postgresql``), else
these tests are skipped, saying so. With ``ATOMISTICS_REQUIRE_POSTGRES=1`` (CI)
a missing server fails them instead. Every test gets its own fresh database.

What is tested, against the server:

* the mini study running into it (``atomistics run --db postgresql://…``), and
  ``ase db`` and ``atomistics results`` reading it; a rerun reuses every row;
* two processes writing different calculations at once: no row lost or
  duplicated, and every key lookup (what finds a calculation by its hash) gives
  the right row. Stock ASE loses rows here (see ``atomistics.db_postgres``);
* a study submitted to FireWorks: the stored Fireworks carry no password, the
  worker takes it from ``PGPASSWORD``, the rows arrive;
* the password never printed, with a working login and with a wrong one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from cli_helpers import atomistics
from mini_study import MINI_STUDY

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password and len(password) >= 8, "the test server's URL must carry a password"
    return password


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FW_CONFIG_FILE", "PGPASSWORD")}
    env.update(extra)
    return env


def _cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300):
    return atomistics(
        *args, cwd=cwd, env=env, timeout=timeout, drop=("FW_CONFIG_FILE", "PGPASSWORD")
    )


def _no_secret_anywhere(folder: Path, outputs: list[str], password: str) -> None:
    for text in outputs:
        assert password not in text, f"password printed in:\n{text}"
    holding = [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and password.encode() in p.read_bytes()
    ]
    assert holding == [], f"password written to {holding}"


def _no_secret_in_rows(url: str, password: str) -> None:
    """No stored field (keys, data, metadata) holds the password."""
    from atomistics import db as dbmod

    db = dbmod.connect(url)
    for row in db.select():
        stored = json.dumps([row.key_value_pairs, row.get("data", {})], default=str)
        assert password not in stored, f"row {row.id} stores the password"
    assert password not in json.dumps(db.metadata, default=str)


def _rows(url: str, **query) -> list:
    from atomistics import db as dbmod

    return list(dbmod.connect(url).select(**query))


def _assert_lookups_consistent(url: str, key: str, kind: str | None = None) -> list:
    """Each row is found by its own ``key`` value (ASE's key tables), exactly once."""
    from atomistics import db as dbmod

    db = dbmod.connect(url)
    query = {"kind": kind} if kind else {}
    rows = list(db.select(**query))
    values = [r.key_value_pairs[key] for r in rows]
    assert len(values) == len(set(values)), "duplicated rows"
    for r in rows:
        hits = [x.id for x in db.select(**{key: r.key_value_pairs[key]})]
        assert hits == [r.id], f"{key}={r.key_value_pairs[key]} finds rows {hits}, not {r.id}"
    return rows


# ------------------------------------------------------------------ the study


def test_study_runs_into_postgres_and_ase_db_and_results_read_it(pg_url, tmp_path):
    password = _password(pg_url)
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = _cli(
        "run", "mini.yaml", "--db", pg_url, "--workdir", "runs", "--no-progress", cwd=tmp_path
    )
    assert rc == 0, err
    assert "li_fsi" in out
    outputs = [out, err]

    calcs = _assert_lookups_consistent(pg_url, "calc_hash", kind="calculation")
    assert len(calcs) == 6  # relax + single point for li, fsi, li_fsi
    assert {(r.name, r.stage) for r in calcs} == {
        (n, s) for n in ("li", "fsi", "li_fsi") for s in ("relax", "single_point")
    }
    assert all(r.study == "mini" and r.engine == "xtb" for r in calcs)

    # atomistics results reads the same rows
    rc, out, err = _cli("results", "--db", pg_url, "--json", cwd=tmp_path)
    assert rc == 0, err
    outputs += [out, err]
    shown = json.loads(out)
    assert sorted(c["calc_hash"] for c in shown["calculations"]) == sorted(
        r.calc_hash for r in calcs
    )
    energies = {(c["name"], c["stage"]): c["energy"] for c in shown["calculations"]}
    for r in calcs:
        assert energies[(r.name, r.stage)] == pytest.approx(r.energy, abs=1e-9)

    # ASE's own tool reads it too
    proc = subprocess.run(
        [sys.executable, "-m", "ase", "db", pg_url, "kind=calculation", "-c", "name,stage,energy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Rows: 6" in proc.stdout and proc.stdout.count("li_fsi") == 2, proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "ase", "db", pg_url, "kind=calculation", "-n"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("6 rows"), proc.stdout

    # a rerun reuses every stored calculation: no new calculation row
    rc, out, err = _cli(
        "run", "mini.yaml", "--db", pg_url, "--workdir", "runs", "--no-progress", cwd=tmp_path
    )
    assert rc == 0, err
    outputs += [out, err]
    assert len(_rows(pg_url, kind="calculation")) == 6

    # the other readers: submit --dry-run (nothing left to run), bridge --db
    rc, out, err = _cli("submit", "mini.yaml", "--dry-run", "--db", pg_url, cwd=tmp_path)
    assert rc == 0, err
    assert "to run:" not in out  # everything is stored
    outputs += [out, err]
    rc, out, err = _cli(
        "bridge", "--db", pg_url, "--study", "mini", "--current-density", "1 mA/cm^2", cwd=tmp_path
    )
    outputs += [out, err]  # the mini study has no surface energy: refused, but never a password
    assert "Traceback" not in err
    _no_secret_anywhere(tmp_path, outputs, password)
    _no_secret_in_rows(pg_url, password)


# ------------------------------------------------------------ many writers


WRITER = """
import sys, time
from ase import Atoms
from atomistics import db as dbmod
url, tag, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
db = dbmod.connect(url)
while time.time() < start:
    time.sleep(0.001)
for i in range(n):
    db.write(Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]),
             key_value_pairs={"kind": "calculation", "writer": tag, "calc_hash": f"{tag}-{i:04d}"})
"""


def test_two_writers_at_once_lose_and_duplicate_nothing(pg_url, tmp_path):
    """Two processes start writing into a fresh database at the same instant.

    With ASE's stock backend this loses rows: the second process to create the
    schema crashes, and a row id read from the shared sequence attaches keys to
    the other process's row (foreign-key error, or a wrong calc_hash lookup).
    """
    (tmp_path / "writer.py").write_text(WRITER)
    n = 60
    start = time.time() + 4  # both processes have imported and connected by then
    procs = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "writer.py"), pg_url, tag, str(n), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    rows = _assert_lookups_consistent(pg_url, "calc_hash")
    assert len(rows) == 2 * n
    for tag in ("a", "b"):
        assert sorted(r.calc_hash for r in rows if r.writer == tag) == [
            f"{tag}-{i:04d}" for i in range(n)
        ]


SAME_HASH_WRITER = """
import sys, time
import numpy as np
from ase import Atoms
from atomistics import db as dbmod
from atomistics.execution import CalcResult
url, n, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
db = dbmod.connect(url)
while time.time() < start:
    time.sleep(0.001)
for i in range(n):
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    result = CalcResult(
        calc_hash=f"h{i:063x}", study="s", name="h2", stage="relax", engine="xtb",
        engine_version="x", protocol="GFN2-xTB", energy_ev=-1.0 * i, atoms=atoms,
        forces=np.zeros((2, 3)), scf_converged=True, geo_converged=True, n_steps=1,
        wall_time_s=1.0, warnings=[], timings={}, settings={}, metadata={},
    )
    print(dbmod.write_calculation(db, result))
"""


def test_two_writers_of_the_same_hashes_store_each_once(pg_url, tmp_path):
    """Two processes store the same calculations (same content hashes) at the same instant,
    as two runs of one study do: each hash is stored once, and both get its row id."""
    from atomistics import db as dbmod

    dbmod.connect(pg_url).count()  # schema created: the writers race on rows only
    (tmp_path / "writer.py").write_text(SAME_HASH_WRITER)
    n = 40
    start = time.time() + 4
    procs = [
        subprocess.Popen(
            [sys.executable, str(tmp_path / "writer.py"), pg_url, str(n), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        ids.append([int(x) for x in out.split()])
    rows = _assert_lookups_consistent(pg_url, "calc_hash", kind="calculation")
    assert len(rows) == n
    assert ids[0] == ids[1]  # the second writer was given the first one's row


def test_one_study_run_twice_at_once_stores_each_calculation_once(pg_url, tmp_path):
    """Two `atomistics run` of the same study into one database from two workdirs (two
    machines): both compute, each content hash and each reaction is stored once."""
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "atomistics", "run", "mini.yaml", "--db", pg_url,
             "--workdir", f"runs_{k}", "--no-progress"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )
        for k in (1, 2)
    ]  # fmt: skip
    energies = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        energies.append(next(line for line in out.splitlines() if "li_fsi" in line))
    calcs = _assert_lookups_consistent(pg_url, "calc_hash", kind="calculation")
    assert len(calcs) == 6
    assert len(_rows(pg_url, kind="reaction")) == 1
    assert energies[0] == energies[1]


def test_two_studies_run_at_once_into_one_database(pg_url, tmp_path):
    """Two `atomistics run` processes (different studies, different calculations) at once."""
    password = _password(pg_url)
    one = MINI_STUDY.replace("name: mini", "name: ions").split("  li_fsi:")[0]
    two = (
        "name: pair\nengine: xtb\nsystems:\n"
        "  li_fsi: {kind: ion-pair, cation: Li+, anion: FSI-, conformer: C2}\n"
    )
    (tmp_path / "ions.yaml").write_text(one)
    (tmp_path / "pair.yaml").write_text(two)
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "atomistics", "run", f"{name}.yaml", "--db", pg_url,
             "--workdir", f"runs_{name}", "--no-progress"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for name in ("ions", "pair")
    }  # fmt: skip
    outputs = []
    for name, p in procs.items():
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, f"{name}: {err}"
        outputs += [out, err]
    rows = _assert_lookups_consistent(pg_url, "calc_hash", kind="calculation")
    assert sorted((r.study, r.name, r.stage) for r in rows) == sorted(
        [("ions", n, s) for n in ("fsi", "li") for s in ("relax", "single_point")]
        + [("pair", "li_fsi", s) for s in ("relax", "single_point")]
    )
    _no_secret_anywhere(tmp_path, outputs, password)


# --------------------------------------------------------------- FireWorks


def test_fireworks_store_no_password_and_workers_write_the_rows(pg_url, tmp_path):
    """submit with a password-carrying URL; rlaunch with PGPASSWORD; rows arrive."""
    password = _password(pg_url)
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    rc, out, err = _cli("submit", "mini.yaml", "--db", pg_url, cwd=tmp_path)
    assert rc == 0, err
    assert "without its password" in out
    outputs = [out, err]
    stored = (tmp_path / "launchpad.json").read_text()
    assert password not in stored
    user_host = pg_url.split("://", 1)[1].split(":", 1)[0]
    assert f"postgresql://{user_host}@" in stored  # the URL is there, without the password

    proc = subprocess.run(
        [str(BIN / "rlaunch"), "rapidfire", "--nlaunches", "0", "--timeout", "400"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(PGPASSWORD=password),
    )
    outputs += [proc.stdout, proc.stderr]
    assert proc.returncode == 0, proc.stderr[-2000:]
    calcs = _assert_lookups_consistent(pg_url, "calc_hash", kind="calculation")
    assert len(calcs) == 6
    rc, out, err = _cli("status", "mini.yaml", cwd=tmp_path)
    assert rc == 0 and "COMPLETED" in out and "FIZZLED" not in out, out + err
    outputs += [out, err]
    _no_secret_anywhere(tmp_path, outputs, password)
    _no_secret_in_rows(pg_url, password)


# ---------------------------------------------------------------- passwords


def test_wrong_password_is_one_line_and_never_printed(pg_url, tmp_path):
    wrong = "WRONGpw" + uuid.uuid4().hex[:8]
    parts = urlsplit(pg_url)
    bad = urlunsplit(
        parts._replace(netloc=f"{parts.username}:{wrong}@{parts.hostname}:{parts.port}")
    )
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    for args in (
        ("results", "--db", bad),
        ("run", "mini.yaml", "--db", bad, "--no-progress"),
        ("submit", "mini.yaml", "--dry-run", "--db", bad),
    ):
        rc, out, err = _cli(*args, cwd=tmp_path)
        lines = [line for line in err.splitlines() if line.strip()]
        assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert "password authentication failed" in err, err
        assert wrong not in out + err and _password(pg_url) not in out + err
    _no_secret_anywhere(tmp_path, [], wrong)


def test_bridge_reads_postgres_and_shows_the_url_without_password(pg_url, tmp_path):
    """`bridge --db postgresql://…` names its source in the report: masked."""
    from atomistics import db as dbmod
    from atomistics import reactions as rx

    password = _password(pg_url)
    entries = []
    for name, complex_, parts, energies in (
        ("li_fsi", "li_fsi", ["li", "fsi"], {"li_fsi": -10.0, "li": -1.0, "fsi": 0.65}),
        (
            "limmt_fsi",
            "limmt_fsi",
            ["limmt", "fsi"],
            {"limmt_fsi": -20.0, "limmt": -10.26, "fsi": 0.65},
        ),
    ):
        entry = rx.compute(name, complex_, parts, energies)
        entry.engine, entry.protocol = "xtb", "GFN2-xTB"
        entries.append(entry)
    dbmod.write_reactions(dbmod.connect(pg_url), "paperlike", "xtb", "GFN2-xTB", entries)
    rc, out, err = _cli(
        "bridge", "--db", pg_url, "--study", "paperlike", "--current-density", "1 mA/cm^2",
        cwd=tmp_path,
    )  # fmt: skip
    assert rc == 0, err
    assert "surface-anion -10.39 eV, cation-anion -9.65 eV" in out, out
    masked = pg_url.replace(f":{password}@", ":***@")
    assert f"results DB {masked}" in out
    _no_secret_anywhere(tmp_path, [out, err], password)
