"""APScheduler only ticks (ARCHITECTURE pattern 3): every SCHEDULER_TICK it asks the services what is due now.

No job per incident, page or reminder: stored state is the only truth, so a restart loses nothing and a second
replica finds the same work already claimed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from functools import wraps

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings


class TickStepsFailed(ExceptionGroup):
    """Raised by a tick after every step ran, when some failed (each already logged and counted): a caller that
    drives ticks itself (the tests) sees a broken step; the scheduler's job takes it as told."""


def build_scheduler(settings: Settings, tick: Callable[[], Awaitable[None]]) -> AsyncIOScheduler:
    """Created before the loop runs; `start()` it from inside the running loop."""
    tick = _told(tick)
    _demote_overruns(logging.getLogger("apscheduler.scheduler"))
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(tick, IntervalTrigger(seconds=settings.scheduler_tick.total_seconds(), timezone=UTC),
                      id="tick", name="what is due now", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC), misfire_grace_time=None)
    # The handoff boundary gets a tick of its own, so the digest goes out on the minute whatever SCHEDULER_TICK is.
    at = settings.handoff_time
    scheduler.add_job(tick, CronTrigger(day_of_week=_CRON_DAYS[settings.handoff_weekday], hour=at.hour,
                                        minute=at.minute, timezone=settings.team_timezone),
                      id="handoff", name="the handoff boundary", max_instances=1, coalesce=True,
                      misfire_grace_time=None)
    return scheduler


def _told(tick: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A tick whose steps failed has logged and counted each already: APScheduler need not log it again."""
    @wraps(tick)
    async def run() -> None:
        with suppress(TickStepsFailed):
            await tick()
    return run


class _OverrunsAreMeasured(logging.Filter):
    """A tick still running when the next is due skips that one (max_instances=1): by design, and measured already
    (firefighter_tick_duration_seconds, firefighter_overdue_work). APScheduler's WARNING for each skip would say it
    every interval of a slow start or a busy hour; it is kept at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and "maximum number of running instances" in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def _demote_overruns(logger: logging.Logger) -> None:
    if not any(isinstance(each, _OverrunsAreMeasured) for each in logger.filters):
        logger.addFilter(_OverrunsAreMeasured())


_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
