"""Heartbeats, and the incidents their silences opened."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.edge_models import Heartbeat
from bot.db.repo._shared import _lock


def heartbeat_by_name(*, session: Session, name: str) -> Heartbeat | None:
    return session.exec(select(Heartbeat).where(Heartbeat.name == name)).first()


def heartbeat_for_change(*, session: Session, name: str) -> Heartbeat | None:
    return _lock(session, Heartbeat, col(Heartbeat.name) == name)


def heartbeats(*, session: Session) -> list[Heartbeat]:
    return list(session.exec(select(Heartbeat).order_by(col(Heartbeat.name))))


def silent_heartbeats(*, session: Session, before: datetime, limit: int = 100) -> list[Heartbeat]:
    """Silent past their interval (`silent_after`) before `before`, with no incident yet for this silence."""
    return list(session.exec(_SILENT, params={"before": before, "limit": limit}))


def attach_silence(*, session: Session, heartbeat_id: int, silent_after: datetime, incident_id: int) -> bool:
    """The incident declared for this silence, kept unless a beat came meanwhile (then False: it is over)."""
    table = Heartbeat.__table__
    return session.execute(sa.update(table).where(table.c.id == heartbeat_id, table.c.silent_after == silent_after,
                                                  table.c.incident_id.is_(None))
                           .values(incident_id=incident_id, silence_of=silent_after)).rowcount == 1


def beating_again(*, session: Session, limit: int = 100) -> list[Heartbeat]:
    """Heartbeats that beat since the silence their incident was declared for (its resolution still owed)."""
    return list(session.exec(_BEATING_AGAIN, params={"limit": limit}))


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_SILENT = (select(Heartbeat).where(col(Heartbeat.silent_after) < sa.bindparam("before"),
                                  col(Heartbeat.incident_id).is_(None))
           .order_by(col(Heartbeat.silent_after)).limit(sa.bindparam("limit", type_=sa.Integer)))
_BEATING_AGAIN = (select(Heartbeat).where(col(Heartbeat.incident_id).is_not(None),
                                         col(Heartbeat.silent_after) != col(Heartbeat.silence_of))
                  .limit(sa.bindparam("limit", type_=sa.Integer)))


def silence_over(*, session: Session, heartbeat_id: int, incident_id: int) -> None:
    table = Heartbeat.__table__
    session.execute(sa.update(table).where(table.c.id == heartbeat_id, table.c.incident_id == incident_id)
                    .values(incident_id=None, silence_of=None))
