"""Without the postgres extra, a postgresql:// results database names the package to install
(no server needed: the packages are hidden behind modules that fail to import)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

URL = "postgresql://user:SECRETPW@127.0.0.1:1/results"


@pytest.mark.parametrize(("module", "package"), [("ase_db_backends", "ase-db-backends"),
                                                 ("psycopg2", "psycopg2-binary")])  # fmt: skip
@pytest.mark.parametrize(
    "args",
    [
        ("bridge", "--db", URL, "--study", "mini"),
        ("bridge", "--db", URL, "--study", "mini", "--exchange-name", "exchange"),
        ("results", "--db", URL),
        ("run", "mini.yaml", "--db", URL, "--no-progress"),
    ],
)
def test_missing_postgres_package_is_named(tmp_path, module, package, args):
    from mini_study import MINI_STUDY

    (tmp_path / "mini.yaml").write_text(MINI_STUDY)
    hidden = tmp_path / "hidden" / module
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text(
        f"raise ModuleNotFoundError({'No module named ' + module!r}, name={module!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hidden")}
    proc = subprocess.run(
        [sys.executable, "-m", "atomistics", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert f"needs the {package} package" in line and "pip install" in line
    assert "SECRETPW" not in proc.stderr + proc.stdout
