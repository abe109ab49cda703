"""What a change owes Slack, written as deliveries with the change, and how each kind of them is delivered.

The delivery engine (`bot/delivery/engine.py`) claims, orders, retries and fences; the handlers here only know
what one delivery means in Slack calls.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot.db.models import Delivery, Incident
from bot.delivery.engine import Drop, Later, Sent
from bot.services.base import Effects, ServiceBase
from bot.views import incident as incident_views
from bot.views import notices
from bot.views import paging as paging_views

log = logging.getLogger(__name__)


def home_lane(incident_id: int) -> str:
    return f"incident:{incident_id}"


class OutboxService(ServiceBase):
    def __init__(self, **parts) -> None:
        super().__init__(**parts)
        for kind, handler in (("post", self._post), ("page_stopped", self._page_stopped), ("say", self._say),
                              ("invite", self._invite_people), ("refresh", self._refresh),
                              ("postmortem", self._postmortem)):
            self.delivery.register(kind, handler)

    # -- writing (inside the change's transaction) ------------------------------------------------------

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

    # -- delivering ---------------------------------------------------------------------------------------

    async def _post(self, delivery: Delivery, payload: dict) -> None:
        await self.slack.post(payload["channel"], payload["text"], payload.get("blocks"),
                              thread_ts=payload.get("thread_ts"))

    async def _page_stopped(self, delivery: Delivery, payload: dict) -> None:
        text, blocks = paging_views.page_stopped(self._home_of(delivery, need_home=False))
        await self.slack.update(payload["channel"], payload["ts"], text, blocks)

    def _home_of(self, delivery: Delivery, need_home: bool = True) -> Incident:
        """The incident a delivery is about, once it has a place in Slack (until then: later)."""
        incident = self._load(delivery.incident_id) if delivery.incident_id else None
        if incident is None:
            raise Drop("the incident is gone")
        if need_home and incident.channel_id is None:
            if "done" in incident.steps_done:
                raise Drop("the incident never got a place in Slack")
            raise Later
        return incident

    async def _say(self, delivery: Delivery, payload: dict) -> None:
        incident = self._home_of(delivery)
        await self.slack.post(incident.channel_id, payload["text"], thread_ts=incident.thread_ts)

    async def _invite_people(self, delivery: Delivery, payload: dict) -> None:
        incident = self._home_of(delivery)
        if incident.thread_ts is None:
            await self.slack.invite(incident.channel_id, payload["users"])

    async def _refresh(self, delivery: Delivery, payload: dict) -> None:
        incident = self._home_of(delivery)
        if not incident.summary_ts:
            return
        text, blocks = self._summary(incident)
        await self.slack.update(incident.channel_id, incident.summary_ts, text, blocks)
        if incident.thread_ts is None:
            await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))

    async def _postmortem(self, delivery: Delivery, payload: dict) -> Sent | None:
        incident = self._home_of(delivery)
        if not incident.postmortem:
            return None
        _, ts = await self.slack.post(incident.channel_id, notices.postmortem_message(incident),
                                      thread_ts=incident.thread_ts)

        def record(session: Session) -> None:
            stored = session.get(Incident, incident.id)
            stored.postmortem_ts = ts
        return Sent(record)
