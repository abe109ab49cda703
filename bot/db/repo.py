"""Every query the app makes. Keyword-only functions that take a session; only this package imports `select`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db.models import Incident, Rotation, TimelineEvent

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


def list_incidents(*, session: Session, open_only: bool, limit: int,
                   commander_id: str | None = None) -> list[Incident]:
    query = select(Incident)
    if commander_id is not None:
        query = query.where(Incident.commander_id == commander_id)
    if open_only:
        query = query.where(col(Incident.status).in_(OPEN_STATUS_VALUES))
    return list(session.exec(query.order_by(col(Incident.priority), col(Incident.number).desc()).limit(limit)))


def count_incidents(*, session: Session, open_only: bool) -> int:
    query = select(sa.func.count()).select_from(Incident)
    if open_only:
        query = query.where(col(Incident.status).in_(OPEN_STATUS_VALUES))
    return session.exec(query).one()


def incidents_with_unfinished_setup(*, session: Session, since: datetime) -> list[Incident]:
    return list(session.exec(select(Incident).where(col(Incident.slack_steps_done).not_like("%done%"),
                                                    col(Incident.created_at) >= since)))


def add_event(*, session: Session, incident_id: int, at: datetime, actor_id: str | None, kind: str,
              text: str = "") -> TimelineEvent:
    event = TimelineEvent(incident_id=incident_id, at=at, actor_id=actor_id, kind=kind, text=text)
    session.add(event)
    return event


def events_for(*, session: Session, incident_id: int) -> list[TimelineEvent]:
    return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(col(TimelineEvent.at), col(TimelineEvent.id))))


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
