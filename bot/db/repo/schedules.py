"""Schedules beyond the seeds' shape: a rotation's escalation policies and shift changes, each person's public
holidays and time off."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.schedule_models import EscalationPolicy, PersonHolidays, RotationLayer, ShiftChange, TimeOff


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


# Built once (the tick, every declaration and `oncall` ask): building a statement cost about as much as running
# it. "ids" is a list, expanded when the statement runs.
_SHIFT_CHANGES = select(ShiftChange).order_by(col(ShiftChange.rotation_id), col(ShiftChange.since))
_SHIFT_CHANGES_OF = _SHIFT_CHANGES.where(col(ShiftChange.rotation_id).in_(sa.bindparam("ids", expanding=True)))
_LAYERS = (select(RotationLayer).where(col(RotationLayer.rotation_id).in_(sa.bindparam("ids", expanding=True)))
           .order_by(col(RotationLayer.rotation_id), col(RotationLayer.position)))
_TIME_OFF_OF = (select(TimeOff).where(col(TimeOff.ends_at) > sa.bindparam("ending_after"),
                                      col(TimeOff.user_id).in_(sa.bindparam("users", expanding=True)))
                .order_by(col(TimeOff.starts_at), col(TimeOff.id)))
_CALENDARS = select(PersonHolidays.user_id, PersonHolidays.calendar).where(
    col(PersonHolidays.user_id).in_(sa.bindparam("users", expanding=True)))


def calendars_of(*, session: Session, user_ids: list[str]) -> dict[str, str]:
    """The holiday calendar each of these people chose (a code or `none`); those who chose none are left out."""
    if not user_ids:
        return {}
    return dict(session.exec(_CALENDARS, params={"users": user_ids}).all())


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


def shift_changes_of(*, session: Session, rotation_ids: list[int] | None = None) -> dict[int, list[ShiftChange]]:
    """Each rotation's shift changes, oldest first (every rotation's with None: one statement for the tick)."""
    query = _SHIFT_CHANGES if rotation_ids is None else _SHIFT_CHANGES_OF  # built once, below
    if rotation_ids is not None and not rotation_ids:
        return {}
    found: dict[int, list[ShiftChange]] = {}
    for row in session.exec(query, params={"ids": rotation_ids} if rotation_ids is not None else None).all():
        found.setdefault(row.rotation_id, []).append(row)
    return found


def set_shift_change(*, session: Session, change: ShiftChange, now: datetime) -> None:
    """Stores a change, in place of any still to come (they are folded into it); the caller holds the rotation's
    lock."""
    for row in session.exec(select(ShiftChange).where(ShiftChange.rotation_id == change.rotation_id,
                                                      col(ShiftChange.since) > now)).all():
        session.delete(row)
    session.flush()
    session.add(change)


def time_off_of(*, session: Session, user_ids: list[str] | None, ending_after: datetime,
                starting_by: datetime | None = None) -> list[TimeOff]:
    """Time off not over by `ending_after` (and begun by `starting_by`), of these people (everyone's with None),
    by start."""
    if user_ids and starting_by is None:  # who is on call asks this way: a statement built once
        return list(session.exec(_TIME_OFF_OF, params={"ending_after": ending_after, "users": user_ids}).all())
    query = select(TimeOff).where(col(TimeOff.ends_at) > ending_after).order_by(col(TimeOff.starts_at),
                                                                               col(TimeOff.id))
    if starting_by is not None:
        query = query.where(col(TimeOff.starts_at) <= starting_by)
    if user_ids is not None:
        if not user_ids:
            return []
        query = query.where(col(TimeOff.user_id).in_(user_ids))
    return list(session.exec(query).all())


def time_off_by_id(*, session: Session, time_off_id: int) -> TimeOff | None:
    return session.get(TimeOff, time_off_id) if 0 < time_off_id < 2**31 else None


def layers_of(*, session: Session, rotation_ids: list[int]) -> dict[int, list[RotationLayer]]:
    """Each rotation's layers, in the order they win (the last wins)."""
    if not rotation_ids:
        return {}
    found: dict[int, list[RotationLayer]] = {}
    for row in session.exec(_LAYERS, params={"ids": rotation_ids}).all():
        found.setdefault(row.rotation_id, []).append(row)
    return found


def rotations_with_layer_member(*, session: Session, user_id: str) -> list[int]:
    """The rotations one of whose layers has `user_id` on its roster (layer rosters are short lists in a row)."""
    return sorted({row.rotation_id for row in session.exec(select(RotationLayer).where(
        col(RotationLayer.roster).contains(user_id))).all() if user_id in row.roster.split(",")})
