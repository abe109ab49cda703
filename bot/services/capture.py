"""The timeline from the conversation (SPEC §2): what is said in an incident's channel (or thread) is learnt from
Slack's message events and kept a while; reacting to a message with TIMELINE_EMOJI — or pinning it — puts it on the
incident's timeline at the message's own time, by its author; taking the reaction off takes it out; an edit is
followed; a deletion is marked. Each once, whatever Slack's retries: a captured message's timeline event is keyed
by its channel and ts (a unique request key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import ChannelMessage, Incident
from bot.slack_text import clean_text, is_channel_id

KIND = "captured"
KEEP = timedelta(days=30)  # what incident channels said is forgotten after this (the timeline keeps what was captured)
TEXT_MAX = 3000
UNKNOWN = "(a message from before I was listening: its text is in Slack)"


def _key(channel_id: str, ts: str) -> str:
    return f"captured:{channel_id}:{ts}"


def _moment(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def link(channel_id: str, ts: str) -> str:
    return f"https://slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


@dataclass(frozen=True)
class Said:
    """A message as an event tells it."""

    channel_id: str
    ts: str
    user_id: str | None
    text: str
    thread_ts: str | None = None


class Capture:
    def __init__(self, settings: Settings, db: repo.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock

    def _text(self, message: ChannelMessage | None, fallback: str = UNKNOWN) -> str:
        body = message.text if message and message.text else fallback
        if message is not None and message.deleted:
            body = f"(deleted in Slack) {body}"
        return clean_text(body)[:TEXT_MAX]

    @staticmethod
    def _valid(channel_id: str, ts: str) -> bool:
        return is_channel_id(channel_id) and _moment(ts) is not None

    # -- messages ---------------------------------------------------------------------------------------------

    def heard(self, said: Said, *, deleted: bool = False) -> bool:
        """A message (new, edited or deleted) in some channel; kept only when it is an incident's. True if kept."""
        if not self._valid(said.channel_id, said.ts):
            return False
        now = self.clock.now()
        with self.db.session() as session:
            known = repo.message_at(session=session, channel_id=said.channel_id, ts=said.ts)
            incident_id = known.incident_id if known else None
            if incident_id is None:
                incident = repo.incident_at(session=session, channel_id=said.channel_id, thread_ts=said.thread_ts)
                if incident is None:
                    return False
                incident_id = incident.id
            message = repo.keep_message(session=session, incident_id=incident_id, channel_id=said.channel_id,
                                        ts=said.ts, user_id=said.user_id, text=clean_text(said.text)[:TEXT_MAX],
                                        now=now, deleted=deleted)
            event = repo.event_by_request_key(session=session, request_key=_key(said.channel_id, said.ts))
            if event is not None:  # on the timeline already: it follows the edit or the deletion
                event.text = self._event_text(message)
            session.commit()
        return True

    def _event_text(self, message: ChannelMessage) -> str:
        return f"{self._text(message)} ({link(message.channel_id, message.ts)})"

    # -- putting it on the timeline and taking it off -----------------------------------------------------------

    def captured(self, channel_id: str, ts: str, by: str, said: Said | None = None) -> bool:
        """The reaction (or the pin, which brings the message's text with it) puts the message on the timeline."""
        if not self._valid(channel_id, ts):
            return False
        if said is not None:
            self.heard(said)  # a pin brings the message with it
        with self.db.session() as session:
            message = repo.message_at(session=session, channel_id=channel_id, ts=ts)
            incident = self._incident(session, message, channel_id)
            if incident is None:
                return False
            key = _key(channel_id, ts)
            if repo.event_by_request_key(session=session, request_key=key):
                return False  # once, whoever else reacts and however often Slack tells us
            placeholder = ChannelMessage(incident_id=incident.id, channel_id=channel_id, ts=ts, user_id=None,
                                         text="", seen_at=self.clock.now())
            repo.add_event(session=session, incident_id=incident.id, at=_moment(ts), kind=KIND,
                           actor_id=(message.user_id if message else None) or by,
                           text=self._event_text(message or placeholder), request_key=key)
            try:
                session.commit()
            except IntegrityError:  # the same reaction through another replica a moment ago
                session.rollback()
                return False
        return True

    def _incident(self, session: Session, message: ChannelMessage | None, channel_id: str) -> Incident | None:
        if message is not None:
            return repo.incident_by_id(session=session, incident_id=message.incident_id)
        return repo.incident_at(session=session, channel_id=channel_id, thread_ts=None)

    def released(self, channel_id: str, ts: str) -> bool:
        """The reaction taken off: the message leaves the timeline."""
        if not self._valid(channel_id, ts):
            return False
        with self.db.session() as session:
            gone = repo.drop_event(session=session, request_key=_key(channel_id, ts))
            session.commit()
        return gone

    def forget_old(self) -> int:
        """The tick bounds what is kept of the conversation (captured messages stay on their timelines)."""
        with self.db.session() as session:
            gone = repo.forget_messages(session=session, before=self.clock.now() - KEEP)
            session.commit()
        return gone
