"""`/incident help|list|show|<unknown>` answer ephemerally in the ack; nothing is changed by them."""

from __future__ import annotations

import json

from bot.services import Resolution
from bot.slack.ids import BlockId
from tests.fake_slack import validate_blocks


def reply_of(body: str) -> dict:
    """Bolt acks a text-only answer as plain text, and one with blocks as JSON; Slack shows both ephemerally.

    Blocks are held to Slack's limits here, as Slack would.
    """
    try:
        answer = json.loads(body)
    except ValueError:
        return {"text": body}
    if "blocks" in answer:
        validate_blocks(answer["blocks"], 50)
    return answer


async def test_help(bot):
    status, body, _ = await bot.slack.command("help")
    assert status == 200
    answer = reply_of(body)
    for usage in ("/incident declare", "`list [all|mine|P0|P1|P2]`", "`timeline`", "`stats [days]`",
                  "`responders add|remove @user…`", "`duplicate INC-<m>`", "`status <triaged|in_progress|blocked"):
        assert usage in answer["text"]
    assert answer.get("response_type", "ephemeral") == "ephemeral"


async def test_unknown_subcommand_gets_the_help(bot):
    status, body, _ = await bot.slack.command("frobnicate `now`")
    answer = reply_of(body)
    assert status == 200 and answer["text"].startswith("I don't know `frobnicate`")
    assert "`list [all|mine|P0|P1|P2]`" in answer["text"]
    assert bot.incidents() == [] and bot.fake.calls_to("views.open") == []


async def test_list_when_there_is_nothing(bot):
    status, body, _ = await bot.slack.command("list")
    assert status == 200 and "No open incidents" in reply_of(body)["text"]


async def test_list_shows_open_incidents_and_all(bot):
    await bot.declare("Checkout is down", priority="P0")
    await bot.declare("Docs typo", priority="P2")
    bot.runtime.services.working.resolve(2, "U0REPORTER", Resolution("fixed"))
    _, body, _ = await bot.slack.command("list")
    listing = json.dumps(reply_of(body)["blocks"])
    assert "INC-1" in listing and "INC-2" not in listing and "1 open incidents" in listing
    _, body, _ = await bot.slack.command("list all")
    listing = json.dumps(reply_of(body)["blocks"])
    assert "INC-1" in listing and "INC-2" in listing
    _, body, _ = await bot.slack.command("list everything")
    assert "`list` takes `all`, `mine`, `P0`, `P1`, `P2` or nothing" in reply_of(body)["text"]


async def test_list_of_many_incidents_stays_within_block_kit_limits(bot):
    for n in range(60):
        bot.runtime.services.declaring.declare(__import__("bot.domain.incident", fromlist=["Declaration"]).Declaration(
            title=f"Incident number {n} " + "x" * 120, reporter_id="U0REPORTER"))
    _, body, _ = await bot.slack.command("list")
    answer = reply_of(body)
    assert "60 open incidents" in answer["text"] and "(showing 40)" in json.dumps(answer["blocks"])


async def test_show_an_incident(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    status, body, _ = await bot.slack.command("show INC-1")
    answer = reply_of(body)
    assert status == 200 and answer["blocks"][0]["text"]["text"] == "INC-1: Checkout is down"
    text = json.dumps(answer["blocks"])
    assert "<@U0COMMANDER>" in text and "declared" in text and f"<#{incident.channel_id}>" in text
    assert not any(b["type"] == "actions" for b in answer["blocks"])
    _, body, _ = await bot.slack.command("show inc-1")
    assert reply_of(body)["blocks"][0]["text"]["text"] == "INC-1: Checkout is down"


async def test_show_infers_the_incident_from_its_channel(bot):
    incident = await bot.declare("Checkout is down")
    _, body, _ = await bot.slack.command("show", channel=incident.channel_id)
    assert reply_of(body)["blocks"][0]["text"]["text"] == "INC-1: Checkout is down"
    _, body, _ = await bot.slack.command("show", channel="C0GENERAL")
    assert "Which incident?" in reply_of(body)["text"]


async def test_show_unknown_or_malformed(bot):
    _, body, _ = await bot.slack.command("show INC-99")
    assert reply_of(body)["text"] == "There is no INC-99."
    _, body, _ = await bot.slack.command("show banana")
    assert "Which incident?" in reply_of(body)["text"]


async def test_declare_subcommand_and_bare_command_open_the_modal(bot):
    view = await bot.open_declare("declare")
    assert view["callback_id"] == "declare_incident" and view["title"]["text"] == "Declare an incident"
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL"}
    blocks = [b["block_id"] for b in view["blocks"]]
    assert blocks[:5] == [BlockId.TITLE, BlockId.IMPACT, BlockId.PRIORITY, BlockId.DESCRIPTION, BlockId.COMMANDER]
    priority = view["blocks"][2]["element"]
    assert priority["initial_option"]["value"] == "P1"
    assert [o["value"] for o in priority["options"]] == ["P0", "P1", "P2"]


async def test_expired_trigger_is_explained_and_nothing_is_stored(bot):
    bot.fake.fail("views.open", "expired_trigger_id")
    status, body, _ = await bot.slack.command("")
    assert status == 200 and body == ""
    await bot.fake.wait_for("views.open")
    answer = (await bot.fake.wait_for_response())[0]
    assert "run `/incident` again" in answer["text"] and answer["response_type"] == "ephemeral"
    assert bot.incidents() == []
