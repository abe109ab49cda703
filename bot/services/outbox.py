"""What a change owes Slack, written as deliveries in the change's own transaction.

The delivery engine (`bot/delivery/`) claims, orders, retries and fences, and knows what each kind of delivery
means in Slack calls; this only decides what is owed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db.models import Incident
from bot.delivery.messages import Messages, home_lane
from bot.services.base import Effects, ServiceBase


class OutboxService(ServiceBase):
    def __init__(self, **parts) -> None:
        super().__init__(**parts)
        Messages(self.delivery, self.db, self.slack, self._summary)

    def queue_effects(self, session: Session, incident: Incident, effects: Effects, now: datetime) -> None:
        home = home_lane(incident.id)

        def queue(lane: str, kind: str, **payload) -> None:
            self.delivery.queue(session, lane=lane, kind=kind, now=now, incident_id=incident.id, **payload)

        queue(home, "say", text=effects.say)
        for channel, thread_ts, text in effects.elsewhere:
            queue(f"channel:{channel}", "post", channel=channel, thread_ts=thread_ts, text=text)
        if effects.invite:
            queue(home, "invite", users=list(effects.invite))
        if effects.refresh:
            queue(home, "refresh")
        if effects.postmortem:
            queue(home, "postmortem")
        for channel, ts in effects.stopped_pages:
            queue(f"channel:{channel}", "page_stopped", channel=channel, ts=ts)

    def flush_later(self) -> None:
        self.background.spawn(self.flush_outbox(), name="outbox")

    async def flush_outbox(self) -> int:
        return await self.delivery.run()
