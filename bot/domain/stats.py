"""`/incident stats [days]`: counts by priority and how fast incidents are acknowledged and resolved. Pure."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status
from bot.slack.text import echo

DEFAULT_DAYS = 30
MAX_DAYS = 3660


@dataclass(frozen=True)
class IncidentFacts:
    """What stats need from one incident (so this module never sees a database row)."""

    priority: Priority
    status: Status
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int = 0


@dataclass(frozen=True)
class Spread:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class PriorityCounts:
    declared: int = 0
    resolved: int = 0
    still_open: int = 0


@dataclass(frozen=True)
class Stats:
    days: int
    since: datetime
    by_priority: dict[Priority, PriorityCounts]
    time_to_acknowledge: Spread
    time_to_resolve: Spread
    reopened: int
    duplicates: int
    closed: int

    @property
    def declared(self) -> int:
        return sum(c.declared for c in self.by_priority.values())


def parse_days(text: str) -> int:
    word = text.strip().lower().removesuffix("d").removesuffix(" days").removesuffix(" day")
    if not word:
        return DEFAULT_DAYS
    if not re.fullmatch(r"[0-9]{1,6}", word) or not 1 <= int(word) <= MAX_DAYS:
        raise UserError(f"`stats` takes a number of days from 1 to {MAX_DAYS} (default {DEFAULT_DAYS}), "
                        f"not `{echo(text)}`.")
    return int(word)


def spread(durations: Iterable[timedelta]) -> Spread:
    """Median and 90th percentile (linear interpolation between the nearest ranks)."""
    seconds = sorted(d.total_seconds() for d in durations if d >= timedelta(0))
    if not seconds:
        return Spread(0, None, None)
    if len(seconds) == 1:
        only = timedelta(seconds=seconds[0])
        return Spread(1, only, only)
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[-1]
    return Spread(len(seconds), timedelta(seconds=statistics.median(seconds)), timedelta(seconds=p90))


def summarize(incidents: Iterable[IncidentFacts], *, now: datetime, days: int) -> Stats:
    """Incidents declared in the last `days` days, as of `now`."""
    since = now - timedelta(days=days)
    chosen = [i for i in incidents if since <= i.created_at <= now]
    by_priority: dict[Priority, PriorityCounts] = {}
    for priority in Priority:
        mine = [i for i in chosen if i.priority is priority]
        by_priority[priority] = PriorityCounts(
            declared=len(mine), resolved=sum(i.status is Status.RESOLVED for i in mine),
            still_open=sum(i.status.is_open for i in mine))
    return Stats(
        days=days, since=since, by_priority=by_priority,
        time_to_acknowledge=spread(i.acknowledged_at - i.created_at for i in chosen if i.acknowledged_at),
        time_to_resolve=spread(i.resolved_at - i.created_at for i in chosen
                               if i.resolved_at and i.status is Status.RESOLVED),
        reopened=sum(1 for i in chosen if i.reopen_count > 0),
        duplicates=sum(i.status is Status.DUPLICATE for i in chosen),
        closed=sum(i.status is Status.CLOSED for i in chosen),
    )


def humanize(duration: timedelta | None) -> str:
    """`4m`, `2h 5m`, `3d 4h` — short enough for a stats line or a postmortem."""
    if duration is None:
        return "—"
    total = int(duration.total_seconds())
    if total < 60:
        return f"{total}s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
