"""Contact methods, notification rules and the sends of pages beyond Slack."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.contact_models import ContactMethod, NotifyRule, PageSend
from bot.db.models import Delivery, Incident, Page


def methods_of(*, session: Session, user_id: str) -> list[ContactMethod]:
    return list(session.exec(select(ContactMethod).where(ContactMethod.user_id == user_id)
                             .order_by(col(ContactMethod.kind))))


def method_of(*, session: Session, user_id: str, kind: str) -> ContactMethod | None:
    return session.exec(select(ContactMethod).where(ContactMethod.user_id == user_id,
                                                    ContactMethod.kind == kind)).first()


def method_by_id(*, session: Session, method_id: int) -> ContactMethod | None:
    return session.get(ContactMethod, method_id)


def remove_method(*, session: Session, user_id: str, kind: str) -> bool:
    result = session.execute(sa.delete(ContactMethod).where(col(ContactMethod.user_id) == user_id,
                                                            col(ContactMethod.kind) == kind))
    return result.rowcount == 1


def count_try(*, session: Session, user_id: str) -> None:
    """A guess: one try used up of every code the person is waiting on, counted in the row itself (guesses side by
    side each count one: the row's lock orders them), before the guess is compared."""
    session.execute(sa.update(ContactMethod).where(col(ContactMethod.user_id) == user_id,
                                                   col(ContactMethod.code_nonce).is_not(None))
                    .values(code_tries=ContactMethod.code_tries + 1))


def verify_method(*, session: Session, method_id: int, nonce: str, now: datetime) -> bool:
    """Only the code still live for that address verifies it (a replaced address has another nonce)."""
    result = session.execute(sa.update(ContactMethod).where(col(ContactMethod.id) == method_id,
                                                            col(ContactMethod.code_nonce) == nonce)
                             .values(verified_at=now, code_nonce=None, code_expires_at=None, code_tries=0))
    return result.rowcount == 1


def queued_since(*, session: Session, lanes: list[str], kind: str, since: datetime) -> int:
    """Deliveries of this kind (codes, tests) queued to these lanes since then (the outbox keeps what it sent)."""
    return session.exec(select(sa.func.count()).select_from(Delivery).where(
        col(Delivery.lane).in_(lanes), Delivery.kind == kind, col(Delivery.created_at) >= since)).one()


def code_waiting_elsewhere(*, session: Session, user_id: str, kind: str, address: str, now: datetime) -> bool:
    """Someone else is waiting on a code sent to this very address: nobody can have it sent codes over and over
    by taking turns."""
    return session.exec(select(sa.func.count()).select_from(ContactMethod).where(
        ContactMethod.kind == kind, ContactMethod.address == address, ContactMethod.user_id != user_id,
        col(ContactMethod.code_nonce).is_not(None), col(ContactMethod.code_expires_at) > now)).one() > 0


def rules_of(*, session: Session, user_id: str) -> list[NotifyRule]:
    return list(session.exec(select(NotifyRule).where(NotifyRule.user_id == user_id)))


def set_rules(*, session: Session, user_id: str, rules: list[tuple[str, int]]) -> None:
    session.execute(sa.delete(NotifyRule).where(col(NotifyRule.user_id) == user_id))
    for method, delay in rules:
        session.add(NotifyRule(user_id=user_id, method=method, delay_seconds=delay))


def verified_kinds(*, session: Session, user_id: str) -> set[str]:
    return set(session.exec(select(ContactMethod.kind).where(ContactMethod.user_id == user_id,
                                                             col(ContactMethod.verified_at).is_not(None))))


# -- a page's sends -------------------------------------------------------------------------------------------------

def sends_due(*, session: Session, now: datetime, limit: int = 500) -> list[tuple[PageSend, Page, Incident]]:
    """Sends whose time has come (by the (state, due_at) index: the cost is what is due), with their page and
    incident, to be queued or skipped."""
    return list(session.exec(select(PageSend, Page, Incident)
                             .join(Page, col(Page.id) == col(PageSend.page_id))
                             .join(Incident, col(Incident.id) == col(PageSend.incident_id))
                             .where(PageSend.state == "pending", col(PageSend.due_at) <= now)
                             .order_by(col(PageSend.due_at)).limit(limit)))


def unreached_pages(*, session: Session, limit: int = 1000) -> list[tuple[Page, Incident]]:
    """Pages that go by their person's rules (they have sends) and have reached nobody yet, oldest first."""
    return list(session.exec(_UNREACHED_PAGES, params={"limit": limit}))


# Built once (each tick asks): building a statement like this cost about as much as running it.
_UNREACHED_PAGES = (select(Page, Incident).join(Incident, col(Incident.id) == col(Page.incident_id))
                    .where(Page.state == "queued", sa.exists().where(PageSend.page_id == Page.id))
                    .order_by(col(Page.created_at)).limit(sa.bindparam("limit", type_=sa.Integer)))


def next_due(*, session: Session) -> datetime | None:
    return session.exec(_NEXT_DUE).one()


_NEXT_DUE = select(sa.func.min(PageSend.due_at)).where(PageSend.state == "pending")  # built once: every tick asks


def move_send(*, session: Session, send_id: int, before: tuple[str, ...], **values) -> bool:
    """A send moves on only from the states named: two ticks, or a tick and a delivery, settle on one outcome."""
    result = session.execute(sa.update(PageSend).where(col(PageSend.id) == send_id, col(PageSend.state).in_(before))
                             .values(**values))
    return result.rowcount == 1


def send_by_id(*, session: Session, send_id: int) -> PageSend | None:
    return session.get(PageSend, send_id)


def sends_of_page(*, session: Session, page_id: int) -> list[PageSend]:
    return list(session.exec(select(PageSend).where(PageSend.page_id == page_id)))


def page_unreachable(*, session: Session, page_id: int) -> bool:
    """The page is still unanswered, nothing of it got through, and none of its methods may still (every send
    failed or skipped; a page without sends had only its DM): the chain should move on now."""
    page = session.get(Page, page_id)
    if page is None or page.state != "queued":
        return False
    return all(s.state in ("failed", "skipped") for s in sends_of_page(session=session, page_id=page_id))


def slack_send_outcome(*, session: Session, page_id: int, state: str, outcome: str, now: datetime) -> None:
    """The page's DM, when its rules gave it a send of its own (a person with rules of their own)."""
    session.execute(sa.update(PageSend).where(col(PageSend.page_id) == page_id, col(PageSend.method) == "slack",
                                              col(PageSend.state) == "queued")
                    .values(state=state, outcome=outcome[:200], sent_at=now if state == "sent" else None,
                            attempts=PageSend.attempts + 1))
