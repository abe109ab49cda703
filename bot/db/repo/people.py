"""People: what Slack says about them (timezone, name, picture), and who to ask it about again."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import Incident, IncidentResponder, Person, RotationMember
from bot.db.repo import reminders
from bot.db.repo._shared import OPEN_STATUS_VALUES


def people(*, session: Session, user_ids: list[str]) -> dict[str, Person]:
    if not user_ids:
        return {}
    return {p.user_id: p for p in session.exec(_PEOPLE, params={"users": user_ids})}


# Built once (asked with most answers): building a statement cost about as much as running it.
_PEOPLE = select(Person).where(col(Person.user_id).in_(sa.bindparam("users", expanding=True)))


def save_person(*, session: Session, user_id: str, tz: str | None, now: datetime, keep_tz: bool = False,
                name: str | None = None, avatar: str | None = None) -> None:
    """`keep_tz`: Slack would not say; the zone (and name) known so far stays, only the time of asking moves on."""
    person = session.get(Person, user_id)
    if person is None:
        session.add(Person(user_id=user_id, tz=tz, fetched_at=now, name=name, avatar=avatar))
        moved = tz is not None
    else:
        person.fetched_at = now
        if not keep_tz:
            person.name, person.avatar = name or person.name, avatar or person.avatar
        moved = not keep_tz and person.tz != tz
        if moved:
            person.tz = tz
    if moved:  # their "heading home?" hour moved: their incidents' next due moments are worked out again
        reminders.recheck_reminders(session=session, commanded_by=[user_id])


def people_to_refresh(*, session: Session, fetched_before: datetime, limit: int,
                      active_since: datetime | None = None) -> list[str]:
    """Roster members, and the commanders of open incidents (their business hours) — and with `active_since`, the
    reporters, commanders and responders of incidents changed since then (the board shows them by name) — whose
    Slack facts are unknown or older than a day."""
    known_fresh = select(Person.user_id).where(col(Person.fetched_at) >= fetched_before)
    members = select(RotationMember.user_id.label("user_id"))
    recent = col(Incident.status).in_(OPEN_STATUS_VALUES)
    if active_since is not None:
        recent = sa.or_(recent, col(Incident.updated_at) >= active_since)
    commanders = select(col(Incident.commander_id).label("user_id")).where(
        col(Incident.commander_id).is_not(None), recent)
    parts = [members, commanders]
    if active_since is not None:
        parts.append(select(col(Incident.reporter_id).label("user_id")).where(
            col(Incident.reporter_id).like("U%"), recent))
        parts.append(select(col(IncidentResponder.user_id).label("user_id")).join(
            Incident, col(Incident.id) == col(IncidentResponder.incident_id)).where(recent))
    everyone = sa.union(*parts).subquery()
    return list(session.exec(select(everyone.c.user_id).where(everyone.c.user_id.not_in(known_fresh))
                             .limit(limit)))
