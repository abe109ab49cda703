"""Schedules beyond the seeds' shape: a rotation's escalation policies, each person's public holidays."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.db.schedule_models import EscalationPolicy, PersonHolidays


def policy_of(*, session: Session, rotation_id: int, priority: str) -> str | None:
    """The policy's JSON, None for the seeds' chain."""
    return session.exec(select(EscalationPolicy.policy).where(EscalationPolicy.rotation_id == rotation_id,
                                                               EscalationPolicy.priority == priority)).first()


def policies_of(*, session: Session, rotation_id: int) -> dict[str, str]:
    return dict(session.exec(select(EscalationPolicy.priority, EscalationPolicy.policy).where(
        EscalationPolicy.rotation_id == rotation_id).order_by(col(EscalationPolicy.priority))).all())


def set_policy(*, session: Session, rotation_id: int, priority: str, policy: str | None, user_id: str,
               now: datetime) -> None:
    """Stores (or, with None, removes) a priority's policy; the caller holds the rotation's lock."""
    row = session.get(EscalationPolicy, (rotation_id, priority))
    if policy is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(EscalationPolicy(rotation_id=rotation_id, priority=priority, policy=policy, set_by=user_id,
                                     set_at=now))
    else:
        row.policy, row.set_by, row.set_at = policy, user_id, now
        session.add(row)


def calendars_of(*, session: Session, user_ids: list[str]) -> dict[str, str]:
    """The holiday calendar each of these people chose (a code or `none`); those who chose none are left out."""
    if not user_ids:
        return {}
    return dict(session.exec(select(PersonHolidays.user_id, PersonHolidays.calendar).where(
        col(PersonHolidays.user_id).in_(user_ids))).all())


def set_calendar(*, session: Session, user_id: str, calendar: str | None, now: datetime) -> None:
    """Stores a person's calendar (a code or `none`); None goes back to the team's."""
    row = session.get(PersonHolidays, user_id)
    if calendar is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(PersonHolidays(user_id=user_id, calendar=calendar, set_at=now))
    else:
        row.calendar, row.set_at = calendar, now
        session.add(row)
