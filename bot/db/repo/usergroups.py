"""Slack user groups: those bound to rotations, those the bot created."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db.models import BotUserGroup, RotationUserGroup


def usergroup_of(*, session: Session, rotation_id: int) -> RotationUserGroup | None:
    return session.get(RotationUserGroup, rotation_id)


def usergroups(*, session: Session) -> list[RotationUserGroup]:
    return list(session.exec(_ALL))


_ALL = select(RotationUserGroup)  # built once: the tick asks every SCHEDULER_TICK


_USERGROUP_GATE = 0x5553_4752  # the advisory lock every user-group binding takes on PostgreSQL ("USGR")


def lock_usergroup_bindings(*, session: Session) -> None:
    """Bindings of user groups are decided one at a time across processes (is it bound elsewhere? then bind: a
    read-then-write over other rotations' rows). PostgreSQL: an advisory lock held to the commit; SQLite: its one
    write lock, taken now."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_USERGROUP_GATE)))
    else:
        session.execute(sa.update(RotationUserGroup.__table__).where(
            RotationUserGroup.__table__.c.rotation_id == -1).values(rotation_id=-1))


def usergroup_bound_elsewhere(*, session: Session, rotation_id: int, handle: str,
                              group_id: str | None) -> RotationUserGroup | None:
    """Another rotation's binding of this group (by its id, or by its handle)."""
    same = sa.func.lower(RotationUserGroup.handle) == handle.lower()
    if group_id:
        same = sa.or_(same, RotationUserGroup.group_id == group_id)
    return session.exec(select(RotationUserGroup).where(RotationUserGroup.rotation_id != rotation_id, same)
                        .limit(1)).first()


def bot_usergroup(*, session: Session, group_id: str) -> BotUserGroup | None:
    """The user group with this id, if the bot created it."""
    return session.get(BotUserGroup, group_id)


def record_bot_usergroup(*, session: Session, group_id: str, handle: str, rotation_id: int, now: datetime) -> None:
    if session.get(BotUserGroup, group_id) is None:
        session.add(BotUserGroup(group_id=group_id, handle=handle, rotation_id=rotation_id, created_at=now))


def claim_usergroup_change(*, session: Session, rotation_id: int, was: str, now_wanted: str) -> bool:
    """The tick claims one change of a group's membership: only the process whose UPDATE still finds the old
    wanted membership queues it (two replicas ticking at once queue it once)."""
    table = RotationUserGroup.__table__
    result = session.execute(sa.update(table).where(table.c.rotation_id == rotation_id, table.c.wanted == was)
                             .values(wanted=now_wanted))
    return result.rowcount == 1
