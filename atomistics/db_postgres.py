"""ASE's PostgreSQL database made safe for many writers at once (FireWorks on a cluster).

ASE's PostgreSQL backend (``ase-db-backends`` 0.11, class ``PostgreSQLDatabase``)
has two races that show up as soon as two processes write to one database,
both measured against a real server (tests/test_postgres.py):

* **row id**: after ``INSERT INTO systems`` it reads the new row's id with
  ``SELECT last_value FROM systems_id_seq``. A sequence's ``last_value`` is
  global, not per session, so when another process inserted in between, the
  keys, key-value pairs and species of this row are written under *the other
  process's id*. The foreign key then fails (the row is lost, the writer
  crashes) or, once the other row is committed, the key-value lookups that
  find a calculation by its ``calc_hash`` return the wrong row. PostgreSQL's
  ``currval('systems_id_seq')`` is the id this session drew, whatever other
  sessions do (PostgreSQL manual, "Sequence Manipulation Functions").
* **schema creation**: every process that finds the tables missing creates
  them; the second one fails with a duplicate-key error on the catalog. The
  check-and-create here runs under a PostgreSQL advisory lock, so the first
  process creates the schema and the others wait and then find it.

:func:`connect_postgres` returns the subclass that fixes both; everything else
(file format, queries, the ``ase db`` tool) is ASE's.

A third race is ours: :func:`atomistics.db.write_calculation` checks whether the content
hash is stored and then writes. Two runs of one study into one database (two machines, two
workdirs) both find nothing, both compute, and both write: two rows for one hash. The
subclass's :meth:`exclusive` serialises such a check-then-write per name (the hash) with a
transaction-scoped advisory lock (``pg_advisory_xact_lock``, PostgreSQL manual "Advisory
Locks"): the second writer waits until the first has committed, then re-checks in its own
transaction (READ COMMITTED: each statement sees what was committed before it), finds the
row and writes nothing. Reaction rows are replaced under the same kind of lock per study.
"""

from __future__ import annotations

import hashlib
from contextlib import ExitStack, contextmanager

#: Advisory-lock key for the schema check-and-create (any constant; "ATOM" in ASCII).
SCHEMA_LOCK_KEY = 0x41544F4D


def _database_class():
    from ase_db_backends.postgresql import Connection, PostgreSQLDatabase

    class _Connection(Connection):
        # ase-db-backends' wrapper has no rollback(), which `with db:` calls on an error:
        # an AttributeError would then hide the real error
        def rollback(self):
            self.con.rollback()

    class ConcurrentPostgreSQLDatabase(PostgreSQLDatabase):
        """ASE's PostgreSQL database with a per-session row id, a locked schema creation and
        per-name exclusive check-then-write transactions."""

        def _connect(self):
            return _Connection(super()._connect().con)

        @contextmanager
        def exclusive(self, name: str):
            """One transaction holding the advisory lock of ``name`` (e.g. a content hash).

            Inside ``with db:`` the caller's transaction is used (the lock lasts until it
            commits); otherwise one is opened here and committed on leaving.
            """
            key = advisory_key(name)
            with ExitStack() as stack:
                if self.connection is None:
                    stack.enter_context(self)  # commit on success, rollback on error
                con = self.connection
                self._initialize(con)  # may commit (schema creation): before taking the lock
                con.cursor().execute(f"SELECT pg_advisory_xact_lock({key})")
                yield self

        def get_last_id(self, cur):
            # the id of the row this session just inserted, not the sequence's global last value
            cur.execute("SELECT currval('systems_id_seq')")
            return int(cur.fetchone()[0])

        def _initialize(self, con):
            if self.initialized:
                return
            cur = con.cursor()
            cur.execute(f"SELECT pg_advisory_lock({SCHEMA_LOCK_KEY})")
            try:
                super()._initialize(con)
                # the schema (when this process created it) is committed before the lock
                # is released, so a waiting process sees it
                con.commit()
            finally:
                try:
                    cur.execute(f"SELECT pg_advisory_unlock({SCHEMA_LOCK_KEY})")
                except Exception:  # aborted transaction: the lock ends with the session
                    pass

    return ConcurrentPostgreSQLDatabase


def advisory_key(name: str) -> int:
    """A signed 64-bit advisory-lock key from a name (the first 8 bytes of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def connect_postgres(url: str):
    """Open the PostgreSQL results database at ``url`` (ImportError without ase-db-backends)."""
    return _database_class()(url)
