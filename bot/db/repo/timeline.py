"""Incidents' timeline events."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import Incident, TimelineEvent


def triaged_times(*, session: Session, declared_since: datetime) -> dict[int, datetime]:
    """When each incident declared since then first left `new` (its first status change: statuses only move
    forward)."""
    rows = session.execute(sa.select(TimelineEvent.incident_id, sa.func.min(TimelineEvent.at))
                           .join(Incident, col(Incident.id) == col(TimelineEvent.incident_id))
                           .where(col(Incident.created_at) >= declared_since,
                                  col(TimelineEvent.kind).in_(("status", "resolved", "closed", "duplicate")))
                           .group_by(TimelineEvent.incident_id)).all()
    return {incident_id: at.replace(tzinfo=UTC) if at.tzinfo is None else at for incident_id, at in rows}


def add_event(*, session: Session, incident_id: int, at: datetime, actor_id: str | None, kind: str,
              text: str = "", request_key: str | None = None) -> TimelineEvent:
    event = TimelineEvent(incident_id=incident_id, at=at, actor_id=actor_id, kind=kind, text=text,
                          request_key=request_key)
    session.add(event)
    return event


def events_for(*, session: Session, incident_id: int) -> list[TimelineEvent]:
    return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(col(TimelineEvent.at), col(TimelineEvent.id))))


def event_by_request_key(*, session: Session, request_key: str) -> TimelineEvent | None:
    return session.exec(select(TimelineEvent).where(TimelineEvent.request_key == request_key)).first()


def latest_update(*, session: Session, incident_id: int) -> TimelineEvent | None:
    return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                    TimelineEvent.kind == "update")
                        .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())).first()
