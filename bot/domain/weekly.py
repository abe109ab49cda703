"""`/stats`: the last weeks, one row per week, for the web charts. Pure: stored facts and the clock in, rows out.

Weeks start on Monday 00:00 on the team's wall clock, so a week is what the team calls a week even across a daylight
saving switch (that week is 167 or 169 hours long). Each incident belongs to the week it was declared in, under its
current priority.

"Targets met" reuses the reminders' rules, so the chart and the reminders never disagree:
- triage: every incident must leave `new` before the triage deadline — 30 minutes of any time for a P0,
  `TRIAGE_TARGET` of business time otherwise (the reminders skip P2s because P2 means "no reminders", not "no target");
- resolution: a P1 must be resolved before `p1_target_at`; a P1 closed or marked duplicate owes no resolution.
An incident no longer `new` with no `triaged_at` has an unknown triage: it is never counted as a miss for want of data.
Reaching the deadline itself is a miss, as it is when the reminder fires. An incident counts once it is decided: as
missed as soon as one target is missed (nothing later can undo it), as met once every target is met. Incidents whose
deadlines are still ahead and not yet reached count nowhere, so a week in progress is not shown as failing early.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from bot.domain import reminders as rules
from bot.domain.incident import Priority, Status
from bot.domain.stats import Spread, spread

DEFAULT_WEEKS = 8
TOP_PEOPLE = 15
_NO_RESOLUTION_OWED = frozenset({Status.CLOSED, Status.DUPLICATE})
_NOTHING = Spread(0, None, None)


@dataclass(frozen=True)
class WeekFacts:
    """What the weekly rows need from one incident. `triaged_at`: when its status first left `new`, else None."""

    priority: Priority
    status: Status
    created_at: datetime
    acknowledged_at: datetime | None = None
    triaged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class WeekRow:
    start: date  # the Monday, team time
    counts: dict[Priority, int] = field(default_factory=lambda: dict.fromkeys(Priority, 0))
    acknowledge: Spread = _NOTHING
    resolve: Spread = _NOTHING
    met: int = 0
    decided: int = 0

    @property
    def declared(self) -> int:
        return sum(self.counts.values())

    @property
    def met_percent(self) -> float | None:
        """None when nothing was decided that week — unknown, not 0 %."""
        return 100 * self.met / self.decided if self.decided else None


def week_start(moment: datetime, tz: tzinfo) -> datetime:
    """Monday 00:00 on `tz`'s wall clock of the week holding `moment`, as an aware datetime in `tz`."""
    day = moment.astimezone(tz).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=tz)


def first_week_start(now: datetime, tz: tzinfo, weeks: int = DEFAULT_WEEKS) -> datetime:
    """The first instant of the oldest week shown: the caller loads incidents created from here on."""
    first = week_start(now, tz).date() - timedelta(weeks=weeks - 1)
    return datetime.combine(first, time(0), tzinfo=tz)


def _deadline(start: datetime, duration: timedelta, policy: rules.Policy) -> datetime | None:
    try:
        return policy.hours.add(start, duration, policy.team_tz)
    except ValueError:  # no working hours in a week: the business-time deadline never comes
        return None


def _triage_deadline(facts: WeekFacts, policy: rules.Policy) -> datetime | None:
    if facts.priority is Priority.P0:
        return facts.created_at + rules.P0_TRIAGE_TARGET
    return _deadline(facts.created_at, policy.triage_target, policy)


def _p1_deadline(facts: WeekFacts, policy: rules.Policy) -> datetime | None:
    as_reminded = rules.IncidentFacts(id=0, priority=facts.priority, status=facts.status, created_at=facts.created_at,
                                      last_update_at=None, p0_since=None, commander_id=None)
    try:
        return rules.p1_target_at(as_reminded, policy)
    except ValueError:
        return None


def _verdict(done_at: datetime | None, deadline: datetime | None, now: datetime) -> bool | None:
    """True met, False missed, None not decided yet."""
    if done_at is not None and done_at <= now:
        return deadline is None or done_at < deadline
    if deadline is not None and now >= deadline:
        return False
    return None


def targets_met(facts: WeekFacts, now: datetime, policy: rules.Policy) -> bool | None:
    """Whether the incident met its targets as of `now`: True, False, or None while still undecided."""
    if facts.triaged_at is None and facts.status is not Status.NEW:
        verdicts: list[bool | None] = [None]  # left `new` at a moment nobody gave: unknown, not a miss
    else:
        verdicts = [_verdict(facts.triaged_at, _triage_deadline(facts, policy), now)]
    if facts.priority is Priority.P1 and facts.status not in _NO_RESOLUTION_OWED:
        resolved = facts.resolved_at if facts.status is Status.RESOLVED else None
        verdicts.append(_verdict(resolved, _p1_deadline(facts, policy), now))
    if False in verdicts:
        return False
    return None if None in verdicts else True


def weekly(incidents: Iterable[WeekFacts], *, now: datetime, policy: rules.Policy, weeks: int = DEFAULT_WEEKS,
           tz: tzinfo | None = None) -> list[WeekRow]:
    """Exactly `weeks` rows, oldest first, the week holding `now` last (empty weeks included). `tz` defaults to
    the team's timezone."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    zone = tz or policy.team_tz
    last = week_start(now, zone).date()
    starts = [last - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    chosen: dict[date, list[WeekFacts]] = {start: [] for start in starts}
    for facts in incidents:
        if facts.created_at <= now:
            bucket = chosen.get(week_start(facts.created_at, zone).date())
            if bucket is not None:
                bucket.append(facts)
    return [_row(start, chosen[start], now, policy) for start in starts]


def _row(start: date, declared: list[WeekFacts], now: datetime, policy: rules.Policy) -> WeekRow:
    counts = dict.fromkeys(Priority, 0)
    for facts in declared:
        counts[facts.priority] += 1
    verdicts = [targets_met(facts, now, policy) for facts in declared]
    return WeekRow(
        start=start, counts=counts,
        acknowledge=spread(f.acknowledged_at - f.created_at for f in declared if f.acknowledged_at),
        resolve=spread(f.resolved_at - f.created_at for f in declared
                       if f.resolved_at and f.status is Status.RESOLVED),
        met=verdicts.count(True), decided=sum(v is not None for v in verdicts))


def pages_per_person(pages: Iterable[tuple[str, int]], limit: int = TOP_PEOPLE) -> list[tuple[str, int]]:
    """Most paged first (ties by id, so the order is stable), people never paged left out, at most `limit`."""
    totals: dict[str, int] = {}
    for user, count in pages:
        totals[user] = totals.get(user, 0) + count
    ranked = sorted(((user, n) for user, n in totals.items() if n > 0), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]
