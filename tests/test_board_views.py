"""The board's view models as pure functions (bot/http/board_views.py): data in, a template's context out — no
HTTP, no database, no Slack. The pages themselves are driven through HTTP in test_board.py."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.db.models import FollowUp, Incident, Person, Rotation, RotationOverride, TimelineEvent
from bot.domain.business_hours import WorkingTime
from bot.domain.fairness import Load
from bot.domain.reminders import Policy
from bot.domain.rotation import OnCall, Role
from bot.http import board_views as views
from bot.services import Detail, RotationPlan

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday
POLICY = Policy(timedelta(minutes=60), timedelta(minutes=30), timedelta(hours=8), timedelta(hours=4),
                WorkingTime(time(9), time(17), frozenset(range(5))), UTC)
PEOPLE = {"UALICE": Person(user_id="UALICE", name="Alice", fetched_at=NOW),
          "UBOB": Person(user_id="UBOB", name="Bob <b>", fetched_at=NOW)}


def incident(number: int, **fields) -> Incident:
    values = {"id": number, "number": number, "title": f"Incident {number}", "priority": "P1", "status": "new",
              "reporter_id": "UBOB", "created_at": NOW - timedelta(hours=2), "updated_at": NOW, "channel_id": "C1"}
    return Incident(**{**values, **fields})


def test_cards_go_in_their_status_column_with_commander_by_name_and_age():
    columns = views.board_columns([incident(1), incident(2, status="blocked", commander_id="UALICE"),
                                   incident(3, status="resolved")], PEOPLE, NOW, POLICY, UTC)
    assert [c["key"] for c in columns] == ["new", "triaged", "in_progress", "blocked", "resolved"]
    by_key = {c["key"]: [card["number"] for card in c["cards"]] for c in columns}
    assert by_key == {"new": [1], "triaged": [], "in_progress": [], "blocked": [2], "resolved": [3]}
    blocked = columns[3]["cards"][0]
    assert blocked["ref"] == "INC-2" and "Alice" in blocked["commander"] and blocked["age"] == "2h"


def test_only_missing_keeps_the_cards_with_a_target_missed():
    late = incident(1, priority="P0", p0_since=NOW - timedelta(hours=3))  # no update for 3 h: the hourly one missed
    fresh = incident(2, priority="P0", p0_since=NOW - timedelta(minutes=5), created_at=NOW - timedelta(minutes=5))
    every = views.board_columns([late, fresh], PEOPLE, NOW, POLICY, UTC)
    missing = views.board_columns([late, fresh], PEOPLE, NOW, POLICY, UTC, only_missing=True)
    assert [c["number"] for c in every[0]["cards"]] == [1, 2]
    assert [c["number"] for c in missing[0]["cards"]] == [1] and missing[0]["cards"][0]["overdue"]


def test_times_show_in_the_viewers_zone():
    assert views.when(NOW, ZoneInfo("Europe/Paris")) == "Wed 2026-11-25 11:00 CET"
    assert views.when(NOW, UTC) == "Wed 2026-11-25 10:00 UTC"


def test_an_incident_page_names_everyone_and_shows_stored_text_as_text():
    item = incident(7, commander_id="UALICE", postmortem="see <@UBOB> & <!here>", status="in_progress")
    detail = Detail(item, None, ["UALICE"], [
        TimelineEvent(id=1, incident_id=7, at=NOW, actor_id="UBOB", kind="update", text="<script>x</script>")],
        [FollowUp(id=3, incident_id=7, text="fix <@UALICE>'s alarm", owner="UBOB", due_on=date(2026, 12, 1),
                  created_at=NOW)])
    assert views.incident_people(detail) == {"UALICE", "UBOB"}
    view = views.incident_view(detail, PEOPLE, NOW, POLICY, UTC)
    assert view["ref"] == "INC-7" and view["status"] == "In progress"
    assert "&lt;script&gt;" in view["events"][0]["text"] and "<script>" not in view["events"][0]["text"]
    assert "Bob &lt;b&gt;" in view["events"][0]["who"]  # a name is text too
    assert "@here" in view["postmortem"] and "<!here>" not in view["postmortem"]
    assert view["follow_ups"] == [{"id": 3, "text": views.web_text.slack_to_html("fix <@UALICE>'s alarm", PEOPLE),
                                   "owner": views.web_text.person("UBOB", PEOPLE), "due": "2026-12-01",
                                   "done": False}]
    assert "an alert or a tracker" in views.incident_view(
        Detail(incident(8, reporter_id=None), None, [], [], []), {}, NOW, POLICY, UTC)["reporter"]


def _plan() -> tuple[Rotation, RotationPlan]:
    rotation = Rotation(id=1, name="infra", channel_id="C1", created_at=NOW - timedelta(days=30))
    start = NOW - timedelta(days=1)
    shifts = [OnCall(i, start + timedelta(weeks=i), start + timedelta(weeks=i + 1), "UALICE" if i % 2 else "UBOB",
                     "UBOB" if i % 2 else "UALICE", None) for i in range(2)]
    override = RotationOverride(id=9, rotation_id=1, user_id="UALICE", role="primary", starts_at=NOW,
                                ends_at=NOW + timedelta(hours=4), created_at=NOW, created_by="UALICE")
    return rotation, RotationPlan(rotation, ["UBOB", "UALICE"], shifts, [override])


def test_a_rotation_page_starts_its_first_shift_now_and_names_the_group_and_the_loads():
    rotation, plan = _plan()
    group = {"handle": "oncall", "members": ["UALICE"]}
    loads = [Load("UBOB", pages=3, night_pages=1, acknowledge_times=[timedelta(minutes=4)])]
    assert views.rotation_people(plan, group, loads) == {"UALICE", "UBOB"}
    view = views.rotation_view(plan, group, loads, PEOPLE, NOW, UTC)
    assert view["name"] == "infra" and view["shifts"][0]["when"].startswith("now – Wed 2026-11-25 10:00 UTC")
    assert "Alice" in view["group"]["members"] and group["members"] == ["UALICE"]  # the caller's dict is kept
    assert view["loads"][0]["pages"] == 3 and view["loads"][0]["night"] == 1
    assert "Alice" in view["overrides"][0] and "primary" in view["overrides"][0]
    assert "Bob &lt;b&gt;" in view["roster"]
    empty = views.rotation_view(RotationPlan(rotation, [], [], []), None, [], {}, NOW, UTC)
    assert empty["roster"] == "nobody" and empty["group"] is None


def test_a_feed_has_each_shifts_holders_or_only_one_persons_and_the_overrides():
    rotation, plan = _plan()
    every = views.shift_events(rotation, plan, PEOPLE)
    assert [uid for uid, *_ in every] == ["infra-0-primary@firefighter", "infra-0-secondary@firefighter",
                                          "infra-1-primary@firefighter", "infra-1-secondary@firefighter",
                                          "infra-override-9@firefighter"]
    alice = views.shift_events(rotation, plan, PEOPLE, only="UALICE")
    assert [summary for _, summary, *_ in alice] == ["infra secondary: Alice", "infra primary: Alice",
                                                      "infra primary (override): Alice"]
    assert Role.TERTIARY.value not in " ".join(s for _, s, *_ in every)  # nobody holds it: no event
