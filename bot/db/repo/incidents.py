"""Incidents: their numbers, look-ups, locks, updates and lists, and their responders."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.db.models import Incident, IncidentMember, IncidentResponder
from bot.db.repo._shared import _INCIDENTS, OPEN_STATUS_VALUES, _lock, _updating, seen_by

INCIDENT_NUMBER_LOCK = 0x46495245  # a PostgreSQL advisory lock of our own ("FIRE")


def numbered_last(*, session: Session) -> bool:
    """PostgreSQL: a declaration takes its number at the very end of its transaction, so the lock that orders the
    numbers is held for the last statements only, not the whole declaration. (SQLite has one writer anyway.)"""
    return session.get_bind().dialect.name == "postgresql"


def placeholder_number() -> int:
    """The number of an incident whose number comes later (`take_number`), until then: negative, so never a real
    one, and drawn at random rather than read from the database (a round trip fewer per declaration). Only
    uncommitted rows hold one; should two ever draw the same, the second insert waits for the first to commit
    its real number, then goes on."""
    return -1 - secrets.randbelow(2**31 - 1)


def next_incident_number(*, session: Session) -> int:
    """SQLite: the next number (one writer at a time: nobody takes it meanwhile). PostgreSQL: `take_number`."""
    current = session.exec(select(sa.func.max(Incident.number)).where(col(Incident.number) > 0)).one()
    return (current or 0) + 1


# The next number, read inside the UPDATE that gives it: {id} is `:id` for `take_number`, the integer itself for
# `take_number_and_commit` (which sends it with the lock and the commit as one message).
_NUMBER_LOCK_SQL = "SELECT pg_advisory_xact_lock({key})"
_TAKE_NUMBER_SQL = ("UPDATE incident SET number = (SELECT coalesce(max(numbered.number), 0) + 1 "
                    "FROM incident AS numbered WHERE numbered.number > 0) WHERE id = {id} RETURNING number")
_NUMBER_LOCK = sa.text(_NUMBER_LOCK_SQL.format(key=":key"))
_TAKE_NUMBER = sa.text(_TAKE_NUMBER_SQL.format(id=":id"))


def take_number(*, session: Session, incident: Incident) -> None:
    """PostgreSQL: the incident's real number in place of its placeholder — the next one, under a lock held until
    this transaction ends (declarations side by side, in threads or replicas, take numbers in turn). The lock
    first, in a statement of its own: a statement reads what was committed when it began."""
    session.execute(_NUMBER_LOCK, {"key": INCIDENT_NUMBER_LOCK})
    number = session.execute(_TAKE_NUMBER, {"id": incident.id}).scalar_one()
    set_committed_value(incident, "number", number)


# The lock, the number and the commit sent as one message: PostgreSQL runs them in turn, each statement reading what
# was committed when it began (READ COMMITTED), so the lock is held while the server runs two statements and never
# across a round trip. Only integers are put in it.
_TAKE_NUMBER_AND_COMMIT = f"{_NUMBER_LOCK_SQL}; {_TAKE_NUMBER_SQL}; COMMIT"


def take_number_and_commit(*, session: Session, incident: Incident) -> None:
    """PostgreSQL: `take_number`, and the transaction committed with it in the same round trip — declarations
    queued for the lock each hold it for microseconds instead of two round trips (the most a burst of them can
    declare a second is set by how long the lock is held). Everything else the transaction writes is flushed
    first; the session's own commit after it finds nothing left to send."""
    session.flush()
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(_TAKE_NUMBER_AND_COMMIT.format(key=int(INCIDENT_NUMBER_LOCK), id=int(incident.id)))
        cursor.nextset()
        number = cursor.fetchone()[0]
    finally:
        cursor.close()
    set_committed_value(incident, "number", number)


def incident_by_number(*, session: Session, number: int) -> Incident | None:
    return session.exec(select(Incident).where(Incident.number == number)).first()


def incident_by_id(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def incidents_by_ids(*, session: Session, ids: Collection[int]) -> dict[int, Incident]:
    if not ids:
        return {}
    return {incident.id: incident for incident in session.exec(select(Incident).where(col(Incident.id).in_(ids)))}


def incident_for_change(*, session: Session, number: int | None = None,
                        incident_id: int | None = None) -> Incident | None:
    """The incident, locked until the session ends: concurrent changes to one incident (two replicas, a double
    click, the tick escalating while someone acknowledges) queue up here and each sees what the last one stored.

    PostgreSQL takes a row lock (SELECT … FOR UPDATE); SQLite has no row locks, so a no-op write takes the
    database's write lock before the read (its reads outside a write transaction would see a stale state).
    """
    return _lock(session, Incident,
                 col(Incident.number) == number if number is not None else col(Incident.id) == incident_id)


def incident_by_declare_key(*, session: Session, declare_key: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.declare_key == declare_key)).first()


def update_incident(*, session: Session, incident_id: int, **values) -> None:
    """These columns only: what else changed meanwhile (a status, a commander) is left as it is."""
    session.execute(_updating(_INCIDENTS, frozenset(values)), {"b_id": incident_id, **values})


def incident_by_channel(*, session: Session, channel_id: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.channel_id == channel_id)
                        .order_by(col(Incident.number).desc())).first()


def _filtered(query, *, open_only: bool, commander_id: str | None, involving: str | None,
              priority: str | None, viewer: str | bool | None = False):
    """`viewer`: False for no filter (the bot's own reading); a user id (or None: nobody) for what they may see."""
    if viewer is not False:
        query = seen_by(query, viewer if isinstance(viewer, str) else None)
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
                   involving: str | None = None, priority: str | None = None,
                   columns: tuple[str, ...] | None = None, viewer: str | bool | None = False) -> list[Incident]:
    """Most urgent first, newest first within a priority. `involving`: commanded by or responded to by.
    `columns`: only these are read, as plain rows with those attributes (a list line needs a few; building whole
    objects was most of a `list`'s cost)."""
    order = (col(Incident.priority), col(Incident.number).desc())
    # The page's ids first, from the (status, priority, number) index alone; then only those rows are read.
    # Sorting whole rows read one by one cost six times as much with a thousand open.
    page = _filtered(select(Incident.id), open_only=open_only, commander_id=commander_id, involving=involving,
                     priority=priority, viewer=viewer).order_by(*order).limit(limit)
    chosen = select(*(getattr(Incident, c) for c in columns)) if columns else select(Incident)
    return list(session.exec(chosen.where(col(Incident.id).in_(page)).order_by(*order)))


def incidents_page(*, session: Session, viewer: str | bool | None, statuses: Collection[str] | None,
                   priority: str | None, rotation_id: int | None, before: int | None, limit: int) -> list[Incident]:
    """Newest first, after the number `before` (a keyset, never an offset: a page is as quick at the end)."""
    query = _filtered(select(Incident), open_only=False, commander_id=None, involving=None, priority=priority,
                      viewer=viewer)
    if statuses is not None:
        query = query.where(col(Incident.status).in_(list(statuses)))
    if rotation_id is not None:
        query = query.where(Incident.rotation_id == rotation_id)
    if before is not None:
        query = query.where(col(Incident.number) < before)
    return list(session.exec(query.where(col(Incident.number) > 0).order_by(col(Incident.number).desc()).limit(limit)))


def count_incidents(*, session: Session, open_only: bool, commander_id: str | None = None,
                    involving: str | None = None, priority: str | None = None,
                    viewer: str | bool | None = False) -> int:
    query = _filtered(select(sa.func.count()).select_from(Incident), open_only=open_only,
                      commander_id=commander_id, involving=involving, priority=priority, viewer=viewer)
    return session.exec(query).one()


def incidents_declared_since(*, session: Session, since: datetime) -> list[Incident]:
    return list(session.exec(select(Incident).where(col(Incident.created_at) >= since)))


def responder_ids(*, session: Session, incident_id: int) -> list[str]:
    return list(session.exec(select(IncidentResponder.user_id).where(IncidentResponder.incident_id == incident_id)
                             .order_by(col(IncidentResponder.added_at), col(IncidentResponder.id))))


def add_responder(*, session: Session, incident_id: int, user_id: str, at: datetime) -> None:
    session.add(IncidentResponder(incident_id=incident_id, user_id=user_id, added_at=at))


def remove_responder(*, session: Session, incident_id: int, user_id: str) -> None:
    session.exec(sa.delete(IncidentResponder).where(col(IncidentResponder.incident_id) == incident_id,
                                                    col(IncidentResponder.user_id) == user_id))


def lock_incident_first(*, session: Session, incident_id: int) -> None:
    """Before writing an incident's pages or events outside `incident_for_change`: take its row lock first, as a
    change does (incident, then its pages), so the two wait for each other instead of deadlocking. SQLite has one
    writer at a time and no row locks: nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Incident.id).where(col(Incident.id) == incident_id).with_for_update())


def open_incidents_of_rotation(*, session: Session, rotation_id: int, limit: int = 200) -> list[Incident]:
    return list(session.exec(select(Incident).where(Incident.rotation_id == rotation_id,
                                                    col(Incident.status).in_(OPEN_STATUS_VALUES))
                             .order_by(col(Incident.priority), col(Incident.number)).limit(limit)))


def incidents_of_rotation_between(*, session: Session, rotation_id: int, since: datetime,
                                  until: datetime) -> list[Incident]:
    """Declared or resolved in the range (for a shift's numbers)."""
    return list(session.exec(select(Incident).where(Incident.rotation_id == rotation_id, sa.or_(
        sa.and_(col(Incident.created_at) >= since, col(Incident.created_at) < until),
        sa.and_(col(Incident.resolved_at) >= since, col(Incident.resolved_at) < until)))))


def member_ids(*, session: Session, incident_id: int) -> list[str]:
    """Who is in a private incident's channel, as last read."""
    return list(session.exec(select(IncidentMember.user_id).where(IncidentMember.incident_id == incident_id)
                             .order_by(col(IncidentMember.id))))


def add_members(*, session: Session, incident_id: int, user_ids: Iterable[str], at: datetime) -> None:
    """Those not in yet (the caller holds the incident's lock, or Slack told of a join)."""
    present = set(member_ids(session=session, incident_id=incident_id))
    for user_id in dict.fromkeys(user_ids):
        if user_id and user_id not in present:
            session.add(IncidentMember(incident_id=incident_id, user_id=user_id, since=at))


def remove_member(*, session: Session, incident_id: int, user_id: str) -> None:
    session.exec(sa.delete(IncidentMember).where(col(IncidentMember.incident_id) == incident_id,
                                                 col(IncidentMember.user_id) == user_id))
