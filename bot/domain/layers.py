"""Layers (SPEC § Schedules: `rotation layer add|roster|remove`): follow-the-sun or day/night cover. A layer has
its own roster and covers only its window — days and hours in a zone; where layers overlap the one added last wins;
outside every layer the rotation's base roster holds. Within a layer the roster turns with the rotation's shifts
(shift k: primary r[k], secondary r[k+1], …), as the base roster does. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import UserError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_LAYERS = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-(?:([01]?\d|2[0-3]):([0-5]\d)|(24):00)$")


@dataclass(frozen=True)
class Layer:
    """`days` 0 = Monday; a window from `start` to `end` on each of them (an `end` at or before `start` runs past
    midnight into the next day; 00:00-00:00 is the whole day)."""

    name: str
    days: frozenset[int]
    start: time
    end: time
    tz: tzinfo
    roster: tuple[str, ...] = ()

    def covers(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        day, at = local.date(), local.time().replace(tzinfo=None)
        if self.end > self.start and self.start <= at < self.end and local.fold == 0 and day.weekday() in self.days:
            return True  # the common case, decided on the wall clock (the instants below settle DST edges)
        return any(begin <= moment < finish for begin, finish in self.windows(day - timedelta(days=1), day))

    def windows(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """The layer's windows that start on the days from `first` to `last` (both included), as instants."""
        found, day = [], first
        while day <= last:
            if day.weekday() in self.days:
                begin = datetime.combine(day, self.start, tzinfo=self.tz)
                finish_day = day if self.end > self.start else day + timedelta(days=1)
                finish = datetime.combine(finish_day, self.end, tzinfo=self.tz)
                found.append((begin.astimezone(UTC), finish.astimezone(UTC)))  # (same-zone times compare on
                # the wall clock, which a DST gap would misorder)
            day += timedelta(days=1)
        return found

    def describe(self) -> str:
        return f"{describe_days(self.days)} {self.start:%H:%M}–{self.end:%H:%M} {self.tz}"


def layer_at(layers: Sequence[Layer], moment: datetime) -> Layer | None:
    """The layer whose window holds `moment` — the last added where several do; None: the base roster."""
    found = None
    for layer in layers:
        if layer.covers(moment):
            found = layer
    return found


def layer_boundaries(layers: Sequence[Layer], since: datetime, until: datetime) -> list[datetime]:
    """Every instant in (since, until) where a layer's window opens or closes: who is on call may change there."""
    found = set()
    for layer in layers:
        first = since.astimezone(layer.tz).date() - timedelta(days=1)
        last = until.astimezone(layer.tz).date()
        for begin, finish in layer.windows(first, last):
            found.update(m for m in (begin, finish) if since < m < until)
    return sorted(found)


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `daily`, `weekdays`, `weekends`, `mon,wed-fri`."""
    word = text.strip().lower()
    if word in ("daily", "every", "all", "everyday"):
        return frozenset(range(7))
    if word == "weekdays":
        return frozenset(range(5))
    if word == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in word.split(","):
        first, _, last = part.partition("-")
        if first[:3] not in DAY_NAMES or (last and last[:3] not in DAY_NAMES):
            raise UserError(f"`{text[:30]}` is not days: say `mon-fri`, `sat,sun` or `daily`.")
        a, b = DAY_NAMES.index(first[:3]), DAY_NAMES.index((last or first)[:3])
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def describe_days(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "daily"
    ordered = sorted(days)
    runs, start = [], ordered[0]
    for prev, this in zip(ordered, [*ordered[1:], None], strict=True):
        if this != prev + 1:
            runs.append(DAY_NAMES[start] if start == prev else f"{DAY_NAMES[start]}-{DAY_NAMES[prev]}")
            start = this
    return ",".join(runs)


def parse_layer(name: str, days: str, hours: str, zone: str | None, default_tz: tzinfo) -> Layer:
    """`<layer> <days> <HH:MM-HH:MM> [<zone>]` → a layer without roster yet."""
    if not _NAME.match(name.lower()):
        raise UserError("A layer name is lowercase letters, digits, `-` or `_` (up to 40), like `emea`.")
    found = _HOURS.match(hours)
    if not found:
        raise UserError(f"`{hours[:20]}` is not hours: say `08:00-16:00` (24-hour clock; `22:00-06:00` runs past "
                        "midnight).")
    start = time(int(found[1]), int(found[2]))
    end = time(0) if found[5] else time(int(found[3]), int(found[4]))
    tz: tzinfo = default_tz
    if zone:
        try:
            if "/" not in zone and zone.upper() != "UTC":
                raise ZoneInfoNotFoundError(zone)
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UserError(f"`{zone[:40]}` is not a timezone I know: say an IANA name like `Asia/Tokyo`.") from None
    return Layer(name.lower(), parse_days(days), start, end, tz)
