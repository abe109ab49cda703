"""What a change owes Slack, written as deliveries in the change's own transaction.

The delivery engine (`bot/delivery/`) claims, orders, retries and fences, and knows what each kind of delivery
means in Slack calls; this only decides what is owed, and asks for it to go out now rather than at the next tick.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident
from bot.delivery.engine import DeliveryEngine
from bot.delivery.kinds import Kind, channel_lane, incident_lane
from bot.runtime.background import Background, Turn
from bot.services.outcomes import Effects


class Outbox:
    def __init__(self, delivery: DeliveryEngine, background: Background) -> None:
        self.delivery = delivery
        self.background = background

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
        self.background.spawn(self.flush(), name="outbox")

    def flush_after_acks(self, name: str) -> None:
        """After the requests in flight are answered: a burst's acks come first (the tick is the backstop). A
        declaration's first page is among what goes out: it goes before the other work waiting."""
        self.background.spawn_after_acks(self.flush(), name=name, turn=Turn.PAGE)

    async def flush(self) -> int:
        return await self.delivery.run()

    def backlog(self) -> dict:
        return self.delivery.backlog()
