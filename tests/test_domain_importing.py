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


# -- Opsgenie: rotations that tile the day (a day and a night rotation) become a base and layers ----------------

def og_rotation(name, users, start: datetime, kind: str, length: int, window=None) -> dict:
    restriction = None if window is None else {"type": "time-of-day", "restriction": {
        "startHour": window[0] // 60, "startMin": window[0] % 60, "endHour": window[1] // 60,
        "endMin": window[1] % 60}}
    return {"id": name, "name": name, "startDate": start.isoformat(), "type": kind, "length": length,
            "participants": [{"type": "user", "id": u} for u in users],
            **({"timeRestriction": restriction} if restriction else {})}


def og_holders(schedule: dict, at: datetime) -> list[str]:
    """Opsgenie's own rule: everyone on call in any rotation whose restriction holds (cumulative)."""
    from zoneinfo import ZoneInfo
    local = at.astimezone(ZoneInfo(schedule["timezone"]))
    minute = local.hour * 60 + local.minute
    found = []
    for rotation in schedule["rotations"]:
        inner = (rotation.get("timeRestriction") or {}).get("restriction")
        if inner is not None:
            start = inner["startHour"] * 60 + inner["startMin"]
            end = inner["endHour"] * 60 + inner["endMin"]
            if not (start <= minute < end if start < end else minute >= start or minute < end):
                continue
        turn = timedelta(days=rotation["length"] * (7 if rotation["type"] == "weekly" else 1))
        users = rotation["participants"]
        found.append(users[int((at - datetime.fromisoformat(rotation["startDate"])) // turn) % len(users)]["id"])
    return found


@settings(max_examples=120, deadline=None)
@given(cuts=st.one_of(st.just([]), st.lists(st.integers(0, 47), min_size=2, max_size=4, unique=True)),
       rosters=st.lists(st.lists(st.sampled_from(list(SLACK)), min_size=1, max_size=4, unique=True), min_size=4,
                        max_size=4),
       kind=st.sampled_from(["daily", "weekly"]), length=st.integers(1, 4), offset_hours=st.integers(0, 24 * 90),
       zone=st.sampled_from(["UTC", "Asia/Kolkata", "Asia/Tokyo"]),
       probes=st.lists(st.integers(0, 24 * 60 * 40), min_size=3, max_size=12))
def test_opsgenie_rotations_that_tile_the_day_answer_as_opsgenie(cuts, rosters, kind, length, offset_hours, zone,
                                                                 probes):
    from bot.domain.importing_opsgenie import opsgenie_schedule
    start = NOW - timedelta(hours=offset_hours)
    edges = sorted(c * 30 for c in cuts)  # half-hours of the day where one rotation's window gives way to the next
    windows = [None] if not edges else [(edges[i - 1], edges[i]) for i in range(1, len(edges))] + \
        [(edges[-1], edges[0])]
    rotations = [og_rotation(f"R{n}", rosters[n], start, kind, length, window)
                 for n, window in enumerate(windows)]
    schedule = {"id": "S", "name": "Platform", "timezone": zone, "enabled": True, "rotations": rotations}
    plan = opsgenie_schedule(schedule, SLACK, NOW)
    assert plan.problems == (), plan
    for minutes in probes:
        at = NOW + timedelta(minutes=minutes, seconds=13)
        held = on_call(plan.roster, at, handoff=plan.handoff, origin=NOW, layers=plan.layers)
        assert [held.primary] == [SLACK[u] for u in og_holders(schedule, at)], (at, plan)


def test_opsgenie_refusals_say_why():
    from bot.domain.importing_opsgenie import opsgenie_schedule
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)

    def why(*rotations, **schedule) -> tuple[str, ...]:
        return opsgenie_schedule({"id": "S", "name": "X", "timezone": "UTC", "rotations": list(rotations),
                                  **schedule}, SLACK, NOW).problems
    assert why(og_rotation("A", ["P1"], start, "weekly", 1), og_rotation("B", ["P2"], start, "weekly", 1)) == (
        "its rotations are on call together (from Monday 00:00): Opsgenie notifies all of them at once, here one "
        "person holds the pager",)
    assert why(og_rotation("D", ["P1"], start, "daily", 1, (8 * 60, 20 * 60)),
               og_rotation("N", ["P2"], start, "daily", 1, (21 * 60, 8 * 60))) == (
        "nobody is on call from Monday 20:00 (here someone always is)",)
    assert why(og_rotation("D", ["P1"], start, "daily", 1, (8 * 60, 20 * 60))) == (
        "rotation 'D' is restricted and nobody is on call outside it (here someone always is)",)
    assert why(og_rotation("H", ["P1"], start, "hourly", 6)) == ("rotation 'H' turns hourly: here a shift is whole "
                                                                 "days",)
    assert why({**og_rotation("T", ["P1"], start, "weekly", 1), "participants": [{"type": "team", "id": "T1"}]}) == (
        "rotation 'T' has participants of type team: here a roster is people",)
    assert why(og_rotation("A", ["P1"], start, "weekly", 1), enabled=False) == ("it is disabled at Opsgenie",)
    spanning = {**og_rotation("W", ["P1"], start, "weekly", 1), "timeRestriction": {
        "type": "weekday-and-time-of-day", "restrictions": [{"startDay": "monday", "startHour": 8, "startMin": 0,
                                                             "endDay": "friday", "endHour": 18, "endMin": 0}]}}
    assert why(og_rotation("B", ["P2"], start, "weekly", 1), spanning) == (
        "rotation 'W' has a restriction running from monday to friday: here a window is a time of day on some "
        "weekdays",)


# -- escalation policies ----------------------------------------------------------------------------------------

def test_policies_map_to_steps_with_their_waits_or_say_why():
    from bot.domain.escalation import Step
    from bot.domain.import_policies import opsgenie_policy, pagerduty_policy
    rotations = {"PS1": "payments"}
    pd = pagerduty_policy({"id": "EP", "name": "EP", "num_loops": 3, "escalation_rules": [
        {"escalation_delay_in_minutes": 5, "targets": [{"id": "PS1", "type": "schedule"}]},
        {"escalation_delay_in_minutes": 30, "targets": [{"id": "P2", "type": "user_reference"}]}]}, rotations, SLACK)
    assert (pd.problems, pd.schedule_id, pd.policy.steps, pd.policy.repeat) == (
        (), "PS1", (Step("primary", 300), Step("person", 1800, "U02")), 3)
    two = pagerduty_policy({"id": "EP", "escalation_rules": [{"escalation_delay_in_minutes": 5, "targets": [
        {"id": "PS1", "type": "schedule"}, {"id": "P2", "type": "user"}]}]}, rotations, SLACK)
    assert two.problems == ("rule 1 pages 2 targets at once (here a step pages one role, person or user group)",
                            "it pages no schedule (a policy here belongs to a rotation)")
    elsewhere = pagerduty_policy({"id": "EP", "escalation_rules": [{"escalation_delay_in_minutes": 5, "targets": [
        {"id": "PS9", "type": "schedule"}]}, {"escalation_delay_in_minutes": 5, "targets": [
            {"id": "P9", "type": "user"}]}]}, rotations, SLACK)
    assert elsewhere.problems == ("it pages the schedule PS9, which is not imported",
                                  "it pages the user P9, who has no Slack account found by their email")

    def rule(minutes, recipient, **more):
        return {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": minutes,
                                                                                "timeUnit": "minutes"},
                "recipient": recipient, **more}
    og = opsgenie_policy({"id": "E", "name": "E", "repeat": {"waitInterval": 5, "count": 2}, "rules": [
        rule(15, {"type": "user", "id": "P3"}), rule(0, {"type": "schedule", "id": "PS1"}),
        rule(1, {"type": "user", "id": "P2"}) | {"delay": {"timeAmount": 1, "timeUnit": "hours"}}]}, rotations, SLACK)
    assert (og.problems, og.policy.steps, og.policy.repeat) == (
        (), (Step("primary", 900), Step("person", 2700, "U03"), Step("person", 300, "U02")), 2)  # delays from 0,
    # the last waiting the repeat's waitInterval; without a repeat, 30 minutes
    once = opsgenie_policy({"id": "E", "rules": [rule(0, {"type": "schedule", "id": "PS1"})]}, rotations, SLACK)
    assert once.policy.steps == (Step("primary", 1800),) and once.policy.repeat == 0
    refused = opsgenie_policy({"id": "E", "rules": [
        rule(0, {"type": "schedule", "id": "PS1"}), rule(0, {"type": "user", "id": "P2"}),
        rule(5, {"type": "user", "id": "P3"}, condition="if-not-closed"),
        rule(5, {"type": "user", "id": "P3"}, notifyType="next")]}, rotations, SLACK)
    assert refused.problems == (
        "rule 3 goes on until the alert is closed (here paging stops at an acknowledgement)",
        "rule 4 notifies 'next' (here a step pages whoever is on call)",
        "two rules page at 0 minutes together (here one step at a time)",
        "it pages no schedule (a policy here belongs to a rotation)")


def test_a_turn_keeps_its_local_time_across_daylight_saving():
    """A weekly Tuesday 09:00 Berlin layer started in winter, imported in summer: the turn changes at 09:00 on the
    wall clock on either side of both DST changes (one week is a week of days, not 168 hours)."""
    from zoneinfo import ZoneInfo
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 1, 6, 9, tzinfo=berlin)
    users = ["P1", "P2", "P3"]
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    plan = pagerduty_schedule({"id": "S", "name": "X", "time_zone": "Europe/Berlin", "schedule_layers": [
        layer(users, start, 7)]}, SLACK, now)
    assert plan.problems == ()
    for week in range(30):  # July to January: through the October change
        tuesday = datetime(2026, 7, 7, tzinfo=berlin).date() + timedelta(weeks=week)
        turn = users[((tuesday - start.date()).days // 7) % 3]
        before = users[((tuesday - start.date()).days // 7 - 1) % 3]
        for at, expected in ((datetime.combine(tuesday, datetime.min.time().replace(hour=9, minute=30),
                                               tzinfo=berlin), turn),
                             (datetime.combine(tuesday, datetime.min.time().replace(hour=8, minute=30),
                                               tzinfo=berlin), before)):
            held = on_call(plan.roster, at, handoff=plan.handoff, origin=now)
            assert held.primary == SLACK[expected], at


def test_changes_planned_at_the_source_repeated_people_and_shadowed_layers():
    start = datetime(2026, 11, 3, 9, tzinfo=UTC)

    def plan(*layers):
        return pagerduty_schedule({"id": "S", "name": "X", "time_zone": "UTC", "schedule_layers": list(layers)},
                                  SLACK, NOW)
    later = {**layer(["P1"], start, 7, name="New"), "start": (NOW + timedelta(days=9)).isoformat()}
    ending = layer(["P2"], start, 7, name="Old", end=(NOW + timedelta(days=9)).isoformat())
    gone = layer(["P3"], start, 7, name="Gone", end=(NOW - timedelta(days=1)).isoformat())
    assert plan(later, gone).problems == ("'New' starts on 2026-12-15 (a change planned there: import after it, "
                                          "or make it here then)",)
    assert plan(ending).problems == ("'Old' ends on 2026-12-15 (a change planned there: import after it)",)
    assert plan(layer(["P1", "P2", "P1"], start, 7)).problems == (
        "'Layer 1' lists someone more than once (here a roster names each person once)",)
    weekdays = [{"type": "daily_restriction", "start_time_of_day": "08:00:00", "duration_seconds": 3600}]
    shadowed = plan(layer(["P4"], start, 7, name="Top"), layer(["P5"], start, 7, weekdays, name="Under"))
    assert (shadowed.problems, shadowed.roster, shadowed.layers) == ((), ("U04",), ())  # always on top: alone
