"""SPEC § 7's status page row: `/status` and `/status.json` under 200 concurrent readers during an incident, p99
within 2× of `/healthz` read the same way, while declarations go on at a steady rate (what customers do in an
outage while the team declares). The page has 12 components in 3 groups and a published incident with 3 updates."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import sqlalchemy as sa

from bench import history, load
from bench.databases import Database
from bench.processes import Fake, quiet, start_bot

READERS = 200


@dataclass
class StatusReads:
    p99_ms: dict[str, float]  # path → p99 of its reads (ms)
    failed: dict[str, int]
    declarations_failed: int


def _seed(engine: sa.Engine, now: datetime) -> None:
    from bot.db.models import Incident
    from bot.db.status_models import StatusComponent, StatusIncident, StatusIncidentComponent, StatusUpdate
    history.seed(engine, 2000, 20, now)
    with engine.begin() as connection:
        connection.execute(sa.insert(StatusComponent.__table__), [
            {"id": n, "name": f"Component {n}", "group_name": f"Group {n % 3}", "created_at": now - timedelta(days=400)}
            for n in range(1, 13)])
        incident_id = connection.execute(sa.select(Incident.id).order_by(Incident.id.desc()).limit(1)).scalar()
        connection.execute(sa.insert(StatusIncident.__table__), [{
            "id": 1, "incident_id": incident_id, "title": "Payments are failing for some customers",
            "state": "partial_outage", "published_at": now - timedelta(hours=1)}])
        connection.execute(sa.insert(StatusIncidentComponent.__table__), [
            {"status_incident_id": 1, "component_id": c} for c in (1, 2, 3)])
        connection.execute(sa.insert(StatusUpdate.__table__), [
            {"status_incident_id": 1, "status": "investigating", "body": f"Update {n}: what we know and do.",
             "by": "U0A", "at": now - timedelta(minutes=60 - n * 20)} for n in range(3)])


async def _reads(url: str, total: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    failed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=READERS),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        left = iter(range(total))

        async def reader() -> None:
            nonlocal failed
            for _ in left:
                started = time.monotonic()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.monotonic() - started)
                failed += 0 if ok else 1
        await asyncio.gather(*(reader() for _ in range(READERS)))
    return latencies, failed


async def measure(database: Database, fake: Fake, workdir: str, *, reads: int, rate: float) -> StatusReads:
    engine = database.engine()
    _seed(engine, datetime.now(UTC))
    engine.dispose()
    bot = await start_bot(fake, database.url, workdir, STATUS_PAGE="true", STATUS_PAGE_TITLE="Bench")
    p99, failed, declarations_failed = {}, {}, 0
    try:
        await quiet(bot, fake)
        for path in ("/healthz", "/status", "/status.json"):
            requests = [load.declaration(f"VSTATUS-{path}-{i}", f"Status bench {path} {i}")
                        for i in range(int(rate * 5))]
            declaring = asyncio.create_task(load.steady(bot.url, requests, rate))
            with load.no_collections():  # as in the ack bursts: the generator's pauses are not the bot's
                latencies, failed[path] = await _reads(bot.url + path, reads)
            declarations_failed += (await declaring).failures
            p99[path] = load.percentile(latencies, 99) * 1000
        await quiet(bot, fake)
    finally:
        await bot.stop()
    return StatusReads(p99, failed, declarations_failed)
