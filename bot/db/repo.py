"""Every query the app makes. Keyword-only functions that take a session; only this package imports `select`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db.models import Incident, IncidentResponder, Rotation, RotationMember, TimelineEvent

OPEN_STATUS_VALUES = ("new", "triaged", "in_progress", "blocked")


class Database:
    """Hands out sessions whose objects stay readable after commit (they outlive the request)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session


def next_incident_number(*, session: Session) -> int:
    current = session.exec(select(sa.func.max(Incident.number))).one()
    return (current or 0) + 1


def incident_by_number(*, session: Session, number: int) -> Incident | None:
    return session.exec(select(Incident).where(Incident.number == number)).first()


def incident_by_id(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def incident_by_declare_key(*, session: Session, declare_key: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.declare_key == declare_key)).first()


def incident_by_channel(*, session: Session, channel_id: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.channel_id == channel_id)
                        .order_by(col(Incident.number).desc())).first()


def _filtered(query, *, open_only: bool, commander_id: str | None, involving: str | None,
              priority: str | None):
    if commander_id is not None:
        query = query.where(Incident.commander_id == commander_id)
    if involving is not None:
        responding = select(IncidentResponder.incident_id).where(IncidentResponder.user_id == involving)
        query = query.where(sa.or_(Incident.commander_id == involving, col(Incident.id).in_(responding)))
    if priority is not None:
        query = query.where(Incident.priority == priority)
    if open_only:
        query = query.where(col(Incident.status).in_(OPEN_STATUS_VALUES))
    return query


def list_incidents(*, session: Session, open_only: bool, limit: int, commander_id: str | None = None,
                   involving: str | None = None, priority: str | None = None) -> list[Incident]:
    """Most urgent first, newest first within a priority. `involving`: commanded by or responded to by."""
    query = _filtered(select(Incident), open_only=open_only, commander_id=commander_id, involving=involving,
                      priority=priority)
    return list(session.exec(query.order_by(col(Incident.priority), col(Incident.number).desc()).limit(limit)))


def count_incidents(*, session: Session, open_only: bool, commander_id: str | None = None,
                    involving: str | None = None, priority: str | None = None) -> int:
    query = _filtered(select(sa.func.count()).select_from(Incident), open_only=open_only,
                      commander_id=commander_id, involving=involving, priority=priority)
    return session.exec(query).one()


def incidents_declared_since(*, session: Session, since: datetime) -> list[Incident]:
    return list(session.exec(select(Incident).where(col(Incident.created_at) >= since)))


def incidents_with_unfinished_setup(*, session: Session, since: datetime) -> list[Incident]:
    return list(session.exec(select(Incident).where(col(Incident.slack_steps_done).not_like("%done%"),
                                                    col(Incident.created_at) >= since)))


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


def responder_ids(*, session: Session, incident_id: int) -> list[str]:
    return list(session.exec(select(IncidentResponder.user_id).where(IncidentResponder.incident_id == incident_id)
                             .order_by(col(IncidentResponder.added_at), col(IncidentResponder.id))))


def add_responder(*, session: Session, incident_id: int, user_id: str, at: datetime) -> None:
    session.add(IncidentResponder(incident_id=incident_id, user_id=user_id, added_at=at))


def remove_responder(*, session: Session, incident_id: int, user_id: str) -> None:
    session.exec(sa.delete(IncidentResponder).where(col(IncidentResponder.incident_id) == incident_id,
                                                    col(IncidentResponder.user_id) == user_id))


def rotation_member_ids(*, session: Session, rotation_id: int) -> list[str]:
    return list(session.exec(select(RotationMember.user_id).where(RotationMember.rotation_id == rotation_id)
                             .order_by(col(RotationMember.position), col(RotationMember.id))))


def all_rotations(*, session: Session) -> list[Rotation]:
    return list(session.exec(select(Rotation).order_by(col(Rotation.created_at), col(Rotation.id))))


def rotation_by_id(*, session: Session, rotation_id: int) -> Rotation | None:
    return session.get(Rotation, rotation_id)


def rotation_by_channel(*, session: Session, channel_id: str) -> Rotation | None:
    return session.exec(select(Rotation).where(Rotation.channel_id == channel_id)
                        .order_by(col(Rotation.created_at), col(Rotation.id))).first()


def add_rotation(*, session: Session, rotation: Rotation) -> Rotation:
    session.add(rotation)
    return rotation
