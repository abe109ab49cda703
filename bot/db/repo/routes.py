"""Alert routes, in the order they are tried, and rotations' own routing keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.db.edge_models import AlertRoute, RotationKey
from bot.db.models import Rotation


def routes(*, session: Session) -> list[tuple[AlertRoute, str]]:
    """Every route with its rotation's name, lowest position first."""
    return [(route, name) for route, name in session.exec(
        select(AlertRoute, Rotation.name).join(Rotation, col(Rotation.id) == col(AlertRoute.rotation_id))
        .order_by(col(AlertRoute.position), col(AlertRoute.id))).all()]


def rotation_of_key(*, session: Session, key_hash: str) -> str | None:
    """The name of the rotation whose routing key has this hash."""
    return session.exec(select(Rotation.name).join(RotationKey, col(RotationKey.rotation_id) == col(Rotation.id))
                        .where(RotationKey.key_hash == key_hash)).first()


def set_rotation_key(*, session: Session, rotation_id: int, key_hash: str, user_id: str, now: datetime) -> None:
    """A new key in place of the old one (the old stops working); the caller holds the rotation's lock."""
    row = session.get(RotationKey, rotation_id)
    if row is None:
        session.add(RotationKey(rotation_id=rotation_id, key_hash=key_hash, created_by=user_id, created_at=now))
    else:
        row.key_hash, row.created_by, row.created_at = key_hash, user_id, now
        session.add(row)
