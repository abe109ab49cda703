"""Reads across the tables: what /metrics counts, what the self-watch finds overdue, the board's incidents."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.contact_models import PageSend
from bot.db.models import RECHECK, Delivery, Incident, Notice, Page
from bot.db.repo._shared import _OUTBOX, OPEN_STATUS_VALUES, seen_by


def overdue_counts(*, session: Session, before: datetime, unanswered_p0: datetime,
                   unanswered_p1: datetime) -> dict[str, int]:
    """What the tick should have done by `before` and has not (bot/services/watch.py): escalations (pages still
    waiting past their step's wait before `before`; pages from before policies: sent before `unanswered_p0`/`_p1`,
    `before` less their priority's timeout), reminders (incidents whose
    next due moment passed, or changed and never looked at again), and deliveries never tried whose lane is not
    held by one Slack keeps refusing."""
    by_priority = sa.or_(sa.and_(Incident.priority == "P0", col(Page.sent_at) < unanswered_p0),
                         sa.and_(Incident.priority != "P0", col(Page.sent_at) < unanswered_p1))
    escalations = session.exec(select(sa.func.count()).select_from(Page).join(
        Incident, col(Incident.id) == Page.incident_id).where(Page.state == "waiting", col(Page.wait_seconds).is_(None),
                                                               by_priority)).one()
    escalations += sum(1 for sent_at, wait in session.exec(select(Page.sent_at, Page.wait_seconds).where(
        Page.state == "waiting", col(Page.wait_seconds).is_not(None), col(Page.sent_at) < before))
        if sent_at + timedelta(seconds=wait) < before)  # each page its own step's wait (escalation policies)
    live = col(Incident.status).in_(OPEN_STATUS_VALUES)
    reminders = session.exec(select(sa.func.count()).select_from(Incident).where(live, sa.or_(
        sa.and_(Incident.next_due_at != RECHECK, col(Incident.next_due_at) < before),
        sa.and_(Incident.next_due_at == RECHECK, col(Incident.updated_at) < before)))).one()
    held = _OUTBOX.alias("held")
    deliveries = session.exec(select(sa.func.count()).select_from(_OUTBOX).where(
        _OUTBOX.c.state == "queued", _OUTBOX.c.attempts == 0, _OUTBOX.c.claimed_at.is_(None),
        _OUTBOX.c.next_attempt_at < before,
        ~sa.exists().where(held.c.lane == _OUTBOX.c.lane, held.c.state == "queued", held.c.attempts > 0))).one()
    return {"escalations": escalations, "reminders": reminders, "deliveries": deliveries}


def metric_counts(*, session: Session) -> dict[str, dict[tuple[str, ...], int]]:
    """Everything /metrics reports, counted from the stored state (so every replica reports the same)."""
    def grouped(query) -> dict[tuple[str, ...], int]:
        return {tuple(str(v) for v in row[:-1]): row[-1] for row in session.exec(query)}

    return {
        "open": grouped(select(Incident.priority, sa.func.count()).where(col(Incident.status).in_(OPEN_STATUS_VALUES))
                        .group_by(Incident.priority)),
        "declared": grouped(select(Incident.source, sa.func.count()).group_by(Incident.source)),
        "pages": grouped(select(Page.target_role, sa.func.count()).where(col(Page.sent_at).is_not(None))
                         .group_by(Page.target_role)),
        "acknowledged": {(): session.exec(select(sa.func.count()).select_from(Incident)
                                          .where(col(Incident.acknowledged_at).is_not(None))).one()},
        "reminders": grouped(select(Notice.kind, sa.func.count()).where(Notice.state == "sent").group_by(Notice.kind)),
        "outbox": grouped(select(Delivery.state, sa.func.count()).group_by(Delivery.state)),
        "sends": grouped(select(PageSend.method, PageSend.state, sa.func.count())
                         .group_by(PageSend.method, PageSend.state)),
    }


def board_incidents(*, session: Session, rotation_id: int | None, priority: str | None, resolved_since: datetime,
                    limit: int = 500, viewer: str | bool | None = False) -> list[Incident]:
    """`viewer`: as repo.incidents.list_incidents (False: every incident; else what that person may see)."""
    query = select(Incident).where(sa.or_(col(Incident.status).in_(OPEN_STATUS_VALUES), sa.and_(
        Incident.status == "resolved", col(Incident.resolved_at) >= resolved_since)))
    if viewer is not False:
        query = seen_by(query, viewer if isinstance(viewer, str) else None)
    if rotation_id is not None:
        query = query.where(Incident.rotation_id == rotation_id)
    if priority:
        query = query.where(Incident.priority == priority)
    return list(session.exec(query.order_by(col(Incident.priority), col(Incident.number).desc()).limit(limit)))
