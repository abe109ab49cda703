"""Pure views: Block Kit built from data, checked against the same limits the fake Slack enforces."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.db.models import Incident, TimelineEvent
from bot.domain.incident import Impact, Priority
from bot.slack.ids import BlockId
from bot.views import incident as views
from bot.views.home import home
from tests.fake_slack import validate_blocks, validate_view

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def incident(**fields) -> Incident:
    values = {"id": 1, "number": 1, "title": "Checkout is down", "priority": "P0", "status": "new",
              "reporter_id": "U1", "created_at": NOW, "updated_at": NOW, "channel_id": "C1"}
    return Incident(**{**values, **fields})


def test_declare_modal_lists_up_to_100_rotations_and_past_that_asks_as_you_type():
    rotations = [(i, f"rotation-{i}") for i in range(1, 151)]
    view = views.declare_modal(metadata="{}", rotations=rotations[:100], rotation_id=100)
    validate_view(view)
    rotation = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)["element"]
    assert rotation["type"] == "static_select" and len(rotation["options"]) == 100
    assert rotation["initial_option"]["value"] == "100"
    view = views.declare_modal(metadata="{}", rotations=rotations, rotation_id=150)
    validate_view(view)
    rotation = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)["element"]
    assert rotation["type"] == "external_select" and "options" not in rotation
    assert rotation["initial_option"]["value"] == "150"  # the 150th can be a channel's default now


def test_declare_modal_hint_follows_impacts():
    plain = views.declare_modal(metadata="", rotations=[])
    worried = views.declare_modal(metadata="", rotations=[], impacts=frozenset({Impact.CANNOT_LOG_IN}),
                                  priority=Priority.P0, title="t" * 200, description="d" * 5000)
    validate_view(worried)
    hint = {b["block_id"]: b.get("hint", {}).get("text") for b in worried["blocks"]}
    assert "this is a P0" in hint["priority"]
    assert "P0 if" in {b["block_id"]: b.get("hint", {}).get("text") for b in plain["blocks"]}["priority"]
    title = next(b for b in worried["blocks"] if b["block_id"] == "title")["element"]["initial_value"]
    assert len(title) == 150


def test_summary_survives_the_longest_inputs():
    big = incident(title="T" * 150, description="<@U1> " * 1000, impacts=",".join(i.value for i in Impact),
                   source_url="https://acme.slack.com/archives/C1/p1", commander_id="U2")
    _, blocks = views.summary(big, "infra" * 20)
    validate_blocks(blocks, 50)
    assert len(blocks[0]["text"]["text"]) <= 150
    assert "&lt;@U1&gt;" in json.dumps(blocks) and "<@U2>" in json.dumps(blocks)


def test_summary_shows_dates_as_slack_tokens():
    _, blocks = views.summary(incident(), None)
    assert f"<!date^{int(NOW.timestamp())}^" in json.dumps(blocks)


def test_detail_and_list_and_home_are_valid():
    events = [TimelineEvent(id=i, incident_id=1, at=NOW, actor_id="U1", kind="update", text="x" * 500)
              for i in range(30)]
    _, blocks = views.incident_detail(incident(), "infra", events)
    validate_blocks(blocks, 50)
    many = [incident(id=n, number=n, title="Q" * 150) for n in range(1, 200)]
    _, blocks = views.incident_list(many, 199)
    validate_blocks(blocks, 50)
    validate_view(home("U1", [], many[:5], many, 199))


def test_reply_tags_the_commander_or_says_nobody_yet():
    assert "<@U2> is the incident commander" in views.reporter_reply(incident(commander_id="U2"), "<#C1>")
    assert "No commander yet" in views.reporter_reply(incident(), "<#C1>")


def test_thread_incidents_are_described_as_threads():
    assert views.where(incident(thread_ts="1.2")) == "the thread under its announcement"
    assert views.where(incident()) == "<#C1>"


def test_a_long_timeline_and_draft_stay_within_slack_limits():
    from zoneinfo import ZoneInfo

    from bot.views.postmortem import postmortem
    from bot.views.timeline import timeline
    events = [TimelineEvent(id=n, incident_id=1, at=NOW, actor_id="U1", kind="update", text=f"{n} " + "x" * 2000)
              for n in range(600)]
    long = incident(status="resolved", resolved_at=NOW, resolution="r" * 3000, follow_ups="\n".join(["f" * 300] * 40),
                    description="<!here> " + "d" * 3000, title="<b>" + "t" * 140)
    long.postmortem = postmortem(long, events, ["U2"], ZoneInfo("Europe/Berlin"))
    assert len(long.postmortem) <= 35_000 and "&lt;!here&gt;" in long.postmortem and "<!here>" not in long.postmortem
    assert "400 earlier events are left out" in long.postmortem
    text, blocks = timeline(long, events, ZoneInfo("Europe/Berlin"), "acme")
    assert text == "Timeline of INC-1: 600 events"
    validate_blocks(blocks, 50)
    assert "earlier screenfuls" in json.dumps(blocks) and "599 " in json.dumps(blocks)
    validate_view(views.resolve_modal(long, "s" * 5000))
    validate_view(views.update_modal(long, "u" * 5000))
    _, summary_blocks = views.summary(long, "payments", [f"U{n}" for n in range(100)])
    validate_blocks(summary_blocks, 50)
