"""What the use-cases hand back to listeners, and what a change owes Slack once it is stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.db.models import Incident


@dataclass(frozen=True)
class Declared:
    incident: Incident
    created: bool
    paged: bool = False  # its first page was stored with it


@dataclass(frozen=True)
class Changed:
    """`changed` is False when the change was already in place; `replayed` when this very request was seen before."""

    incident: Incident
    changed: bool
    replayed: bool = False


@dataclass(frozen=True)
class Effects:
    """What Slack hears after a change is stored."""

    say: str  # in the incident's channel (or thread)
    refresh: bool = True  # edit the pinned summary and the topic in place
    invite: tuple[str, ...] = ()
    elsewhere: tuple[tuple[str, str | None, str], ...] = ()  # (channel, thread_ts, text)
    postmortem: bool = False
    stopped_pages: tuple[tuple[str, str], ...] = ()  # (channel, ts) of page messages whose buttons go
    acknowledged: tuple[str, str | None] | None = None  # (who, how: "SMS link"…) for the pages' messages


@dataclass(frozen=True)
class Outcome:
    kind: str
    text: str
    effects: Effects
    finish: Callable[[Session, Incident], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Resolution:
    summary: str
    needed_rollback: bool | None = None
    follow_ups: tuple[str, ...] = ()


def mentions(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)
