"""A rotation's shifts over time (`rotation set … handoff|shift|roles`), as pure rules: a change applies from the
next boundary, who is on call until then stays, shift numbers go on, and every instant has exactly one shift."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import UserError
from bot.domain.rotation import Handoff, on_call
from bot.domain.shifts import ShiftPlan, describe_shape, parse_setting

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")]
SEEDS = Handoff(1, time(10), BERLIN)  # the seeds' Tuesday 10:00
ORIGIN = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
ROSTER = ("A", "B", "C", "D")


def test_no_change_is_the_teams_weekly_handoff():
    plan = ShiftPlan(SEEDS, ORIGIN)
    for hours in range(0, 24 * 60, 7):
        moment = ORIGIN + timedelta(hours=hours)
        assert plan.shift_index(moment) == SEEDS.shift_index(moment, ORIGIN)
        assert plan.shift_start(moment) == SEEDS.shift_start(moment)
        assert plan.next_start(plan.shift_start(moment)) == SEEDS.next_start(SEEDS.shift_start(moment))


def test_a_daily_handoff_from_the_next_tuesday_keeps_this_week_and_numbers_on():
    plan = ShiftPlan(SEEDS, ORIGIN)
    wednesday = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    change = plan.changed(wednesday, weekday=0, at=time(9), days=1, roles=1)
    tuesday_10 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert change.since == tuesday_10 and change.first_index == plan.shift_index(tuesday_10) == 2
    after = ShiftPlan(SEEDS, ORIGIN, [change])
    before = on_call(ROSTER, wednesday, handoff=plan, origin=ORIGIN)
    assert on_call(ROSTER, wednesday, handoff=after, origin=ORIGIN) == before  # who is on call now stays
    first = on_call(ROSTER, tuesday_10, handoff=after, origin=ORIGIN)
    assert (first.shift_index, first.shift_start, first.shift_end) == (
        2, tuesday_10, datetime(2026, 11, 18, 8, 0, tzinfo=UTC))  # to Wednesday 09:00 Berlin
    assert (first.primary, first.secondary, first.tertiary) == ("C", None, None)  # one role now
    second = on_call(ROSTER, first.shift_end, handoff=after, origin=ORIGIN)
    assert (second.shift_index, second.primary) == (3, "D")
    assert second.shift_end - second.shift_start == timedelta(days=1)


def test_a_second_change_before_the_first_applies_is_folded_into_it():
    plan = ShiftPlan(SEEDS, ORIGIN)
    at = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    first = plan.changed(at, days=14)
    again = ShiftPlan(SEEDS, ORIGIN, [first]).changed(at + timedelta(hours=1), roles=2)
    assert (again.since, again.first_index) == (first.since, first.first_index)
    assert (again.handoff.days, again.handoff.roles) == (14, 2)


def test_changing_only_the_roles_keeps_a_three_day_cycle_where_it_was():
    plan = ShiftPlan(SEEDS, ORIGIN)
    three = plan.changed(datetime(2026, 11, 5, 12, tzinfo=UTC), days=3)
    plan = ShiftPlan(SEEDS, ORIGIN, [three])
    starts = [plan.start_of(three.first_index + i) for i in range(1, 6)]
    later = plan.changed(starts[1] + timedelta(hours=1), roles=2)
    after = ShiftPlan(SEEDS, ORIGIN, [three, later])
    assert [after.start_of(three.first_index + i) for i in range(1, 6)] == starts


@pytest.mark.parametrize(("text", "fields"), [
    ("handoff mon 09:00", {"weekday": 0, "at": time(9)}),
    ("handoff Friday 17:30 America/New_York", {"weekday": 4, "at": time(17, 30), "tz": ZoneInfo("America/New_York")}),
    ("shift 1d", {"days": 1}), ("shift 14 days", {"days": 14}), ("roles 2", {"roles": 2}),
])
def test_settings_read(text, fields):
    assert parse_setting(text) == fields


@pytest.mark.parametrize(("text", "said"), [
    ("handoff someday 09:00", "is not a weekday"), ("handoff mon 9am", "is not a time"),
    ("handoff mon 09:00 Mars/Olympus", "is not a timezone"), ("handoff mon 09:00 EST", "is not a timezone"),
    ("shift 0d", "1 to 28 days"), ("shift 29d", "1 to 28 days"), ("roles 4", "1, 2 or 3"), ("colour blue", "Use"),
])
def test_bad_settings_are_refused_by_name(text, said):
    with pytest.raises(UserError, match=said):
        parse_setting(text)


def test_described():
    assert describe_shape(SEEDS) == "Tuesday 10:00 Europe/Berlin, every week, 3 roles"
    assert describe_shape(Handoff(0, time(9), UTC, 1, 1)) == "09:00 UTC, every day, 1 role"


changes = st.lists(st.tuples(
    st.integers(min_value=0, max_value=24 * 80),  # hours after the last change, when it is made
    st.fixed_dictionaries({}, optional={
        "weekday": st.integers(0, 6), "at": st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        "tz": st.sampled_from(ZONES), "days": st.integers(1, 28), "roles": st.integers(1, 3)})),
    max_size=4)


@settings(max_examples=150, deadline=None)
@given(base_zone=st.sampled_from(ZONES), made=changes, probes=st.lists(st.integers(0, 24 * 400), min_size=5,
                                                                       max_size=25))
def test_every_instant_has_one_shift_and_a_change_never_moves_the_present(base_zone, made, probes):
    base = Handoff(1, time(10), base_zone)
    plan, at = ShiftPlan(base, ORIGIN), ORIGIN
    for hours, fields in made:
        at += timedelta(hours=hours)
        change = plan.changed(at, **fields)
        after = ShiftPlan(base, ORIGIN, [c for c in plan.changes if c.since <= at] + [change])
        assert change.since > at
        for step in range(0, int((change.since - at).total_seconds() // 3600), 5):  # until it applies: the same
            moment = at + timedelta(hours=step)
            assert (after.shift_index(moment), after.shift_start(moment)) == (
                plan.shift_index(moment), plan.shift_start(moment))
        assert after.shift_start(change.since) == change.since
        assert after.shift_index(change.since) == plan.shift_index(change.since)  # numbers go on
        plan = after
    for hours in probes:
        moment = ORIGIN + timedelta(hours=hours, minutes=17)
        start = plan.shift_start(moment)
        end = plan.next_start(start)
        index = plan.shift_index(moment)
        assert start <= moment < end
        assert plan.start_of(index) == start
        assert plan.shift_index(end) == index + 1 and plan.shift_start(end) == end
        shape = plan.shape_at(start)
        if start not in {c.since for c in plan.changes} and end not in {c.since for c in plan.changes}:
            assert (end.astimezone(shape.tz).date() - start.astimezone(shape.tz).date()).days == shape.days
