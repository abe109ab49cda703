"""A request applied once: its key is stored with the change it made, so the same request delivered again (Slack's
retry, another replica, a double click) finds it and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import repo
from bot.domain.errors import AlreadyDone


def record_once(session: Session, request_key: str | None, kind: str, now: datetime) -> None:
    if request_key is None:
        return
    if repo.requests.request_handled(session=session, key=request_key):
        raise AlreadyDone(f"this `{kind}`")
    repo.requests.record_request(session=session, key=request_key, kind=kind, at=now)


def commit_once(session: Session, request_key: str | None) -> None:
    """A replica storing the same request at the same moment makes this one a repeat, not an error."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if request_key and repo.requests.request_handled(session=session, key=request_key):
            raise AlreadyDone() from None
        raise
