"""Alerts and alert storms: an alert's incidents, the alert gate, storms and their alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.edge_models import AlertStorm, StormAlert
from bot.db.models import Incident
from bot.db.repo import incidents
from bot.db.repo._shared import _INCIDENTS, OPEN_STATUS_VALUES, _lock


def fingerprint_state(*, session: Session, fingerprint: str) -> tuple[Incident | None, int]:
    """(the newest open incident of this alert, how many it has had) — both from one statement, so from one
    committed state: read in two, an incident declared in between was missed by the first and counted by the
    second, and a second incident was declared for the same alert."""
    table = Incident.__table__
    is_open = table.c.status.in_(OPEN_STATUS_VALUES)
    count, number = session.execute(
        sa.select(sa.func.count(), sa.func.max(sa.case((is_open, table.c.number))))
        .where(table.c.alert_fingerprint == fingerprint)).one()
    return (incidents.incident_by_number(session=session, number=number) if number is not None else None), count


ALERT_SOURCES = ("generic", "alertmanager", "gitlab")  # what counts towards a storm (not people, trackers, silences)
_ALERT_GATE = 0x5F0A1E27  # the advisory lock every alert opening takes on PostgreSQL


def lock_alert_openings(*, session: Session) -> None:
    """First in its transaction: alerts that would open an incident are decided one at a time, across processes
    (counting the incidents opened in the window and opening one is a read-then-write). PostgreSQL: an advisory
    lock held to the commit; SQLite: its one write lock, taken now."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ALERT_GATE)))
    else:
        session.execute(sa.update(AlertStorm.__table__).where(AlertStorm.__table__.c.id == -1).values(id=-1))


def alert_openings_since(*, session: Session, since: datetime) -> int:
    """Incidents opened from alerts since then, each alert that joined a storm instead counted too."""
    incidents = session.execute(sa.select(sa.func.count()).select_from(_INCIDENTS).where(
        _INCIDENTS.c.source.in_(ALERT_SOURCES), _INCIDENTS.c.created_at >= since)).scalar_one()
    joined = session.execute(sa.select(sa.func.count()).select_from(StormAlert.__table__).where(
        StormAlert.__table__.c.first_at >= since)).scalar_one()
    return incidents + joined


def active_storm(*, session: Session, since: datetime) -> AlertStorm | None:
    """The storm alerts join now: not over, an alert joined it since `since`, its incident not closed or marked a
    duplicate (a resolved one is reopened by the next alert: the storm goes on)."""
    return session.exec(select(AlertStorm).join(Incident, col(Incident.id) == col(AlertStorm.incident_id)).where(
        col(AlertStorm.ended_at).is_(None), col(AlertStorm.last_alert_at) >= since,
        col(Incident.status).in_((*OPEN_STATUS_VALUES, "resolved"))).order_by(col(AlertStorm.id).desc())).first()


def storm_alert_of(*, session: Session, fingerprint: str) -> tuple[StormAlert, AlertStorm] | None:
    """The alert in a storm it still belongs to: one whose incident is open, or that is not over."""
    row = session.exec(select(StormAlert, AlertStorm).join(AlertStorm, col(AlertStorm.id) == col(StormAlert.storm_id))
                       .join(Incident, col(Incident.id) == col(AlertStorm.incident_id))
                       .where(col(StormAlert.fingerprint) == fingerprint,
                              sa.or_(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                     sa.and_(col(AlertStorm.ended_at).is_(None), Incident.status == "resolved")))
                       .order_by(col(StormAlert.id).desc())).first()
    return (row[0], row[1]) if row else None


def storm_of_incident(*, session: Session, incident_id: int) -> AlertStorm | None:
    return session.exec(select(AlertStorm).where(AlertStorm.incident_id == incident_id)).first()


def storm_for_change(*, session: Session, incident_id: int, storm_id: int) -> AlertStorm | None:
    """The storm locked, after its incident: every change to a storm takes the incident's row, then the storm's,
    then its alerts' (a change of the incident and the storm's news never wait for each other in a circle)."""
    incidents.lock_incident_first(session=session, incident_id=incident_id)
    return _lock(session, AlertStorm, col(AlertStorm.id) == storm_id)


def storm_alert_for_change(*, session: Session, storm_alert_id: int) -> StormAlert | None:
    return _lock(session, StormAlert, col(StormAlert.id) == storm_alert_id)


def storm_alert_seen(*, session: Session, storm_alert_id: int, firing: bool, now: datetime,
                     started: str | None = None, counted: bool = True) -> None:
    """`counted`: a firing that is a new one (not the same `startsAt` told again) counts up `times`."""
    table = StormAlert.__table__
    values: dict[str, Any] = {"state": "firing" if firing else "resolved", "last_at": now}
    if firing and counted:
        values["times"] = table.c.times + 1
    if firing and started:
        values["started_at"] = started
    session.execute(sa.update(table).where(table.c.id == storm_alert_id).values(**values))


def storm_joined(*, session: Session, storm_id: int, now: datetime) -> None:
    table = AlertStorm.__table__
    session.execute(sa.update(table).where(table.c.id == storm_id).values(last_alert_at=now))


def owe_storm_news(*, session: Session, storm_id: int) -> bool:
    """True for the one change that found no news owed (it queues the message; the others ride along)."""
    table = AlertStorm.__table__
    return session.execute(sa.update(table).where(table.c.id == storm_id, table.c.news_owed.is_(False))
                           .values(news_owed=True)).rowcount == 1


def storm_news(*, session: Session, storm_id: int, limit: int) -> list[StormAlert]:
    """Alerts whose state the storm's channel has not heard yet, oldest first."""
    return list(session.exec(select(StormAlert).where(StormAlert.storm_id == storm_id,
                                                      col(StormAlert.state) != col(StormAlert.told))
                             .order_by(col(StormAlert.id)).limit(limit)))


def storm_told(*, session: Session, told: list[tuple[int, str]]) -> None:
    """Each alert marked as heard in the state it was listed in (one that changed since stays news)."""
    table = StormAlert.__table__
    for alert_id, state in told:
        session.execute(sa.update(table).where(table.c.id == alert_id, table.c.state == state).values(told=state))


def storm_news_dropped(*, session: Session, storm_id: int, told: list[tuple[int, str]]) -> None:
    """The news could not be posted: what it held counts as told (the web page still lists it), none owed."""
    storm_told(session=session, told=told)
    session.execute(sa.update(AlertStorm.__table__).where(AlertStorm.__table__.c.id == storm_id)
                    .values(news_owed=False))


def storm_counts(*, session: Session, storm_id: int) -> dict[str, int]:
    table = StormAlert.__table__
    rows = session.execute(sa.select(table.c.state, sa.func.count()).where(table.c.storm_id == storm_id)
                           .group_by(table.c.state)).all()
    return {state: count for state, count in rows}


def storm_alerts(*, session: Session, storm_id: int, limit: int = 5000) -> list[StormAlert]:
    return list(session.exec(select(StormAlert).where(StormAlert.storm_id == storm_id)
                             .order_by(col(StormAlert.id)).limit(limit)))


def quiet_storms(*, session: Session, before: datetime, limit: int = 100) -> list[AlertStorm]:
    return list(session.exec(_QUIET, params={"before": before, "limit": limit}))


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_QUIET = (select(AlertStorm).where(col(AlertStorm.ended_at).is_(None),
                                   col(AlertStorm.last_alert_at) < sa.bindparam("before"))
          .limit(sa.bindparam("limit", type_=sa.Integer)))


def end_storm(*, session: Session, storm_id: int, before: datetime, now: datetime) -> bool:
    """Claimed once: True for the one tick that saw this storm's window pass quietly."""
    table = AlertStorm.__table__
    return session.execute(sa.update(table).where(table.c.id == storm_id, table.c.ended_at.is_(None),
                                                  table.c.last_alert_at < before).values(ended_at=now)).rowcount == 1
