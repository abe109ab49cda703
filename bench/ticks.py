"""One scheduler tick at scale, timed in-process: the tick is the bot's own loop work (read what is due, claim it,
queue deliveries), so it is driven directly with a FakeClock (`runtime.tick()`), not through HTTP. The fake Slack
runs in this process too; what it answers is not part of the time measured (deliveries are drained after it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import history, schedules
from bot.clock import FakeClock
from bot.config import load_settings
from bot.runtime.wiring import build_runtime
from tests.fake_slack import FakeSlack

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday noon: business hours, reminders live


@dataclass
class Ticks:
    stored: int
    open: int
    median_ms: float
    worst_ms: float
    statements: int
    slack_calls: int  # during the timed ticks (with nothing due, there should be none)
    backlog_calls: int  # what the history owed when the bot first looked at it (sent before timing)


def measure_apart(stored: int, open_count: int, *, nothing_due: bool, with_schedules: bool = False) -> Ticks:
    """`measure` in a fresh process of its own, as the bot's tick runs in the bot's: run third in the benchmark's
    process, after two measurements and their fake Slacks of 100,000 channels, the same tick took 22.6 ms
    against 15.3 ms alone."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as apart:
        return apart.submit(_measure_here, stored, open_count, nothing_due, with_schedules).result()


def _measure_here(stored: int, open_count: int, nothing_due: bool, with_schedules: bool) -> Ticks:
    return asyncio.run(measure(stored, open_count, nothing_due=nothing_due, with_schedules=with_schedules))


async def measure(stored: int, open_count: int, *, nothing_due: bool, ticks: int = 10,
                  with_schedules: bool = False) -> Ticks:
    """`with_schedules`: SPEC § 7's 200 rotations of three layers, 50 overrides and 20 people away besides."""
    workdir = tempfile.mkdtemp(prefix="ff-ticks-")
    fake = await FakeSlack().start()
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-bench", slack_signing_secret="bench",
                             slack_api_url=fake.api_url, database_url=f"sqlite:///{workdir}/ticks.db",
                             incidents_channel="C0INCIDENTS")
    clock = FakeClock(NOW)
    runtime = build_runtime(settings, clock=clock, slack_retry_backoff=0.01, scheduler=False)
    for user in history.PEOPLE:
        fake.add_user(user)
        await runtime.services.people.refresh([user])
    for channel in (history.ROTATION_CHANNEL, "C0INCIDENTS"):
        fake.add_channel(channel, channel.lower())
    for number in history.seed(runtime.engine, stored, open_count, NOW, nothing_due=nothing_due):
        fake.add_channel(history.channel_of(number), f"inc-{number}")
    if with_schedules:
        for user in schedules.PEOPLE:
            fake.add_user(user)
        schedules.seed(runtime.engine, NOW)
        for n in range(schedules.ROTATIONS):
            fake.add_channel(f"C0T{n:05d}", f"team-{n:03d}")
    statements = 0

    def count(*_args, **_kwargs) -> None:
        nonlocal statements
        statements += 1

    quiet_delivery = logging.getLogger("bot")  # the seeded channels' summaries do not exist: refreshes are refused
    level, quiet_delivery.level = quiet_delivery.level, logging.CRITICAL
    sa.event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        backlog_before = len(fake.calls)
        for _ in range(50):  # what a fresh history owes (every reminder it ever had due) goes out first
            before = len(fake.calls)
            await runtime.tick()
            await runtime.background.drain()
            if len(fake.calls) == before:
                break
        backlog = len(fake.calls) - backlog_before
        durations, per_tick, calls_before = [], [], len(fake.calls)
        for _ in range(ticks):
            clock.advance(seconds=30)
            statements = 0
            started = time.perf_counter()
            await runtime.tick()
            durations.append((time.perf_counter() - started) * 1000)
            per_tick.append(statements)
            await runtime.background.drain()
        calls = len(fake.calls) - calls_before
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", count)
        quiet_delivery.level = level
        runtime.engine.dispose()
        await fake.stop()
    return Ticks(stored, open_count, statistics.median(durations), max(durations),
                 int(statistics.median(per_tick)), calls, backlog)
