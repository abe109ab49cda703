"""`rotation stats`: is the load fair? Per person over the last weeks — the shifts they held by role (from the
roster as it was then, swaps, and overrides and covers as they held the pager), pages received, pages outside their
business hours, median time to acknowledge, covers given and taken. Pure: stored facts in, figures out."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.errors import UserError
from bot.domain.layers import Layer
from bot.domain.rotation import ROLES, Handoff, Override, Role, Swap, on_call
from bot.domain.time_off import Away
from bot.slack.text import echo

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
STEP = timedelta(hours=1)  # who holds each role is looked at every hour of the window


def parse_weeks(text: str) -> int:
    word = text.strip().lower().removesuffix("weeks").removesuffix("w").strip()
    if not word:
        return DEFAULT_WEEKS
    if not word.isdigit() or not 1 <= int(word) <= MAX_WEEKS:
        raise UserError(f"Say how many weeks back, 1 to {MAX_WEEKS} (default {DEFAULT_WEEKS}), "
                        f"not `{echo(text)}`.")
    return int(word)


@dataclass(frozen=True)
class RosterVersion:
    since: datetime
    members: tuple[str, ...]


@dataclass(frozen=True)
class PageFact:
    user: str
    sent_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class CoverFact:
    requester: str
    taken_by: str
    starts_at: datetime


@dataclass
class Load:
    user: str
    hours: dict[Role, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))
    shifts: dict[Role, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    pages: int = 0
    night_pages: int = 0
    acknowledge_times: list[timedelta] = field(default_factory=list)
    covers_given: int = 0
    covers_taken: int = 0

    @property
    def median_acknowledge(self) -> timedelta | None:
        return statistics.median(self.acknowledge_times) if self.acknowledge_times else None


def roster_at(versions: Sequence[RosterVersion], moment: datetime) -> tuple[str, ...]:
    """The roster as it was at `moment` (`versions` oldest first; before the first, the first): the burden report
    walks the same history (bot/domain/burden.py)."""
    current: tuple[str, ...] = versions[0].members if versions else ()
    for version in versions:
        if version.since <= moment:
            current = version.members
    return current


def fairness(*, since: datetime, until: datetime, handoff: Handoff, origin: datetime,
             rosters: Sequence[RosterVersion], overrides: Sequence[Override], swaps: Sequence[Swap],
             pages: Sequence[PageFact], covers: Sequence[CoverFact],
             working: Callable[[str, datetime], bool], away: Sequence[Away] = (),
             layers: Sequence[Layer] = ()) -> list[Load]:
    """Every roster member of the period (zeros included) and everyone who held a role, was paged or covered in
    [since, until), most hours on call first. A shift counts
    for whoever held its role for more than half of the part of it inside the window."""
    loads: dict[str, Load] = {}

    def load(user: str) -> Load:
        return loads.setdefault(user, Load(user))

    ordered = sorted(rosters, key=lambda v: v.since)
    moment, per_shift = max(since, origin), {}
    while moment < until:
        held = on_call(roster_at(ordered, moment), moment, handoff=handoff, origin=origin, overrides=overrides,
                       swaps=swaps, away=away, layers=layers)
        for role in ROLES:
            if user := held.holder(role):
                load(user).hours[role] += STEP.total_seconds() / 3600
                shift = per_shift.setdefault((held.shift_index, role), {})
                shift[user] = shift.get(user, 0) + 1
        moment += STEP
    for (_, role), hours in per_shift.items():
        total = sum(hours.values())
        for user, n in hours.items():
            if n * 2 > total:
                load(user).shifts[role] += 1
    for page in pages:
        if not since <= page.sent_at < until:
            continue
        paged = load(page.user)
        paged.pages += 1
        if not working(page.user, page.sent_at):
            paged.night_pages += 1
        if page.acknowledged_at and page.acknowledged_by == page.user:
            paged.acknowledge_times.append(page.acknowledged_at - page.sent_at)
    for cover in covers:
        if since <= cover.starts_at < until:
            load(cover.taken_by).covers_given += 1
            load(cover.requester).covers_taken += 1
    for version in ordered:  # every roster member of the period gets a line, even with nothing to show
        if version.since <= until:  # (today's roster included, however new)
            for user in version.members:
                load(user)
    return sorted(loads.values(), key=lambda item: (-sum(item.hours.values()), item.user))
