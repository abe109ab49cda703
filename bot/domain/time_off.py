"""Time off (SPEC § Schedules: `pto add|list|remove`): whoever is away holds no role and is never paged. Pure.

A role whose holder is away goes to the next person of the roster after them who is not away and holds no higher
role: if that person held a lower role they move up, and their role is filled the same way, so the pager goes
down the roster and only the last roles can empty (a gap, with nobody left). The role is shown as covering for
whoever is away. An override or a swap naming someone away gives way the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import Invalid

MAX_TIME_OFF = timedelta(days=366)
REASON_MAX = 300


@dataclass(frozen=True)
class Away:
    user_id: str
    starts_at: datetime
    ends_at: datetime

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


def away_at(aways: Iterable[Away], moment: datetime) -> frozenset[str]:
    return frozenset(a.user_id for a in aways if a.covers(moment))


def stand_ins(holders: Sequence[str | None], roster: Sequence[str], away: frozenset[str],
              base: Sequence[str | None]) -> tuple[list[str | None], list[tuple[int, str]]]:
    """`holders` by role (after swaps and overrides), `base` the roster's own holders by role. Returns the holders
    with the people away replaced, and (role index, who is away) for each role whose holder is away."""
    result, covering = list(holders), []
    vacant: dict[int, str | None] = {}  # role index -> whom to count the roster on from
    for index, holder in enumerate(holders):
        if holder is not None and holder in away:
            vacant[index] = holder if holder in roster else base[index]
            covering.append((index, holder))
    for index in range(len(result)):
        if index not in vacant:
            continue
        after = vacant[index]
        start = roster.index(after) + 1 if after in roster else 0
        order = [roster[(start + i) % len(roster)] for i in range(len(roster))] if roster else []
        higher = {u for u in result[:index] if u}
        found = next((u for u in order if u not in away and u not in higher), None)
        if found is not None and found in result[index + 1:]:  # moves up: their role is filled in turn
            lower = result.index(found, index + 1)
            vacant[lower] = found
        result[index] = found
    return result, covering


def check_time_off(start: datetime, end: datetime, now: datetime, reason: str) -> None:
    if end <= now:
        raise Invalid("That time is already over; record time off that is still to come.")
    if end - start > MAX_TIME_OFF:
        raise Invalid(f"Record time off of {MAX_TIME_OFF.days} days at most at once.")
    if len(reason) > REASON_MAX:
        raise Invalid(f"Keep the reason to {REASON_MAX} characters (it has {len(reason)}).")
