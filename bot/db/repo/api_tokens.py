"""The tokens of `/api/v1`, looked up by their hash (only hashes are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, select, update

from bot.db.edge_models import ApiToken


def add_token(*, session: Session, name: str, scope: str, key_hash: str, user_id: str, now: datetime) -> None:
    """The name's unique index refuses a second token of the same name (the caller says so)."""
    session.add(ApiToken(name=name, scope=scope, key_hash=key_hash, created_by=user_id, created_at=now))


def token_by_hash(*, session: Session, key_hash: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.key_hash == key_hash)).first()


def tokens(*, session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))).all())


def remove_token(*, session: Session, name: str) -> bool:
    return session.exec(delete(ApiToken).where(col(ApiToken.name) == name)).rowcount > 0  # type: ignore[call-overload]


def note_use(*, session: Session, token_id: int, now: datetime, unless_after: datetime) -> None:
    """`last_used_at`, written at most once a minute per token (`unless_after`): reads stay reads."""
    session.exec(update(ApiToken).where(col(ApiToken.id) == token_id)  # type: ignore[call-overload]
                 .where((col(ApiToken.last_used_at).is_(None)) | (col(ApiToken.last_used_at) < unless_after))
                 .values(last_used_at=now))
