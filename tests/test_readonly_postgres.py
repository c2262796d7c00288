"""Reading commands open a PostgreSQL results database read-only (a real server, see test_postgres)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from atomistics import db as dbmod
from atomistics import reactions as rx


def _tables(url: str) -> set[str]:
    import psycopg2

    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {r[0] for r in cur.fetchall()}
    finally:
        con.close()


def test_results_does_not_initialise_an_empty_postgres_database(pg_url):
    proc = subprocess.run(
        [sys.executable, "-m", "atomistics", "results", "--db", pg_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "no ASE results database" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tables(pg_url) == set()  # nothing created


def test_reading_uses_read_only_transactions(pg_url):
    entry = rx.compute(
        "li_fsi", "li_fsi", ["li", "fsi"], {"li_fsi": -10.0, "li": -1.0, "fsi": -0.5}
    )
    entry.engine, entry.protocol = "xtb", "GFN2-xTB"
    dbmod.write_reactions(dbmod.connect(pg_url), "s", "xtb", "GFN2-xTB", [entry])
    (back,) = dbmod.reaction_energies(pg_url, "s", "xtb")
    assert back.energy_ev == pytest.approx(-8.5)
    ro = dbmod.connect(pg_url, readonly=True)
    ids = [r.id for r in ro.select(kind="reaction")]
    with pytest.raises(Exception, match="read-only transaction"):
        ro.delete(ids)
    assert len(dbmod.reaction_rows(dbmod.connect(pg_url), "s")) == 1
