"""Heartbeats (SPEC §2 "Heartbeats"): alerts for what went silent. Pure: the command's words, and when a silence
counts.

A heartbeat is armed from the moment it is created: one that never beats opens an incident after its interval plus
a tick of grace, as one that stopped beating does (a job set up and never run is as silent as one that died).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import UserError
from bot.domain.incident import Priority

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,79}")
SHORTEST, LONGEST = timedelta(minutes=1), timedelta(days=35)
CREATE_USAGE = "Use `/incident heartbeat create <name> <interval> [rotation] [P0|P1]`, e.g. `heartbeat create " \
               "nightly-backup 25h payments P1`."


@dataclass(frozen=True)
class HeartbeatSpec:
    name: str
    interval: timedelta
    rotation: str | None = None
    priority: Priority = Priority.P1


def check_name(word: str) -> str:
    name = word.strip().lower()
    if not NAME.fullmatch(name):
        raise UserError(f"`{word[:40]}` is not a heartbeat name: use up to 80 lowercase letters, digits, `-`, `_` "
                        "or `.` (it is part of the URL the job calls).")
    return name


def parse_create(text: str, parse_duration: Callable[[str], timedelta]) -> HeartbeatSpec:
    """`<name> <interval> [rotation] [P0|P1]` — the rotation and the priority in either order."""
    words = text.split()
    if len(words) < 2 or len(words) > 4:
        raise UserError(CREATE_USAGE)
    name = check_name(words[0])
    try:
        interval = parse_duration(words[1])
    except ValueError:
        raise UserError(f"`{words[1][:40]}` is not an interval: use 90s, 15m, 1h, 25h or 7d.") from None
    if not SHORTEST <= interval <= LONGEST:
        raise UserError("A heartbeat's interval is between 1 minute and 35 days.")
    rotation, priority = None, Priority.P1
    for word in words[2:]:
        if word.upper() in ("P0", "P1"):
            priority = Priority(word.upper())
        elif word.upper() == "P2":
            raise UserError("A silent heartbeat pages someone: give it P0 or P1 (P2 is ordinary work).")
        elif rotation is None:
            rotation = word.lstrip("#")
        else:
            raise UserError(CREATE_USAGE)
    return HeartbeatSpec(name, interval, rotation, priority)


def silent_after(last_beat: datetime, interval: timedelta) -> datetime:
    """When it counts as silent, beaten (or created) at `last_beat`."""
    return last_beat + interval


def declared_silent_before(now: datetime, tick: timedelta) -> datetime:
    """Silences that began before this open an incident now: a grace of one tick for a beat on its way."""
    return now - tick
