import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from cli_helpers import atomistics

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli(tmp_path):
    """Run the real console entry point in a subprocess: (returncode, stdout, stderr)."""

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        return atomistics(*args, cwd=cwd or tmp_path, env=env, timeout=timeout, drop=())

    return _run


@pytest.fixture
def study_file() -> Path:
    return REPO / "workflows" / "limmt_fsi.yaml"


def cp2k_command() -> list[str] | None:
    """The CP2K the code would run (atomistics.cp2k.locate: CP2K_COMMAND, cp2k.psmp, ..., cp2k)."""
    from atomistics.cp2k.locate import find_cp2k_command
    from atomistics.errors import AtomisticsError

    try:
        return find_cp2k_command(required=False)
    except AtomisticsError:  # a CP2K_COMMAND naming no executable
        return None


#: CP2K data files cut for the tests (tests/data/cp2k_data/make_subset.py): input generation
#: is tested without a CP2K install.
CP2K_DATA_FIXTURE = REPO / "tests" / "data" / "cp2k_data"


def _tblite_missing() -> str | None:
    """Why tblite's Python calculator cannot be imported, or None when it can."""
    try:
        from tblite.ase import TBLite  # noqa: F401
    except Exception as exc:  # ImportError, or a broken shared library (OSError)
        return f"{type(exc).__name__}: {exc}"
    return None


def pytest_sessionstart(session):
    """In CI a missing CP2K (ATOMISTICS_REQUIRE_CP2K=1) or tblite (ATOMISTICS_REQUIRE_XTB=1)
    is an error, not a silent skip: the xtb tests use ``importorskip("tblite")``."""
    if os.environ.get("ATOMISTICS_REQUIRE_CP2K") == "1" and cp2k_command() is None:
        pytest.exit("ATOMISTICS_REQUIRE_CP2K=1 but no CP2K binary found (apt-get install cp2k)", 2)
    if os.environ.get("ATOMISTICS_REQUIRE_XTB") == "1" and (why := _tblite_missing()):
        pytest.exit(f"ATOMISTICS_REQUIRE_XTB=1 but tblite cannot be imported ({why})", 2)


#: Modules whose tests run tblite on slabs, CP2K, a database server or whole
#: FireWorks/pytest/CLI processes (seconds to tens of seconds each): marked ``heavy``,
#: left out of ``make test-fast`` (which takes under 2 minutes on one core).
HEAVY_MODULES = {
    "test_ci_guards",
    "test_cli_build",  # every build kind's --help in a subprocess
    "test_cli_continuum",  # the bridge CLI in subprocesses
    "test_cli_screen",
    "test_composite_protocol",
    "test_cp2k_inputs",  # validates every input with the CP2K binary
    "test_cp2k_resources",
    "test_fireworks_embedded",
    "test_fireworks_launchpad",
    "test_fireworks_queue",
    "test_issue16_bridge_inputs",  # bridge CLI subprocesses and pipes
    "test_issue16_io_inputs",  # FireWorks and CP2K subprocesses
    "test_output_paths",  # a run and a bridge plot through the CLI
    "test_postgres",  # a PostgreSQL server
    "test_postgres_missing",  # subprocesses without the driver
    "test_run_xtb",  # the exchange reaction on a slab
    "test_secrets",  # FireWorks and PostgreSQL subprocesses
    "test_solvation_step",
    "test_sp_supercell",
    "test_vacuum_series_study",
    "test_xtb_solvation",
    "test_xtb_vacuum",
}


def pytest_collection_modifyitems(config, items):
    """``heavy`` on the tests of :data:`HEAVY_MODULES`; tests marked ``cp2k`` skip when the
    code's own discovery finds no CP2K."""
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in HEAVY_MODULES:
            item.add_marker(pytest.mark.heavy)
    if cp2k_command() is not None:
        return
    skip = pytest.mark.skip(reason="no CP2K found (cp2k.psmp/cp2k on PATH, or set CP2K_COMMAND)")
    for item in items:
        if "cp2k" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _cp2k_data_dir(monkeypatch):
    """Without an installed CP2K data directory, use the shipped subset of its files."""
    from atomistics.cp2k.locate import find_cp2k_data_dir
    from atomistics.errors import AtomisticsError

    try:
        found = find_cp2k_data_dir(required=False)
    except AtomisticsError:
        found = None
    if found is None:
        monkeypatch.setenv("CP2K_DATA_DIR", str(CP2K_DATA_FIXTURE))


# ------------------------------------------------ PostgreSQL (one throw-away server per session)
# Used by tests/test_postgres.py and tests/test_readonly_postgres.py; see test_postgres's
# docstring for how the server is found or started.

PG_SCRIPT = REPO / "tests" / "pg_server.sh"
REQUIRE_POSTGRES = os.environ.get("ATOMISTICS_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str):
    if REQUIRE_POSTGRES:
        pytest.fail(f"ATOMISTICS_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server():
    """Base URL of a PostgreSQL server whose user may create databases."""
    try:
        import ase_db_backends  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError:
        _unavailable(
            "the postgres extra is not installed (pip install -e '.[postgres]': "
            "ase-db-backends, psycopg2)"
        )
    url = os.environ.get("ATOMISTICS_TEST_PG_URL")
    if url:
        yield url
        return
    proc = subprocess.run(
        ["bash", str(PG_SCRIPT), "start"], capture_output=True, text=True, timeout=180
    )
    if proc.returncode != 0:
        _unavailable(
            "no PostgreSQL server: set ATOMISTICS_TEST_PG_URL, or install the server binaries "
            f"(apt-get install postgresql) for tests/pg_server.sh ({proc.stderr.strip()[-300:]})"
        )
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in proc.stdout.splitlines()
        if line.startswith("export ")
    )
    try:
        yield exports["ATOMISTICS_TEST_PG_URL"]
    finally:
        subprocess.run(
            ["bash", str(PG_SCRIPT), "stop", exports["ATOMISTICS_TEST_PG_DIR"]],
            capture_output=True,
            timeout=120,
        )


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the server (dropped afterwards)."""
    import psycopg2

    name = f"atomistics_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
    except psycopg2.Error as exc:
        admin.close()
        _unavailable(f"the PostgreSQL user cannot create a test database ({exc.pgerror})")
    try:
        yield _with_database(pg_server, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
