"""The timeline from the conversation (SPEC §2): what is said in an incident's channel (or thread) is learnt from
Slack's message events and kept a while; reacting to a message with TIMELINE_EMOJI — or pinning it — puts it on the
incident's timeline at the message's own time, by its author; once nobody marks it any more it leaves again; an
edit is followed; a deletion is marked.

Everything about one message takes its row's lock first (what is heard of it, and who marks it), and who marks it
is kept per person with the ts of the newest event about them: a removal that overtook its reaction, Slack's
retry of an old event, or two replicas handling events side by side cannot leave the timeline wrong. The timeline
event is keyed by the message's channel and ts (a unique request key): once per message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import ChannelMessage
from bot.slack.text import clean_text, is_channel_id, is_user_id

KIND = "captured"
KEEP = timedelta(days=30)  # what incident channels said is forgotten after this (the timeline keeps what was captured)
TEXT_MAX = 3000
EVENT_TEXT_MAX = 400  # on the timeline (its link follows, so a draft that cuts long lines keeps the link)
UNKNOWN = "(a message from before I was listening: its text is in Slack)"
PIN = "pin"
_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")


def _key(channel_id: str, ts: str) -> str:
    return f"captured:{channel_id}:{ts}"


def is_ts(value: object) -> bool:
    return isinstance(value, str) and bool(_TS.match(value))


def _moment(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(frozen=True)
class Said:
    """A message as an event tells it (checked for shape by the listener)."""

    channel_id: str
    ts: str
    user_id: str | None
    text: str
    thread_ts: str | None = None


class Capture:
    """`team_url()`: the workspace's address (from auth.test), the base of message permalinks."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock,
                 team_url: Callable[[], str | None] = lambda: None) -> None:
        self.settings, self.db, self.clock, self.team_url = settings, db, clock, team_url

    def link(self, channel_id: str, ts: str) -> str:
        return f"{self.team_url() or 'https://slack.com/'}archives/{channel_id}/p{ts.replace('.', '')}"

    def _incident_id(self, channel_id: str, ts: str, thread_ts: str | None) -> int | None:
        """Read outside any transaction: most messages the bot hears are in no incident's channel."""
        with self.db.reading() as session:
            known = repo.messages.message_at(session=session, channel_id=channel_id, ts=ts)
            if known is not None:
                return known.incident_id
            return repo.messages.incident_at(session=session, channel_id=channel_id, thread_ts=thread_ts)

    @staticmethod
    def _valid(channel_id: str, ts: str) -> bool:
        return is_channel_id(channel_id) and is_ts(ts)

    # -- messages ---------------------------------------------------------------------------------------------

    def heard(self, said: Said, *, deleted: bool = False) -> bool:
        """A message (new, edited or deleted); kept only when it is an incident's. True if kept."""
        if not self._valid(said.channel_id, said.ts):
            return False
        incident_id = self._incident_id(said.channel_id, said.ts, said.thread_ts)
        if incident_id is None:
            return False
        with self.db.session() as session:
            message = repo.messages.message_row(session=session, incident_id=incident_id, channel_id=said.channel_id,
                                                ts=said.ts, now=self.clock.now())
            if said.user_id and is_user_id(said.user_id):
                message.user_id = said.user_id
            if deleted:
                message.deleted = True
            else:  # kept as Slack sends it: `&`, `<` and `>` a person typed stay entities, and only the mentions
                message.text = clean_text(said.text)[:TEXT_MAX]  # Slack made are `<@U…>` (slack_text.safe)
            self._settle(session, message)
            session.commit()
        return True

    # -- marking for the timeline -------------------------------------------------------------------------------

    def marked(self, channel_id: str, ts: str, who: str, event_ts: str, on: bool, *, author: str | None = None,
               said: Said | None = None) -> bool:
        """`who` (a person reacting, or PIN) marks the message (`on`) or no longer does, as of `event_ts`."""
        if not self._valid(channel_id, ts) or not is_ts(event_ts):
            return False
        if said is not None:
            self.heard(said)  # a pin brings the message with it
        incident_id = self._incident_id(channel_id, ts, None)
        if incident_id is None:
            return False
        with self.db.session() as session:
            message = repo.messages.message_row(session=session, incident_id=incident_id, channel_id=channel_id, ts=ts,
                                                now=self.clock.now())
            if author and is_user_id(author) and not message.user_id:
                message.user_id = author  # Slack names the author in the reaction (item_user)
            marks = json.loads(message.marks or "{}")
            newest = marks.get(who)
            if newest is not None and float(newest[1]) >= float(event_ts):
                session.rollback()
                return False  # an older event than one already applied (or the same one again)
            marks[who] = [on, event_ts]
            message.marks = json.dumps(marks, sort_keys=True)
            changed = self._settle(session, message)
            session.commit()
        return changed

    def _settle(self, session: Session, message: ChannelMessage) -> bool:
        """The timeline as the message's marks say: on it (current text and author) while anyone marks it."""
        key = _key(message.channel_id, message.ts)
        event = repo.timeline.event_by_request_key(session=session, request_key=key)
        wanted = any(on for on, _ in json.loads(message.marks or "{}").values())
        if not wanted:
            if event is not None:
                session.delete(event)
            return event is not None
        body = message.text[:EVENT_TEXT_MAX] or UNKNOWN
        if message.deleted:
            body = f"(deleted in Slack) {body}"
        text = f"{body} ({self.link(message.channel_id, message.ts)})"
        if event is None:
            repo.timeline.add_event(session=session, incident_id=message.incident_id, at=_moment(message.ts), kind=KIND,
                                    actor_id=message.user_id, text=text, request_key=key)
            return True
        if message.text or message.deleted:  # (a row made again after 30 days knows no text: the event keeps its)
            event.text = text
        event.actor_id = message.user_id or event.actor_id
        return False

    def forget_old(self) -> int:
        """The tick bounds what is kept of the conversation (captured messages stay on their timelines)."""
        with self.db.session() as session:
            gone = repo.messages.forget_messages(session=session, before=self.clock.now() - KEEP)
            session.commit()
        return gone
