"""Maintenance windows and the alerts they hold."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.db.edge_models import HeldAlert, MaintenanceWindow
from bot.db.models import Rotation


def windows(*, session: Session, ending_after: datetime) -> list[tuple[MaintenanceWindow, str | None]]:
    """Windows not over by `ending_after`, with their rotation's name, by start."""
    return list(session.exec(select(MaintenanceWindow, Rotation.name)
                             .join(Rotation, col(Rotation.id) == col(MaintenanceWindow.rotation_id), isouter=True)
                             .where(col(MaintenanceWindow.ends_at) > ending_after)
                             .order_by(col(MaintenanceWindow.starts_at), col(MaintenanceWindow.id))).all())


def held_counts(*, session: Session, window_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per window: (alerts held, of which still firing)."""
    if not window_ids:
        return {}
    rows = session.exec(select(HeldAlert.window_id, func.count(), func.sum(sa.case((col(HeldAlert.firing), 1),
                                                                                   else_=0)))
                        .where(col(HeldAlert.window_id).in_(window_ids)).group_by(col(HeldAlert.window_id))).all()
    return {window_id: (count, int(firing or 0)) for window_id, count, firing in rows}


def hold(*, session: Session, window_id: int, fingerprint: str, title: str, alert: str, firing: bool,
         now: datetime) -> None:
    """The alert kept by the window: stored the first time, brought up to date (and counted) after."""
    def found() -> HeldAlert | None:
        return session.exec(select(HeldAlert).where(HeldAlert.window_id == window_id,
                                                    HeldAlert.fingerprint == fingerprint).with_for_update()).first()

    row = found()
    if row is None:
        try:
            with session.begin_nested():  # the same alert twice at once: the unique key keeps one, the other updates
                session.add(HeldAlert(window_id=window_id, fingerprint=fingerprint, title=title, alert=alert,
                                      firing=firing, received_at=now))
                session.flush()
            return
        except IntegrityError:
            row = found()
            if row is None:
                raise
    row.alert, row.title, row.firing, row.received_at = alert, title, firing, now
    row.count += 1 if firing else 0
    session.add(row)


def held_in(*, session: Session, fingerprint: str) -> list[HeldAlert]:
    """The alert as windows hold it, not let through yet (a resolution for it is kept there too, so it never opens)."""
    return list(session.exec(select(HeldAlert).where(HeldAlert.fingerprint == fingerprint,
                                                     col(HeldAlert.opened_at).is_(None))))


def windows_to_close(*, session: Session, now: datetime) -> list[int]:
    return list(session.exec(_TO_CLOSE, params={"now": now}))


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_TO_CLOSE = select(MaintenanceWindow.id).where(col(MaintenanceWindow.ends_at) <= sa.bindparam("now"),
                                               col(MaintenanceWindow.closed_at).is_(None))


def close_window(*, session: Session, window_id: int, now: datetime) -> bool:
    """Once, whoever asks first (replicas race on the tick)."""
    result = session.exec(sa.update(MaintenanceWindow).where(col(MaintenanceWindow.id) == window_id,
                                                             col(MaintenanceWindow.closed_at).is_(None))
                          .values(closed_at=now))
    return result.rowcount == 1


def due_to_open(*, session: Session, now: datetime) -> list[HeldAlert]:
    """Alerts still firing in windows that have ended, not let through yet."""
    return list(session.exec(_DUE_TO_OPEN, params={"now": now}))


_DUE_TO_OPEN = (select(HeldAlert).join(MaintenanceWindow, col(MaintenanceWindow.id) == col(HeldAlert.window_id))
                .where(col(HeldAlert.firing), col(HeldAlert.opened_at).is_(None),
                       col(MaintenanceWindow.ends_at) <= sa.bindparam("now")).order_by(col(HeldAlert.id)))


def mark_opened(*, session: Session, held_id: int, now: datetime) -> bool:
    result = session.exec(sa.update(HeldAlert).where(col(HeldAlert.id) == held_id, col(HeldAlert.opened_at).is_(None))
                          .values(opened_at=now))
    return result.rowcount == 1


def held_of(*, session: Session, window_ids: list[int]) -> list[HeldAlert]:
    if not window_ids:
        return []
    return list(session.exec(select(HeldAlert).where(col(HeldAlert.window_id).in_(window_ids))
                             .order_by(col(HeldAlert.window_id), col(HeldAlert.received_at).desc())))
