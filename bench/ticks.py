"""Tick cost at scale: a database seeded with a history of incidents (1% open), one scheduler tick timed at each
size, with the SQL statements and Slack calls it makes."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.clock import FakeClock
from bot.config import load_settings
from bot.db.models import Incident, Page, Rotation, RotationMember, TimelineEvent
from bot.runtime import build_runtime
from tests.fake_slack import FakeSlack

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday noon: business hours, reminders live


@dataclass
class TickResult:
    incidents: int
    open: int
    first_tick_ms: float
    first_tick_slack_calls: int
    median_ms: float
    p90_ms: float
    statements: int


def seed(engine: sa.Engine, total: int, open_share: float = 0.01, seed_value: int = 7) -> int:
    """`total` incidents over the last two years, `open_share` of them open; four to six events each."""
    rng = random.Random(seed_value)
    with engine.begin() as connection:
        connection.execute(sa.insert(Rotation.__table__), [{
            "id": 1, "name": "payments", "channel_id": "C0PAY", "created_by": "U0A",
            "created_at": NOW - timedelta(days=800)}])
        connection.execute(sa.insert(RotationMember.__table__), [
            {"rotation_id": 1, "user_id": u, "position": i} for i, u in enumerate(("U0A", "U0B", "U0C"))])
        open_count = max(1, int(total * open_share))
        open_numbers = set(rng.sample(range(1, total + 1), open_count))
        batch_incidents, batch_events, batch_pages = [], [], []
        for number in range(1, total + 1):
            is_open = number in open_numbers
            created = NOW - (timedelta(hours=rng.uniform(1, 72)) if is_open else timedelta(days=rng.uniform(3, 730)))
            priority = rng.choice(("P0", "P1", "P1", "P2", "P2", "P2"))
            acknowledged = created + timedelta(minutes=rng.uniform(1, 30))
            resolved = None if is_open else created + timedelta(hours=rng.uniform(1, 48))
            batch_incidents.append({
                "id": number, "number": number, "title": f"Incident {number}", "description": "", "priority": priority,
                "status": rng.choice(("new", "triaged", "in_progress", "blocked")) if is_open else "resolved",
                "impacts": "", "reporter_id": "U0R", "commander_id": rng.choice(("U0A", "U0B", "U0C", "U0D")),
                "rotation_id": 1, "channel_id": f"C{number:09d}", "channel_name": f"inc-{number}",
                "slack_steps_done": "done", "summary_ts": f"{number}.000001", "created_at": created,
                "updated_at": created, "acknowledged_at": acknowledged, "resolved_at": resolved,
                "last_update_at": created + timedelta(minutes=10), "reopen_count": 0, "resolution": "",
                "follow_ups": "", "postmortem": "", "source": "slack", "alert_count": 0,
                "p0_since": created if priority == "P0" else None})
            moments = sorted(created + timedelta(minutes=rng.uniform(0, 600)) for _ in range(rng.randint(3, 5)))
            batch_events.append({"incident_id": number, "at": created, "actor_id": "U0R", "kind": "declared",
                                 "text": f"{priority}: Incident {number}"})
            batch_events += [{"incident_id": number, "at": at, "actor_id": "U0A", "kind": "update",
                              "text": "Still looking"} for at in moments]
            if priority != "P2":
                batch_pages.append({"incident_id": number, "chain": 1, "step": 0, "start": "primary",
                                    "target_role": "primary", "target_user_id": "U0A", "note": "", "state": "done",
                                    "created_at": created, "sent_at": created, "acknowledged_at": acknowledged,
                                    "acknowledged_by": "U0A"})
            if len(batch_incidents) >= 5000:
                _flush(connection, batch_incidents, batch_events, batch_pages)
        _flush(connection, batch_incidents, batch_events, batch_pages)
    return open_count


def _flush(connection, incidents: list, events: list, pages: list) -> None:
    if incidents:
        connection.execute(sa.insert(Incident.__table__), incidents)
    if events:
        connection.execute(sa.insert(TimelineEvent.__table__), events)
    if pages:
        connection.execute(sa.insert(Page.__table__), pages)
    incidents.clear()
    events.clear()
    pages.clear()


async def measure(total: int, ticks: int = 15) -> TickResult:
    workdir = tempfile.mkdtemp(prefix="ff-ticks-")
    fake = await FakeSlack().start()
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-bench", slack_signing_secret="bench",
                             slack_api_url=fake.api_url, database_url=f"sqlite:///{workdir}/ticks.db",
                             incidents_channel="C0INCIDENTS")
    clock = FakeClock(NOW)
    runtime = build_runtime(settings, clock=clock, slack_retry_backoff=0.01, scheduler=False)
    for user in ("U0A", "U0B", "U0C", "U0D"):
        fake.add_user(user)
        await runtime.services.people.refresh([user])
    for channel in ("C0PAY", "C0INCIDENTS"):
        fake.add_channel(channel, channel.lower())
    opened = seed(runtime.engine, total)
    statements = 0

    def count(*_args, **_kwargs) -> None:
        nonlocal statements
        statements += 1

    sa.event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        calls_before = len(fake.calls)
        started = time.perf_counter()
        await runtime.tick()
        await runtime.background.drain()
        first_ms = (time.perf_counter() - started) * 1000
        first_calls = len(fake.calls) - calls_before
        for _ in range(50):  # the backlog a fresh history starts with (all reminders ever due) goes out first
            before = len(fake.calls)
            await runtime.tick()
            await runtime.background.drain()
            if len(fake.calls) == before:
                break
        first_calls = len(fake.calls) - calls_before
        durations, per_tick = [], []
        for _ in range(ticks):
            clock.advance(seconds=30)
            statements = 0
            started = time.perf_counter()
            await runtime.tick()
            durations.append((time.perf_counter() - started) * 1000)
            per_tick.append(statements)
            await runtime.background.drain()
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", count)
        runtime.engine.dispose()
        await fake.stop()
    ordered = sorted(durations)
    return TickResult(total, opened, first_ms, first_calls, statistics.median(ordered),
                      ordered[int(len(ordered) * 0.9) - 1], int(statistics.median(per_tick)))


async def calls_per_due_reminder(due: int) -> float:
    """Slack calls a tick makes for `due` P0s whose hourly update is overdue (channel + commander DM each)."""
    workdir = tempfile.mkdtemp(prefix="ff-due-")
    fake = await FakeSlack().start()
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-bench", slack_signing_secret="bench",
                             slack_api_url=fake.api_url, database_url=f"sqlite:///{workdir}/due.db")
    runtime = build_runtime(settings, clock=FakeClock(NOW), slack_retry_backoff=0.01, scheduler=False)
    rows = [{"number": n, "title": f"P0 {n}", "description": "", "priority": "P0", "status": "in_progress",
             "impacts": "", "reporter_id": "U0R", "commander_id": "U0A", "channel_id": f"C{n:09d}",
             "slack_steps_done": "done", "created_at": NOW - timedelta(minutes=70), "updated_at": NOW,
             "acknowledged_at": NOW - timedelta(minutes=69), "p0_since": NOW - timedelta(minutes=70),
             "reopen_count": 0, "resolution": "", "follow_ups": "", "postmortem": "", "source": "slack",
             "alert_count": 0} for n in range(1, due + 1)]
    for n in range(1, due + 1):
        fake.add_channel(f"C{n:09d}", f"inc-{n}")
    fake.add_user("U0A")
    with runtime.engine.begin() as connection:
        connection.execute(sa.insert(Incident.__table__), rows)
    before = len(fake.calls)
    await runtime.tick()
    await runtime.background.drain()
    calls = [c for c in fake.calls[before:] if c.method != "users.info"]
    runtime.engine.dispose()
    await fake.stop()
    return len(calls) / due
