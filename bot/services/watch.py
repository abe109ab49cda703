"""The bot watching itself (SPEC §2 Heartbeats): an auditor reading stored state for work the tick should have done
more than two ticks ago — an escalation, a reminder, a delivery — which /healthz turns into 503 `"engine": "late"`;
the tick's lag and duration for /metrics; and, with HEARTBEAT_URL set, a GET there after every completed tick so a
dead-man's switch outside notices when the bot stops ticking."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import aiohttp

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.runtime.background import Background

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 5  # seconds: an outside watchdog that hangs never holds anything up
LATE_AFTER_TICKS = 2


class EngineWatch:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, background: Background) -> None:
        self.settings, self.db, self.clock, self.background = settings, db, clock, background
        self.last_tick_at: datetime | None = None
        self.last_tick_seconds: float | None = None
        self._started = 0.0
        self.step_failures: dict[str, int] = {}  # by tick step, since this process started
        self._session: aiohttp.ClientSession | None = None

    def late(self) -> dict[str, int]:
        """What is overdue by more than two ticks, by kind (empty when the engine keeps up)."""
        now = self.clock.now()
        before = now - self.settings.scheduler_tick * LATE_AFTER_TICKS
        with self.db.reading() as session:
            counts = repo.metrics.overdue_counts(session=session, before=before,
                                                 unanswered_p0=before - self.settings.escalation_timeout("P0"),
                                                 unanswered_p1=before - self.settings.escalation_timeout("P1"))
        return {kind: n for kind, n in counts.items() if n}

    # -- the tick ---------------------------------------------------------------------------------------------

    def tick_started(self) -> None:
        self._started = time.perf_counter()

    def step_failed(self, step: str) -> None:
        self.step_failures[step] = self.step_failures.get(step, 0) + 1

    def tick_done(self) -> None:
        self.last_tick_at = self.clock.now()
        self.last_tick_seconds = time.perf_counter() - self._started
        if self.settings.heartbeat_url:
            self.background.spawn(self._beat(self.settings.heartbeat_url), name="heartbeat")

    async def _beat(self, url: str) -> None:
        """Best effort, bounded: a watchdog that is down or slow is logged, never waited for by the tick."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HEARTBEAT_TIMEOUT))
        try:
            async with self._session.get(url) as response:
                if response.status >= 400:
                    log.warning("HEARTBEAT_URL answered %s", response.status)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("HEARTBEAT_URL could not be reached: %s", exc.__class__.__name__)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def lag_seconds(self) -> float | None:
        if self.last_tick_at is None:
            return None
        return max((self.clock.now() - self.last_tick_at).total_seconds(), 0.0)
