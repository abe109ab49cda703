"""Reminders and handoffs: the facts they are worked out from, their due moments, their notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.db.columns import UTCDateTime
from bot.db.models import RECHECK, Incident, Notice
from bot.db.repo._shared import OPEN_STATUS_VALUES

_FACTS = (Incident.id, Incident.priority, Incident.status, Incident.created_at, Incident.last_update_at,
          Incident.p0_since, Incident.commander_id, Incident.rotation_id)


def reminder_facts(*, session: Session, incident_id: int | None = None) -> list:
    """The few columns reminders need, for open P0s and P1s (rows, not objects: cheap at a thousand)."""
    query = select(*_FACTS).where(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                  col(Incident.priority).in_(("P0", "P1")))
    if incident_id is not None:
        query = query.where(Incident.id == incident_id)
    return list(session.exec(query))


def facts_due(*, session: Session, now: datetime, limit: int = 5000) -> list:
    """The same columns for every incident whose next due moment has come (or that changed since it was worked
    out), whatever its status: the tick settles each one."""
    due = list(session.exec(_FACTS_DUE, params={"now": now, "limit": limit}))
    # NULL: written by a version from before the column (a replica not yet rolled): worked out like a change. A
    # query of its own: with an OR, SQLite's plan read the index whole.
    return due + list(session.exec(_FACTS_UNKNOWN, params={"limit": max(limit - len(due), 0)}))


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_FACTS_DUE = (select(*_FACTS).where(col(Incident.next_due_at) <= sa.bindparam("now"))
              .order_by(col(Incident.next_due_at)).limit(sa.bindparam("limit", type_=sa.Integer)))
_FACTS_UNKNOWN = (select(*_FACTS).where(col(Incident.next_due_at).is_(None))
                  .limit(sa.bindparam("limit", type_=sa.Integer)))


_SEEN = (("priority", sa.String), ("status", sa.String), ("commander_id", sa.String),
         ("last_update_at", UTCDateTime), ("p0_since", UTCDateTime))
_SET_NEXT_DUE = (sa.update(Incident.__table__)
                 .where(Incident.__table__.c.id == sa.bindparam("b_id"),
                        *(Incident.__table__.c[name].is_not_distinct_from(sa.bindparam(f"b_{name}", type_=kind()))
                          for name, kind in _SEEN))
                 .values(next_due_at=sa.bindparam("b_next", type_=UTCDateTime())))


def set_next_due(*, session: Session, moments: list[tuple[Any, datetime]]) -> None:
    """(facts row, next due moment) — written only where the row still has the facts it was worked out from: a
    change meanwhile has put it back to RECHECK, and it stays so."""
    if moments:
        session.connection().execute(_SET_NEXT_DUE, [
            {"b_id": row.id, "b_next": moment, **{f"b_{name}": getattr(row, name) for name, _ in _SEEN}}
            for row, moment in moments])


def recheck_reminders(*, session: Session, commanded_by: list[str] | None = None) -> None:
    """Open P0/P1s (commanded by these people) are worked out again at the next tick: the policy or someone's
    timezone changed."""
    query = sa.update(Incident).where(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                      col(Incident.priority).in_(("P0", "P1")))
    if commanded_by is not None:
        query = query.where(col(Incident.commander_id).in_(commanded_by))
    session.exec(query.values(next_due_at=RECHECK))


def existing_notices(*, session: Session, keys: list[str]) -> dict[str, str]:
    """key → state of the notices already stored among `keys`."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update((key, state) for key, state in
                     session.exec(_NOTICES, params={"keys": chunk}))
    return found


def store_new_notices(*, session: Session, notices: list[dict]) -> set[str]:
    """Stores each notice (a dict of Notice's columns) whose key is not stored yet, in one statement; returns the
    keys stored here. A replica storing the same key at the same moment gets it or not, never both: the unique key
    settles it (PostgreSQL makes the second wait for the first to commit)."""
    if not notices:
        return set()
    statement = _STORE_NEW_NOTICES[session.get_bind().dialect.name == "postgresql"]
    return set(session.connection().execute(statement, notices).scalars())


# One statement each, compiled once (rows come as parameters, sent together): [SQLite, PostgreSQL].
_STORE_NEW_NOTICES = tuple(insert(Notice.__table__).on_conflict_do_nothing(index_elements=["key"])
                           .returning(Notice.__table__.c.key) for insert in (sqlite.insert, postgresql.insert))


_NOTICES = select(Notice.key, Notice.state).where(col(Notice.key).in_(sa.bindparam("keys", expanding=True)))


def settle_notice(*, session: Session, key: str, now: datetime) -> bool:
    """A queued notice becomes sent (its messages owed) — once, whoever else tries at the same moment."""
    result = session.exec(sa.update(Notice).where(Notice.key == key, Notice.state == "queued")
                          .values(state="sent", sent_at=now))
    return result.rowcount == 1


def reminders_sent_between(*, session: Session, rotation_id: int, kinds: tuple[str, ...], since: datetime,
                           until: datetime) -> int:
    mine = select(Incident.id).where(Incident.rotation_id == rotation_id)
    return session.exec(select(sa.func.count()).select_from(Notice).where(
        col(Notice.incident_id).in_(mine), col(Notice.kind).in_(kinds), Notice.state == "sent",
        col(Notice.sent_at) >= since, col(Notice.sent_at) < until)).one()


def notice_once(*, session: Session, key: str, kind: str, incident_id: int | None, now: datetime) -> bool:
    """Stores the notice `key` unless it is there: True for the one process (and the one tick) that stored it."""
    if session.exec(select(Notice.id).where(Notice.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Notice(key=key, kind=kind, incident_id=incident_id, state="sent", created_at=now,
                               sent_at=now))
    except sa.exc.IntegrityError:
        return False
    return True
