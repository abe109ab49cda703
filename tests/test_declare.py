"""Declaring an incident end to end: signed Slack requests in, rows stored, Web API calls out."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.db.models import Delivery
from bot.delivery.kinds import Kind
from bot.slack.ids import ActionId, BlockId
from tests.fake_slack import validate_blocks

SETUP_METHODS = {"conversations.create", "conversations.invite", "conversations.setTopic", "chat.postMessage",
                 "pins.add", "chat.postEphemeral", "chat.getPermalink", "chat.update"}


def setup_calls(fake) -> list:
    return [c for c in fake.calls if c.method in SETUP_METHODS]


async def test_declare_creates_channel_summary_announcement_and_reply(bot):
    incident = await bot.declare("Checkout is down for EU users", priority="P1", commander="U0COMMANDER",
                                 description="500s since 09:00")
    assert (incident.number, incident.priority, incident.status) == (1, "P1", "new")
    assert (incident.reporter_id, incident.commander_id) == ("U0REPORTER", "U0COMMANDER")
    assert incident.description == "500s since 09:00"
    assert [e.kind for e in bot.events(incident)] == ["declared", "commander"]

    create = bot.fake.calls_to("conversations.create")
    assert [c["name"] for c in create] == ["inc-1-checkout-is-down-for-eu-users"]
    channel = incident.channel_id
    assert channel and incident.channel_name == "inc-1-checkout-is-down-for-eu-users" and incident.thread_ts is None
    invite = bot.fake.calls_to("conversations.invite")
    assert invite[0]["channel"] == channel and set(invite[0]["users"].split(",")) == {"U0REPORTER", "U0COMMANDER"}
    topic = bot.fake.calls_to("conversations.setTopic")[0]["topic"]
    assert topic.startswith("P1 · New · Commander: <@U0COMMANDER>") and "Checkout is down" in topic

    posts = bot.fake.calls_to("chat.postMessage")
    summary = next(p for p in posts if p["channel"] == channel)
    actions = next(b for b in summary["blocks"] if b["type"] == "actions")
    assert actions["block_id"] == BlockId.SUMMARY_ACTIONS
    assert [e["action_id"] for e in actions["elements"]] == [ActionId.ACKNOWLEDGE, ActionId.POST_UPDATE,
                                                             ActionId.TAKE_COMMAND, ActionId.RESOLVE]
    assert summary["blocks"][0]["text"]["text"] == "INC-1: Checkout is down for EU users"
    assert bot.fake.calls_to("pins.add") == [{"channel": channel, "timestamp": incident.summary_ts}]

    announcement = next(p for p in posts if p["channel"] == "C0INCIDENTS")
    assert "INC-1" in announcement["text"] and f"<#{channel}>" in json.dumps(announcement["blocks"])
    assert incident.announcement_channel == "C0INCIDENTS" and incident.announcement_ts

    reply = bot.fake.calls_to("chat.postEphemeral")
    assert len(reply) == 1 and reply[0]["channel"] == "C0GENERAL" and reply[0]["user"] == "U0REPORTER"
    assert "INC-1" in reply[0]["text"] and f"<#{channel}>" in reply[0]["text"] and "<@U0COMMANDER>" in reply[0]["text"]

    # SPEC §7: declaring costs at most 8 Web API calls.
    assert len(setup_calls(bot.fake)) <= 8
    assert set(incident.steps_done) >= {"home", "reply", "invite", "topic", "summary", "pin", "announce", "done"}


@pytest.mark.parametrize("priority", ["P0", "P1", "P2"])
async def test_priority_is_stored_and_shown(bot, priority):
    incident = await bot.declare("Search is slow", priority=priority)
    assert incident.priority == priority
    summary = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id)
    assert f"{priority} — " in json.dumps(summary["blocks"], ensure_ascii=False)
    assert bot.fake.calls_to("conversations.setTopic")[0]["topic"].startswith(f"{priority} · New")
    assert f"({priority})" in bot.fake.calls_to("chat.postEphemeral")[0]["text"]


async def test_numbers_count_up(bot):
    first = await bot.declare("One")
    second = await bot.declare("Two")
    assert (first.number, second.number) == (1, 2)
    assert [c["name"] for c in bot.fake.calls_to("conversations.create")] == ["inc-1-one", "inc-2-two"]


@pytest.mark.parametrize(("title", "message"), [
    ("x" * 151, "Keep the title to 150 characters (it has 151)."),
    ("   ", "Give the incident a title: what is broken, for whom?"),
    ("", "Give the incident a title: what is broken, for whom?"),
])
async def test_bad_title_is_answered_inside_the_modal_and_nothing_is_stored(bot, title, message):
    view = await bot.open_declare()
    calls_before = len(bot.fake.calls)
    status, body, _ = await bot.slack.submit(view, {"title": title})
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {"title": message}}
    await bot.settle()
    assert bot.incidents() == []
    assert len(bot.fake.calls) == calls_before


async def test_title_of_exactly_150_characters_is_accepted(bot):
    incident = await bot.declare("y" * 150)
    assert incident.title == "y" * 150
    assert len(bot.fake.calls_to("conversations.create")[0]["name"]) <= 80


async def test_name_taken_gets_a_suffix(bot):
    bot.fake.add_channel("C0OLD", "inc-1-checkout-is-down")
    bot.fake.add_channel("C0OLDER", "inc-1-checkout-is-down-2")
    incident = await bot.declare("Checkout is down")
    names = [c["name"] for c in bot.fake.calls_to("conversations.create")]
    assert names == ["inc-1-checkout-is-down", "inc-1-checkout-is-down-2", "inc-1-checkout-is-down-3"]
    assert incident.channel_name == "inc-1-checkout-is-down-3"
    assert bot.fake.channels[incident.channel_id]["name"] == "inc-1-checkout-is-down-3"


async def test_refused_channel_creation_falls_back_to_a_thread(bot):
    bot.fake.fail("conversations.create", "restricted_action")
    incident = await bot.declare("VPN is down", commander="U0COMMANDER")
    assert incident.channel_id == "C0INCIDENTS" and incident.thread_ts == incident.announcement_ts
    posts = bot.fake.calls_to("chat.postMessage")
    assert posts[0]["channel"] == "C0INCIDENTS" and not posts[0].get("thread_ts")  # the announcement
    assert posts[1]["thread_ts"] == incident.thread_ts  # the summary, in its thread
    assert any(b["type"] == "actions" for b in posts[1]["blocks"])
    assert len(posts) == 2
    assert bot.fake.calls_to("conversations.invite") == [] and bot.fake.calls_to("pins.add") == []
    reply = bot.fake.calls_to("chat.postEphemeral")[0]["text"]
    assert "https://fake-workspace.slack.com/archives/C0INCIDENTS/p" in reply
    notes = [e for e in bot.events(incident) if e.kind == "note"]
    assert "restricted_action" in notes[0].text
    assert "done" in incident.steps_done


async def test_channels_switched_off_means_a_thread_and_no_create_call(make_bot):
    bot = await make_bot(create_incident_channels=False)
    incident = await bot.declare("Deploys are stuck")
    assert bot.fake.calls_to("conversations.create") == []
    assert incident.thread_ts and incident.channel_id == "C0INCIDENTS"


async def test_slow_slack_does_not_delay_the_ack(bot):
    view = await bot.open_declare()
    bot.fake.slow(2.0)
    status, body, elapsed = await bot.slack.submit(view, {"title": "Everything is slow", "priority": "P0"})
    assert status == 200 and body == ""
    assert elapsed < 1.0, f"ack took {elapsed:.2f}s"
    with bot.session() as session:  # stored before the ack: the declaration, declared right after the acks
        stored = session.exec(select(Delivery).where(Delivery.kind == Kind.DECLARE)).all()
    assert [json.loads(d.payload)["title"] for d in stored] == ["Everything is slow"]
    status, _, elapsed = await bot.slack.command("")
    assert status == 200 and elapsed < 1.0
    bot.fake.slow(0)
    await bot.settle()
    assert [i.title for i in bot.incidents()] == ["Everything is slow"]
    assert bot.incidents()[0].channel_id is not None


async def test_a_declaration_acked_but_never_declared_is_declared_by_the_next_tick(bot):
    """The process dies after storing the declaration and acking (its background work is cancelled while a
    burst holds it back): the next tick declares it, once, with its whole set-up."""
    view = await bot.open_declare()
    status, body, _ = await bot.ack_then_die(bot.slack.submit(view, {"title": "Payments are failing",
                                                                     "priority": "P1"}))
    assert (status, body) == (200, "")
    assert bot.incidents() == []

    await bot.tick()  # declared, and set up under the same claim
    [incident] = bot.incidents()
    assert (incident.number, incident.title, incident.priority) == (1, "Payments are failing", "P1")
    assert incident.channel_id and incident.summary_ts
    await bot.tick(minutes=1)
    assert len(bot.incidents()) == 1 and len(bot.fake.calls_to("conversations.create")) == 1


async def test_a_double_submitted_modal_declares_once(bot):
    view = await bot.open_declare()
    for _ in range(2):
        status, _, _ = await bot.slack.submit(view, {"title": "Login broken"}, view_id="V0SAME")
        assert status == 200
    await bot.settle()
    assert len(bot.incidents()) == 1
    assert len(bot.fake.calls_to("conversations.create")) == 1
    with bot.session() as session:  # the second, refused by declare_key inside its claim, is settled, not retried
        outcomes = [(d.state, d.last_error) for d in session.exec(select(Delivery).order_by(Delivery.id))
                    if d.lane == "declare:view:V0SAME" or d.kind == "setup"]
    assert sorted(outcomes) == [("dropped", "declared already as INC-1"), ("sent", "")], outcomes


async def test_rate_limit_and_server_errors_are_retried(bot):
    bot.fake.fail("conversations.create", "internal_error", status=503)
    bot.fake.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    incident = await bot.declare("Queue backlog")
    assert len(bot.fake.calls_to("conversations.create")) == 2
    assert incident.channel_id and incident.summary_ts
    summaries = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id]
    assert len(summaries) == 2  # the 429 and its retry; one message exists
    assert len([k for k in bot.fake.messages if k[0] == incident.channel_id]) == 1


async def test_unreachable_slack_loses_nothing_and_a_restart_finishes_the_setup(make_bot):
    bot = await make_bot()
    bot.fake.fail("chat.postMessage", "internal_error", status=500, times=50)
    incident = await bot.declare("Payments failing")
    assert incident.channel_id and "done" not in incident.steps_done  # stopped at the summary
    assert "summary" not in incident.steps_done
    bot.fake._failures.clear()  # Slack is back
    restarted = await make_bot()  # a new process on the same database: no resume at start-up, the tick does it
    await restarted.settle()
    assert "done" not in restarted.incidents()[0].steps_done
    await restarted.tick(minutes=10)
    incident = restarted.incidents()[0]
    assert "done" in incident.steps_done and incident.summary_ts
    assert len(bot.fake.calls_to("conversations.create")) == 1  # the same channel, not a second one
    assert len(restarted.fake.calls_to("chat.postEphemeral")) == 1


async def test_reply_falls_back_to_a_dm_when_the_bot_cannot_post_in_that_channel(bot):
    incident = await bot.declare("Grafana down", channel="C0UNKNOWN")
    assert bot.fake.calls_to("chat.postEphemeral")[0]["channel"] == "C0UNKNOWN"
    dm = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0REPORTER"]
    assert len(dm) == 1 and "INC-1" in dm[0]["text"] and f"<#{incident.channel_id}>" in dm[0]["text"]


async def test_without_rotation_or_incidents_channel_nothing_is_announced(make_bot):
    bot = await make_bot(incidents_channel="")
    incident = await bot.declare("Wiki is down")
    assert incident.channel_id and incident.announcement_ts is None
    assert {p["channel"] for p in bot.fake.calls_to("chat.postMessage")} == {incident.channel_id}


async def test_rotation_of_the_channel_is_the_default_and_gets_the_announcement(bot):
    bot.fake.add_channel("C0INFRA", "infra-ff")
    bot.fake.add_channel("C0WEB", "web-ff")
    bot.add_rotation("infra", "C0INFRA")
    web = bot.add_rotation("web", "C0WEB")
    view = await bot.open_declare(channel="C0WEB")
    rotation_block = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)
    assert rotation_block["element"]["initial_option"]["value"] == str(web.id)
    await bot.slack.submit(view, {"title": "CDN errors"})
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.rotation_id == web.id and incident.announcement_channel == "C0WEB"
    # Typed anywhere else, the first-created rotation is the default.
    view = await bot.open_declare(channel="C0GENERAL")
    rotation_block = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)
    assert rotation_block["element"]["initial_option"]["text"]["text"] == "infra"


async def test_past_a_hundred_rotations_the_form_asks_as_you_type_and_any_of_them_can_be_chosen(bot):
    """Slack's select holds 100 options: with more rotations a list showed only the first 100 (the rest could not
    be chosen, not even as a channel's default). Past 100 the select asks the bot as the person types."""
    rotations = [bot.add_rotation(f"team-{i:03d}", f"C0T{i:03d}") for i in range(150)]
    bot.fake.add_channel("C0T142", "team-142-ff")
    view = await bot.open_declare(channel="C0T142")  # the 143rd rotation's channel: still its default
    element = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)["element"]
    assert element["type"] == "external_select" and "options" not in element
    assert element["initial_option"] == {"text": {"type": "plain_text", "text": "team-142", "emoji": True},
                                         "value": str(rotations[142].id)}
    assert len(json.dumps(view)) < 5000  # no longer 100 options in every form

    status, body, _ = await bot.slack.suggest(view, BlockId.ROTATION, ActionId.ROTATION, "TEAM-14")
    assert status == 200
    offered = json.loads(body)["options"]
    assert [o["text"]["text"] for o in offered] == [f"team-14{i}" for i in range(10)]
    status, body, _ = await bot.slack.suggest(view, BlockId.ROTATION, ActionId.ROTATION, "")
    assert len(json.loads(body)["options"]) == 100  # Slack shows at most 100
    status, body, _ = await bot.slack.suggest(view, BlockId.ROTATION, ActionId.ROTATION, "nothing like it")
    assert json.loads(body)["options"] == []

    chosen = offered[7]["value"]  # team-147, past the first 100
    await bot.slack.submit(view, {"title": "CDN errors", "rotation": chosen})
    await bot.settle()
    assert bot.incidents()[0].rotation_id == rotations[147].id


def test_suggestions_put_names_starting_with_the_typed_text_first():
    from bot.views.incident import rotation_suggestions
    rotations = [(1, "web-payments"), (2, "payments"), (3, "Payments EU"), (4, "search")]
    assert [o["value"] for o in rotation_suggestions(rotations, " pay")] == ["2", "3", "1"]
    assert [o["value"] for o in rotation_suggestions(rotations, "")] == ["1", "2", "3", "4"]
    many = [(i, f"r{i}") for i in range(300)]
    assert len(rotation_suggestions(many, "r")) == 100


async def test_no_rotation_select_when_there_are_no_rotations(bot):
    view = await bot.open_declare()
    assert BlockId.ROTATION not in [b["block_id"] for b in view["blocks"]]


async def test_declare_with_a_title_prefills_the_modal(bot):
    view = await bot.open_declare("declare Database is on fire")
    title = next(b for b in view["blocks"] if b["block_id"] == BlockId.TITLE)
    assert title["element"]["initial_value"] == "Database is on fire"
    validate_blocks(view["blocks"], 100)


async def test_a_yes_to_an_impact_question_suggests_p0(bot):
    view = await bot.open_declare()
    priority = next(b for b in view["blocks"] if b["block_id"] == BlockId.PRIORITY)
    assert "P0 if users are blocked" in priority["hint"]["text"]
    view["state"] = {"values": {"impact": {ActionId.IMPACT: {"type": "checkboxes", "selected_options": [
        {"text": {"type": "plain_text", "text": "Users cannot log in"}, "value": "cannot_log_in"}]}},
        "title": {ActionId.TITLE: {"type": "plain_text_input", "value": "Login fails"}}}}
    status, _, _ = await bot.slack.click(ActionId.IMPACT, "", block_id=BlockId.IMPACT, view=view)
    assert status == 200
    update = (await bot.fake.wait_for("views.update"))[0]
    assert update["view_id"] == view["id"] and update["hash"] == view["hash"]
    blocks = {b["block_id"]: b for b in update["view"]["blocks"]}
    assert "this is a P0" in blocks["priority"]["hint"]["text"]
    assert blocks["title"]["element"]["initial_value"] == "Login fails"
    assert blocks["impact"]["element"]["initial_options"][0]["value"] == "cannot_log_in"


async def test_impact_answers_are_stored_and_shown(bot):
    incident = await bot.declare("Data leak suspected", priority="P0", impact=["data_or_security"])
    assert incident.impacts == "data_or_security"
    summary = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id)
    assert "There is a data or security problem" in json.dumps(summary["blocks"])


async def test_message_shortcut_prefills_and_links_the_message(bot):
    payload = {
        "type": "message_action", "callback_id": "declare_incident_from_message", "trigger_id": bot.slack._trigger_id(),
        "team": {"id": "T111", "domain": "acme"}, "user": {"id": "U0REPORTER", "name": "reporter"},
        "channel": {"id": "C0GENERAL", "name": "general"}, "response_url": bot.fake.response_url(),
        "message_ts": "1700000000.000100", "api_app_id": "A111", "token": "x",
        "message": {"type": "message", "user": "U0OTHER", "ts": "1700000000.000100",
                    "text": "Builds on main are failing since 10:00\nsee pipeline 123"},
    }
    status, _, _ = await bot.slack.interaction(payload)
    assert status == 200
    view = (await bot.fake.wait_for("views.open"))[0]["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "Builds on main are failing since 10:00"
    assert "see pipeline 123" in blocks["description"]["element"]["initial_value"]
    meta = json.loads(view["private_metadata"])
    assert meta == {"channel": "C0GENERAL", "source": "https://acme.slack.com/archives/C0GENERAL/p1700000000000100"}
    stored_view = list(bot.fake.views.values())[-1]
    await bot.slack.submit(stored_view, {})
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.source_url == meta["source"] and incident.title.startswith("Builds on main")
    summary = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id)
    assert meta["source"] in json.dumps(summary["blocks"])


def mrkdwn_texts(value) -> list[str]:
    """Every string Slack would parse for mentions: message text, topics and mrkdwn text objects."""
    if isinstance(value, list):
        return [t for item in value for t in mrkdwn_texts(item)]
    if not isinstance(value, dict):
        return []
    if value.get("type") == "plain_text":
        return []
    found = [v for k, v in value.items() if k in ("text", "topic") and isinstance(v, str)]
    return found + [t for k, v in value.items() if isinstance(v, dict | list) for t in mrkdwn_texts(v)]


async def test_user_text_cannot_mention_everyone(bot):
    incident = await bot.declare("<!channel> wake up <@U0OTHER>", description="<!here> & <https://evil|x>")
    posts = json.dumps(mrkdwn_texts([c.args for c in bot.fake.calls]))
    assert "<!channel>" not in posts and "<!here>" not in posts and "<https://evil" not in posts
    assert "&lt;!channel&gt;" in posts
    assert incident.title == "<!channel> wake up <@U0OTHER>"  # stored as typed


async def test_forms_asked_together_share_one_read_of_their_choices_and_none_is_stale(bot, monkeypatch):
    """A burst of `/incident`: each form's read of the rotations held SQLite's one database thread, and forms
    opened seconds late (Slack's trigger ids last 3 s). Forms asked together share a read; a rotation added before
    a form is asked is in it."""
    import asyncio

    from bot.db import repo

    bot.add_rotation("infra", "C0INFRA")
    reads = []
    real = repo.rotations.rotation_choices
    monkeypatch.setattr(repo.rotations, "rotation_choices", lambda **kw: reads.append(1) or real(**kw))
    before = len(bot.fake.calls_to("views.open"))
    answers = await asyncio.gather(*(bot.slack.command("", user=f"U0R{i}", channel="C0INFRA") for i in range(20)))
    assert all(status == 200 for status, _, _ in answers)
    await bot.fake.wait_for("views.open", before + 20)
    assert 1 <= len(reads) < 20
    for call in bot.fake.calls_to("views.open")[before:]:
        rotation_block = next(b for b in call["view"]["blocks"] if b["block_id"] == BlockId.ROTATION)
        assert rotation_block["element"]["initial_option"]["text"]["text"] == "infra"
    bot.add_rotation("web", "C0WEB")
    view = await bot.open_declare(channel="C0WEB")
    rotation_block = next(b for b in view["blocks"] if b["block_id"] == BlockId.ROTATION)
    assert rotation_block["element"]["initial_option"]["text"]["text"] == "web"
