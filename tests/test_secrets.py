"""Credentials are never printed or written (issue 12, item 1).

Every command that takes a database or LaunchPad URL is run through the real
console script with a URL that carries a password, against servers that are
not there (127.0.0.1 port 1 refuses at once). Each must stop with exit code 2
and one line on stderr that names the problem, and the password must appear
nowhere: not on stdout or stderr, and in no file the command wrote.

tests/test_postgres.py does the same against a real PostgreSQL server (a
login that works, a wrong password, and what the FireWorks store).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_helpers import atomistics
from mini_study import MINI_STUDY

from atomistics.redact import has_password, redact, strip_password

SECRET = "SECRETPW"
PG_URL = f"postgresql://user:{SECRET}@127.0.0.1:1/db"
MONGO_URL = f"mongodb://user:{SECRET}@127.0.0.1:1/db"


def _cli(args: tuple[str, ...], cwd: Path, env: dict | None = None, timeout: float = 120):
    return atomistics(*args, cwd=cwd, env=env, timeout=timeout)


def _run_all(commands: dict[str, tuple[str, ...]], cwd: Path, env: dict | None = None) -> dict:
    """Run the commands at once (the MongoDB ones each wait out a 10 s server selection)."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = {name: pool.submit(_cli, args, cwd, env) for name, args in commands.items()}
        return {name: f.result() for name, f in futures.items()}


def _files_holding(folder: Path, secret: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(folder)))
    return found


def _assert_one_line_refusal(name: str, result, secret: str = SECRET) -> None:
    rc, out, err = result
    assert secret not in out + err, f"{name}: password printed:\n{out}{err}"
    assert "Traceback" not in err, f"{name}: traceback:\n{err}"
    assert rc == 2, f"{name}: exit code {rc}\n{out}{err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), f"{name}: stderr is\n{err}"


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    return tmp_path


def test_launchpad_uri_without_uri_mode_never_printed(folder):
    """The issue's case: `host: mongodb://user:PW@...` and no `uri_mode`."""
    (folder / "my_launchpad.yaml").write_text(f"host: {MONGO_URL}\n")
    results = _run_all(
        {
            "status": ("status", "mini.yaml", "--launchpad", "my_launchpad.yaml"),
            "submit": ("submit", "mini.yaml", "--launchpad", "my_launchpad.yaml"),
            "status --list": ("status", "--list", "--launchpad", "my_launchpad.yaml"),
        },
        folder,
    )
    for name, result in results.items():
        _assert_one_line_refusal(name, result)
        # it still says which server it tried, with the password masked
        assert "mongodb://user:***@127.0.0.1:1/db" in result[2], result[2]
    assert _files_holding(folder, SECRET) == ["my_launchpad.yaml"]


def test_launchpad_password_key_and_yaml_error_never_printed(folder):
    (folder / "lp.yaml").write_text(
        f"host: 127.0.0.1\nport: 1\nname: fw\nusername: alice\npassword: {SECRET}\n"
        "mongoclient_kwargs: {serverSelectionTimeoutMS: 300}\n"
    )
    # a YAML error quotes the offending line: here the one with the password
    (folder / "broken.yaml").write_text(f"host: {MONGO_URL}\n  password: [{SECRET}\n")
    results = _run_all(
        {
            "submit lp.yaml": ("submit", "mini.yaml", "--launchpad", "lp.yaml"),
            "status broken.yaml": ("status", "--launchpad", "broken.yaml"),
        },
        folder,
    )
    for name, result in results.items():
        _assert_one_line_refusal(name, result)


@pytest.mark.parametrize("backends", ["installed", "missing"])
def test_results_db_url_never_printed(folder, backends):
    """results, run, submit --dry-run and bridge with a password-carrying postgresql:// URL.

    "missing" hides the optional ase-db-backends package (the message then names
    the extra to install), "installed" uses it when the environment has it
    (then the server at port 1 refuses the connection).
    """
    env = None
    if backends == "missing":
        fake = folder / "no_backends" / "ase_db_backends"
        fake.mkdir(parents=True)
        (fake / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
        env = {"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    commands = {
        "results": ("results", "--db", PG_URL),
        "results --json": ("results", "--json", "--db", PG_URL),
        "run": ("run", "mini.yaml", "--db", PG_URL, "--workdir", "runs", "--no-progress"),
        "submit --dry-run": ("submit", "mini.yaml", "--dry-run", "--db", PG_URL),
        "submit": ("submit", "mini.yaml", "--db", PG_URL),
        "bridge --db": (
            "bridge",
            "--db",
            PG_URL,
            "--study",
            "mini",
            "--current-density",
            "1 mA/cm^2",
        ),
    }
    results = _run_all(commands, folder, env)
    for name, result in results.items():
        _assert_one_line_refusal(name, result)
        if backends == "missing" and name != "bridge --db":  # bridge reads with ASE directly
            assert "ase-db-backends" in result[2], f"{name}: {result[2]}"
    assert _files_holding(folder, SECRET) == []


def test_usage_errors_never_echo_a_password(folder):
    """argparse quotes a bad value back: a URL given to the wrong option is masked."""
    rc, out, err = _cli(("run", "mini.yaml", "--engine", PG_URL), folder)
    assert rc == 2 and "invalid choice" in err
    assert SECRET not in out + err and "postgresql://user:***@127.0.0.1:1/db" in err


def test_unexpected_error_traceback_is_redacted(folder):
    """A bug keeps its traceback (exit 1), with the password masked in it."""
    code = (
        "import sys\n"
        "from atomistics import cli\n"
        "def boom(args):\n"
        f"    raise RuntimeError('driver failed for {PG_URL}')\n"
        "def register(sub):\n"
        "    sub.add_parser('boom').set_defaults(func=boom)\n"
        "mod = type(sys)('boom_mod'); mod.register = register; sys.modules['boom_mod'] = mod\n"
        "cli.SUBCOMMAND_MODULES = ('boom_mod',)\n"
        "sys.exit(cli.main(['boom']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=folder, timeout=60
    )
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "postgresql://user:***@127.0.0.1:1/db" in proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PG_URL, "postgresql://user:***@127.0.0.1:1/db"),
        (MONGO_URL + "?authSource=admin", "mongodb://user:***@127.0.0.1:1/db?authSource=admin"),
        # an unescaped '@' in the password: masked whole, up to the host
        ("postgresql://u:p@ss@db.example.org/x", "postgresql://u:***@db.example.org/x"),
        ("mongodb://TOKEN@h:27017", "mongodb://***@h:27017"),
        ("host=db user=u password=s3cr3t dbname=x", "host=db user=u password=*** dbname=x"),
        (
            "postgresql://h/db?password=s3cr3t&sslmode=require",
            "postgresql://h/db?password=***&sslmode=require",
        ),
        ("{'password': 's3cr3t', 'user': 'u'}", "{'password': '***', 'user': 'u'}"),
        ("password: s3cr3t", "password: ***"),
        (
            "'postgresql://a:b@h/x' and 'mongodb://c:d@k/y'",
            "'postgresql://a:***@h/x' and 'mongodb://c:***@k/y'",
        ),
        # nothing to hide: unchanged
        ("results.db and runs/mini/li/relax", "results.db and runs/mini/li/relax"),
        ("mail me at someone@example.org", "mail me at someone@example.org"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_redact_literal_secrets_and_strip_password():
    assert redact("login alice / hunter22 failed", secrets=["hunter22", None, ""]) == (
        "login alice / *** failed"
    )
    assert has_password(PG_URL) and not has_password("postgresql://user@h/db")
    assert not has_password("results.db")
    assert strip_password(PG_URL) == "postgresql://user@127.0.0.1:1/db"
    assert strip_password("postgresql://u:p@ss@h:5432/db") == "postgresql://u@h:5432/db"
    assert strip_password("/abs/results.db") == "/abs/results.db"
