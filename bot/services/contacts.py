"""Contact methods and rules (SPEC §2 "Reaching people beyond Slack"): `me contact add|verify|test|remove`,
`me contacts`, `me rules`, and what a page owes each method.

A page is planned when it is stored: one send per method of the paged person's rules (the rules it started with),
at the rule's delay after the page started — queued at once when due now, else `pending` until the tick (or this
process's wake-up at the next one due) queues it, unless the page was acknowledged or escalated past by then.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.contact_models import ContactMethod, PageSend
from bot.db.models import Page
from bot.delivery.kinds import Kind, contact_lane, user_lane
from bot.domain.contacts import (
    CODE_LIFETIME,
    CODE_TRIES,
    CODES_PER_HOUR,
    CONTACT_KINDS,
    DEFAULT_RULES,
    Method,
    PendingCode,
    Rule,
    contact_kind,
    in_firing_order,
    match_code,
    page_sends,
    parse_address,
    parse_rules,
    rules_text,
    shown_address,
)
from bot.domain.errors import UserError
from bot.services.outbox import Outbox

log = logging.getLogger(__name__)

LIVE = ("queued", "waiting")
TESTS_PER_HOUR = 10  # each may cost an SMS
TEST_PATIENCE = timedelta(minutes=10)  # a test tried again this long while its provider is down, then reported
WAKE_AT_MOST = 3600.0  # seconds: a wake-up further off is left to the ticks (and armed again by them)


@dataclass(frozen=True)
class PersonsContacts:
    methods: list[ContactMethod]
    rules: tuple[Rule, ...]
    offered: tuple[str, ...]


class Contacts:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.offered = tuple(settings.contact_urls)
        self.wake = False  # set by the runtime when it ticks by itself: a send due between ticks goes on time
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: datetime | None = None

    # -- a person's methods -----------------------------------------------------------------------------------

    def add(self, user: str, kind_word: str, raw_address: str) -> str:
        kind = contact_kind(kind_word, self.offered)
        address = parse_address(kind, raw_address)
        now = self.clock.now()
        with self.db.session() as session:
            lanes = [contact_lane(k.value, user) for k in CONTACT_KINDS]
            if repo.contacts.queued_since(session=session, lanes=lanes, kind=Kind.CONTACT_CODE,
                                          since=now - timedelta(hours=1)) >= CODES_PER_HOUR:
                raise UserError(f"You have asked for {CODES_PER_HOUR} codes in the last hour; wait a while and try "
                                "again. Nothing changed.")
            if repo.contacts.code_waiting_elsewhere(session=session, user_id=user, kind=kind.value, address=address,
                                                    now=now):
                raise UserError("A code sent to that address is waiting for someone else; try again in "
                                f"{int(CODE_LIFETIME.total_seconds() // 60)} min. Nothing changed.")
            method = repo.contacts.method_of(session=session, user_id=user, kind=kind.value)
            if method is None:
                method = ContactMethod(user_id=user, kind=kind.value, address=address, created_at=now)
            method.address, method.verified_at, method.created_at = address, None, now
            method.code_nonce, method.code_expires_at, method.code_tries = secrets.token_hex(8), now + CODE_LIFETIME, 0
            session.add(method)
            session.flush()
            self.outbox.queue(session, lane=contact_lane(kind.value, user), kind=Kind.CONTACT_CODE, now=now,
                              method_id=method.id, nonce=method.code_nonce, address=address)
            session.commit()
        self.outbox.flush_later()
        return (f"I sent a 6-digit code to your {kind.label} address {shown_address(kind, address)}. Send it back "
                f"with `/incident me contact verify <code>` within {int(CODE_LIFETIME.total_seconds() // 60)} min. "
                f"Until then, {kind.label} pages nobody.")

    def verify(self, user: str, code: str) -> str:
        now = self.clock.now()
        with self.db.session() as session:
            # Each guess uses up a try of every code waiting, in one conditional write before anything is compared:
            # guesses sent side by side cannot get past CODE_TRIES.
            repo.contacts.count_try(session=session, user_id=user)
            methods = [m for m in repo.contacts.methods_of(session=session, user_id=user) if m.code_nonce]
            session.commit()
            if not methods:
                raise UserError("You have no code waiting: add a method first (`/incident me contact add sms "
                                "+49 151 23456789`).")
            pending = [PendingCode(m.kind, m.address, m.code_nonce, m.code_expires_at, m.code_tries - 1)
                       for m in methods if m.code_expires_at]  # (the tries before this guess)
            kind = match_code(self.settings.web_secret or "", user, code, pending, now)
            if kind is None:
                if all(p.expires_at <= now or p.tries + 1 >= CODE_TRIES for p in pending):
                    raise UserError("That code is not right, and no code of yours is still good: ask for a new one "
                                    "with `/incident me contact add <kind> <address>`.")
                raise UserError("That code is not right (or has expired). Nothing changed.")
            method = next(m for m in methods if m.kind == kind)
            if not repo.contacts.verify_method(session=session, method_id=method.id, nonce=method.code_nonce,
                                               now=now):
                raise UserError("That code was replaced by a newer one meanwhile: use the newest.")
            session.commit()
        label = Method(kind).label
        return (f"Your {label} address {shown_address(Method(kind), method.address)} is verified. Pages reach it by "
                f"your rules (`/incident me rules`, e.g. `slack 0, {kind} 2m`).")

    def test(self, user: str, kind_word: str | None) -> str:
        now = self.clock.now()
        with self.db.session() as session:
            methods = [m for m in repo.contacts.methods_of(session=session, user_id=user)
                       if m.verified_at and m.kind in self.offered]
            if kind_word:
                kind = contact_kind(kind_word, self.offered)
                methods = [m for m in methods if m.kind == kind.value]
                if not methods:
                    raise UserError(f"You have no verified {kind.label} method to test.")
            elif not methods:
                raise UserError("You have no verified contact method to test: add one with "
                                "`/incident me contact add <sms|push|email> <address>`.")
            lanes = [contact_lane(m.kind, user) for m in methods]
            if repo.contacts.queued_since(session=session, lanes=lanes, kind=Kind.CONTACT_TEST,
                                          since=now - timedelta(hours=1)) >= TESTS_PER_HOUR:
                raise UserError(f"You have tested {TESTS_PER_HOUR} times in the last hour; wait a while. "
                                "Nothing was sent.")
            for method in methods:
                self.outbox.queue(session, lane=contact_lane(method.kind, user), kind=Kind.CONTACT_TEST, now=now,
                                  method_id=method.id, address=method.address,
                                  until=(now + TEST_PATIENCE).isoformat())
            session.commit()
        self.outbox.flush_later()
        names = ", ".join(Method(m.kind).label for m in methods)
        return f"Testing {names}: I will tell you here how it went."

    def remove(self, user: str, kind_word: str) -> str:
        kind = contact_kind(kind_word, tuple(k.value for k in CONTACT_KINDS))  # (one no longer set up goes too)
        with self.db.session() as session:
            if not repo.contacts.remove_method(session=session, user_id=user, kind=kind.value):
                raise UserError(f"You have no {kind.label} method. Nothing changed.")
            session.commit()
        return f"Your {kind.label} method is removed: pages no longer go there."

    def of(self, user: str) -> PersonsContacts:
        with self.db.reading() as session:
            methods = repo.contacts.methods_of(session=session, user_id=user)
            rules = repo.contacts.rules_of(session=session, user_id=user)
        return PersonsContacts(methods, _rules(rules), self.offered)

    def set_rules(self, user: str, text: str) -> str:
        rules = parse_rules(text, self.offered)
        with self.db.session() as session:
            verified = repo.contacts.verified_kinds(session=session, user_id=user)
            repo.contacts.set_rules(session=session, user_id=user,
                                    rules=[(r.method.value, int(r.delay.total_seconds())) for r in rules])
            session.commit()
        unready = [r.method.label for r in rules if r.method != Method.SLACK and r.method.value not in verified]
        note = (f" {', '.join(unready)} has no verified address yet: it pages nobody until you add and verify one."
                if unready else "")
        if all(r.method != Method.SLACK and r.method.value not in verified for r in rules):
            note += " Until one does, pages come as a Slack DM."
        return f"Your rules: {rules_text(rules)}.{note}"

    # -- what a page owes ---------------------------------------------------------------------------------------

    def plan_page(self, session: Session, page: Page, now: datetime) -> bool:
        """The sends of a page just stored (flushed, so it has an id), by its person's rules. True: its Slack DM
        is due now (the caller queues it as before); a person without rules of their own gets just that."""
        if page.target_user_id is None:
            return True
        rules = _rules(repo.contacts.rules_of(session=session, user_id=page.target_user_id))
        if rules == DEFAULT_RULES:
            return True
        verified = {Method(k) for k in repo.contacts.verified_kinds(session=session, user_id=page.target_user_id)
                    if k in self.offered}
        dm_now, later = False, []
        for method, due in page_sends(rules, verified, now):
            send = PageSend(page_id=page.id, incident_id=page.incident_id, user_id=page.target_user_id,
                            method=method.value, due_at=due, state="queued" if due <= now else "pending")
            session.add(send)
            if due > now:
                later.append(due)
            elif method == Method.SLACK:
                dm_now = True
            else:
                session.flush()
                self.outbox.queue(session, lane=contact_lane(method.value, page.target_user_id),
                                  kind=Kind.CONTACT_PAGE, now=now, incident_id=page.incident_id, send_id=send.id)
        if later:
            self._wake_at(min(later))
        return dm_now

    async def send_due(self) -> int:
        """A tick step: every send whose time has come is queued — or skipped, its page answered or escalated
        past meanwhile. Then this process wakes up again for the next one due."""
        queued, next_at = await self.db.run_background(self._send_due)
        if queued:
            self.outbox.flush_later()
        if next_at is not None:
            self._wake_at(next_at)
        return queued

    def _send_due(self) -> tuple[int, datetime | None]:
        now = self.clock.now()
        queued = 0
        with self.db.reading() as session:  # most ticks find nothing due: no write transaction for them
            next_at = repo.contacts.next_due(session=session)
        if next_at is None or next_at > now:
            return 0, next_at
        with self.db.session() as session:
            for send, page, incident in repo.contacts.sends_due(session=session, now=now):
                if page.state not in LIVE or not incident.status.is_open:
                    repo.contacts.move_send(session=session, send_id=send.id, before=("pending",), state="skipped",
                                            outcome="answered or escalated past before its time")
                    continue
                if not repo.contacts.move_send(session=session, send_id=send.id, before=("pending",),
                                               state="queued"):
                    continue  # another process queued it
                queued += 1
                if send.method == Method.SLACK:
                    self.outbox.queue(session, lane=user_lane(send.user_id), kind=Kind.PAGE, now=now,
                                      incident_id=incident.id, page_id=page.id)
                else:
                    self.outbox.queue(session, lane=contact_lane(send.method, send.user_id), kind=Kind.CONTACT_PAGE,
                                      now=now, incident_id=incident.id, send_id=send.id)
            next_at = repo.contacts.next_due(session=session)
            session.commit()
        return queued, next_at

    def _wake_at(self, at: datetime) -> None:
        """A prompt, not the truth: the pending sends are stored and every tick looks for them; this only makes
        one due between ticks go at its time (SPEC §7: within 5 s of the rule's delay)."""
        if self.wake:
            self.outbox.background.call_on_loop(self._arm, at)

    def _arm(self, at: datetime) -> None:
        if self._timer is not None and self._timer_at is not None and self._timer_at <= at:
            return  # an earlier wake-up is armed: it arms the next one
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
        delay = min(max((at - self.clock.now()).total_seconds(), 0.0), WAKE_AT_MOST)
        self._timer_at = at
        self._timer = loop.call_later(delay, self._woken)

    def _woken(self) -> None:
        self._timer, self._timer_at = None, None
        self.outbox.background.spawn(self.send_due(), name="contact-sends")


def _rules(rows) -> tuple[Rule, ...]:
    return in_firing_order(Rule(Method(r.method), timedelta(seconds=r.delay_seconds)) for r in rows) if rows \
        else DEFAULT_RULES
