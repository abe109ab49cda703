"""Sending beyond Slack (SPEC §2 "Reaching people beyond Slack"): a page by SMS, push or email, a verification code,
a test. Each is a delivery of its own kind in the person's lane for that kind, so a provider that is down delays
only those sends (the engine retries with backoff, never loses one) and a provider that hangs holds only its lane.

Every attempt goes on the incident's timeline (kind, outcome, our reason — never the provider's text or URL). A
method refused for good is reported to its owner in Slack; if nothing else of the page can still reach them, the
chain moves on at once, as for a DM Slack refuses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.contact_models import ContactMethod, PageSend
from bot.db.models import Delivery, Incident, Page
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Refused, Unavailable, user_lane
from bot.delivery.pages import page_reached
from bot.delivery.providers import Answer, Providers
from bot.domain.contacts import Method, contact_code, shown_address
from bot.domain.escalation import page_wait
from bot.domain.incident import incident_ref
from bot.slack.text import escape, truncate

log = logging.getLogger(__name__)

LIVE = ("queued", "waiting")
CODE_TEXT = "Your Firefighter code is {code}. Send it back with /incident me contact verify {code} (it lasts 15 min)."


@dataclass(frozen=True)
class PageByMethod:
    send: PageSend
    page: Page
    incident: Incident
    method: ContactMethod


class ContactSends:
    """`ack_link(page, method)`: the page's one-click acknowledge link; `escalate_refused(page_id, reason)`: move
    the chain past a page that can reach nobody."""

    def __init__(self, engine: DeliveryEngine, db: repo.database.Database, clock: Clock, providers: Providers,
                 secret: str, timeout: Callable[[str], timedelta], ack_link: Callable[[Page, str], str],
                 escalate_refused: Callable[[int, str], Awaitable[None]]) -> None:
        self.engine, self.db, self.clock, self.providers, self.secret = engine, db, clock, providers, secret
        self.timeout, self.ack_link, self.escalate_refused = timeout, ack_link, escalate_refused

    # -- a page ---------------------------------------------------------------------------------------------------

    def read_page(self, session: Session, delivery: Delivery) -> PageByMethod:
        """In the claim's transaction: still owed? A page answered or escalated past, or a method removed or
        replaced since, owes nothing (the send is skipped, and said why, with the delivery's outcome)."""
        send = repo.contacts.send_by_id(session=session, send_id=json.loads(delivery.payload)["send_id"])
        if send is None or send.state != "queued":
            raise Drop("no longer owed")
        page = repo.pages.page_by_id(session=session, page_id=send.page_id)
        incident = repo.incidents.incident_by_id(session=session, incident_id=send.incident_id)
        method = repo.contacts.method_of(session=session, user_id=send.user_id, kind=send.method)
        why = ("answered or escalated past before it went out" if page is None or page.state not in LIVE else
               "the incident is over" if not incident.status.is_open else
               "the method was removed or is not verified" if method is None or method.verified_at is None else None)
        if why:
            send_id = send.id  # (read now: the claim's transaction is rolled back before this is written)

            def skipped(session: Session) -> None:
                repo.contacts.move_send(session=session, send_id=send_id, before=("queued",), state="skipped",
                                        outcome=why)
            raise Drop(why, skipped)
        return PageByMethod(send, page, incident, method)

    async def page(self, delivery: Delivery, payload: dict, owed: PageByMethod) -> Sent:
        page, incident, kind = owed.page, owed.incident, Method(owed.send.method)
        title, body = self._page_text(page, incident, kind)
        answer = await self.providers.send(kind.value, owed.method.address, title, body,
                                           urgent=incident.priority.value == "P0")
        if answer.sent:
            return Sent(self._page_sent(owed))
        if not answer.permanent:
            await self.engine.checkpoint(delivery, self._attempt_failed(owed, answer, "trying again"))
            raise Unavailable(answer.reason)
        await self.engine.checkpoint(delivery, self._page_refused(owed, answer))
        if await self.db.run_background(nothing_left, self.db, page.id):
            await self.escalate_refused(page.id, f"{kind.label} to <@{page.target_user_id}> failed for good "
                                                 f"({answer.reason}) and nothing else can reach them")
        raise Refused(answer.reason)

    def _page_text(self, page: Page, incident: Incident, kind: Method) -> tuple[str, str]:
        ref, priority = incident_ref(incident.number), incident.priority.value
        role = f" as {page.target_role}" if page.target_role in ("primary", "secondary", "tertiary") else ""
        title = truncate(f"{priority} {ref}: {incident.title}", 120)
        minutes = max(int(page_wait(page.wait_seconds, self.timeout(priority)).total_seconds() // 60), 1)
        lines = [f"You are paged{role} for {ref} ({priority}): {truncate(incident.title, 200)}",
                 f"Acknowledge: {self.ack_link(page, kind.value)}",
                 f"It escalates {minutes} min after the page went out if nobody acknowledges."]
        return title, "\n".join(lines)

    def _page_sent(self, owed: PageByMethod):
        def record(session: Session) -> None:
            now = self.clock.now()
            repo.contacts.move_send(session=session, send_id=owed.send.id, before=("queued",), state="sent",
                                    sent_at=now, attempts=owed.send.attempts + 1, outcome="sent")
            reached = repo.pages.page_reached(session=session, page_id=owed.page.id, sent_at=now)
            label = Method(owed.send.method).label
            if reached is None:  # answered while it was on its way: it went out all the same
                repo.timeline.add_event(session=session, incident_id=owed.incident.id, at=now, actor_id=None,
                                        kind="paged", text=f"paged <@{owed.send.user_id}> by {label}: sent "
                                                           "(after the page was answered)")
                return
            page_reached(self.engine, session, owed.page, owed.incident, now, first=reached, via=label,
                         tries=owed.send.attempts)
        return record

    def _attempt_failed(self, owed: PageByMethod, answer: Answer, then: str):
        """On the timeline when it is news: the first failure, another reason, the end (an outage tried again
        every half minute for an hour is one line, not a hundred and twenty)."""
        news = owed.send.outcome != answer.reason[:200] or then != "trying again"

        def record(session: Session) -> None:
            now = self.clock.now()
            owed.send.attempts += 1
            repo.contacts.move_send(session=session, send_id=owed.send.id, before=("queued",),
                                    attempts=owed.send.attempts, outcome=answer.reason[:200])
            if not news:
                return
            repo.timeline.add_event(session=session, incident_id=owed.incident.id, at=now, actor_id=None,
                                    kind="paged", text=f"{Method(owed.send.method).label} to <@{owed.send.user_id}> "
                                                       f"failed ({answer.reason}); {then}")
        return record

    def _page_refused(self, owed: PageByMethod, answer: Answer):
        failed = self._attempt_failed(owed, answer, "not tried again")

        def record(session: Session) -> None:
            failed(session)
            repo.contacts.move_send(session=session, send_id=owed.send.id, before=("queued",), state="failed")
            label = Method(owed.send.method).label
            self.engine.queue(session, lane=user_lane(owed.send.user_id), kind=Kind.POST, now=self.clock.now(),
                              channel=owed.send.user_id,
                              text=f":warning: Your {label} contact method could not be reached for your page about "
                                   f"{incident_ref(owed.incident.number)} ({answer.reason}). Check it with "
                                   f"`/incident me contact test {owed.send.method}`.")
        return record

    # -- codes and tests ------------------------------------------------------------------------------------------

    def read_method(self, session: Session, delivery: Delivery) -> ContactMethod:
        payload = json.loads(delivery.payload)
        method = repo.contacts.method_by_id(session=session, method_id=payload["method_id"])
        if method is None or method.address != payload.get("address", method.address):
            raise Drop("the method was removed or replaced")
        return method

    async def code(self, delivery: Delivery, payload: dict, method: ContactMethod) -> Sent | None:
        if method.code_nonce != payload["nonce"] or method.code_expires_at is None or \
                method.code_expires_at <= self.clock.now():
            raise Drop("the code is used, replaced or expired")
        code = contact_code(self.secret, method.user_id, method.kind, method.address, method.code_nonce)
        answer = await self.providers.send(method.kind, method.address, "Firefighter code", CODE_TEXT.format(code=code))
        return await self._told(delivery, method, answer, "your code",
                                until=method.code_expires_at)

    async def test(self, delivery: Delivery, payload: dict, method: ContactMethod) -> Sent | None:
        label = Method(method.kind).label
        answer = await self.providers.send(
            method.kind, method.address, "Firefighter test",
            f"This is a test of your {label} contact method. Pages will reach you here.")
        until = datetime.fromisoformat(payload["until"])
        return await self._told(delivery, method, answer, "the test", until=until, sent_too=True)

    async def _told(self, delivery: Delivery, method: ContactMethod, answer: Answer, what: str, *,
                    until: datetime, sent_too: bool = False) -> Sent | None:
        """The owner hears in Slack how it went (for a test: either way; for a code: when it cannot be sent)."""
        label, where = Method(method.kind).label, escape(shown_address(Method(method.kind), method.address))
        if not answer.sent and not answer.permanent and self.clock.now() < until:
            raise Unavailable(answer.reason)
        text = (f":white_check_mark: {label}: {what} went to {where}." if sent_too else None) if answer.sent else \
            f":warning: {label}: {what} could not be sent to {where} ({answer.reason})."

        def record(session: Session) -> None:
            if text:
                self.engine.queue(session, lane=user_lane(method.user_id), kind=Kind.POST, now=self.clock.now(),
                                  channel=method.user_id, text=text)
        if not answer.sent:
            raise Refused(answer.reason, record)
        return Sent(record)



def nothing_left(db: repo.database.Database, page_id: int) -> bool:
    with db.session() as session:
        return repo.contacts.page_unreachable(session=session, page_id=page_id)
