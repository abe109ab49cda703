"""What a change owes Slack, written as deliveries in the change's own transaction.

The delivery engine (`bot/delivery/`) claims, orders, retries and fences, and knows what each kind of delivery
means in Slack calls; this only decides what is owed, and asks for it to go out now rather than at the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident
from bot.delivery.engine import DeliveryEngine
from bot.delivery.kinds import Kind, channel_lane, incident_lane
from bot.runtime.background import Background, Turn
from bot.services.outcomes import Effects

# Set by the tick around its steps: [still holding]. A list, so a task spawned inside the steps (it copies the
# context) flushes normally once the steps are done.
_HELD: ContextVar[list[bool] | None] = ContextVar("outbox_flushes_held", default=None)


class Outbox:
    def __init__(self, delivery: DeliveryEngine, background: Background) -> None:
        self.delivery = delivery
        self.background = background
        self._flush_waiting: asyncio.Task | None = None  # a flush after the acks, not yet begun

    def queue(self, session: Session, *, lane: str, kind: Kind | str, now: datetime, **payload) -> None:
        self.delivery.queue(session, lane=lane, kind=kind, now=now, **payload)

    def queue_post(self, session: Session, channel: str, text: str, now: datetime,
                   blocks: list[dict] | None = None) -> None:
        """A message to a channel, in that channel's lane."""
        self.delivery.queue(session, lane=channel_lane(channel), kind=Kind.POST, now=now, channel=channel, text=text,
                            **({"blocks": blocks} if blocks is not None else {}))

    def queue_effects(self, session: Session, incident: Incident, effects: Effects, now: datetime) -> None:
        home = incident_lane(incident.id)

        def queue(lane: str, kind: Kind, **payload) -> None:
            self.delivery.queue(session, lane=lane, kind=kind, now=now, incident_id=incident.id, **payload)

        queue(home, Kind.SAY, text=effects.say)
        for channel, thread_ts, text in effects.elsewhere:
            queue(channel_lane(channel), Kind.POST, channel=channel, thread_ts=thread_ts, text=text)
        if effects.invite:
            queue(home, Kind.INVITE, users=list(effects.invite))
            if incident.private:  # who may see it: those invited, from the moment they are (bot/services/visibility)
                repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=effects.invite, at=now)
        if effects.refresh:
            queue(home, Kind.REFRESH)
        if effects.postmortem:
            queue(home, Kind.POSTMORTEM)
        by = {"by": effects.acknowledged[0], "via": effects.acknowledged[1]} if effects.acknowledged else {}
        for channel, ts in effects.stopped_pages:
            queue(channel_lane(channel), Kind.PAGE_STOPPED, channel=channel, ts=ts, **by)

    def flush_later(self) -> None:
        if _holding():
            return
        self.background.spawn(self.flush(), name="outbox")

    def flush_after_acks(self, name: str) -> None:
        """After the requests in flight are answered: a burst's acks come first (the tick is the backstop). A
        declaration's first page is among what goes out: it goes before the other work waiting."""
        if _holding() or self._flush_waiting is not None:
            return  # the flush waiting will deliver this too: it has not read what is due yet
        task = self.background.spawn_after_acks(self._flush_after_acks(), name=name, turn=Turn.PAGE)
        if task is not None:  # (None: asked from a database thread and handed to the loop; not tracked)
            self._flush_waiting = task
            task.add_done_callback(self._no_longer_waiting)

    async def _flush_after_acks(self) -> int:
        """One flush waits for a burst's acks, not one a request: each a task, a burst of 4,000 declarations kept
        4,000 waiting (memory that stayed with the tables of asyncio's task sets after the burst), and all but
        the first found a pass running and did nothing."""
        self._no_longer_waiting(asyncio.current_task())
        return await self.flush()

    def _no_longer_waiting(self, task: asyncio.Task | None) -> None:
        if self._flush_waiting is task:
            self._flush_waiting = None

    @contextmanager
    def flushes_held(self) -> Iterator[None]:
        """The tick's steps ask for no flush of their own: the tick flushes once after its last step. Sends
        interleaved with the steps took their database thread and the interpreter between each step's reads (a
        tick at 1,000 open with reminders due: 42 ms, 22 ms without). Only the calling task's own requests are
        held: a request answered meanwhile flushes at once."""
        held = [True]
        token = _HELD.set(held)
        try:
            yield
        finally:
            held[0] = False
            _HELD.reset(token)

    async def flush(self) -> int:
        return await self.delivery.run()

    def backlog(self) -> dict:
        return self.delivery.backlog()


def _holding() -> bool:
    held = _HELD.get()
    return bool(held and held[0])
