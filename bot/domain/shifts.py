"""A rotation's shifts over time (SPEC § Schedules: `rotation set <name> handoff|shift|roles`).

A rotation starts with the team's handoff (HANDOFF_WEEKDAY/HANDOFF_TIME, a week, three roles). A change applies
from the next boundary of the shifts in force when it was made, so whoever is on call then stays on call: from
`since` on, the new handoff's boundaries hold, the first shift running from `since` to the new handoff's first
boundary at or after it. Shift numbers go on from where they were (the shift starting at `since` keeps its number),
so the roster's order, swaps and the digests' keys carry over. Pure: the changes as stored, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import UserError
from bot.domain.rotation import Handoff

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SHIFT_DAYS = 28


@dataclass(frozen=True)
class Change:
    """From `since` (a boundary of the shifts before it), shifts follow `handoff`; the shift starting at `since`
    is number `first_index`."""

    since: datetime
    handoff: Handoff
    first_index: int

    def first_boundary(self) -> datetime:
        """The new handoff's first boundary after `since`: where the changed rotation's first shift ends."""
        start = self.handoff.shift_start(self.since)
        return self.handoff.next_start(start)


class ShiftPlan:
    """Handoff's questions (shift_index, shift_start, next_start, start_of, shape_at) over a rotation's changes,
    so every rule that takes a handoff takes a rotation's plan. `origin` is the rotation's creation."""

    def __init__(self, base: Handoff, origin: datetime, changes: Sequence[Change] = ()) -> None:
        self.base, self.origin = base, origin
        self.changes = sorted(changes, key=lambda c: c.since)

    def _change_at(self, moment: datetime) -> Change | None:
        found = None
        for change in self.changes:
            if change.since <= moment:
                found = change
        return found

    def shape_at(self, moment: datetime) -> Handoff:
        change = self._change_at(moment)
        return change.handoff if change else self.base

    def shift_index(self, moment: datetime, origin: datetime | None = None) -> int:
        change = self._change_at(moment)
        if change is None:
            return self.base.shift_index(moment, self.origin)
        first = change.first_boundary()
        if moment < first:
            return change.first_index
        shape = change.handoff
        days = (shape.shift_start(moment).astimezone(shape.tz).date() - first.astimezone(shape.tz).date()).days
        return change.first_index + 1 + days // shape.days

    def shift_start(self, moment: datetime) -> datetime:
        change = self._change_at(moment)
        if change is None:
            return self.base.shift_start(moment)
        return change.since if moment < change.first_boundary() else change.handoff.shift_start(moment)

    def next_start(self, shift_start: datetime) -> datetime:
        change = self._change_at(shift_start)
        if change is None:
            end = self.base.next_start(shift_start)
        elif shift_start < change.first_boundary():
            end = change.first_boundary()
        else:
            end = change.handoff.next_start(shift_start)
        return end  # a later change's `since` is always a boundary of the shifts before it: never inside one

    def start_of(self, index: int, origin: datetime | None = None) -> datetime:
        for change in reversed(self.changes):
            if index >= change.first_index:
                if index == change.first_index:
                    return change.since
                shape, first = change.handoff, change.first_boundary()
                day = first.astimezone(shape.tz).date() + timedelta(days=shape.days * (index - change.first_index - 1))
                return shape.boundary_on(day)
        return self.base.start_of(index, self.origin)

    def next_boundary(self, moment: datetime) -> datetime:
        """Where a change made at `moment` takes effect: the end of the shift in force then."""
        return self.next_start(self.shift_start(moment))

    def changed(self, moment: datetime, *, weekday: int | None = None, at: time | None = None,
                tz: tzinfo | None = None, days: int | None = None, roles: int | None = None) -> Change:
        """The change that `rotation set` at `moment` makes: the newest shape (a change still to come included)
        with the fields given, from the next boundary — or, when a change is still to come, from its moment."""
        pending = [c for c in self.changes if c.since > moment]
        since = pending[0].since if pending else self.next_boundary(moment)
        current = pending[-1].handoff if pending else self.shape_at(moment)
        shape = replace(current, weekday=current.weekday if weekday is None else weekday,
                        at=current.at if at is None else at, tz=current.tz if tz is None else tz,
                        days=current.days if days is None else days, roles=current.roles if roles is None else roles)
        same_cycle = (shape.weekday, shape.at, shape.tz, shape.days) == (current.weekday, current.at, current.tz,
                                                                          current.days)
        anchor = current.anchor if same_cycle and current.anchor else _first_handoff_day(shape, since)
        return Change(since, replace(shape, anchor=anchor), self.shift_index(since) if not pending
                      else pending[0].first_index)


def _first_handoff_day(shape: Handoff, since: datetime) -> date:
    """The first day on the handoff's weekday whose handoff is at or after `since`: where its cycle starts."""
    day = since.astimezone(shape.tz).date()
    day += timedelta(days=(shape.weekday - day.weekday()) % 7)
    if shape.boundary_on(day) < since:
        day += timedelta(days=7)
    return day


SET_USAGE = ("Use `/incident rotation set <name> handoff <weekday> <HH:MM> [<IANA zone>]` (like `handoff mon 09:00 "
             "Europe/Berlin`), `rotation set <name> shift <n>d` (1–28 days) or `rotation set <name> roles <1|2|3>`.")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DAYS = re.compile(r"^(\d{1,2})\s*d(?:ays?)?$")


def parse_setting(text: str) -> dict:
    """`handoff <weekday> <HH:MM> [<zone>]` · `shift <n>d` · `roles <1|2|3>` → the Handoff fields they change."""
    words = text.split()
    what = words[0].lower() if words else ""
    if what == "handoff" and len(words) in (3, 4):
        day = words[1].lower()[:3]
        if day not in WEEKDAYS:
            raise UserError(f"`{words[1][:12]}` is not a weekday: say `mon`, `tue`, … `sun`.")
        found = _TIME.match(words[2])
        if not found:
            raise UserError(f"`{words[2][:12]}` is not a time: say `09:00` (24-hour clock).")
        fields: dict = {"weekday": WEEKDAYS.index(day), "at": time(int(found[1]), int(found[2]))}
        if len(words) == 4:
            fields["tz"] = _zone(words[3])
        return fields
    if what == "shift" and len(words) in (2, 3):
        found = _DAYS.match("".join(words[1:]).lower())
        if not found or not 1 <= int(found[1]) <= MAX_SHIFT_DAYS:
            raise UserError(f"A shift is 1 to {MAX_SHIFT_DAYS} days long, like `shift 7d` or `shift 1d`.")
        return {"days": int(found[1])}
    if what == "roles" and len(words) == 2:
        if words[1] not in ("1", "2", "3"):
            raise UserError("A rotation has 1, 2 or 3 roles (primary, secondary, tertiary).")
        return {"roles": int(words[1])}
    raise UserError(SET_USAGE)


def _zone(name: str) -> ZoneInfo:
    try:
        if "/" not in name and name.upper() != "UTC":
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"`{name[:40]}` is not a timezone I know: say an IANA name like `Europe/Berlin` or "
                        "`America/New_York`.") from None


def describe_shape(shape: Handoff) -> str:
    """`every week, Tuesday 10:00 Europe/Berlin, 3 roles`."""
    every = "every week" if shape.days == 7 else "every day" if shape.days == 1 else f"every {shape.days} days"
    day = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[shape.weekday + 1]
    when = f"{shape.at:%H:%M} {shape.tz}" if shape.days % 7 else f"{day} {shape.at:%H:%M} {shape.tz}"
    return f"{when}, {every}, {shape.roles} role{'s' if shape.roles != 1 else ''}"
