"""Business-time arithmetic: adding and counting working time, across weekends, DST and long spans."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.business_hours import WorkingTime

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
