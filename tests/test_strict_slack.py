"""The bot against what the real Slack refuses and a lenient fake let through (issue 32; the fake's rules, with
Slack's documentation for each, are in tests/fake_slack.py): someone already in a channel is not invited twice,
an ephemeral reaches only a channel member, message metadata comes back only when asked for."""

from __future__ import annotations

from sqlmodel import select

from bot.db.models import Delivery
from tests.test_lifecycle import run


def failed(bot) -> list[tuple[str, str]]:
    with bot.session() as s:
        return [(d.kind, d.last_error) for d in s.exec(select(Delivery).where(Delivery.state == "failed"))]


async def test_adding_a_responder_who_joined_the_channel_by_themselves(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.channels[incident.channel_id]["members"].add("U0OTHER")  # opened the channel and joined it
    answer = await run(bot, "responders add <@U0OTHER|other>", channel=incident.channel_id)
    assert answer == "Added <@U0OTHER> to the responders of INC-1."
    assert bot.fake.calls_to("conversations.invite")[-1]["users"] == "U0OTHER"
    assert failed(bot) == []  # Slack's `already_in_channel` is what was wanted, not a failure


async def test_adding_two_responders_when_one_is_in_already_invites_the_other(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.add_user("U0NEW")
    bot.fake.channels[incident.channel_id]["members"].add("U0OTHER")
    answer = await run(bot, "responders add <@U0OTHER|other> <@U0NEW|new>", channel=incident.channel_id)
    assert answer == "Added <@U0OTHER>, <@U0NEW> to the responders of INC-1."
    assert "U0NEW" in bot.fake.channels[incident.channel_id]["members"]  # Slack refused the pair; the bot went on
    assert failed(bot) == []


async def test_an_invite_slack_refuses_for_another_reason_still_fails(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.fail("conversations.invite", "cant_invite", times=5)
    await run(bot, "responders add <@U0OTHER|other>", channel=incident.channel_id)
    assert failed(bot) == [("invite", "cant_invite")]


async def test_the_reply_to_a_reporter_outside_the_channel_goes_by_dm(bot):
    """The reporter declared from a channel they are not in (Slack answers `user_not_in_channel` to an ephemeral
    there): the reply comes by DM instead of being lost."""
    bot.fake.add_channel("C0TEAM", "team")  # nobody is a member (only #general holds everyone)
    incident = await bot.declare("Checkout is down", channel="C0TEAM")
    ephemeral = [c for c in bot.fake.calls if c.method == "chat.postEphemeral"]
    assert [c.answer["error"] for c in ephemeral] == ["user_not_in_channel"]
    dm = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0REPORTER"]
    assert len(dm) == 1 and f"INC-{incident.number}" in dm[0]["text"]
