"""The summary's buttons: acknowledge, take command, post update and resolve — each once, however often clicked."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.db.models import Delivery
from bot.delivery.kinds import Kind
from bot.slack.ids import ActionId, BlockId, CallbackId


async def test_acknowledge_makes_the_first_responder_commander_once(bot):
    incident = await bot.declare("Checkout is down", priority="P0")
    status, _, _ = await bot.slack.click(ActionId.ACKNOWLEDGE, "1", user="U0OTHER", channel=incident.channel_id)
    assert status == 200
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.commander_id == "U0OTHER" and incident.acknowledged_at == bot.clock.now()
    assert [e.kind for e in bot.events(incident)][-1] == "acknowledged"
    said = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id][-1]
    assert "<@U0OTHER> acknowledged INC-1" in said["text"]
    update = bot.fake.calls_to("chat.update")[-1]
    assert update["ts"] == incident.summary_ts and "<@U0OTHER>" in json.dumps(update["blocks"])
    assert "Commander: <@U0OTHER>" in bot.fake.calls_to("conversations.setTopic")[-1]["topic"]

    # A double click changes nothing and says so privately.
    await bot.slack.click(ActionId.ACKNOWLEDGE, "1", user="U0OTHER", channel=incident.channel_id)
    await bot.settle()
    answer = (await bot.fake.wait_for_response())[-1]
    assert answer["text"] == "INC-1 was already acknowledged." and answer["response_type"] == "ephemeral"
    assert [e.kind for e in bot.events(incident)].count("acknowledged") == 1
    assert bot.incidents()[0].commander_id == "U0OTHER"


async def test_a_click_acked_but_never_applied_is_applied_by_the_next_tick(bot):
    """The click is stored before its ack; the process dies before applying it (here: its background work is
    cancelled while a request still holds it back); the next tick applies it, once, and says so in the channel."""
    incident = await bot.declare("Checkout is down", priority="P0")
    status, body, _ = await bot.ack_then_die(bot.slack.click(ActionId.ACKNOWLEDGE, "1", user="U0OTHER",
                                                             channel=incident.channel_id))
    assert (status, body) == (200, "")
    assert bot.incidents()[0].acknowledged_at is None
    with bot.session() as session:
        stored = session.exec(select(Delivery).where(Delivery.kind == Kind.CLICK)).all()
    assert [(d.state, json.loads(d.payload)["user"]) for d in stored] == [("queued", "U0OTHER")]

    await bot.tick()
    incident = bot.incidents()[0]
    assert incident.commander_id == "U0OTHER" and incident.acknowledged_at == bot.clock.now()
    assert [e.kind for e in bot.events(incident)].count("acknowledged") == 1
    said = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id][-1]
    assert "<@U0OTHER> acknowledged INC-1" in said["text"]
    await bot.tick(minutes=1)  # delivered once: nothing is applied or said twice
    assert [e.kind for e in bot.events(incident)].count("acknowledged") == 1
    assert [p["text"] for p in bot.fake.calls_to("chat.postMessage")].count(said["text"]) == 1


async def test_take_command(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.runtime.services.working.add_responders(1, "U0COMMANDER", ["U0OTHER"])
    await bot.slack.click(ActionId.TAKE_COMMAND, "1", user="U0OTHER", channel=incident.channel_id)
    await bot.settle()
    assert bot.incidents()[0].commander_id == "U0OTHER"
    assert bot.events(incident)[-1].text == "<@U0OTHER> is commander (was <@U0COMMANDER>)"
    await bot.slack.click(ActionId.TAKE_COMMAND, "1", user="U0OTHER", channel=incident.channel_id)
    await bot.settle()
    assert (await bot.fake.wait_for_response())[-1]["text"] == "INC-1 is already commanded by you."


async def test_post_update_through_its_modal(bot):
    incident = await bot.declare("Checkout is down")
    await bot.slack.click(ActionId.POST_UPDATE, "1", channel=incident.channel_id)
    await bot.fake.wait_for("views.open", 2)
    view = list(bot.fake.views.values())[-1]
    assert view["callback_id"] == CallbackId.UPDATE_MODAL and view["private_metadata"] == "1"
    status, body, _ = await bot.slack.submit(view, {BlockId.UPDATE_TEXT: "Rolled back <!here>; watching"})
    assert status == 200 and body == ""
    await bot.settle()
    assert bot.events(incident)[-1].kind == "update"
    said = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id][-1]
    assert "Rolled back &lt;!here&gt;; watching" in said["text"]


async def test_resolve_through_its_modal_and_not_twice(bot):
    incident = await bot.declare("Checkout is down")
    await bot.slack.click(ActionId.RESOLVE, "1", channel=incident.channel_id)
    await bot.fake.wait_for("views.open", 2)
    view = list(bot.fake.views.values())[-1]
    assert view["callback_id"] == CallbackId.RESOLVE_MODAL
    status, body, _ = await bot.slack.submit(view, {BlockId.RESOLVE_SUMMARY: "Restarted the pods"})
    assert status == 200 and body == ""
    await bot.settle()
    resolved = bot.incidents()[0]
    assert resolved.status == "resolved" and resolved.resolved_at == bot.clock.now()
    # The same form submitted twice is applied once; a second form is refused inside the modal.
    status, body, _ = await bot.slack.submit(view, {BlockId.RESOLVE_SUMMARY: "again"})
    assert status == 200 and body == ""
    status, body, _ = await bot.slack.submit(view, {BlockId.RESOLVE_SUMMARY: "again"}, view_id="V0OTHER")
    assert json.loads(body) == {"response_action": "errors",
                                "errors": {BlockId.RESOLVE_SUMMARY: "INC-1 is already resolved."}}
    assert [e.kind for e in bot.events(incident)].count("resolved") == 1
    assert bot.incidents()[0].resolution == "Restarted the pods"


async def test_buttons_on_an_unknown_incident_explain(bot):
    await bot.slack.click(ActionId.ACKNOWLEDGE, "42")
    await bot.settle()
    assert (await bot.fake.wait_for_response())[-1]["text"] == "There is no INC-42."


async def test_app_home_lists_open_incidents_and_those_you_command(bot):
    await bot.declare("Checkout is down", commander="U0COMMANDER", priority="P0")
    await bot.declare("Search is slow")
    status, _, _ = await bot.slack.event({"type": "app_home_opened", "user": "U0COMMANDER", "channel": "D1",
                                          "tab": "home", "event_ts": "1.1"})
    assert status == 200
    await bot.settle()
    published = (await bot.fake.wait_for("views.publish"))[0]
    assert published["user_id"] == "U0COMMANDER" and published["view"]["type"] == "home"
    text = json.dumps(published["view"]["blocks"])
    assert "Incidents you command* (1)" in text and "INC-1" in text and "INC-2" in text
