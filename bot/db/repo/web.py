"""The web board's revocable links and sessions: people's feed versions, sign-in sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.db.edge_models import PersonFeed, WebSession


def person_feed_version(*, session: Session, user_id: str) -> int:
    row = session.get(PersonFeed, user_id)
    return row.version if row is not None else 0


def reset_person_feed(*, session: Session, user_id: str, now: datetime) -> int:
    """The person's feed version, bumped (links carrying an older one stop working); the caller commits."""
    row = session.get(PersonFeed, user_id, with_for_update=True) or PersonFeed(user_id=user_id, reset_at=now)
    row.version += 1
    row.reset_at = now
    session.add(row)
    return row.version


def web_session(*, session: Session, session_id: str, now: datetime) -> WebSession | None:
    row = session.get(WebSession, session_id)
    return row if row is not None and row.expires_at > now else None


def end_web_session(*, session: Session, session_id: str) -> None:
    session.exec(sa.delete(WebSession).where(WebSession.id == session_id))


def end_web_sessions_of(*, session: Session, user_id: str) -> int:
    """Every session of a person (deactivated in Slack); the caller commits."""
    return session.exec(sa.delete(WebSession).where(WebSession.user_id == user_id)).rowcount


def end_expired_web_sessions(*, session: Session, now: datetime) -> None:
    session.exec(sa.delete(WebSession).where(WebSession.expires_at <= now))


def web_session_checked(*, session: Session, session_id: str, now: datetime) -> None:
    session.exec(sa.update(WebSession).where(WebSession.id == session_id).values(checked_at=now))
