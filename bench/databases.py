"""The databases the bot is measured on: a SQLite file, and a throwaway PostgreSQL (started from the OS packages the
way the tests start it) that the bot reaches through the delay proxy, 2 ms per round trip. The benchmark itself
seeds and reads the database directly, never through the proxy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench import history
from bench.processes import Process, start_proxy
from tests.postgres import Postgres


@dataclass
class Database:
    label: str
    url: str  # what the bot is given
    direct_url: str  # what the benchmark seeds and reads through

    def engine(self) -> sa.Engine:
        """Migrated by the bot's own migrations (a no-op when already at head)."""
        return history.migrated(self.direct_url)


class Databases:
    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self._postgres: Postgres | None = None
        self._proxy: Process | None = None
        self.why_no_postgres = ""
        self.round_trip_ms = float("nan")  # through the proxy, idle: what "2 ms" came to on this machine

    def sqlite(self, name: str) -> Database:
        url = f"sqlite:///{self.workdir / name}.db"
        return Database("SQLite", url, url)

    async def postgres(self) -> Database | None:
        """A new database on the PostgreSQL server (started on first use); None, with `why_no_postgres`, when
        there is no server to start."""
        if self._postgres is None:
            self._postgres = Postgres()
            if not self._postgres.start():
                self.why_no_postgres = self._postgres.why_not
                return None
            port = int(self._postgres.url.rsplit(":", 1)[1].split("/")[0])
            self._proxy = await start_proxy(port, delay_ms=1.0)
        if self.why_no_postgres:
            return None
        direct = self._postgres.new_database()
        host_port = direct.split("@", 1)[1].split("/", 1)[0]
        database = Database("PostgreSQL +2 ms", direct.replace(host_port, self._proxy.url), direct)
        self.round_trip_ms = _round_trip_ms(database.url) - _round_trip_ms(direct)
        return database

    async def stop(self) -> None:
        if self._proxy:
            await self._proxy.stop()
        if self._postgres:
            self._postgres.stop()


def _round_trip_ms(url: str, times: int = 200) -> float:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        started = time.perf_counter()
        for _ in range(times):
            connection.execute(sa.text("SELECT 1"))
        took = time.perf_counter() - started
    engine.dispose()
    return took / times * 1000
