"""The tick: what the scheduler runs every SCHEDULER_TICK, as a list of named steps. Whatever stored state says is
due at `now` is claimed and queued; the sending (deliveries, `users.info`) goes on in the background, so a tick never
waits on Slack. Each step stands alone (SPEC §5): one that raises is logged and counted, the ones after it still run.
A step waits for a burst of Slack requests to be answered first (ACKS_FIRST_MAX_WAIT at most per tick).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.db import repo
from bot.runtime.background import ACKS_FIRST_MAX_WAIT, Background
from bot.runtime.scheduler import TickStepsFailed
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickStep:
    name: str  # as counted on /metrics: firefighter_tick_step_failures_total{step}
    run: Callable[[], Awaitable[object]]


def tick_steps(services: Services, db: repo.database.Database) -> list[TickStep]:
    """In this order; the steps that only touch the database run in a database thread."""
    return [
        TickStep("escalations", services.paging.escalate_due),
        TickStep("contact_sends", services.contacts.send_due),
        TickStep("reminders", services.reminders.remind_due),
        TickStep("covers", services.covers.expire_due),
        TickStep("usergroups", services.usergroups.sync_due),
        TickStep("capture", lambda: db.run_background(services.capture.forget_old)),
        TickStep("follow_ups", services.follow_ups.remind_due),
        TickStep("heartbeats", lambda: db.run_background(services.heartbeats.check_due)),
        TickStep("storms", lambda: db.run_background(services.storms.end_quiet)),
        TickStep("maintenance", lambda: db.run_background(services.maintenance.close_due,
                                                           services.alerts.receive_alert)),
    ]


class Tick:
    """Called by the scheduler (and by tests that move a FakeClock): the steps run in turn, then the outbox is
    flushed in the background (once, for all of them) and people's time zones are refreshed now and then."""

    def __init__(self, steps: list[TickStep], services: Services, background: Background) -> None:
        self.steps, self.services, self.background = steps, services, background
        services.watch.step_failures = {step.name: 0 for step in steps}  # on /metrics from the start, zeros too

    async def __call__(self) -> None:
        watch = self.services.watch
        until = asyncio.get_running_loop().time() + ACKS_FIRST_MAX_WAIT  # a burst delays a tick this long at most
        await self.background.burst_over(until)
        watch.tick_started()
        failures = []
        with self.services.outbox.flushes_held():
            for step in self.steps:
                await self.background.burst_over(until)  # acks first: a burst that began mid-tick waits for no step
                try:
                    await step.run()
                except Exception as exc:  # a bug or a failing query in one step must not starve the others
                    log.exception("tick step %r failed; the other steps ran", step.name)
                    watch.step_failed(step.name)
                    failures.append(exc)
        self.services.outbox.flush_later()  # what the steps queued, and what was owed before (resumed)
        self.background.spawn(self.services.people.refresh_now_and_then(), name="people")
        if failures:  # not a completed tick: HEARTBEAT_URL stays quiet and /metrics shows the lag and the failures
            raise TickStepsFailed("tick steps failed", failures)
        watch.tick_done()
