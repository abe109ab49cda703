"""Cover requests ("cover me")."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import CoverRequest
from bot.db.repo._shared import _lock


def covers_overlapping(*, session: Session, rotation_id: int, role: str, starts_at: datetime,
                       ends_at: datetime) -> list[CoverRequest]:
    """Open cover requests for `role` on the rotation that share some time with [starts_at, ends_at)."""
    return list(session.exec(select(CoverRequest).where(
        CoverRequest.rotation_id == rotation_id, CoverRequest.role == role, CoverRequest.state == "open",
        col(CoverRequest.starts_at) < ends_at, col(CoverRequest.ends_at) > starts_at)))


def cover_for_change(*, session: Session, cover_id: int) -> CoverRequest | None:
    return _lock(session, CoverRequest, col(CoverRequest.id) == cover_id)


def cover_by_id(*, session: Session, cover_id: int) -> CoverRequest | None:
    return session.get(CoverRequest, cover_id)


def open_covers_of(*, session: Session, user_id: str, limit: int = 10) -> list[CoverRequest]:
    return list(session.exec(select(CoverRequest).where(CoverRequest.requester == user_id,
                                                        CoverRequest.state == "open")
                             .order_by(CoverRequest.starts_at).limit(limit)))


def covers_to_expire(*, session: Session, now: datetime, limit: int = 200) -> list[CoverRequest]:
    """Open requests past their start — or, for one asked once its time had begun (the shift you are in), past
    its end."""
    return list(session.exec(_TO_EXPIRE, params={"now": now, "limit": limit}))


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_TO_EXPIRE = select(CoverRequest).where(
    CoverRequest.state == "open",
    sa.or_(sa.and_(col(CoverRequest.starts_at) > col(CoverRequest.created_at),
                   col(CoverRequest.starts_at) <= sa.bindparam("now")),
           col(CoverRequest.ends_at) <= sa.bindparam("now"))).order_by(CoverRequest.id).limit(
    sa.bindparam("limit", type_=sa.Integer))


def expire_cover(*, session: Session, cover_id: int, now: datetime) -> bool:
    """Claimed once: only the process whose UPDATE finds it still open tells the requester."""
    table = CoverRequest.__table__
    result = session.execute(sa.update(table).where(table.c.id == cover_id, table.c.state == "open")
                             .values(state="expired", decided_at=now))
    return result.rowcount == 1


def covers_taken_between(*, session: Session, rotation_id: int, since: datetime,
                         until: datetime) -> list[CoverRequest]:
    return list(session.exec(select(CoverRequest).where(
        CoverRequest.rotation_id == rotation_id, CoverRequest.state == "taken",
        col(CoverRequest.starts_at) >= since, col(CoverRequest.starts_at) < until)))


def open_covers_of_time_off(*, session: Session, time_off_id: int) -> list[CoverRequest]:
    return list(session.exec(select(CoverRequest).where(CoverRequest.time_off_id == time_off_id,
                                                        CoverRequest.state == "open").order_by(col(CoverRequest.id))))
