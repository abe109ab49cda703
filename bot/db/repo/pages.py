"""Pages: the steps of escalation chains, their delivery, acknowledgement and escalation."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import Incident, Page


def pages_per_person(*, session: Session, since: datetime) -> list[tuple[str, int]]:
    """Pages sent to each person since then (every rotation)."""
    rows = session.execute(sa.select(Page.target_user_id, sa.func.count()).where(
        col(Page.target_user_id).is_not(None), col(Page.sent_at) >= since).group_by(Page.target_user_id)).all()
    return [(user, count) for user, count in rows]


def pages_of_rotation(*, session: Session, rotation_id: int, since: datetime, until: datetime) -> list[Page]:
    """Pages to a person about the rotation's incidents, sent in [since, until)."""
    return list(session.exec(select(Page).join(Incident, col(Incident.id) == Page.incident_id).where(
        Incident.rotation_id == rotation_id, col(Page.target_user_id).is_not(None), col(Page.sent_at) >= since,
        col(Page.sent_at) < until)))


def pages_of(*, session: Session, incident_id: int, chain: int | None = None) -> list[Page]:
    query = select(Page).where(Page.incident_id == incident_id)
    if chain is not None:
        query = query.where(Page.chain == chain)
    return list(session.exec(query.order_by(col(Page.chain), col(Page.step))))


def live_pages(*, session: Session, incident_id: int) -> list[Page]:
    return list(session.exec(select(Page).where(Page.incident_id == incident_id,
                                                col(Page.state).in_(("queued", "waiting")))))


def page_by_id(*, session: Session, page_id: int) -> Page | None:
    return session.get(Page, page_id)


def last_chain(*, session: Session, incident_id: int) -> int:
    return session.exec(select(sa.func.max(Page.chain)).where(Page.incident_id == incident_id)).one() or 0


def paged_users(*, session: Session, incident_id: int) -> list[str]:
    return [u for u in session.exec(select(Page.target_user_id).where(Page.incident_id == incident_id).distinct())
            if u]


def waiting_pages(*, session: Session, limit: int = 1000) -> list[tuple[Page, Incident]]:
    """Delivered pages nobody has acknowledged yet, with their incidents (for the escalation tick)."""
    return list(session.exec(_WAITING_PAGES, params={"limit": limit}))


# Built once (each tick asks): building a statement like this cost about as much as running it.
_WAITING_PAGES = (select(Page, Incident).join(Incident, col(Incident.id) == col(Page.incident_id))
                  .where(Page.state == "waiting").order_by(col(Page.sent_at))
                  .limit(sa.bindparam("limit", type_=sa.Integer)))


def claim_escalation(*, session: Session, page_id: int, now: datetime,
                     states: tuple[str, ...] = ("waiting",)) -> bool:
    """Only one tick (or one Escalate click, or Slack's refusal of the page) moves a chain past this page."""
    result = session.exec(sa.update(Page).where(col(Page.id) == page_id, col(Page.state).in_(states))
                          .values(state="done", escalated_at=now))
    return result.rowcount == 1


def claim_chain(*, session: Session, incident_id: int, chain: int, now: datetime) -> int:
    """The chain's other live pages move on with the one escalated (a group's members, paged together)."""
    result = session.exec(sa.update(Page).where(col(Page.incident_id) == incident_id, col(Page.chain) == chain,
                                                col(Page.state).in_(("queued", "waiting")))
                          .values(state="done", escalated_at=now))
    return result.rowcount


def stop_pages(*, session: Session, incident_id: int, now: datetime, user_id: str | None,
               chain: int | None = None, via: str | None = None) -> list[tuple[str | None, str | None]]:
    """Acknowledged (or the incident is over): every page still live is done, in one conditional write — a page
    the tick escalated a moment earlier is not live any more and is left as it is. Returns the (dm_channel, dm_ts)
    of the messages whose buttons go: the stopped pages, and the pages their chains escalated past (those still
    asked for an answer)."""
    query = sa.update(Page).where(col(Page.incident_id) == incident_id, col(Page.state).in_(("queued", "waiting")))
    if chain is not None:
        query = query.where(col(Page.chain) == chain)
    values: dict = {"state": "done"}
    if user_id:
        values.update(acknowledged_at=now, acknowledged_by=user_id, acknowledged_via=via)
    stopped = list(session.exec(query.values(**values).returning(col(Page.chain), col(Page.dm_channel),
                                                                 col(Page.dm_ts))))
    chains = {c for c, _, _ in stopped}
    passed = session.exec(select(Page.dm_channel, Page.dm_ts).where(
        col(Page.incident_id) == incident_id, col(Page.chain).in_(chains), col(Page.escalated_at).is_not(None),
        col(Page.dm_ts).is_not(None))) if chains else []
    return [(channel, ts) for _, channel, ts in stopped] + [(channel, ts) for channel, ts in passed]


def page_outcome(*, session: Session, page_id: int, **values) -> bool:
    """A page's delivery recorded only while it is still queued: one acknowledged (or stopped) while it was on its
    way to Slack stays as the acknowledgement left it."""
    pages = Page.__table__
    result = session.execute(sa.update(pages).where(pages.c.id == page_id, pages.c.state == "queued").values(**values))
    return result.rowcount == 1


def page_dm_sent(*, session: Session, page_id: int, sent_at: datetime, dm_channel: str, dm_ts: str) -> bool | None:
    """The page's DM went out: True when it is the first of the page's methods to get through (the page waits for
    an answer from now), False when another got there first, None when the page was stopped meanwhile."""
    pages = Page.__table__
    first = session.execute(sa.update(pages).where(pages.c.id == page_id, pages.c.state == "queued").values(
        state="waiting", sent_at=sent_at, dm_channel=dm_channel, dm_ts=dm_ts))
    if first.rowcount == 1:
        return True
    later = session.execute(sa.update(pages).where(pages.c.id == page_id, pages.c.state == "waiting",
                                                   pages.c.dm_ts.is_(None)).values(dm_channel=dm_channel, dm_ts=dm_ts))
    return False if later.rowcount == 1 else None


def page_reached(*, session: Session, page_id: int, sent_at: datetime) -> bool | None:
    """A method beyond Slack got through: True when first (the page waits for an answer from now), False when
    another got there first, None when the page was stopped meanwhile."""
    pages = Page.__table__
    first = session.execute(sa.update(pages).where(pages.c.id == page_id, pages.c.state == "queued").values(
        state="waiting", sent_at=sent_at))
    if first.rowcount == 1:
        return True
    state = session.execute(sa.select(pages.c.state).where(pages.c.id == page_id)).scalar()
    return False if state == "waiting" else None


def page_sent_anyway(*, session: Session, page_id: int, sent_at: datetime, dm_channel: str, dm_ts: str) -> None:
    """A page that went out after it was stopped: where its message is, so that it is known (and its buttons
    taken away), its state left as the acknowledgement set it."""
    session.exec(sa.update(Page).where(col(Page.id) == page_id, col(Page.dm_ts).is_(None))
                 .values(sent_at=sent_at, dm_channel=dm_channel, dm_ts=dm_ts))
