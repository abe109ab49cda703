"""Moments people type: `2026-12-01 09:00`, `today 18:00`, `tomorrow`, `tue`, `now` — on the team's clock. Pure."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain.errors import UserError

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2}))?$")
EXAMPLES = "`2026-12-01 09:00`, `today 18:00`, `tomorrow`, `tue` or `now`"


def _clock(word: str) -> time | None:
    m = _TIME.match(word)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return time(int(m.group(1)), int(m.group(2)))


def _day(word: str, today: date) -> date | None:
    key = word.lower()
    if key == "today":
        return today
    if key == "tomorrow":
        return today + timedelta(days=1)
    if len(key) >= 3:
        for index, name in enumerate(_DAYS):
            if name.startswith(key):
                return today + timedelta(days=(index - today.weekday()) % 7)
    m = _DATE.match(word)
    if m and not m.group(4):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def parse_moment(text: str, *, now: datetime, tz: tzinfo) -> datetime | None:
    """The instant `text` names, or None when it names none. A day without a time means its start (00:00)."""
    words = text.strip().split()
    if not words:
        return None
    today = now.astimezone(tz).date()
    if len(words) == 1 and words[0].lower() == "now":
        return now
    m = _DATE.match(words[0])
    if len(words) == 1 and m and m.group(4):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        return _at(day, _clock(f"{m.group(4)}:{m.group(5)}"), tz)
    if len(words) == 1 and (clock := _clock(words[0])):
        return _at(today, clock, tz)
    day = _day(words[0], today)
    if day is None or len(words) > 2:
        return None
    clock = _clock(words[1]) if len(words) == 2 else time(0, 0)
    return _at(day, clock, tz)


def _at(day: date, clock: time | None, tz: tzinfo) -> datetime | None:
    if clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def parse_range(words: list[str], *, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """`<from> <to>` where each side is one or two words; the only split that reads as two moments wins."""
    for split in range(1, len(words)):
        start = parse_moment(" ".join(words[:split]), now=now, tz=tz)
        end = parse_moment(" ".join(words[split:]), now=now, tz=tz)
        if start is not None and end is not None:
            if end <= start:
                raise UserError("The end must come after the start.")
            return start, end
    raise UserError(f"Give a start and an end, each like {EXAMPLES} (team time).")
