"""Rotations: their rosters and the rosters' versions, overrides and swaps."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import Incident, RosterVersion, Rotation, RotationMember, RotationOverride, RotationSwap
from bot.db.repo._shared import _lock


def rotation_member_ids(*, session: Session, rotation_id: int) -> list[str]:
    return list(session.exec(select(RotationMember.user_id).where(RotationMember.rotation_id == rotation_id)
                             .order_by(col(RotationMember.position), col(RotationMember.id))))


def all_rotations(*, session: Session, limit: int | None = None) -> list[Rotation]:
    return list(session.exec(select(Rotation).order_by(col(Rotation.created_at), col(Rotation.id)).limit(limit)))


def rotation_choices(*, session: Session) -> list[tuple[int, str, str]]:
    """(id, name, channel) of every rotation, oldest first: what the declare form lists, as rows, not objects (it is
    read for every `/incident`: with 200 rotations, 200 objects a form held SQLite's one database thread 3 ms)."""
    return [(i, name, channel) for i, name, channel in session.exec(_CHOICES).all()]


_CHOICES = select(Rotation.id, Rotation.name, Rotation.channel_id).order_by(col(Rotation.created_at),
                                                                            col(Rotation.id))


def count_rotations(*, session: Session) -> int:
    return session.exec(select(sa.func.count()).select_from(Rotation)).one()


def rotation_starts(*, session: Session) -> list[tuple[int, datetime]]:
    """Every rotation's id and creation, all the tick needs of them (not whole rows)."""
    return [(rotation_id, created_at) for rotation_id, created_at in session.exec(_STARTS).all()]


_STARTS = select(Rotation.id, Rotation.created_at).order_by(col(Rotation.created_at), col(Rotation.id))  # built once


def rotation_by_id(*, session: Session, rotation_id: int) -> Rotation | None:
    return session.get(Rotation, rotation_id)


def rotation_by_channel(*, session: Session, channel_id: str) -> Rotation | None:
    return session.exec(select(Rotation).where(Rotation.channel_id == channel_id)
                        .order_by(col(Rotation.created_at), col(Rotation.id))).first()


# Built once (who is on call is asked by every declaration, `oncall` and the tick's reminders): building a
# statement cost about as much as running it. "ids" is a list, expanded when the statement runs.
_ROSTERS = (select(RotationMember.rotation_id, RotationMember.user_id)
            .where(col(RotationMember.rotation_id).in_(sa.bindparam("ids", expanding=True)))
            .order_by(col(RotationMember.rotation_id), col(RotationMember.position), col(RotationMember.id)))
_OVERRIDES = (select(RotationOverride).where(col(RotationOverride.rotation_id).in_(sa.bindparam("ids", expanding=True)),
                                             col(RotationOverride.ends_at) > sa.bindparam("ending_after"))
              .order_by(col(RotationOverride.id)))
_SWAPS = (select(RotationSwap).where(col(RotationSwap.rotation_id).in_(sa.bindparam("ids", expanding=True)),
                                     col(RotationSwap.shift_index) >= sa.bindparam("from_shift"))
          .order_by(col(RotationSwap.id)))


def rotation_of(*, session: Session, incident: Incident) -> Rotation | None:
    return session.get(Rotation, incident.rotation_id) if incident.rotation_id is not None else None


def rotation_for_change(*, session: Session, rotation_id: int) -> Rotation | None:
    """The rotation, locked: two roster changes (two replicas, two people running the same swap) take turns."""
    return _lock(session, Rotation, col(Rotation.id) == rotation_id)


def overrides_like(*, session: Session, rotation_id: int, user_id: str, role: str, starts_at: datetime,
                   ends_at: datetime) -> int:
    return session.exec(select(sa.func.count()).select_from(RotationOverride).where(
        RotationOverride.rotation_id == rotation_id, RotationOverride.user_id == user_id,
        RotationOverride.role == role, col(RotationOverride.starts_at) == starts_at,
        col(RotationOverride.ends_at) == ends_at)).one()


def overrides_overlapping(*, session: Session, rotation_id: int, role: str, starts_at: datetime,
                          ends_at: datetime) -> list[RotationOverride]:
    """Overrides of `role` on the rotation that share some time with [starts_at, ends_at)."""
    return list(session.exec(select(RotationOverride).where(
        RotationOverride.rotation_id == rotation_id, RotationOverride.role == role,
        col(RotationOverride.starts_at) < ends_at, col(RotationOverride.ends_at) > starts_at)
        .order_by(RotationOverride.starts_at)))


def swaps_between(*, session: Session, rotation_id: int, shift_index: int, a: str, b: str) -> int:
    """How many stored swaps exchange these two people in this shift (an odd number: they are swapped)."""
    pair = sa.or_(sa.and_(RotationSwap.user_a == a, RotationSwap.user_b == b),
                  sa.and_(RotationSwap.user_a == b, RotationSwap.user_b == a))
    return session.exec(select(sa.func.count()).select_from(RotationSwap).where(
        RotationSwap.rotation_id == rotation_id, RotationSwap.shift_index == shift_index, pair)).one()


def rotation_by_name(*, session: Session, name: str) -> Rotation | None:
    return session.exec(select(Rotation).where(sa.func.lower(Rotation.name) == name.lower())).first()


def rotations_of_member(*, session: Session, user_id: str) -> list[Rotation]:
    mine = select(RotationMember.rotation_id).where(RotationMember.user_id == user_id)
    return list(session.exec(select(Rotation).where(col(Rotation.id).in_(mine))
                             .order_by(col(Rotation.created_at), col(Rotation.id))))


def roster(*, session: Session, rotation_id: int) -> list[RotationMember]:
    return list(session.exec(select(RotationMember).where(RotationMember.rotation_id == rotation_id)
                             .order_by(col(RotationMember.position), col(RotationMember.id))))


def record_roster(*, session: Session, rotation_id: int, now: datetime) -> None:
    """The roster as it is now (after the change in this session), kept as a version from `now` on."""
    session.flush()
    members = ",".join(m.user_id for m in roster(session=session, rotation_id=rotation_id))
    session.add(RosterVersion(rotation_id=rotation_id, since=now, members=members))


def roster_versions(*, session: Session, rotation_id: int) -> list[RosterVersion]:
    return list(session.exec(select(RosterVersion).where(RosterVersion.rotation_id == rotation_id)
                             .order_by(col(RosterVersion.since), col(RosterVersion.id))))


def overrides_for(*, session: Session, rotation_id: int, ending_after: datetime) -> list[RotationOverride]:
    return overrides_of(session=session, rotation_ids=[rotation_id], ending_after=ending_after)[rotation_id]


def rosters_of(*, session: Session, rotation_ids: list[int]) -> dict[int, list[str]]:
    """Each rotation's members in roster order, in one statement (`oncall` shows a dozen rotations at once)."""
    found: dict[int, list[str]] = {i: [] for i in rotation_ids}
    if rotation_ids:
        for rotation_id, user_id in session.exec(_ROSTERS, params={"ids": rotation_ids}):
            found[rotation_id].append(user_id)
    return found


def overrides_of(*, session: Session, rotation_ids: list[int],
                 ending_after: datetime) -> dict[int, list[RotationOverride]]:
    """Each rotation's overrides not over by `ending_after`, oldest first, in one statement."""
    found: dict[int, list[RotationOverride]] = {i: [] for i in rotation_ids}
    if rotation_ids:
        for row in session.exec(_OVERRIDES, params={"ids": rotation_ids, "ending_after": ending_after}):
            found[row.rotation_id].append(row)
    return found


def swaps_of(*, session: Session, from_shift: dict[int, int]) -> dict[int, list[RotationSwap]]:
    """Each rotation's swaps from its shift `from_shift[rotation_id]` on, oldest first, in one statement."""
    found: dict[int, list[RotationSwap]] = {i: [] for i in from_shift}
    if from_shift:
        for row in session.exec(_SWAPS, params={"ids": list(from_shift), "from_shift": min(from_shift.values())}):
            if row.shift_index >= from_shift[row.rotation_id]:
                found[row.rotation_id].append(row)
    return found


def swaps_for(*, session: Session, rotation_id: int, from_shift: int) -> list[RotationSwap]:
    return list(session.exec(select(RotationSwap).where(RotationSwap.rotation_id == rotation_id,
                                                        col(RotationSwap.shift_index) >= from_shift)
                             .order_by(col(RotationSwap.id))))
