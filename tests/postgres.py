"""A throwaway PostgreSQL for the tests: started from the OS packages, one database per test from a migrated template.

`FIREFIGHTER_TEST_POSTGRES_URL` points the tests at a server someone else runs instead. Without either, the
PostgreSQL half of the suite is skipped (`.ci/run` installs the packages, so CI always has it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

from bot.db.engine import make_engine
from bot.db.schema import upgrade_to_head

# One per pytest-xdist worker: workers sharing FIREFIGHTER_TEST_POSTGRES_URL never drop one another's template.
TEMPLATE = f"firefighter_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self) -> None:
        self.url: str | None = os.environ.get("FIREFIGHTER_TEST_POSTGRES_URL")
        self.why_not = ""
        self._dir: Path | None = None
        self._pg_ctl: str | None = None
        self._as: list[str] = []
        self._template_ready = False
        self._template_schema = ""
        self._spare: list[str] = []  # emptied databases to lend again
        self._lent: dict[str, int] = {}  # how many times each was given back

    def start(self) -> bool:
        if self.url:
            return True
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not pg_ctl:
            self.why_not = "no PostgreSQL server binaries (apt-get install postgresql)"
            return False
        self._dir = Path(tempfile.mkdtemp(prefix="ff-pg-"))
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if shutil.which("runuser") is None or subprocess.run(["id", "postgres"], capture_output=True).returncode:
                self.why_not = "running as root without a postgres user"
                return False
            shutil.chown(self._dir, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data, port = self._dir / "data", _free_port()
        run = subprocess.run([*self._as, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
                             capture_output=True, text=True)
        if run.returncode:
            self.why_not = f"initdb failed: {run.stderr.strip()[-300:]}"
            return False
        options = (f"-p {port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                   # (a throwaway server: no vacuuming behind the tests, no JIT, no WAL kept for replicas)
                   "-c autovacuum=off -c jit=off -c wal_level=minimal -c max_wal_senders=0")
        run = subprocess.run([*self._as, pg_ctl, "-D", str(data), "-o", options, "-l", str(self._dir / "log"), "-w",
                              "start"], capture_output=True, text=True)
        if run.returncode:
            self.why_not = f"pg_ctl start failed: {run.stderr.strip()[-300:]}"
            return False
        self._pg_ctl = pg_ctl
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        return True

    def _admin(self) -> sa.Engine:
        return sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def _with_database(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def new_database(self) -> str:
        """A fresh, migrated database (copied from a template migrated once)."""
        admin = self._admin()
        with admin.connect() as connection:
            if not self._template_ready:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {TEMPLATE}"))
                connection.execute(sa.text(f"CREATE DATABASE {TEMPLATE}"))
                engine = make_engine(self._with_database(TEMPLATE))
                upgrade_to_head(engine)
                with engine.connect() as template:
                    self._template_schema = self._schema(template)
                engine.dispose()
                self._template_ready = True
            name = f"ff_{uuid.uuid4().hex[:12]}"
            connection.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        admin.dispose()
        return self._with_database(name)

    def lend_database(self) -> str:
        """A migrated database for one test: an emptied one given back by an earlier test, else a new one. Copying
        the template (CREATE DATABASE) takes about 0.3 s; emptying the tables takes a few milliseconds."""
        return self._spare.pop() if self._spare else self.new_database()

    def take_back(self, url: str) -> None:
        """Emptied (every row but alembic_version's deleted, sequences restarted: DELETE is ten times quicker than
        TRUNCATE on tables this small) and lent again — unless the test left its schema other than the template's
        (a migration test), or something still holds a lock on it: then it is simply not lent again."""
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                if self._schema(connection) != self._template_schema:
                    return
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))  # (foreign keys: any order)
                tables = connection.execute(sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )).scalars().all()
                self._lent[url] = self._lent.get(url, 0) + 1
                if self._lent[url] % 20 == 0:  # now and then TRUNCATE (no vacuum here): dead rows do not pile up
                    quoted = ", ".join(f'"{table}"' for table in tables)
                    connection.execute(sa.text(f"TRUNCATE {quoted}"))
                else:
                    for table in tables:
                        connection.execute(sa.text(f'DELETE FROM "{table}"'))
                connection.execute(sa.text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'S' AND n.nspname = 'public'"))
            self._spare.append(url)
        except sa.exc.DBAPIError:
            pass
        finally:
            engine.dispose()

    @staticmethod
    def _schema(connection: sa.Connection) -> str:
        """Tables, columns, indexes and the migration the database is at, as one text."""
        return connection.execute(sa.text(
            "SELECT (SELECT string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable "
            "|| ':' || coalesce(column_default, ''), ',' ORDER BY table_name, column_name) "
            "FROM information_schema.columns WHERE table_schema = 'public') || '|' || "
            "(SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public') "
            "|| '|' || "
            "(SELECT string_agg(version_num, ',') FROM alembic_version)")).scalar_one()

    def stop(self) -> None:
        if self._pg_ctl and self._dir:
            subprocess.run([*self._as, self._pg_ctl, "-D", str(self._dir / "data"), "-m", "immediate", "stop"],
                           capture_output=True)
            shutil.rmtree(self._dir, ignore_errors=True)
