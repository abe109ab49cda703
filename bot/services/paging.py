"""Paging and escalation (SPEC §2): state, not timers, is the truth.

A page is a row. Declaring a P0/P1 stores the first one, and its delivery, in the same transaction as the incident
(bot/delivery/pages.py sends it); escalation claims the unanswered page with a
conditional update and inserts the next step under a unique (incident, chain, step) — so however many ticks race,
each step is sent once. Acknowledging stops every live page of the incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Page
from bot.delivery.kinds import Kind, channel_lane, incident_lane, user_lane
from bot.domain.errors import UserError
from bot.domain.escalation import Next, Paged, Policy, next_pages, page_wait, policy_from_json, policy_json
from bot.domain.incident import Priority, incident_ref
from bot.domain.rotation import Role
from bot.services.contacts import Contacts
from bot.services.escalations import EscalationPolicies
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotations import Rotations
from bot.slack.text import date_token


class Paging:
    """`rotations`: who is on call; `people`: whose business hours it is (P1s page the first inside them);
    `contacts`: how each page reaches its person (their rules: Slack, SMS, push, email, each at its delay);
    `policies`: the steps a chain walks (the rotation's escalation policy, else the seeds' chain)."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, people: People, contacts: Contacts, policies: EscalationPolicies) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.people, self.contacts, self.policies = rotations, people, contacts, policies

    # -- choosing whom to page ----------------------------------------------------------------------------

    def _policy_of(self, session: Session, incident: Incident, chain: list[Page]) -> Policy:
        """The chain's own snapshot; a new chain takes the rotation's policy now; a chain from before policies
        walks the seeds' chain."""
        if chain:
            return policy_from_json(chain[0].policy) if chain[0].policy else self.policies.default(incident.priority)
        return self.policies.for_incident(session, incident)

    def _next(self, session: Session, incident: Incident, chain: list[Page], start: str,
              now: datetime) -> tuple[Policy, Next] | None:
        """What the chain pages next (bot/domain/escalation.py), or None when it has run out. The channel step
        needs the rotation's channel: an incident without a rotation has none."""
        policy = self._policy_of(session, incident, chain)
        oncall = self.rotations.on_call_for(session, incident, now)
        holders = dict(oncall.chain) if oncall else {}  # (someone holding two roles: paged for the first only)
        inside = None
        if incident.priority != Priority.P0.value:
            def inside(user: str) -> bool:  # their timezone, their holidays (`me holidays`)
                return self.people.working_now(session, [user], now, self.rotations.working_time)[user]
        paged = [Paged(p.policy_round, p.target_user_id) for p in chain]
        away = self.away(session, now)
        if not chain and start in away:  # paged by hand
            raise UserError(f"<@{start}> is away (time off) until {date_token(away[start])}: page someone else. "
                            "Nothing was sent.")
        nxt = next_pages(policy, paged, start=start, holders=holders, p1_inside=inside, away=frozenset(away))
        if nxt is None or (nxt.channel and incident.rotation_id is None):
            return None
        return policy, nxt

    def away(self, session: Session, now: datetime) -> dict[str, datetime]:
        """Who is on time off at `now` (never paged), and until when."""
        return {t.user_id: t.ends_at for t in repo.schedules.time_off_of(session=session, user_ids=None,
                                                                          ending_after=now, starting_by=now)}

    def _store_pages(self, session: Session, incident: Incident, chain_no: int, step: int, start: str,
                     policy: Policy, nxt: Next, now: datetime, paged_by: str | None) -> list[Page]:
        """One page per person of the step (a group's members each get their own), or one to the channel."""
        channel = None
        if nxt.channel:
            channel = repo.rotations.rotation_of(session=session, incident=incident).channel_id
        snapshot = policy_json(policy)
        pages = []
        for offset, user in enumerate(nxt.users or (None,)):
            page = Page(incident_id=incident.id, chain=chain_no, step=step + offset, start=start,
                        target_role=nxt.role, target_user_id=user, target_channel=channel,
                        note=nxt.note if offset == 0 else "", paged_by=paged_by, created_at=now, policy=snapshot,
                        policy_round=nxt.round, policy_step=nxt.step, wait_seconds=nxt.seconds)
            session.add(page)
            self._queue_page(session, incident, page, now)
            pages.append(page)
        return pages

    def start_chain(self, session: Session, incident: Incident, now: datetime, *, start: str = Role.PRIMARY.value,
                    paged_by: str | None = None) -> Page | None:
        """Store the first page(s) of a new chain (delivered after the transaction commits); returns the first."""
        found = self._next(session, incident, [], start, now)
        if found is None:
            return None
        chain_no = repo.pages.last_chain(session=session, incident_id=incident.id) + 1
        return self._store_pages(session, incident, chain_no, 0, start, *found, now, paged_by)[0]

    # -- delivering: each page is a delivery in its recipient's lane ------------------------------------

    def _queue_page(self, session: Session, incident: Incident, page: Page, now: datetime) -> None:
        """Owed from the transaction that decided it; the delivery engine sends it — the DM now unless the
        person's rules say otherwise, each other method at its delay."""
        session.flush()  # the page's id
        if incident.private and page.target_user_id:  # SPEC: the paged firefighters are invited, and may see it
            repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=[page.target_user_id],
                                       at=now)
            self.outbox.queue(session, lane=incident_lane(incident.id), kind=Kind.INVITE, now=now,
                              incident_id=incident.id, users=[page.target_user_id])
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
            if now - since < page_wait(page.wait_seconds, self.settings.escalation_timeout(incident.priority)):
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
            repo.pages.claim_chain(session=session, incident_id=incident.id, chain=page.chain, now=now)  # (a
            # group's other members, paged with this page, are passed on with it)
            if not incident.status.is_open:
                session.commit()
                return None
            chain = repo.pages.pages_of(session=session, incident_id=incident.id, chain=page.chain)
            found = self._next(session, incident, chain, page.start, now)
            if reason is None and actor:
                reason = f"<@{actor}> escalated"
            elif reason is None:
                wait = page_wait(page.wait_seconds, self.settings.escalation_timeout(incident.priority))
                reason = (f"<@{page.target_user_id}> did not acknowledge within {wait_words(wait)}"
                          if page.target_user_id else
                          f"nobody acknowledged @here in <#{page.target_channel}> within {wait_words(wait)}")
            if found is None:
                if page.target_role != "channel":
                    repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor,
                                            kind="escalated", text=f"{reason}; there is nobody left to page")
                session.commit()
                return None
            policy, target = found
            pages = self._store_pages(session, incident, page.chain, max(p.step for p in chain) + 1, page.start,
                                      policy, target, now, actor)
            nxt = pages[0]
            again = " (the policy again)" if target.round > page.policy_round else ""
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor, kind="escalated",
                                    text=f"{reason}; escalating to {_whom_all(pages)}{again}")
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


def _whom_all(pages: Sequence[Page]) -> str:
    if pages[0].target_channel and not pages[0].target_user_id:
        return f"@here in <#{pages[0].target_channel}>"
    return ", ".join(f"<@{p.target_user_id}>" for p in pages)


def wait_words(wait: timedelta) -> str:
    seconds = int(wait.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 or seconds >= 120 else f"{seconds} s"
