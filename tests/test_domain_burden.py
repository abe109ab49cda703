"""The burden report's rule alone (bot/domain/burden.py): hours by role and kind to the minute, in each person's own
timezone and holidays, months and rates read with care — and, over random rosters, overrides and swaps in three
zones (Lord Howe's half-hour DST included), with time off and layers, the same figures as counting half-hour by
half-hour."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.burden import CATEGORIES, Category, Month, Report, burden, day_kinds, parse_month, parse_rates
from bot.domain.business_hours import WorkingTime
from bot.domain.errors import UserError
from bot.domain.fairness import PageFact, RosterVersion, roster_at
from bot.domain.holidays import HolidayCalendar
from bot.domain.layers import Layer
from bot.domain.rotation import ROLES, Handoff, Override, Role, Swap, on_call
from bot.domain.time_off import Away
from bot.views.burden import HEADER, report_csv

BERLIN, NEW_YORK, LORD_HOWE = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")
NINE_TO_FIVE = WorkingTime(time(9), time(17), frozenset(range(5)))
H = timedelta(hours=1)


def month_of(text: str, tz) -> tuple[datetime, datetime]:
    return Month(int(text[:4]), int(text[5:])).bounds(tz)


def figures(tz, month: str, *, rosters=None, overrides=(), swaps=(), pages=(), working=None, zones=None,
            handoff=None, origin=None):
    since, until = month_of(month, tz)
    people = ("A", "B", "C", "D")
    found = burden(since=since, until=until, handoff=handoff or Handoff(1, time(10), tz),
                   origin=origin or since - timedelta(days=40),
                   rosters=rosters or [RosterVersion(since - timedelta(days=40), ("A",))], overrides=overrides,
                   swaps=swaps, pages=pages, working=working or dict.fromkeys(people, NINE_TO_FIVE),
                   zones=zones or dict.fromkeys(people, tz))
    return {person.user: person for person in found}


def kinds(person, role=Role.PRIMARY) -> tuple[float, ...]:
    return tuple(person.held[role][kind] / H for kind in CATEGORIES)


def test_one_person_all_month_in_utc():
    alone = figures(UTC, "2026-11")["A"]  # 21 weekdays, 9 weekend days
    assert kinds(alone) == (21 * 8, 21 * 16, 9 * 24, 0)
    assert alone.total == 30 * 24 * H and alone.role_total(Role.SECONDARY) == timedelta(0)


def test_new_york_in_november_holidays_and_the_hour_dst_gives_back():
    us = dict.fromkeys("ABCD", WorkingTime(time(9), time(17), frozenset(range(5)), HolidayCalendar("US")))
    alone = figures(NEW_YORK, "2026-11", working=us)["A"]
    # Veterans Day (Wed 11th) and Thanksgiving (Thu 26th) are holidays whole; Sunday the 1st has 25 hours.
    assert kinds(alone) == (19 * 8, 19 * 16, 8 * 24 + 25, 2 * 24)
    assert alone.total == 721 * H
    rates = parse_rates("weekday=0,offhours=1.5,weekend=3,holiday=4")
    assert alone.owed(rates) == Decimal("1299.00")  # 304 × 1.5 + 217 × 3 + 48 × 4


def test_lord_howe_half_hour_dst_splits_exactly():
    nsw = dict.fromkeys("ABCD", WorkingTime(time(9), time(17), frozenset(range(5)), HolidayCalendar("AU", "NSW")))
    alone = figures(LORD_HOWE, "2026-10", working=nsw)["A"]
    # Sunday the 4th loses half an hour (02:00 → 02:30); Labour Day, Monday the 5th, is a holiday.
    assert kinds(alone) == (21 * 8, 21 * 16, 8 * 24 + 23.5, 24)
    assert alone.total == 743.5 * H


def test_each_person_in_their_own_timezone():
    zones = {"A": UTC, "B": BERLIN, "C": UTC, "D": UTC}
    since, _ = month_of("2026-11", UTC)
    found = figures(UTC, "2026-11", zones=zones, rosters=[RosterVersion(since - timedelta(days=40), ("B",))])["B"]
    # Berlin is an hour ahead all November: the month in UTC starts at 01:00 on Sunday the 1st and ends at 01:00 on
    # Tuesday 1 December (an hour of that Tuesday's night is outside business hours).
    assert kinds(found) == (21 * 8, 21 * 16 + 1, 9 * 24 - 1, 0)


def test_an_override_moves_exact_minutes_and_two_roles_at_once_are_paid_once():
    since, until = month_of("2026-11", UTC)
    tuesday = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)
    roster = [RosterVersion(since - timedelta(days=40), ("A", "B", "C"))]
    over = [Override("D", Role.PRIMARY, tuesday, tuesday + timedelta(hours=3, minutes=30), created=1)]
    found = figures(UTC, "2026-11", rosters=roster, overrides=over)
    assert kinds(found["D"]) == (3.5, 0, 0, 0)
    assert sum((p.role_total(Role.PRIMARY) for p in found.values()), timedelta(0)) == until - since
    # whoever is secondary that day also takes primary for an evening: two roles, one person on call
    evening = datetime(2026, 11, 3, 18, tzinfo=UTC)
    secondary = on_call(("A", "B", "C"), evening, handoff=Handoff(1, time(10), UTC), origin=since - timedelta(days=40)
                        ).secondary
    before = figures(UTC, "2026-11", rosters=roster)[secondary]
    both = figures(UTC, "2026-11", rosters=roster,
                   overrides=[Override(secondary, Role.PRIMARY, evening, evening + 2 * H, created=1)])[secondary]
    assert both.held[Role.PRIMARY][Category.OUTSIDE] - before.held[Role.PRIMARY][Category.OUTSIDE] == 2 * H
    assert both.held[Role.SECONDARY] == before.held[Role.SECONDARY]
    assert both.on_call == before.on_call, "the evening is counted once in what is paid"
    assert both.owed(parse_rates("offhours=2")) == Decimal(both.on_call[Category.OUTSIDE] / H * 2).quantize(
        Decimal("0.01"))


def test_a_rotation_created_mid_month_counts_from_its_start_and_every_member_gets_a_line():
    _, until = month_of("2026-11", UTC)
    origin = datetime(2026, 11, 24, 12, tzinfo=UTC)  # its one shift this month: A, B, C (D next)
    found = figures(UTC, "2026-11", origin=origin, rosters=[RosterVersion(origin, ("A", "B", "C", "D"))])
    assert sum((p.role_total(Role.PRIMARY) for p in found.values()), timedelta(0)) == until - origin
    assert set(found) == {"A", "B", "C", "D"} and found["D"].total == timedelta(0)


def test_pages_outside_business_hours_and_the_median_to_acknowledge():
    monday = datetime(2026, 11, 9, 8, tzinfo=UTC)  # 09:00 in Berlin, 08:00 in UTC
    pages = [PageFact("A", monday, monday + timedelta(minutes=2), "A"),
             PageFact("A", monday + H, monday + timedelta(hours=1, minutes=10), "A"),
             PageFact("B", monday, monday + timedelta(minutes=3), "C"),
             PageFact("B", datetime(2026, 10, 31, 8, tzinfo=UTC), None, None)]  # last month: not counted
    found = figures(UTC, "2026-11", pages=pages, zones={"A": BERLIN, "B": UTC, "C": UTC, "D": UTC})
    assert (found["A"].pages, found["A"].outside_pages, found["A"].median_acknowledge) == (2, 0, timedelta(minutes=6))
    assert (found["B"].pages, found["B"].outside_pages, found["B"].median_acknowledge) == (1, 1, None)


def test_a_working_day_is_outside_business_open_outside():
    [(_, opens, early), (_, closes, business), (_, _, late)] = day_kinds(NINE_TO_FIVE, LORD_HOWE,
                                                                        datetime(2026, 10, 6).date())
    assert (early, business, late) == (Category.OUTSIDE, Category.BUSINESS, Category.OUTSIDE)
    assert opens == datetime(2026, 10, 5, 22, tzinfo=UTC) and closes - opens == 8 * H  # 09:00 at +11:00


def test_months_are_read_with_care():
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert parse_month("", now, UTC) == Month(2026, 11)
    assert parse_month(" ", now, BERLIN) == Month(2026, 12), "the month of the team's wall clock"
    assert parse_month("2026-02", now, UTC) == Month(2026, 2) and str(Month(2026, 2)) == "2026-02"
    assert Month(2026, 12).following() == Month(2027, 1)
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "november", "2026-11-01", "1969-12", "=1+1"):
        with pytest.raises(UserError, match="YYYY-MM"):
            parse_month(bad, now, UTC)
    with pytest.raises(UserError, match="has not begun"):
        parse_month("2026-12", now, UTC)


def test_rates_are_read_with_care():
    rates = parse_rates(" Weekday=0, offhours=1.5,weekend=3 ,holiday=4 ")
    assert rates is not None and [rates.of(kind) for kind in CATEGORIES] == [0, Decimal("1.5"), 3, 4]
    assert parse_rates("") is None and parse_rates("weekend=2").of(Category.HOLIDAY) == 0
    for bad in ("weekday", "sunday=1", "weekday=x", "weekday=-1", "weekday=1,weekday=2", "weekday=NaN",
                "weekday=1,", "weekday=1e9"):
        with pytest.raises(ValueError):
            parse_rates(bad)


def test_the_csv_is_rfc_4180_and_never_a_formula():
    since, until = month_of("2026-11", UTC)
    people = figures(UTC, "2026-11", pages=[PageFact("A", since + H, since + 2 * H, "A")])
    report = Report("payments", Month(2026, 11), since, until, True, list(people.values()),
                    parse_rates("weekend=2"))
    text = report_csv(report, {"A": '=HYPERLINK("https://evil.example","x"), "quoted"'})
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == HEADER and len(rows) == 2 and all(len(row) == len(HEADER) for row in rows)
    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["person"] == '\'=HYPERLINK("https://evil.example","x"), "quoted"'
    assert (row["primary_business_hours"], row["on_call_weekend_hours"], row["on_call_hours"]) == ("168.0", "216.0",
                                                                                                   "720.0")
    assert (row["pages"], row["median_minutes_to_acknowledge"], row["amount_owed"]) == ("1", "60.0", "432.00")
    for start in ("+1", "-1", "@SUM(A1)", "\tx"):
        assert report_csv(report, {"A": start}).splitlines()[1].split(",")[2].startswith("'")


# -- against counting half-hour by half-hour ---------------------------------------------------------------------

ZONES = (BERLIN, NEW_YORK, LORD_HOWE)
CALENDARS = (None, HolidayCalendar("DE", "BY"), HolidayCalendar("US"), HolidayCalendar("AU", "NSW"))
PEOPLE = ("A", "B", "C", "D", "E")
SLOT = timedelta(minutes=30)  # every boundary of these zones, hours and handoffs falls on a half hour of UTC


@st.composite
def months(draw):
    team = draw(st.sampled_from(ZONES))
    since, until = Month(2026, draw(st.integers(1, 12))).bounds(team)
    slots = (until - since) // SLOT
    at = st.integers(0, slots).map(lambda n: since + n * SLOT)
    origin = since - timedelta(days=draw(st.integers(1, 60)))
    handoff = Handoff(draw(st.integers(0, 6)), time(draw(st.integers(0, 23))), team,
                      days=draw(st.sampled_from([1, 3, 7, 14])), roles=draw(st.integers(1, 3)))
    roster = st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=5, unique=True).map(tuple)
    rosters = [RosterVersion(origin, draw(roster))] + [RosterVersion(draw(at), draw(roster))
                                                      for _ in range(draw(st.integers(0, 2)))]
    overrides = [Override(draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(ROLES)), start,
                          start + draw(st.integers(1, 24 * 8)) * SLOT, created=i)
                 for i, start in enumerate(draw(st.lists(at, max_size=5)))]
    first = handoff.shift_index(since, origin)
    swaps = [Swap(*draw(st.lists(st.sampled_from(PEOPLE), min_size=2, max_size=2, unique=True)),
                  first + draw(st.integers(0, 12))) for _ in range(draw(st.integers(0, 2)))]
    away = [Away(draw(st.sampled_from(PEOPLE)), start, start + draw(st.integers(1, 24 * 6)) * SLOT)
            for start in draw(st.lists(at, max_size=2))]
    layers = [Layer(f"layer-{i}", frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
                    time(draw(st.integers(0, 23))), time(draw(st.integers(0, 23))), draw(st.sampled_from(ZONES)),
                    draw(st.lists(st.sampled_from(PEOPLE), max_size=4, unique=True).map(tuple)))
              for i in range(draw(st.integers(0, 2)))]
    working = {p: WorkingTime(time(9), time(17), frozenset(range(5)), draw(st.sampled_from(CALENDARS)))
               for p in PEOPLE}
    zones = {p: draw(st.sampled_from(ZONES)) for p in PEOPLE}
    return dict(since=since, until=until, handoff=handoff, origin=origin, rosters=rosters, overrides=overrides,
                swaps=swaps, pages=[], working=working, zones=zones, away=away, layers=layers)


def kind_at(working: WorkingTime, tz, moment: datetime) -> Category:
    day = moment.astimezone(tz).date()
    if working.holidays is not None and day in working.holidays:
        return Category.HOLIDAY
    if day.weekday() not in working.days:
        return Category.WEEKEND
    return Category.BUSINESS if working.is_open(moment, tz) else Category.OUTSIDE


@settings(max_examples=40, deadline=None)
@given(facts=months())
def test_the_kinds_add_up_to_the_hours_held_and_the_roles_to_the_month(facts):
    found = {person.user: person for person in burden(**facts)}
    counted: dict[tuple[str, Role, Category], timedelta] = {}
    ordered = sorted(facts["rosters"], key=lambda v: v.since)
    moment = facts["since"]
    while moment < facts["until"]:
        held = on_call(roster_at(ordered, moment), moment, handoff=facts["handoff"], origin=facts["origin"],
                       overrides=facts["overrides"], swaps=facts["swaps"], away=facts["away"], layers=facts["layers"])
        for role in ROLES:
            if user := held.holder(role):
                key = (user, role, kind_at(facts["working"][user], facts["zones"][user], moment))
                counted[key] = counted.get(key, timedelta(0)) + SLOT
        moment += SLOT
    month = facts["until"] - facts["since"]
    for role in ROLES:
        for user in PEOPLE:
            person = found.get(user)
            for kind in CATEGORIES:
                exact = person.held[role][kind] if person else timedelta(0)
                assert exact == counted.get((user, role, kind), timedelta(0)), (user, role, kind)
        rosters = [*(v.members for v in ordered), *(layer.roster for layer in facts["layers"])]
        if not facts["away"] and ROLES.index(role) < min(facts["handoff"].roles, *map(len, rosters)):
            assert sum((p.role_total(role) for p in found.values()), timedelta(0)) == month, role
    for person in found.values():
        assert sum(person.on_call.values(), timedelta(0)) <= sum((person.role_total(r) for r in ROLES),
                                                                 timedelta(0))
        assert person.total >= max(person.role_total(r) for r in ROLES)
