"""The burden report (SPEC § Schedules and escalation policies: `rotation report <name> [YYYY-MM]`): per person, the
hours they held each role in a month, split into business hours, outside business hours, weekend and holiday on
their own wall clock and by their own holidays; the pages they received; and, with ONCALL_RATES, what they are owed.

Exact, because it may be paid out: time is cut where who holds a role changes (a handoff, an override, a roster
version, time off, a layer's window) and where the kind of hour changes for the person holding it, never sampled, so
the four kinds add up to the hours held and, with a roster, each role's hours add up to the month. Pure: stored facts
in, figures out."""

from __future__ import annotations

import re
import statistics
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.business_hours import WorkingTime
from bot.domain.errors import UserError
from bot.domain.fairness import PageFact, RosterVersion, roster_at
from bot.domain.layers import Layer, layer_boundaries
from bot.domain.rotation import ROLES, Handoff, OnCall, Override, Role, Swap, on_call
from bot.domain.time_off import Away
from bot.slack.text import echo

if TYPE_CHECKING:
    from bot.domain.shifts import ShiftPlan

HOUR = timedelta(hours=1)
CENT = Decimal("0.01")


class Category(StrEnum):
    """The kind of an hour for whoever holds it: holiday > weekend > business hours > outside business hours."""

    BUSINESS = "business"
    OUTSIDE = "outside"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


CATEGORIES = (Category.BUSINESS, Category.OUTSIDE, Category.WEEKEND, Category.HOLIDAY)
RATE_NAMES = {"weekday": Category.BUSINESS, "offhours": Category.OUTSIDE, "weekend": Category.WEEKEND,
              "holiday": Category.HOLIDAY}  # ONCALL_RATES' words (SPEC) for the four kinds
RATES_EXAMPLE = "weekday=0,offhours=1.5,weekend=3,holiday=4"


# -- the month --------------------------------------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def following(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """From its first midnight to the next month's, on the team's wall clock."""
        after = self.following()
        return _midnight(date(self.year, self.month, 1), tz), _midnight(date(after.year, after.month, 1), tz)


def parse_month(text: str, now: datetime, tz: tzinfo) -> Month:
    """`YYYY-MM`, or nothing for the month it is now in `tz`; a month not yet begun is refused (nothing to count)."""
    today = now.astimezone(tz).date()
    current = Month(today.year, today.month)
    word = text.strip()
    if not word:
        return current
    found = _MONTH.fullmatch(word)
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1970:
        raise UserError(f"Name the month as `YYYY-MM` (like `{current}`), not `{echo(word)}`.")
    month = Month(int(found[1]), int(found[2]))
    if month > current:
        raise UserError(f"`{month}` has not begun yet: the report counts hours already on call (this month is "
                        f"`{current}`).")
    return month


# -- ONCALL_RATES -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rates:
    """What an hour on call is worth, by its kind (in whatever currency the team pays; a kind not named pays 0)."""

    business: Decimal = Decimal(0)
    outside: Decimal = Decimal(0)
    weekend: Decimal = Decimal(0)
    holiday: Decimal = Decimal(0)

    def of(self, category: Category) -> Decimal:
        return getattr(self, category.value)


def parse_rates(text: str) -> Rates | None:
    """`weekday=0,offhours=1.5,weekend=3,holiday=4` (per hour); blank: no rates. A ValueError says what is wrong, so
    start-up stops on a typo rather than paying someone 0."""
    if not text.strip():
        return None
    found: dict[Category, Decimal] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        key = name.strip().lower()
        if not sep or key not in RATE_NAMES:
            raise ValueError(f"{part.strip()!r} is not <kind>=<amount per hour>, the kinds being weekday, offhours, "
                             f"weekend and holiday (like {RATES_EXAMPLE})")
        if RATE_NAMES[key] in found:
            raise ValueError(f"{key} is given twice")
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or not 0 <= amount <= 1_000_000:
            raise ValueError(f"{key}={value.strip()!r}: an amount per hour is a number from 0 (like 1.5)")
        found[RATE_NAMES[key]] = amount
    return Rates(**{category.value: amount for category, amount in found.items()})


# -- the figures ------------------------------------------------------------------------------------------------

def _nothing() -> dict[Category, timedelta]:
    return dict.fromkeys(CATEGORIES, timedelta(0))


@dataclass
class Burden:
    """One person's month. `held`: time in each role by kind; `on_call`: time holding any role by kind, each moment
    once (what is paid: holding two roles at once is still one person on call)."""

    user: str
    held: dict[Role, dict[Category, timedelta]] = field(default_factory=lambda: {r: _nothing() for r in ROLES})
    on_call: dict[Category, timedelta] = field(default_factory=_nothing)
    pages: int = 0
    outside_pages: int = 0
    acknowledge_times: list[timedelta] = field(default_factory=list)

    @property
    def median_acknowledge(self) -> timedelta | None:
        return statistics.median(self.acknowledge_times) if self.acknowledge_times else None

    def role_total(self, role: Role) -> timedelta:
        return sum(self.held[role].values(), timedelta(0))

    @property
    def total(self) -> timedelta:
        return sum(self.on_call.values(), timedelta(0))

    def owed(self, rates: Rates) -> Decimal:
        """Hours on call times the rate of their kind, to the cent (the exact hours, not the rounded ones shown)."""
        amount = sum((rates.of(kind) * Decimal(length // timedelta(microseconds=1)) / Decimal(3_600_000_000)
                      for kind, length in self.on_call.items()), Decimal(0))
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Report:
    """A rotation's month: `until` is the month's end, or now while it runs (`complete` False)."""

    rotation: str
    month: Month
    since: datetime
    until: datetime
    complete: bool
    people: list[Burden]
    rates: Rates | None


def day_kinds(hours: WorkingTime, tz: tzinfo, day: date) -> list[tuple[datetime, datetime, Category]]:
    """A person's local day as stretches of one kind each (UTC instants): a holiday or weekend day whole, else outside
    business hours, business hours, outside again — the same rule as WorkingTime.is_open."""
    begin, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
    if hours.holidays is not None and day in hours.holidays:
        return [(begin, end, Category.HOLIDAY)]
    if day.weekday() not in hours.days:
        return [(begin, end, Category.WEEKEND)]
    if hours.end <= hours.start:
        return [(begin, end, Category.OUTSIDE)]
    opens = min(max(datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC), begin), end)
    closes = min(max(datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC), opens), end)
    return [(begin, opens, Category.OUTSIDE), (opens, closes, Category.BUSINESS), (closes, end, Category.OUTSIDE)]


def held_spans(*, since: datetime, until: datetime, handoff: Handoff | ShiftPlan, origin: datetime,
               rosters: Sequence[RosterVersion], overrides: Sequence[Override], swaps: Sequence[Swap],
               away: Sequence[Away] = (), layers: Sequence[Layer] = ()) -> Iterator[tuple[datetime, datetime, OnCall]]:
    """Who holds each role in [since, until) (from the rotation's start on), as spans in which nothing changes: cut at
    every handoff, start and end of an override or of time off, roster version, and opening or closing of a layer."""
    ordered = sorted(rosters, key=lambda v: v.since)
    cuts = sorted({v.since for v in ordered} | {m for o in overrides for m in (o.starts_at, o.ends_at)}
                  | {m for a in away for m in (a.starts_at, a.ends_at)})
    moment = max(since, origin)
    while moment < until:
        held = on_call(roster_at(ordered, moment), moment, handoff=handoff, origin=origin, overrides=overrides,
                       swaps=swaps, away=away, layers=layers)
        at = bisect_right(cuts, moment)
        end = min(held.shift_end, until, *cuts[at:at + 1])
        end = min([end, *layer_boundaries(layers, moment, end)[:1]]).astimezone(UTC)
        if end <= moment:  # a plan whose shifts do not move on would loop for ever: say so instead
            raise ValueError(f"the shifts do not move on from {moment.isoformat()}")
        yield moment, end, held
        moment = end


def _split(start: datetime, end: datetime, tz: tzinfo,
           kinds: Callable[[date], list[tuple[datetime, datetime, Category]]]) -> list[tuple[Category, timedelta]]:
    """[start, end) cut where the kind of hour changes on this person's wall clock."""
    parts, day = [], start.astimezone(tz).date()
    while True:
        stretches = kinds(day)
        for low, high, kind in stretches:
            low, high = max(low, start), min(high, end)
            if high > low:
                parts.append((kind, high - low))
        if stretches[-1][1] >= end:
            return parts
        day += timedelta(days=1)


def burden(*, since: datetime, until: datetime, handoff: Handoff | ShiftPlan, origin: datetime,
           rosters: Sequence[RosterVersion], overrides: Sequence[Override], swaps: Sequence[Swap],
           pages: Sequence[PageFact], working: Mapping[str, WorkingTime], zones: Mapping[str, tzinfo],
           away: Sequence[Away] = (), layers: Sequence[Layer] = ()) -> list[Burden]:
    """Everyone on the roster in [since, until) (zeros included) and everyone who held a role or was paged then, most
    hours on call first. `working` and `zones`: each such person's business hours (holidays included) and timezone;
    `away` and `layers` as on_call takes them (bot/domain/time_off.py, bot/domain/layers.py)."""
    found: dict[str, Burden] = {}
    days: dict[tuple[str, date], list[tuple[datetime, datetime, Category]]] = {}

    def of(user: str) -> Burden:
        return found.setdefault(user, Burden(user))

    def split(user: str, start: datetime, end: datetime) -> list[tuple[Category, timedelta]]:
        def kinds(day: date) -> list[tuple[datetime, datetime, Category]]:
            if (user, day) not in days:
                days[user, day] = day_kinds(working[user], zones[user], day)
            return days[user, day]
        return _split(start, end, zones[user], kinds)

    for start, end, held in held_spans(since=since, until=until, handoff=handoff, origin=origin, rosters=rosters,
                                       overrides=overrides, swaps=swaps, away=away, layers=layers):
        parts = {user: split(user, start, end) for user in held.people}
        for role in ROLES:
            if user := held.holder(role):
                for kind, length in parts[user]:
                    of(user).held[role][kind] += length
        for user, cut in parts.items():
            for kind, length in cut:
                of(user).on_call[kind] += length
    for page in pages:
        if not since <= page.sent_at < until:
            continue
        paged = of(page.user)
        paged.pages += 1
        if not working[page.user].is_open(page.sent_at, zones[page.user]):
            paged.outside_pages += 1
        if page.acknowledged_at and page.acknowledged_by == page.user:
            paged.acknowledge_times.append(page.acknowledged_at - page.sent_at)
    if origin < until:  # the roster of the month gets a line each, even with nothing to show
        ordered = sorted(rosters, key=lambda v: v.since)
        for user in {*roster_at(ordered, since), *(u for v in ordered if since <= v.since < until for u in v.members)}:
            of(user)
    return sorted(found.values(), key=lambda item: (-item.total, item.user))
