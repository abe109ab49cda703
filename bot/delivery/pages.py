"""Sending a page: one delivery in its recipient's lane, stored with the decision to page (bot/services/paging.py).

What Slack answered is recorded under the delivery's claim: the page is `waiting` from then (its escalation timeout
runs), or — acknowledged while it was on its way — its buttons go at once. A page Slack refuses for good moves the
chain on at once; the `@here` step falls back to INCIDENTS_CHANNEL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Delivery, Incident, Page
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Record, channel_lane, incident_lane
from bot.delivery.messages import post_at
from bot.domain.incident import incident_ref
from bot.slack.gateway import SlackGateway, slack_error, transient
from bot.views import paging as paging_views

log = logging.getLogger(__name__)


class Pages:
    """`timeout(priority)`: how long a page waits for an answer; `escalate_refused(page_id, reason)`: move the
    chain past a page Slack will never deliver."""

    def __init__(self, engine: DeliveryEngine, db: repo.database.Database, slack: SlackGateway, clock: Clock,
                 settings: Settings, timeout: Callable[[str], timedelta],
                 escalate_refused: Callable[[int, str], Awaitable[None]]) -> None:
        self.delivery, self.db, self.slack, self.clock, self.settings = engine, db, slack, clock, settings
        self.escalation_timeout, self.escalate_refused = timeout, escalate_refused

    async def send(self, delivery: Delivery, payload: dict) -> Sent | None:
        page, incident = await self.db.run_background(self._still_owed, payload["page_id"])
        if page.target_user_id:
            text, blocks = paging_views.page_dm(incident, page, self.escalation_timeout(incident.priority))
            try:
                dm_channel, dm_ts = await self.slack.post(page.target_user_id, text, blocks)
            except SlackApiError as exc:
                if transient(exc):
                    raise
                return await self._page_refused(page, incident, f"<@{page.target_user_id}>", slack_error(exc))
        else:
            text, blocks = paging_views.page_here(incident, page)
            places = [p for p in dict.fromkeys((page.target_channel, self.settings.incidents_channel)) if p]
            refusals = []
            for place in places:
                posted = await post_at(self.slack, place, text, blocks)
                if not isinstance(posted, str):
                    break
                refusals.append(f"<#{place}> ({posted})")
            else:
                return await self._page_refused(page, incident, "@here", "; ".join(refusals) or "no channel")
            dm_channel, dm_ts = posted
        return Sent(self._page_went_out(page, incident, dm_channel, dm_ts))

    def _still_owed(self, page_id: int) -> tuple[Page, Incident]:
        with self.db.session() as session:
            page = repo.pages.page_by_id(session=session, page_id=page_id)
            incident = repo.incidents.incident_by_id(session=session, incident_id=page.incident_id) if page else None
            # (`waiting`: another method reached the person first; the DM still goes, once)
            if page is None or incident is None or page.state not in ("queued", "waiting") or page.dm_ts:
                raise Drop("acknowledged or stopped before it went out", lambda s: repo.contacts.slack_send_outcome(
                    session=s, page_id=page_id, state="skipped", outcome="answered or escalated past before it "
                    "went out", now=self.clock.now()))
            if not incident.status.is_open:
                repo.pages.page_outcome(session=session, page_id=page.id, state="done")
                session.commit()
                raise Drop(f"{incident_ref(incident.number)} is over")
        return page, incident

    def _page_went_out(self, page: Page, incident: Incident, dm_channel: str, dm_ts: str) -> Record:
        def record(session: Session) -> None:
            now = self.clock.now()
            repo.contacts.slack_send_outcome(session=session, page_id=page.id, state="sent", outcome="sent", now=now)
            reached = repo.pages.page_dm_sent(session=session, page_id=page.id, sent_at=now, dm_channel=dm_channel,
                                              dm_ts=dm_ts)
            if reached is None:
                # Acknowledged while it was on its way: it did go out (kept, as it was sent), and its buttons go
                # at once.
                repo.pages.page_sent_anyway(session=session, page_id=page.id, sent_at=now, dm_channel=dm_channel,
                                            dm_ts=dm_ts)
                self.delivery.queue(session, lane=channel_lane(dm_channel), kind=Kind.PAGE_STOPPED, now=now,
                                    incident_id=incident.id, channel=dm_channel, ts=dm_ts)
                return
            page_reached(self.delivery, session, page, incident, now, first=reached,
                         where=None if page.target_user_id else dm_channel)
        return record

    async def _page_refused(self, page: Page, incident: Incident, whom: str, error: str) -> None:
        """Slack will never deliver this page (the DM cannot be opened, the account is gone): unless another of
        the person's methods got through or still may, the chain moves on at once instead of waiting out the
        escalation timeout, and the timeline says why."""
        log.warning("%s: page %s to %s refused by Slack (%s)", incident_ref(incident.number), page.id, whom, error)
        if await self.db.run_background(self._dm_refused, page.id, error):
            await self.escalate_refused(page.id, f"Slack refused the page to {whom} ({error})")

    def _dm_refused(self, page_id: int, error: str) -> bool:
        with self.db.session() as session:
            repo.contacts.slack_send_outcome(session=session, page_id=page_id, state="failed", outcome=error,
                                             now=self.clock.now())
            unreachable = repo.contacts.page_unreachable(session=session, page_id=page_id)
            session.commit()
        return unreachable

def page_reached(engine: DeliveryEngine, session: Session, page: Page, incident: Incident, now: datetime, *,
                 first: bool, where: str | None = None, via: str = "", tries: int = 0) -> None:
    """A page got through by one of its methods. The first that does starts the page's escalation timeout (it is
    `waiting` from then), goes on the timeline as the page and is said in the incident's channel; a method beyond
    Slack (`via`) also adds a line of its own, with the failed attempts before it (`tries`: the timeline names
    an outage's first failure, not every retry). The lines read the same whichever method came first (the DM and
    the SMS race in lanes side by side)."""
    whom = f"<@{page.target_user_id}>" if page.target_user_id else f"@here in <#{where}>"
    if first:
        role = f" ({page.target_role})" if page.target_role not in ("person", "channel") else ""
        repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="paged",
                                text=f"paged {whom}{role}" + (f"; {page.note}" if page.note else ""))
        declared_page = page.chain == 1 and page.step == 0 and page.paged_by is None  # the summary says it
        if page.target_user_id and not declared_page:
            engine.queue(session, lane=incident_lane(incident.id), kind=Kind.SAY, now=now, incident_id=incident.id,
                         text=paging_views.page_mention(incident, page))
    if via:
        repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="paged",
                                text=f"paged {whom} by {via}: sent" + (f" (after {tries} failed attempts)"
                                                                        if tries > 1 else " (after a failed attempt)"
                                                                        if tries else ""))
