"""Slack requests applied once: their keys, stored with the change they made."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db.models import HandledRequest


def request_handled(*, session: Session, key: str) -> bool:
    return session.get(HandledRequest, key) is not None


def record_request(*, session: Session, key: str, kind: str, at: datetime) -> None:
    """Stored with the change it made; the primary key refuses the same request a second time."""
    session.add(HandledRequest(key=key, kind=kind, at=at))
