"""Paging and escalation (SPEC §2): state, not timers, is the truth.

A page is a row. Declaring a P0/P1 stores the first one, and its delivery, in the same transaction as the incident
(bot/delivery/pages.py sends it); escalation claims the unanswered page with a
conditional update and inserts the next step under a unique (incident, chain, step) — so however many ticks race,
each step is sent once. Acknowledging stops every live page of the incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Page
from bot.delivery.kinds import Kind, channel_lane, user_lane
from bot.domain.errors import UserError
from bot.domain.incident import Priority, incident_ref
from bot.domain.rotation import ROLES, Role
from bot.services.contacts import Contacts
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotations import Rotations


@dataclass(frozen=True)
class Target:
    role: str  # primary, secondary, tertiary, person or channel
    user_id: str | None
    channel: str | None
    note: str = ""


class Paging:
    """`rotations`: who is on call; `people`: whose business hours it is (P1s page the first inside them);
    `contacts`: how each page reaches its person (their rules: Slack, SMS, push, email, each at its delay)."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, people: People, contacts: Contacts) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.people, self.contacts = rotations, people, contacts

    # -- choosing whom to page ----------------------------------------------------------------------------

    def next_target(self, session: Session, incident: Incident, chain: list[Page], start: str,
                    now: datetime) -> Target | None:
        """The next person in the chain not yet paged; for P1s the first of them inside business hours.

        After the people comes `@here` in the rotation's channel; after that, nothing.
        """
        if any(p.target_role == "channel" for p in chain):
            return None
        paged = {p.target_user_id for p in chain if p.target_user_id}
        oncall = self.rotations.on_call_for(session, incident, now)
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
            zones = self.people.timezones(session, [u for _, u in fresh])
            inside = [(r, u) for r, u in fresh if self.rotations.working_time.is_open(now, zones[u])]
            skipped = [u for _, u in fresh[: fresh.index(inside[0])]] if inside else []
            if inside:
                note = (f"skipped {', '.join(f'<@{u}>' for u in skipped)} (outside business hours)"
                        if skipped else "")
                return Target(inside[0][0], inside[0][1], None, note)
            return Target(fresh[0][0], fresh[0][1], None, "everyone is outside business hours; paging all the same")
        rotation = repo.rotations.rotation_of(session=session, incident=incident)
        if rotation:
            return Target("channel", None, rotation.channel_id, "nobody acknowledged")
        return None

    def start_chain(self, session: Session, incident: Incident, now: datetime, *, start: str = Role.PRIMARY.value,
                    paged_by: str | None = None) -> Page | None:
        """Store the first page of a new chain (delivered after the transaction commits)."""
        target = self.next_target(session, incident, [], start, now)
        if target is None:
            return None
        page = Page(incident_id=incident.id, chain=repo.pages.last_chain(session=session, incident_id=incident.id) + 1,
                    step=0, start=start, target_role=target.role, target_user_id=target.user_id,
                    target_channel=target.channel, note=target.note, paged_by=paged_by, created_at=now)
        session.add(page)
        self._queue_page(session, incident, page, now)
        return page

    # -- delivering: each page is a delivery in its recipient's lane ------------------------------------

    def _queue_page(self, session: Session, incident: Incident, page: Page, now: datetime) -> None:
        """Owed from the transaction that decided it; the delivery engine sends it — the DM now unless the
        person's rules say otherwise, each other method at its delay."""
        session.flush()  # the page's id
        if not self.contacts.plan_page(session, page, now):
            return
        lane = user_lane(page.target_user_id) if page.target_user_id else channel_lane(page.target_channel)
        self.outbox.queue(session, lane=lane, kind=Kind.PAGE, now=now, incident_id=incident.id, page_id=page.id)

    # -- escalating ---------------------------------------------------------------------------------------

    async def escalate_refused(self, page_id: int, reason: str) -> None:
        """Slack will never deliver this page: the chain moves on at once instead of waiting out the timeout."""
        await self.db.run_background(self._escalate, page_id, actor=None, reason=reason, states=("queued",))

    async def escalate_due(self) -> int:
        return await self.db.run_background(self._escalate_due)

    def _escalate_due(self) -> int:
        """Every delivered page unanswered past its timeout moves its chain on one step; so does a page that goes
        by its person's own rules and reached nobody in that time from its start (a provider down, a method
        removed, a first method set late): one person's rules never hold the chain."""
        now = self.clock.now()
        with self.db.session() as session:
            waiting = repo.pages.waiting_pages(session=session)
            unreached = repo.contacts.unreached_pages(session=session)
        moved = 0
        for page, incident, since, states in [(p, i, p.sent_at, ("waiting",)) for p, i in waiting] + \
                [(p, i, p.created_at, ("queued",)) for p, i in unreached]:
            if now - since < self.settings.escalation_timeout(incident.priority):
                continue
            if self._escalate(page.id, actor=None, states=states):
                moved += 1
        return moved

    def escalate_page(self, page_id: int, user_id: str) -> Page:
        """The Escalate button: the paged person (or the commander, or an admin) passes it on at once."""
        nxt = self._escalate(page_id, actor=user_id)
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

    def _escalate(self, page_id: int, actor: str | None, reason: str | None = None,
                        states: tuple[str, ...] = ("waiting",)) -> Page | None:
        """Under the incident's lock, so an acknowledgement and an escalation settle on one outcome: once the
        chain is acknowledged its pages are done and this finds nothing to move on."""
        now = self.clock.now()
        with self.db.session() as session:
            page = repo.pages.page_by_id(session=session, page_id=page_id)
            if page is None:
                if actor is not None:
                    raise UserError("That page no longer exists.")
                return None
            incident = repo.incidents.incident_for_change(session=session, incident_id=page.incident_id)
            session.refresh(page)  # as it is now that the incident is ours
            if actor is not None:
                self._check_escalation(page, incident, actor, self.settings.admins)
            if not repo.pages.claim_escalation(session=session, page_id=page_id, now=now, states=states):
                return None
            if not incident.status.is_open or page.target_role == "channel":
                session.commit()
                return None
            chain = repo.pages.pages_of(session=session, incident_id=incident.id, chain=page.chain)
            target = self.next_target(session, incident, chain, page.start, now)
            who = f"<@{page.target_user_id}>" if page.target_user_id else "nobody"
            if reason is None and actor:
                reason = f"<@{actor}> escalated"
            elif reason is None:
                minutes = int(self.settings.escalation_timeout(incident.priority).total_seconds() // 60)
                reason = f"{who} did not acknowledge within {minutes} min"
            if target is None:
                repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor,
                                        kind="escalated", text=f"{reason}; there is nobody left to page")
                session.commit()
                return None
            nxt = Page(incident_id=incident.id, chain=page.chain, step=page.step + 1, start=page.start,
                       target_role=target.role, target_user_id=target.user_id, target_channel=target.channel,
                       note=target.note, paged_by=actor, created_at=now)
            session.add(nxt)
            self._queue_page(session, incident, nxt, now)
            whom = f"<@{target.user_id}>" if target.user_id else f"@here in <#{target.channel}>"
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor, kind="escalated",
                                    text=f"{reason}; escalating to {whom}")
            try:
                session.commit()
            except IntegrityError:  # another process took this step
                session.rollback()
                return None
        self.outbox.flush_later()
        return nxt

    # -- the page's buttons -------------------------------------------------------------------------------

    def page_incident(self, page_id: int) -> tuple[Page, int]:
        with self.db.session() as session:
            page = repo.pages.page_by_id(session=session, page_id=page_id)
            if page is None:
                raise UserError("That page no longer exists.")
            incident = repo.incidents.incident_by_id(session=session, incident_id=page.incident_id)
        return page, incident.number
