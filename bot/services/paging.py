"""Paging and escalation (SPEC §2): state, not timers, is the truth.

A page is a row. Declaring a P0/P1 stores the first one in the same transaction as the incident; delivering it
claims the row first (so two processes never both send it); escalation claims the unanswered page with a
conditional update and inserts the next step under a unique (incident, chain, step) — so however many ticks race,
each step is sent once. Acknowledging stops every live page of the incident.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import repo
from bot.db.models import Delivery, Incident, Page
from bot.delivery.engine import Drop, Record, Sent
from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status, incident_ref
from bot.domain.rotation import ROLES, Role
from bot.notify import slack_error, transient
from bot.services.rotations import RotationService
from bot.views import paging as paging_views

log = logging.getLogger(__name__)

# Where a message to a channel cannot go: gone, archived, private without the bot, or the bot not in it.
UNREACHABLE_CHANNEL = frozenset({"channel_not_found", "is_archived", "not_in_channel", "restricted_action",
                                 "restricted_action_read_only_channel", "no_permission", "access_denied"})


@dataclass(frozen=True)
class Target:
    role: str  # primary, secondary, tertiary, person or channel
    user_id: str | None
    channel: str | None
    note: str = ""


class PagingService(RotationService):
    def __init__(self, **parts) -> None:
        super().__init__(**parts)
        self.delivery.register("page", self._send_page)

    # -- choosing whom to page ----------------------------------------------------------------------------

    def next_target(self, session: Session, incident: Incident, chain: list[Page], start: str,
                    now: datetime) -> Target | None:
        """The next person in the chain not yet paged; for P1s the first of them inside business hours.

        After the people comes `@here` in the rotation's channel; after that, nothing.
        """
        if any(p.target_role == "channel" for p in chain):
            return None
        paged = {p.target_user_id for p in chain if p.target_user_id}
        oncall = self.on_call_for(session, incident, now)
        candidates: list[tuple[str, str]] = []
        first_role = 0
        if start in Role._value2member_map_:
            first_role = ROLES.index(Role(start))
        else:
            candidates.append(("person", start))
        if oncall:
            candidates += [(role.value, user) for role, user in oncall.chain if ROLES.index(role) >= first_role]
        seen: set[str] = set()
        fresh = []
        for role, user in candidates:
            if user not in paged and user not in seen:
                seen.add(user)
                fresh.append((role, user))
        if fresh:
            if incident.priority == Priority.P0.value or (not chain and start not in Role._value2member_map_):
                return Target(fresh[0][0], fresh[0][1], None)
            zones = self.timezones(session, [u for _, u in fresh])
            inside = [(r, u) for r, u in fresh if self.working_time.is_open(now, zones[u])]
            skipped = [u for _, u in fresh[: fresh.index(inside[0])]] if inside else []
            if inside:
                note = (f"skipped {', '.join(f'<@{u}>' for u in skipped)} (outside business hours)"
                        if skipped else "")
                return Target(inside[0][0], inside[0][1], None, note)
            return Target(fresh[0][0], fresh[0][1], None, "everyone is outside business hours; paging all the same")
        rotation = self._rotation(session, incident)
        if rotation:
            return Target("channel", None, rotation.channel_id, "nobody acknowledged")
        return None

    def start_chain(self, session: Session, incident: Incident, now: datetime, *, start: str = Role.PRIMARY.value,
                    paged_by: str | None = None) -> Page | None:
        """Store the first page of a new chain (delivered after the transaction commits)."""
        target = self.next_target(session, incident, [], start, now)
        if target is None:
            return None
        page = Page(incident_id=incident.id, chain=repo.last_chain(session=session, incident_id=incident.id) + 1,
                    step=0, start=start, target_role=target.role, target_user_id=target.user_id,
                    target_channel=target.channel, note=target.note, paged_by=paged_by, created_at=now)
        session.add(page)
        self._queue_page(session, incident, page, now)
        return page

    # -- delivering: each page is a delivery in its recipient's lane ------------------------------------

    def _queue_page(self, session: Session, incident: Incident, page: Page, now: datetime) -> None:
        """Owed from the transaction that decided it; the delivery engine sends it."""
        session.flush()  # the page's id
        lane = f"user:{page.target_user_id}" if page.target_user_id else f"channel:{page.target_channel}"
        self.delivery.queue(session, lane=lane, kind="page", now=now, incident_id=incident.id, page_id=page.id)

    async def _send_page(self, delivery: Delivery, payload: dict) -> Sent | None:
        with self.db.session() as session:
            page = repo.page_by_id(session=session, page_id=payload["page_id"])
            incident = repo.incident_by_id(session=session, incident_id=page.incident_id) if page else None
        if page is None or incident is None or page.state != "queued":
            raise Drop("acknowledged or stopped before it went out")
        if not Status(incident.status).is_open:
            with self.db.session() as session:
                repo.page_outcome(session=session, page_id=page.id, state="done")
                session.commit()
            raise Drop(f"{incident_ref(incident.number)} is over")
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
                posted = await self._post_at(place, text, blocks)
                if not isinstance(posted, str):
                    break
                refusals.append(f"<#{place}> ({posted})")
            else:
                return await self._page_refused(page, incident, "@here", "; ".join(refusals) or "no channel")
            dm_channel, dm_ts = posted
        return Sent(self._page_went_out(page, incident, dm_channel, dm_ts))

    def _page_went_out(self, page: Page, incident: Incident, dm_channel: str, dm_ts: str) -> Record:
        def record(session: Session) -> None:
            now = self.clock.now()
            if not repo.page_outcome(session=session, page_id=page.id, state="waiting", sent_at=now,
                                     dm_channel=dm_channel, dm_ts=dm_ts):
                # Acknowledged while it was on its way: its buttons go at once.
                self.delivery.queue(session, lane=f"channel:{dm_channel}", kind="page_stopped", now=now,
                                    incident_id=incident.id, channel=dm_channel, ts=dm_ts)
                return
            whom = f"<@{page.target_user_id}>" if page.target_user_id else f"@here in <#{dm_channel}>"
            role = f" ({page.target_role})" if page.target_role not in ("person", "channel") else ""
            repo.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="paged",
                           text=f"paged {whom}{role}" + (f"; {page.note}" if page.note else ""))
            declared_page = page.chain == 1 and page.step == 0 and page.paged_by is None  # the summary says it
            if page.target_user_id and not declared_page:
                self.delivery.queue(session, lane=f"incident:{incident.id}", kind="say", now=now,
                                    incident_id=incident.id, text=paging_views.page_mention(incident, page))
        return record

    async def _page_refused(self, page: Page, incident: Incident, whom: str, error: str) -> None:
        """Slack will never deliver this page (the DM cannot be opened, the account is gone): the chain moves on
        at once instead of waiting out the escalation timeout, and the timeline says why."""
        log.warning("%s: page %s to %s refused by Slack (%s)", incident_ref(incident.number), page.id, whom, error)
        await self._escalate(page.id, actor=None, reason=f"Slack refused the page to {whom} ({error})",
                             states=("queued",))

    async def _post_at(self, place: str, text: str, blocks: list[dict]) -> tuple[str, str] | str:
        """(channel, ts) where it was posted, or Slack's reason it cannot go there. A public channel the bot is not
        in is joined first. Slack being unavailable is raised (the engine retries); an unexpected refusal too."""
        joined = False
        while True:
            try:
                return await self.slack.post(place, text, blocks)
            except SlackApiError as exc:
                error = slack_error(exc)
                if transient(exc) or error not in UNREACHABLE_CHANNEL:
                    raise
                if error != "not_in_channel" or joined or place[0] not in "C#":
                    return error
            try:
                await self.slack.join(place)
            except SlackApiError as exc:
                if transient(exc):
                    raise
                return f"not_in_channel; joining it: {slack_error(exc)}"
            joined = True

    # -- escalating ---------------------------------------------------------------------------------------

    async def escalate_due(self) -> int:
        """Every delivered page unanswered past its timeout moves its chain on one step."""
        now = self.clock.now()
        with self.db.session() as session:
            waiting = repo.waiting_pages(session=session)
        moved = 0
        for page, incident in waiting:
            if now - page.sent_at < self.escalation_timeout(incident.priority):
                continue
            if await self._escalate(page.id, actor=None):
                moved += 1
        return moved

    async def escalate_page(self, page_id: int, user_id: str) -> Page:
        """The Escalate button: the paged person (or the commander, or an admin) passes it on at once."""
        nxt = await self._escalate(page_id, actor=user_id)
        if nxt is None:
            raise UserError("This page was escalated already, or there is nobody left to page.")
        return nxt

    @staticmethod
    def _check_escalation(page: Page, incident: Incident, actor: str, admins) -> None:
        if page.state != "waiting":
            what = "acknowledged" if page.acknowledged_at else "escalated already"
            raise UserError(f"This page was {what}; nothing to do.")
        if actor not in (page.target_user_id, incident.commander_id) and actor not in admins:
            raise UserError(f"Only the person paged (<@{page.target_user_id}>), the commander of "
                            f"{incident_ref(incident.number)} or an admin can escalate this page.")

    async def _escalate(self, page_id: int, actor: str | None, reason: str | None = None,
                        states: tuple[str, ...] = ("waiting",)) -> Page | None:
        """Under the incident's lock, so an acknowledgement and an escalation settle on one outcome: once the
        chain is acknowledged its pages are done and this finds nothing to move on."""
        now = self.clock.now()
        with self.db.session() as session:
            page = repo.page_by_id(session=session, page_id=page_id)
            if page is None:
                if actor is not None:
                    raise UserError("That page no longer exists.")
                return None
            incident = repo.incident_for_change(session=session, incident_id=page.incident_id)
            session.refresh(page)  # as it is now that the incident is ours
            if actor is not None:
                self._check_escalation(page, incident, actor, self.settings.admins)
            if not repo.claim_escalation(session=session, page_id=page_id, now=now, states=states):
                return None
            if not Status(incident.status).is_open or page.target_role == "channel":
                session.commit()
                return None
            chain = repo.pages_of(session=session, incident_id=incident.id, chain=page.chain)
            target = self.next_target(session, incident, chain, page.start, now)
            who = f"<@{page.target_user_id}>" if page.target_user_id else "nobody"
            if reason is None and actor:
                reason = f"<@{actor}> escalated"
            elif reason is None:
                minutes = int(self.escalation_timeout(incident.priority).total_seconds() // 60)
                reason = f"{who} did not acknowledge within {minutes} min"
            if target is None:
                repo.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor, kind="escalated",
                               text=f"{reason}; there is nobody left to page")
                session.commit()
                return None
            nxt = Page(incident_id=incident.id, chain=page.chain, step=page.step + 1, start=page.start,
                       target_role=target.role, target_user_id=target.user_id, target_channel=target.channel,
                       note=target.note, paged_by=actor, created_at=now)
            session.add(nxt)
            self._queue_page(session, incident, nxt, now)
            whom = f"<@{target.user_id}>" if target.user_id else f"@here in <#{target.channel}>"
            repo.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor, kind="escalated",
                           text=f"{reason}; escalating to {whom}")
            try:
                session.commit()
            except IntegrityError:  # another process took this step
                session.rollback()
                return None
        self.flush_later()
        return nxt

    # -- the page's buttons -------------------------------------------------------------------------------

    def page_incident(self, page_id: int) -> tuple[Page, int]:
        with self.db.session() as session:
            page = repo.page_by_id(session=session, page_id=page_id)
            if page is None:
                raise UserError("That page no longer exists.")
            incident = repo.incident_by_id(session=session, incident_id=page.incident_id)
        return page, incident.number
