"""What is due when, as pure functions of stored facts and the clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.business_hours import WorkingTime
from bot.domain.incident import Priority, Status
from bot.domain.reminders import (
    IncidentFacts,
    Kind,
    Policy,
    escalates_to_firefighters,
    handoff_due,
    heading_home_due,
    incident_reminders,
    next_due,
    p0_nags_due,
    p1_due,
    triage_due,
)
from bot.domain.rotation import Handoff

UTC_HOURS = WorkingTime(time(9), time(17), frozenset(range(5)))
POLICY = Policy(timedelta(minutes=60), timedelta(minutes=30), timedelta(hours=8), timedelta(hours=4), UTC_HOURS, UTC)
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday


def facts(**changes) -> IncidentFacts:
    values = dict(id=7, priority=Priority.P0, status=Status.IN_PROGRESS, created_at=T0, last_update_at=None,
                  p0_since=T0, commander_id="UC")
    return IncidentFacts(**{**values, **changes})


def test_p0_nags_at_60_then_every_30_minutes_and_only_the_newest():
    at = lambda minutes: p0_nags_due(facts(), T0 + timedelta(minutes=minutes), POLICY)  # noqa: E731
    assert at(59) is None
    assert (at(60).step, at(89).step, at(90).step, at(120).step) == (1, 1, 2, 3)
    assert at(60).key != at(90).key and at(60).key == at(89).key
    assert not escalates_to_firefighters(2) and escalates_to_firefighters(3)
    assert at(60 * 5).step == 9  # after downtime: one reminder, the newest


def test_an_update_resets_the_nags_and_lower_priority_or_resolution_stops_them():
    updated = facts(last_update_at=T0 + timedelta(minutes=70))
    assert p0_nags_due(updated, T0 + timedelta(minutes=129), POLICY) is None
    assert p0_nags_due(updated, T0 + timedelta(minutes=130), POLICY).step == 1
    assert p0_nags_due(facts(priority=Priority.P1), T0 + timedelta(hours=3), POLICY) is None
    assert p0_nags_due(facts(status=Status.RESOLVED), T0 + timedelta(hours=3), POLICY) is None
    raised = facts(created_at=T0 - timedelta(days=1), p0_since=T0)  # raised to P0 today: counted from the raise
    assert p0_nags_due(raised, T0 + timedelta(minutes=59), POLICY) is None


def test_p1_warning_at_75_percent_and_missed_at_100_percent_in_business_time_across_a_weekend():
    friday_3pm = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    p1 = facts(priority=Priority.P1, created_at=friday_3pm, p0_since=None)
    # Friday 15:00–17:00 is 2h; Monday from 09:00 adds the rest.
    assert p1_due(p1, datetime(2026, 11, 30, 12, 59, tzinfo=UTC), POLICY) is None  # 5h59m of business time
    assert p1_due(p1, datetime(2026, 11, 30, 13, 0, tzinfo=UTC), POLICY).kind is Kind.P1_WARNING  # 6h = 75%
    assert p1_due(p1, datetime(2026, 11, 30, 15, 0, tzinfo=UTC), POLICY).kind is Kind.P1_MISSED  # 8h
    assert p1_due(p1, datetime(2026, 11, 29, 23, 0, tzinfo=UTC), POLICY) is None  # the weekend does not count


def test_triage_primary_then_secondary():
    p1 = facts(priority=Priority.P1, status=Status.NEW, p0_since=None)
    assert triage_due(p1, T0 + timedelta(hours=3, minutes=59), POLICY) is None
    assert triage_due(p1, T0 + timedelta(hours=4), POLICY).step == 1
    assert triage_due(p1, datetime(2026, 11, 26, 11, 0, tzinfo=UTC), POLICY).step == 2  # 8 business hours
    p0 = facts(status=Status.NEW)
    assert triage_due(p0, T0 + timedelta(minutes=30), POLICY).step == 1
    assert triage_due(facts(status=Status.TRIAGED), T0 + timedelta(days=3), POLICY) is None
    assert triage_due(facts(priority=Priority.P2, status=Status.NEW), T0 + timedelta(days=3), POLICY) is None


def test_heading_home_in_the_commanders_timezone():
    tokyo, ny = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    early = facts(created_at=T0 - timedelta(days=1), commander_tz=tokyo)
    late = facts(created_at=T0 - timedelta(days=1), commander_tz=ny, commander_id="UN")
    tokyo_1630 = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    ny_1630 = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    assert heading_home_due(early, tokyo_1630, POLICY).key == "home:7:UC:2026-11-25"
    assert heading_home_due(late, tokyo_1630, POLICY) is None
    assert heading_home_due(late, ny_1630, POLICY).key == "home:7:UN:2026-11-25"
    assert heading_home_due(early, tokyo_1630 - timedelta(minutes=1), POLICY) is None
    saturday = datetime(2026, 11, 28, 21, 30, tzinfo=UTC)
    assert heading_home_due(late, saturday, POLICY) is None


def test_handoff_digest_once_per_shift_and_the_heads_up_the_day_before():
    handoff = Handoff(1, time(10), UTC)
    created = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday: its first shift began before it existed
    assert handoff_due(1, created, handoff, datetime(2026, 11, 20, 12, 0, tzinfo=UTC)) == []
    monday_4pm = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert [(d.kind, d.key) for d in handoff_due(1, created, handoff, monday_4pm)] == [
        (Kind.HEADS_UP, "heads-up:1:1")]
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert [(d.kind, d.key) for d in handoff_due(1, created, handoff, tuesday)] == [(Kind.DIGEST, "digest:1:1")]
    assert handoff_due(1, created, handoff, tuesday + timedelta(days=3))[0].key == "digest:1:1"


def _keys(f: IncidentFacts, now: datetime) -> set[str]:
    return {d.key for d in incident_reminders(f, now, POLICY)}


@settings(max_examples=300, deadline=None)
@given(priority=st.sampled_from(list(Priority)), status=st.sampled_from(list(Status)),
       age=st.integers(0, 14 * 24 * 60), updated=st.one_of(st.none(), st.integers(0, 14 * 24 * 60)),
       commander=st.sampled_from([None, "UC"]), zone=st.sampled_from([None, "Asia/Tokyo", "America/Los_Angeles"]),
       probes=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=6))
def test_nothing_new_comes_due_before_the_stored_next_due_moment(priority, status, age, updated, commander, zone,
                                                                  probes):
    """The tick reads an incident again only at `next_due` (or when it changes): no reminder may come due before
    it — else it would be sent late — and at it something new does come due (else the tick reads in vain)."""
    now = T0 + timedelta(minutes=age)
    f = facts(priority=priority, status=status, created_at=T0, commander_id=commander,
              p0_since=T0 if priority is Priority.P0 else None,
              last_update_at=None if updated is None else T0 + timedelta(minutes=min(updated, age)),
              commander_tz=ZoneInfo(zone) if zone else None)
    before = _keys(f, now)
    upcoming = next_due(f, now, POLICY)
    horizon = upcoming or now + timedelta(days=21)
    assert upcoming is None or upcoming > now
    for share in probes:
        moment = min(now + (horizon - now) * share, horizon - timedelta(microseconds=1))
        assert _keys(f, moment) <= before, (moment, upcoming)
    if upcoming is not None:
        assert _keys(f, upcoming) - before


def test_next_due_of_a_closed_or_p2_incident_is_never_and_a_p0_nag_is_on_the_hour():
    assert next_due(facts(status=Status.RESOLVED), T0, POLICY) is None
    assert next_due(facts(priority=Priority.P2, p0_since=None, commander_id=None), T0, POLICY) is None
    assert next_due(facts(commander_id=None), T0 + timedelta(minutes=1), POLICY) == T0 + timedelta(minutes=60)
    assert next_due(facts(commander_id=None), T0 + timedelta(minutes=61), POLICY) == T0 + timedelta(minutes=90)
