"""Who is on call: pure tests of the shift arithmetic, across DST changes, with overrides and swaps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.business_hours import WorkingTime
from bot.domain.rotation import Handoff, Override, Role, Swap, on_call, schedule

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
TUESDAY_10 = Handoff(weekday=1, at=time(10, 0), tz=NY)


def local(tz, *args) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def test_the_first_person_is_primary_right_away_and_shifts_change_on_tuesday_at_10():
    created = local(NY, 2026, 11, 26, 15, 0)  # a Thursday
    roster = ["UA", "UB", "UC", "UD"]
    now = on_call(roster, created, handoff=TUESDAY_10, origin=created)
    assert (now.primary, now.secondary, now.tertiary) == ("UA", "UB", "UC")
    assert now.shift_start == local(NY, 2026, 11, 24, 10, 0) and now.shift_end == local(NY, 2026, 12, 1, 10, 0)
    just_before = on_call(roster, local(NY, 2026, 12, 1, 9, 59), handoff=TUESDAY_10, origin=created)
    assert just_before.primary == "UA"
    after = on_call(roster, local(NY, 2026, 12, 1, 10, 0), handoff=TUESDAY_10, origin=created)
    assert (after.primary, after.secondary, after.tertiary) == ("UB", "UC", "UD")
    wrapped = on_call(roster, local(NY, 2026, 12, 15, 10, 0), handoff=TUESDAY_10, origin=created)
    assert (wrapped.primary, wrapped.secondary, wrapped.tertiary) == ("UD", "UA", "UB")


def test_handoff_stays_at_10_local_across_dst_in_new_york_and_london():
    # New York falls back on Sunday 2026-11-01; London on Sunday 2026-10-25; both spring forward in March.
    for tz, fall, spring in ((NY, (2026, 11, 3), (2027, 3, 16)), (LONDON, (2026, 10, 27), (2027, 3, 30))):
        handoff = Handoff(weekday=1, at=time(10, 0), tz=tz)
        origin = local(tz, 2026, 10, 1, 12, 0)
        for day in (fall, spring):
            boundary = local(tz, *day, 10, 0)
            before = on_call(["UA", "UB"], boundary - timedelta(minutes=1), handoff=handoff, origin=origin)
            at = on_call(["UA", "UB"], boundary, handoff=handoff, origin=origin)
            assert at.shift_start == boundary and at.shift_start.astimezone(tz).hour == 10
            assert before.primary != at.primary and at.shift_index == before.shift_index + 1
        # The shift containing the change is an hour longer (autumn) or shorter (spring).
        autumn = on_call(["UA"], local(tz, *fall, 9, 0), handoff=handoff, origin=origin)
        assert autumn.shift_end - autumn.shift_start == timedelta(days=7, hours=1)


def test_small_rosters_leave_roles_empty():
    origin = local(NY, 2026, 11, 24, 10, 0)
    solo = on_call(["UA"], origin + timedelta(days=8), handoff=TUESDAY_10, origin=origin)
    assert (solo.primary, solo.secondary, solo.tertiary) == ("UA", None, None)
    pair = on_call(["UA", "UB"], origin + timedelta(days=8), handoff=TUESDAY_10, origin=origin)
    assert (pair.primary, pair.secondary, pair.tertiary) == ("UB", "UA", None)
    assert pair.chain == [(Role.PRIMARY, "UB"), (Role.SECONDARY, "UA")]
    empty = on_call([], origin, handoff=TUESDAY_10, origin=origin)
    assert empty.people == set() and empty.chain == []


def test_overrides_start_and_end_mid_shift_and_the_latest_wins():
    origin = local(NY, 2026, 11, 24, 10, 0)
    roster = ["UA", "UB", "UC"]
    cover = Override("UX", Role.PRIMARY, local(NY, 2026, 11, 26, 18, 0), local(NY, 2026, 11, 27, 9, 0), created=1)
    later = Override("UY", Role.PRIMARY, local(NY, 2026, 11, 27, 0, 0), local(NY, 2026, 11, 27, 3, 0), created=2)
    tertiary = Override("UZ", Role.TERTIARY, local(NY, 2026, 11, 26, 18, 0), local(NY, 2026, 11, 27, 9, 0), created=3)
    overrides = [cover, later, tertiary]
    at = lambda *args: on_call(roster, local(NY, *args), handoff=TUESDAY_10, origin=origin,  # noqa: E731
                               overrides=overrides)
    assert at(2026, 11, 26, 17, 59).primary == "UA"
    assert at(2026, 11, 26, 18, 0).primary == "UX" and at(2026, 11, 26, 18, 0).tertiary == "UZ"
    assert at(2026, 11, 27, 1, 0).primary == "UY" and at(2026, 11, 27, 1, 0).overridden == {Role.PRIMARY,
                                                                                            Role.TERTIARY}
    assert at(2026, 11, 27, 9, 0).primary == "UA" and at(2026, 11, 27, 9, 0).tertiary == "UC"


def test_swaps_exchange_roles_for_one_shift():
    origin = local(NY, 2026, 11, 24, 10, 0)
    roster = ["UA", "UB", "UC", "UD"]
    swaps = [Swap("UA", "UD", shift_index=1)]
    week0 = on_call(roster, origin, handoff=TUESDAY_10, origin=origin, swaps=swaps)
    week1 = on_call(roster, origin + timedelta(days=7), handoff=TUESDAY_10, origin=origin, swaps=swaps)
    assert (week0.primary, week0.secondary) == ("UA", "UB")
    assert (week1.primary, week1.secondary, week1.tertiary) == ("UB", "UC", "UA")  # UD's tertiary went to UA
    shifts = schedule(roster, origin, handoff=TUESDAY_10, origin=origin, count=4, swaps=swaps)
    assert [s.primary for s in shifts] == ["UA", "UB", "UC", "UD", "UA"]
    assert [s.shift_index for s in shifts] == [0, 1, 2, 3, 4]


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 6), minutes=st.integers(0, 60 * 24 * 7 * 120),
       zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]))
def test_every_instant_belongs_to_exactly_one_shift_and_roles_rotate(n, minutes, zone):
    tz = ZoneInfo(zone)
    handoff = Handoff(weekday=1, at=time(10, 0), tz=tz)
    origin = datetime(2026, 1, 7, 15, 0, tzinfo=UTC)
    moment = origin + timedelta(minutes=minutes)
    roster = [f"U{i}" for i in range(n)]
    now = on_call(roster, moment, handoff=handoff, origin=origin)
    assert now.shift_start <= moment < now.shift_end
    assert now.shift_start.astimezone(tz).weekday() == 1 and now.shift_start.astimezone(tz).hour == 10
    assert now.primary == roster[now.shift_index % n]
    people = [u for u in (now.primary, now.secondary, now.tertiary) if u]
    assert len(people) == len(set(people)) == min(n, 3)
    following = on_call(roster, now.shift_end, handoff=handoff, origin=origin)
    assert following.shift_index == now.shift_index + 1 and following.primary == (now.secondary or now.primary)


def test_business_hours_in_a_persons_own_timezone():
    hours = WorkingTime(time(9), time(17), frozenset(range(5)))
    monday_noon_ny = local(NY, 2026, 11, 23, 12, 0)
    assert hours.is_open(monday_noon_ny, NY)
    assert not hours.is_open(monday_noon_ny, ZoneInfo("Asia/Tokyo"))  # 02:00 Tuesday there
    assert not hours.is_open(local(NY, 2026, 11, 28, 12, 0), NY)  # Saturday
    assert hours.window(monday_noon_ny.date(), NY)[1] == local(NY, 2026, 11, 23, 17, 0)
    assert hours.elapsed(local(NY, 2026, 11, 27, 16, 0), local(NY, 2026, 11, 30, 11, 0), NY) == timedelta(hours=3)
