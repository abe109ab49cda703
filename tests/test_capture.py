"""The timeline from the conversation, end to end through signed Events API requests (in the shapes Slack sends):
a message said in the incident's channel, then reacted to with :pushpin:, is on the timeline at its own time by its
author; an edit is followed, a deletion marked, the reaction's removal takes it out, a pin puts it in; Slack's
retries change nothing twice; other channels are not kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from bot.db.models import ChannelMessage, TimelineEvent
from tests.test_paging import with_rotation

SAID_AT = datetime(2026, 11, 25, 12, 3, 0, tzinfo=UTC)
TS = f"{int(SAID_AT.timestamp())}.000200"


def message(channel: str, ts: str, user: str, text: str, thread_ts: str | None = None) -> dict:
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "event_ts": ts,
             "channel_type": "channel", "client_msg_id": f"m-{ts}"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def edited(channel: str, ts: str, user: str, text: str) -> dict:
    return {"type": "message", "subtype": "message_changed", "channel": channel, "hidden": True,
            "ts": "1795570000.000900", "event_ts": "1795570000.000900", "channel_type": "channel",
            "message": {"type": "message", "user": user, "text": text, "ts": ts,
                        "edited": {"user": user, "ts": "1795570000.000900"}},
            "previous_message": {"type": "message", "user": user, "text": "old", "ts": ts}}


def deleted(channel: str, ts: str, user: str) -> dict:
    return {"type": "message", "subtype": "message_deleted", "channel": channel, "hidden": True,
            "deleted_ts": ts, "ts": "1795570100.000100", "event_ts": "1795570100.000100", "channel_type": "channel",
            "previous_message": {"type": "message", "user": user, "text": "whatever", "ts": ts}}


def reaction(kind: str, user: str, channel: str, ts: str, name: str = "pushpin") -> dict:
    return {"type": kind, "user": user, "reaction": name, "item_user": "U0A",
            "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": "1795570200.000100"}


def pinned(user: str, channel: str, said: dict) -> dict:
    return {"type": "pin_added", "user": user, "channel_id": channel,
            "item": {"type": "message", "channel": channel, "created": 1795570300, "created_by": user,
                     "message": {k: v for k, v in said.items() if k != "channel"}},
            "event_ts": "1795570300.000100"}


async def send(bot, event: dict, retry: int | None = None) -> None:
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    status, _, _ = await bot.slack.event(event, extra_headers=headers)
    assert status == 200


def captured(bot) -> list[TimelineEvent]:
    with bot.session() as s:
        return list(s.exec(select(TimelineEvent).where(TimelineEvent.kind == "captured")))


async def until(condition, what: str) -> None:
    for _ in range(200):  # Bolt acks events first and runs their listeners right after
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited for {what}")


async def incident_channel(bot, priority: str = "P1") -> str:
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority=priority, user="U0A")
    return incident.channel_id


async def test_a_pinned_reaction_puts_the_message_on_the_timeline_once_and_follows_it(bot):
    channel = await incident_channel(bot)
    await send(bot, message(channel, TS, "U0B", "Rolled back build 412; errors dropping"))
    await send(bot, message("C0GENERAL", "1795570000.000001", "U0B", "lunch?"))
    await until(lambda: bot.session().exec(select(ChannelMessage)).all(), "the message to be kept")
    await send(bot, reaction("reaction_added", "U0C", channel, TS))
    await send(bot, reaction("reaction_added", "U0C", channel, TS), retry=1)  # Slack's retry
    await send(bot, reaction("reaction_added", "U0A", channel, TS))  # someone else pins it too
    await until(lambda: captured(bot), "the capture")
    await asyncio.sleep(0.2)
    [event] = captured(bot)
    assert (event.actor_id, event.at) == ("U0B", SAID_AT.replace(microsecond=200))
    assert event.text.startswith("Rolled back build 412") and f"/archives/{channel}/p" in event.text
    with bot.session() as s:
        assert [m.channel_id for m in s.exec(select(ChannelMessage))] == [channel], "other channels are not kept"

    await send(bot, edited(channel, TS, "U0B", "Rolled back build 412; errors back to normal"))
    await until(lambda: "back to normal" in captured(bot)[0].text, "the edit")
    status, body, _ = await bot.slack.command("timeline", user="U0A", channel=channel)
    assert status == 200 and "back to normal" in body

    await send(bot, deleted(channel, TS, "U0B"))
    await until(lambda: captured(bot)[0].text.startswith("(deleted in Slack)"), "the deletion")
    await send(bot, reaction("reaction_removed", "U0C", channel, TS))
    await until(lambda: not captured(bot), "the removal")


async def test_a_pin_adds_the_message_and_other_emoji_do_nothing(bot):
    channel = await incident_channel(bot)
    said = message(channel, TS, "U0C", "DB primary failed over at 12:02")
    await send(bot, reaction("reaction_added", "U0C", channel, TS, name="eyes"))
    await send(bot, pinned("U0A", channel, said))
    await until(lambda: captured(bot), "the pin")
    [event] = captured(bot)
    assert event.actor_id == "U0C" and event.text.startswith("DB primary failed over")


async def test_a_message_from_before_the_bot_listened_is_captured_with_a_link(bot):
    channel = await incident_channel(bot)
    await send(bot, reaction("reaction_added", "U0C", channel, TS))
    await until(lambda: captured(bot), "the capture")
    assert captured(bot)[0].text.startswith("(a message from before I was listening")


async def test_captured_messages_are_in_the_analysis_draft_in_time_order(bot):
    channel = await incident_channel(bot, "P0")
    await send(bot, message(channel, TS, "U0B", "Found it: a bad config push"))
    await until(lambda: bot.session().exec(select(ChannelMessage)).all(), "the message")
    await send(bot, reaction("reaction_added", "U0C", channel, TS))
    await until(lambda: captured(bot), "the capture")
    bot.clock.set(datetime(2026, 11, 25, 13, 0, tzinfo=UTC))
    status, body, _ = await bot.slack.command("status INC-1 resolved Reverted the config", user="U0A")
    await bot.settle()
    assert status == 200, body
    [incident] = bot.incidents()
    timeline = incident.postmortem.split("## Timeline", 1)[1].split("## Follow-ups")[0]
    assert timeline.index("declared") < timeline.index("Found it: a bad config push") \
        < timeline.index("Reverted the config"), timeline
