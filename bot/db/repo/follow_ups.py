"""Incidents' follow-ups."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import FollowUp, Incident
from bot.db.repo._shared import seen_by


def add_follow_up(*, session: Session, incident_id: int, text: str, owner: str, due_on: date | None,
                  created_by: str, now: datetime) -> FollowUp:
    item = FollowUp(incident_id=incident_id, text=text, owner=owner, due_on=due_on, created_by=created_by,
                    created_at=now)
    session.add(item)
    session.flush()
    return item


def follow_up_by_id(*, session: Session, follow_up_id: int) -> FollowUp | None:
    return session.get(FollowUp, follow_up_id)


def follow_ups_of(*, session: Session, incident_id: int) -> list[FollowUp]:
    return list(session.exec(select(FollowUp).where(FollowUp.incident_id == incident_id).order_by(FollowUp.id)))


def list_follow_ups(*, session: Session, owner: str | None, open_only: bool,
                    limit: int, viewer: str | bool | None = False) -> list[tuple[FollowUp, int]]:
    """(follow-up, its incident's number), open ones by due day first; `viewer` as in list_incidents."""
    query = select(FollowUp, Incident.number).join(Incident, col(Incident.id) == FollowUp.incident_id)
    if viewer is not False:
        query = seen_by(query, viewer if isinstance(viewer, str) else None)
    if owner:
        query = query.where(FollowUp.owner == owner)
    if open_only:
        query = query.where(col(FollowUp.done_at).is_(None))
    query = query.order_by(col(FollowUp.done_at).is_not(None), col(FollowUp.due_on).is_(None), FollowUp.due_on,
                           FollowUp.id)
    return [(item, number) for item, number in session.exec(query.limit(limit))]


def overdue_follow_ups(*, session: Session, before: date, rotation_id: int | None = None,
                       limit: int = 500) -> list[tuple[FollowUp, int]]:
    """Open follow-ups due before `before`, with their incident's number (of one rotation's incidents, public ones
    only: the digest shows them in the rotation's channel)."""
    if rotation_id is None:  # the tick's question, every SCHEDULER_TICK: a statement built once
        return [(item, number) for item, number in session.exec(_OVERDUE, params={"before": before, "limit": limit})]
    query = seen_by(_OPEN_OVERDUE.where(Incident.rotation_id == rotation_id), None)
    return [(item, number) for item, number in session.exec(query.order_by(FollowUp.due_on, FollowUp.id)
                                                            .limit(limit), params={"before": before})]


# Open follow-ups due before the parameter `before`, with their incident's number; built once.
_OPEN_OVERDUE = select(FollowUp, Incident.number).join(Incident, col(Incident.id) == FollowUp.incident_id).where(
    col(FollowUp.done_at).is_(None), col(FollowUp.due_on).is_not(None), col(FollowUp.due_on) < sa.bindparam("before"))
_OVERDUE = _OPEN_OVERDUE.order_by(FollowUp.due_on, FollowUp.id).limit(sa.bindparam("limit", type_=sa.Integer))
