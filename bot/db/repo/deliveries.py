"""Deliveries (the outbox): queued, claimed, renewed and finished under a claim."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db.columns import UTCDateTime
from bot.db.models import Delivery
from bot.db.repo._shared import _OUTBOX, _updating


def _held_write(session: Session, delivery_id: int, token: str, **values) -> bool:
    result = session.execute(_updating(_OUTBOX, frozenset(values), held=True),
                             {"b_id": delivery_id, "b_token": token, **values})
    return result.rowcount == 1


def queue_delivery(*, session: Session, lane: str, kind: str, incident_id: int | None, payload: str,
                   now: datetime) -> None:
    """Written at once, in the session's transaction (a rollback, a savepoint's too, takes it back), after what the
    session holds unwritten (its incident, say): a Core INSERT of a row, without a Delivery object and the unit of
    work's flush of it (a third of the reminders step's time at 1,000 open)."""
    if session.new:
        session.flush()
    session.connection().execute(_QUEUE_DELIVERY, {
        "lane": lane, "kind": kind, "incident_id": incident_id, "payload": payload, "state": "queued",
        "attempts": 0, "created_at": now, "next_attempt_at": now, "last_error": ""})


_QUEUE_DELIVERY = sa.insert(Delivery.__table__)  # one statement, compiled once: values come as parameters


def delivery_row(*, lane: str, kind: str, payload: str, now: datetime) -> dict:
    return {"lane": lane, "kind": kind, "incident_id": None, "payload": payload, "state": "queued", "attempts": 0,
            "created_at": now, "next_attempt_at": now, "last_error": ""}


def queue_together(*, engine: Engine, rows: list[dict]) -> None:
    """Deliveries written on the ack path (clicks, declarations) by requests that arrived together: one INSERT of
    them all in one transaction, on a connection rather than a Session (the ORM's unit of work would cost more than
    the statement)."""
    with engine.begin() as connection:
        connection.execute(_QUEUE_DELIVERY, rows)


def become_setup(*, session: Session, delivery_id: int, token: str, kind: str, lane: str, incident_id: int) -> bool:
    """A claimed stored declaration turned, in its declaration's own transaction, into the incident's set-up: the
    same row goes on as that delivery, first in the incident's lane. Only while the claim is still ours."""
    return _held_write(session, delivery_id, token, kind=kind, lane=lane, incident_id=incident_id)


def pages_first_in_lane(*, session: Session, incident_id: int) -> list[Delivery]:
    """The incident's queued pages that nothing queued earlier in their lane waits before (sending one of those
    ahead would break its lane's order)."""
    earlier = sa.alias(Delivery.__table__)
    return list(session.exec(select(Delivery).where(
        col(Delivery.incident_id) == incident_id, Delivery.kind == "page", Delivery.state == "queued",
        ~sa.exists().where(earlier.c.lane == Delivery.lane, earlier.c.state == "queued", earlier.c.id < Delivery.id))
        .order_by(col(Delivery.id))))


def deliveries_due(*, session: Session, limit: int) -> list[Delivery]:
    """Everything still queued, oldest first — also what another process holds or what waits for a retry, so
    that each lane stops at its first undelivered item and nothing behind it overtakes it. Slack's (and the
    trackers') lanes and the providers' lanes beyond Slack are taken apart, up to `limit` each, in one statement:
    a long outage of one provider, with hundreds of sends waiting, never keeps a newer Slack DM out of a pass."""
    return list(session.scalars(select(Delivery).from_statement(_DUE).params(b_limit=limit)))


def _queued_first(providers: bool) -> sa.Select:
    beyond_slack = _OUTBOX.c.lane.startswith("contact:")
    queued = sa.select(_OUTBOX).where(_OUTBOX.c.state == "queued", beyond_slack if providers else ~beyond_slack)
    return sa.select(queued.order_by(_OUTBOX.c.id).limit(sa.bindparam("b_limit")).subquery())


_DUE = sa.union_all(_queued_first(False), _queued_first(True))


def _claimable(table: sa.Table) -> tuple:
    """Queued, due, and either never claimed or claimed by a process whose lease ran out (it died)."""
    return (table.c.id == sa.bindparam("b_id"), table.c.state == "queued",
            sa.or_(table.c.claimed_at.is_(None), table.c.claimed_at < sa.bindparam("b_before", type_=UTCDateTime())),
            table.c.next_attempt_at <= sa.bindparam("b_now", type_=UTCDateTime()))


_CLAIM_VALUES = {"claimed_at": sa.bindparam("b_now"), "claim_token": sa.bindparam("b_token")}
_CLAIM = sa.update(_OUTBOX).where(*_claimable(_OUTBOX)).values(_CLAIM_VALUES)
# PostgreSQL: a row another process holds locked (its claim not committed yet: it is declaring the incident in the
# claim's own transaction) is skipped, not waited for — it is that process's.
_CLAIMING = _OUTBOX.alias("claiming")
_CLAIM_UNLESS_LOCKED = sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.select(_CLAIMING.c.id).where(
    *_claimable(_CLAIMING)).with_for_update(skip_locked=True).scalar_subquery()).values(_CLAIM_VALUES)


def claim_delivery(*, session: Session, delivery_id: int, token: str, now: datetime, claimed_before: datetime) -> bool:
    """One conditional write: this process (holding `token`) alone may deliver it until its lease lapses."""
    statement = _CLAIM_UNLESS_LOCKED if session.get_bind().dialect.name == "postgresql" else _CLAIM
    result = session.execute(statement, {"b_id": delivery_id, "b_now": now, "b_before": claimed_before,
                                         "b_token": token})
    return result.rowcount == 1


def renew_claim(*, session: Session, delivery_id: int, token: str, now: datetime) -> bool:
    """Still ours? Then the lease starts again from now (and the row stays locked until the commit)."""
    return _held_write(session, delivery_id, token, claimed_at=now)


def renew_claims(*, session: Session, held: dict[int, str], now: datetime) -> list[int]:
    """A live process's heartbeat: each of its claims (id → token) still queued under its token starts its lease
    again from now; the ids renewed come back. A claim taken over carries another token and is not renewed (the
    fence). On PostgreSQL a row locked at this moment is skipped, not waited for — its holder is writing it (this
    process's own checkpoint or finish, which renews or releases it), and waiting here could close a circle of
    locks with them."""
    if not held:
        return []
    mine = sa.tuple_(_OUTBOX.c.id, _OUTBOX.c.claim_token).in_(list(held.items()))
    if session.get_bind().dialect.name == "postgresql":
        locked = sa.select(_OUTBOX.c.id).where(mine, _OUTBOX.c.state == "queued").with_for_update(skip_locked=True)
        statement = sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(locked))
    else:
        statement = sa.update(_OUTBOX).where(mine, _OUTBOX.c.state == "queued")
    return list(session.execute(statement.values(claimed_at=now).returning(_OUTBOX.c.id)).scalars())


def finish_delivery(*, session: Session, delivery_id: int, token: str, **values) -> bool:
    """The outcome, recorded only by the holder of the claim; the claim is released with it."""
    return _held_write(session, delivery_id, token, claimed_at=None, claim_token=None, **values)


def delivery_backlog(*, session: Session, now: datetime) -> dict:
    """Counts by state and kind, and how long the oldest undelivered one has waited (seconds)."""
    rows = session.exec(select(Delivery.state, Delivery.kind, sa.func.count()).group_by(Delivery.state, Delivery.kind))
    counts: dict[str, dict[str, int]] = {}
    for state, kind, count in rows:
        counts.setdefault(state, {})[kind] = count
    oldest = session.exec(select(sa.func.min(Delivery.created_at)).where(Delivery.state == "queued")).one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return {"counts": counts, "oldest_queued_seconds": round(age, 1)}
