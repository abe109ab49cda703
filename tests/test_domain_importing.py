"""What a PagerDuty schedule becomes here, as a pure rule: for every instant the imported rotation names the user
PagerDuty's own formula names (its layers, its restrictions, its turns); what cannot be expressed says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.importing import pagerduty_schedule, rotation_name
from bot.domain.rotation import on_call

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SLACK = {f"P{n}": f"U0{n}" for n in range(8)}


def layer(users, start: datetime, days: int, restrictions=(), name="Layer 1", end=None) -> dict:
    return {"id": name, "name": name, "start": start.isoformat(), "end": end,
            "rotation_virtual_start": start.isoformat(), "rotation_turn_length_seconds": days * 86400,
            "users": [{"user": {"id": u, "type": "user_reference"}} for u in users], "restrictions": list(restrictions)}


def pd_holder(users, start: datetime, days: int, at: datetime) -> str:
    """PagerDuty's own formula for a layer's user at `at` (UTC: no DST to disagree about)."""
    return users[int((at - start).total_seconds() // (days * 86400)) % len(users)]


def test_names_and_refusals():
    assert rotation_name("Payments — Primary (EU)") == "payments-primary-eu"
    start = datetime(2026, 1, 6, 9, tzinfo=UTC)
    plan = pagerduty_schedule({"id": "S", "name": "X", "time_zone": "UTC", "schedule_layers": [
        layer(["P1", "P9"], start, 7)]}, SLACK, NOW)
    assert plan.problems == ("1 user(s) without a Slack account found by their email: P9",)
    plan = pagerduty_schedule({"id": "S", "name": "X", "time_zone": "UTC", "schedule_layers": [
        {**layer(["P1"], start, 1), "rotation_turn_length_seconds": 43200}]}, SLACK, NOW)
    assert plan.problems == ("its layers turn at different lengths, or not every 1 to 28 whole days",)
    plan = pagerduty_schedule({"id": "S", "name": "X", "time_zone": "UTC", "schedule_layers": [
        layer(["P1"], start, 7, name="B"), layer(["P2"], start + timedelta(hours=3), 7, name="A")]}, SLACK, NOW)
    assert plan.problems == ("its layers hand off at different times",)


@settings(max_examples=150, deadline=None)
@given(users=st.lists(st.sampled_from(list(SLACK)), min_size=1, max_size=5, unique=True),
       days=st.integers(1, 28), offset_hours=st.integers(0, 24 * 200), probes=st.lists(
           st.integers(0, 24 * 60), min_size=3, max_size=12))
def test_one_layer_answers_as_pagerduty_at_every_instant(users, days, offset_hours, probes):
    start = NOW - timedelta(hours=offset_hours)
    plan = pagerduty_schedule({"id": "S", "name": "Payments", "time_zone": "UTC",
                               "schedule_layers": [layer(users, start, days)]}, SLACK, NOW)
    assert plan.problems == () and plan.handoff.days == days
    for hours in probes:
        at = NOW + timedelta(hours=hours, minutes=7)
        held = on_call(plan.roster, at, handoff=plan.handoff, origin=NOW)
        assert held.primary == SLACK[pd_holder(users, start, days, at)], (at, plan)
        assert held.secondary is None  # one role: PagerDuty pages one person per schedule


def test_a_weekday_layer_on_top_of_the_base_answers_as_pagerduty():
    start = datetime(2026, 11, 3, 9, tzinfo=UTC)  # a Tuesday
    weekdays = [{"type": "weekly_restriction", "start_time_of_day": "08:00:00", "duration_seconds": 9 * 3600,
                 "start_day_of_week": d} for d in range(1, 6)]
    top = layer(["P4", "P5"], start, 7, weekdays, name="Layer 2")
    base = layer(["P1", "P2", "P3"], start, 7, name="Layer 1")
    plan = pagerduty_schedule({"id": "S", "name": "Payments", "time_zone": "UTC",
                               "schedule_layers": [top, base]}, SLACK, NOW)  # the lowest layer listed first
    assert plan.problems == () and [lay.name for lay in plan.layers] == ["layer-2"]
    for hours in range(0, 24 * 21, 5):
        at = NOW + timedelta(hours=hours)
        local = at.astimezone(UTC)
        in_window = local.weekday() < 5 and 8 <= local.hour < 17
        expected = pd_holder(["P4", "P5"], start, 7, at) if in_window else pd_holder(["P1", "P2", "P3"], start, 7, at)
        held = on_call(plan.roster, at, handoff=plan.handoff, origin=NOW, layers=plan.layers)
        assert held.primary == SLACK[expected], at
