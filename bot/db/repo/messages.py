"""What incident channels said (timeline capture), kept a while for the timeline emoji."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import ChannelMessage, Incident
from bot.db.repo._shared import _lock


def incident_at(*, session: Session, channel_id: str, thread_ts: str | None) -> int | None:
    """The id of the incident whose own channel this is, or whose thread (under its announcement) `thread_ts` is:
    one indexed look-up (every message in every channel the bot is in asks it)."""
    place = col(Incident.thread_ts).is_(None) if not thread_ts else sa.or_(col(Incident.thread_ts).is_(None),
                                                                           Incident.thread_ts == thread_ts)
    return session.exec(select(Incident.id).where(Incident.channel_id == channel_id, place)
                         .order_by(col(Incident.thread_ts).is_not(None), col(Incident.id).desc()).limit(1)).first()


def message_for_change(*, session: Session, channel_id: str, ts: str) -> ChannelMessage | None:
    """The message's row, locked: what is heard of it and who marks it take turns."""
    return _lock(session, ChannelMessage, sa.and_(ChannelMessage.channel_id == channel_id, ChannelMessage.ts == ts))


def message_at(*, session: Session, channel_id: str, ts: str) -> ChannelMessage | None:
    return session.exec(select(ChannelMessage).where(ChannelMessage.channel_id == channel_id,
                                                     ChannelMessage.ts == ts)).first()


def message_row(*, session: Session, incident_id: int, channel_id: str, ts: str, now: datetime) -> ChannelMessage:
    """The message's row, made if it is not there yet (once per channel and ts, whatever races), and locked."""
    if message_at(session=session, channel_id=channel_id, ts=ts) is None:
        try:
            with session.begin_nested():
                session.add(ChannelMessage(incident_id=incident_id, channel_id=channel_id, ts=ts, seen_at=now))
        except sa.exc.IntegrityError:
            pass  # another process made it a moment ago
    return message_for_change(session=session, channel_id=channel_id, ts=ts)


def forget_messages(*, session: Session, before: datetime) -> int:
    return session.execute(_FORGET, {"before": before}).rowcount


# Built once: the tick asks every SCHEDULER_TICK, and building a statement cost about as much as running it.
_FORGET = sa.delete(ChannelMessage.__table__).where(ChannelMessage.__table__.c.seen_at < sa.bindparam("before"))


def forget_channel(*, session: Session, incident_id: int, channel_id: str) -> None:
    """An incident's messages in a channel that is no longer its home (`private INC-n`): reactions, pins and edits
    there stop reaching its timeline."""
    session.exec(sa.delete(ChannelMessage).where(col(ChannelMessage.incident_id) == incident_id,
                                                 col(ChannelMessage.channel_id) == channel_id))
