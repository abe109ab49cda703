"""Business-time arithmetic: adding and counting working time, across weekends, DST and long spans."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.business_hours import WorkingTime
from bot.domain.errors import UserError
from bot.domain.holidays import parse_calendar

NY = ZoneInfo("America/New_York")
HOURS = WorkingTime(time(9), time(17), frozenset(range(5)))


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def test_eight_business_hours_from_friday_afternoon_is_monday_afternoon():
    assert HOURS.add(ny(2026, 11, 27, 16, 0), timedelta(hours=8), NY) == ny(2026, 11, 30, 16, 0)
    assert HOURS.add(ny(2026, 11, 28, 11, 0), timedelta(hours=8), NY) == ny(2026, 11, 30, 17, 0)  # from Saturday
    assert HOURS.add(ny(2026, 11, 25, 7, 0), timedelta(hours=1), NY) == ny(2026, 11, 25, 10, 0)  # before opening
    assert HOURS.add(ny(2026, 11, 25, 16, 0), timedelta(hours=1), NY) == ny(2026, 11, 25, 17, 0)  # lands at closing
    assert HOURS.add(ny(2026, 11, 25, 10, 0), timedelta(hours=80), NY) == ny(2026, 12, 9, 10, 0)  # two weeks


def test_elapsed_counts_only_working_hours():
    assert HOURS.elapsed(ny(2026, 11, 27, 16, 0), ny(2026, 11, 30, 16, 0), NY) == timedelta(hours=8)
    assert HOURS.elapsed(ny(2026, 11, 28, 0, 0), ny(2026, 11, 29, 23, 0), NY) == timedelta(0)
    assert HOURS.elapsed(ny(2026, 1, 5, 9, 0), ny(2026, 12, 28, 9, 0), NY) == timedelta(hours=8 * 5 * 51)
    # Across the autumn DST change the working day is still eight hours.
    assert HOURS.elapsed(ny(2026, 10, 30, 9, 0), ny(2026, 11, 2, 17, 0), NY) == timedelta(hours=16)


def test_a_week_without_working_hours_is_refused():
    with pytest.raises(ValueError):
        WorkingTime(time(9), time(17), frozenset()).add(ny(2026, 1, 1, 9, 0), timedelta(hours=1), NY)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 60 * 24 * 400), hours=st.integers(1, 400),
       zone=st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]))
def test_add_and_elapsed_agree(start, hours, zone):
    tz = ZoneInfo(zone)
    since = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=start)
    due = HOURS.add(since, timedelta(hours=hours), tz)
    assert HOURS.elapsed(since, due, tz) == timedelta(hours=hours)
    assert HOURS.elapsed(since, due - timedelta(minutes=1), tz) < timedelta(hours=hours)


# -- The edges: [09:00, 17:00) on working days, on the person's own wall clock. "17:00 counts as inside" was caught by
# no focused test; each edge is pinned here, to the second.

KOLKATA, TOKYO, LA = ZoneInfo("Asia/Kolkata"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")


def at(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize("tz", [NY, KOLKATA, TOKYO, LA, ZoneInfo("UTC")])
@pytest.mark.parametrize(("wall", "inside"), [
    ((8, 59, 59), False), ((9, 0, 0), True), ((9, 0, 1), True), ((12, 0, 0), True),
    ((16, 59, 59), True), ((17, 0, 0), False), ((17, 0, 1), False), ((0, 0, 0), False), ((23, 59, 59), False)])
def test_the_day_is_half_open_from_nine_to_five_on_the_person_s_clock(tz, wall, inside):
    moment = at(tz, 2026, 11, 25, *wall)  # a Wednesday
    assert HOURS.is_open(moment, tz) is inside
    assert HOURS.is_open(moment.replace(microsecond=999_999), tz) is inside  # 08:59:59.999999 is still before


@pytest.mark.parametrize("tz", [NY, TOKYO, LA])
def test_the_weekend_edges_on_the_person_s_clock(tz):
    # Friday 16:59:59 in, 17:00 out; all of Saturday and Sunday out, 09:00 too; Monday 00:00 out, 09:00 in.
    assert HOURS.is_open(at(tz, 2026, 11, 27, 16, 59, 59), tz)
    assert not HOURS.is_open(at(tz, 2026, 11, 27, 17, 0), tz)
    for day in (28, 29):
        for wall in ((0, 0), (9, 0), (12, 0), (16, 59, 59), (23, 59, 59)):
            assert not HOURS.is_open(at(tz, 2026, 11, day, *wall), tz), (day, wall)
    assert not HOURS.is_open(at(tz, 2026, 11, 30, 0, 0), tz)
    assert not HOURS.is_open(at(tz, 2026, 11, 30, 8, 59, 59), tz)
    assert HOURS.is_open(at(tz, 2026, 11, 30, 9, 0), tz)


def test_the_same_instant_is_inside_for_one_person_and_outside_for_another():
    # Friday 16:59:59 in Los Angeles is Saturday 00:59:59 UTC and Saturday 09:59:59 in Tokyo; Monday 09:00 in
    # Auckland is Sunday 20:00 UTC: the UTC day and hour decide nothing.
    friday_evening = at(LA, 2026, 11, 27, 16, 59, 59)
    assert HOURS.is_open(friday_evening, LA) and not HOURS.is_open(friday_evening, TOKYO)
    assert not HOURS.is_open(friday_evening, ZoneInfo("UTC"))
    auckland = ZoneInfo("Pacific/Auckland")
    monday_morning = at(auckland, 2026, 11, 30, 9, 0)
    assert monday_morning.weekday() == 6 and HOURS.is_open(monday_morning, auckland)
    assert not HOURS.is_open(monday_morning - timedelta(seconds=1), auckland)
    assert not HOURS.is_open(monday_morning, ZoneInfo("UTC"))


def test_the_window_ends_at_five_and_counts_no_second_after():
    assert HOURS.window(date(2026, 11, 25), NY) == (ny(2026, 11, 25, 9, 0), ny(2026, 11, 25, 17, 0))
    assert HOURS.window(date(2026, 11, 28), NY) is None and HOURS.window(date(2026, 11, 29), NY) is None
    assert HOURS.elapsed(ny(2026, 11, 25, 16, 59, 59), ny(2026, 11, 25, 17, 0, 1), NY) == timedelta(seconds=1)
    assert HOURS.elapsed(ny(2026, 11, 25, 8, 59, 59), ny(2026, 11, 25, 9, 0, 1), NY) == timedelta(seconds=1)
    assert HOURS.add(ny(2026, 11, 25, 16, 59, 59), timedelta(seconds=2), NY) == ny(2026, 11, 26, 9, 0, 1)
    assert HOURS.add(ny(2026, 11, 27, 16, 59, 59), timedelta(seconds=1), NY) == ny(2026, 11, 27, 17, 0)
    assert HOURS.add(ny(2026, 11, 27, 16, 59, 59), timedelta(seconds=2), NY) == ny(2026, 11, 30, 9, 0, 1)


# -- Public holidays (HOLIDAYS): not business days, wherever a business-time rule looks.

BAVARIA = WorkingTime(time(9), time(17), frozenset(range(5)), parse_calendar("de-by"))
BERLIN = ZoneInfo("Europe/Berlin")


def test_a_holiday_is_not_a_business_day():
    assert not BAVARIA.is_open(at(BERLIN, 2026, 1, 6, 10, 0), BERLIN)  # Epiphany (Bavaria), a Tuesday
    assert HOURS.is_open(at(BERLIN, 2026, 1, 6, 10, 0), BERLIN)
    assert BAVARIA.is_open(at(BERLIN, 2026, 1, 7, 10, 0), BERLIN)
    # Eight business hours from Monday 2026-01-05 16:00 skip the holiday: Wednesday 16:00, not Tuesday.
    assert BAVARIA.add(at(BERLIN, 2026, 1, 5, 16, 0), timedelta(hours=8), BERLIN) == at(BERLIN, 2026, 1, 7, 16, 0)
    assert BAVARIA.elapsed(at(BERLIN, 2026, 1, 5, 9, 0), at(BERLIN, 2026, 1, 8, 9, 0), BERLIN) == timedelta(hours=16)


def test_holidays_in_whole_weeks_skipped_at_once_are_taken_out():
    # Christmas to mid-January: 2025-12-25/26, 2026-01-01 and 2026-01-06 fall on weekdays.
    since, until = at(BERLIN, 2025, 12, 22, 9, 0), at(BERLIN, 2026, 1, 19, 9, 0)
    assert BAVARIA.elapsed(since, until, BERLIN) == HOURS.elapsed(since, until, BERLIN) - timedelta(hours=4 * 8)


def test_an_unknown_country_or_subdivision_is_refused_naming_what_is_known():
    with pytest.raises(UserError, match="not a country"):
        parse_calendar("XX")
    with pytest.raises(UserError, match="DE has no subdivision `ZZ`"):
        parse_calendar("DE-ZZ")
    assert parse_calendar(" us-ca ").code == "US-CA"


def _brute_elapsed(hours: WorkingTime, since: datetime, until: datetime, tz) -> timedelta:
    total, day = timedelta(0), since.astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        window = hours.window(day, tz)
        if window:
            total += max(min(window[1], until) - max(window[0], since), timedelta(0))
        day += timedelta(days=1)
    return total


@settings(max_examples=150, deadline=None)
@given(start=st.integers(0, 60 * 24 * 400), span=st.integers(0, 60 * 24 * 120), hours=st.integers(1, 60),
       zone=st.sampled_from(["Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe", "UTC"]),
       calendar=st.sampled_from(["DE-BY", "US-CA", "GB-ENG", "AU-NSW"]))
def test_with_holidays_add_and_elapsed_agree_with_counting_day_by_day(start, span, hours, zone, calendar):
    tz, working = ZoneInfo(zone), WorkingTime(time(9), time(17), frozenset(range(5)), parse_calendar(calendar))
    since = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=start)
    until = since + timedelta(minutes=span)
    assert working.elapsed(since, until, tz) == _brute_elapsed(working, since, until, tz)
    due = working.add(since, timedelta(hours=hours), tz)
    assert working.elapsed(since, due, tz) == timedelta(hours=hours)
    assert working.is_open(due - timedelta(seconds=1), tz)
