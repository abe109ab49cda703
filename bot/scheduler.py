"""APScheduler only ticks (ARCHITECTURE pattern 3): every SCHEDULER_TICK it asks the services what is due now.

No job per incident, page or reminder: stored state is the only truth, so a restart loses nothing and a second
replica finds the same work already claimed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings


def build_scheduler(settings: Settings, tick: Callable[[], Awaitable[None]]) -> AsyncIOScheduler:
    """Created before the loop runs; `start()` it from inside the running loop."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(tick, IntervalTrigger(seconds=settings.scheduler_tick.total_seconds(), timezone=UTC),
                      id="tick", name="what is due now", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC), misfire_grace_time=None)
    return scheduler
