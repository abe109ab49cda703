"""The timeline from the conversation, end to end through signed Events API requests (in the shapes Slack sends):
a message said in the incident's channel, then reacted to with :pushpin:, is on the timeline at its own time by its
author; an edit is followed, a deletion marked, the reaction's removal takes it out, a pin puts it in; Slack's
retries change nothing twice; other channels are not kept."""

from __future__ import annotations

import asyncio
import itertools
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


_event_ts = itertools.count(1795570200)


def reaction(kind: str, user: str, channel: str, ts: str, name: str = "pushpin", *, author: str = "U0B",
             event_ts: str | None = None) -> dict:
    """Each event later than the one before, unless a test says when (to deliver them out of order)."""
    return {"type": kind, "user": user, "reaction": name, "item_user": author,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": event_ts or f"{next(_event_ts)}.000100"}


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
    await send(bot, deleted(channel, TS, "U0B"), retry=1)
    await until(lambda: captured(bot)[0].text.startswith("(deleted in Slack)"), "the deletion")
    await send(bot, reaction("reaction_removed", "U0C", channel, TS))
    await asyncio.sleep(0.2)
    assert len(captured(bot)) == 1, "U0A still marks it"
    await send(bot, reaction("reaction_removed", "U0A", channel, TS))
    await until(lambda: not captured(bot), "the removal once nobody marks it")


async def test_a_pin_adds_the_message_and_other_emoji_do_nothing(bot):
    channel = await incident_channel(bot)
    said = message(channel, TS, "U0C", "DB primary failed over at 12:02")
    await send(bot, said)
    await send(bot, reaction("reaction_added", "U0A", channel, TS, name="eyes", author="U0C"))
    await asyncio.sleep(0.3)
    assert captured(bot) == [], "only TIMELINE_EMOJI captures"
    await send(bot, pinned("U0A", channel, said))
    await until(lambda: captured(bot), "the pin")
    [event] = captured(bot)
    assert event.actor_id == "U0C" and event.text.startswith("DB primary failed over")


async def test_a_message_from_before_the_bot_listened_is_captured_with_a_link_and_its_author(bot):
    channel = await incident_channel(bot)
    await send(bot, reaction("reaction_added", "U0C", channel, TS, author="U0B"))
    await until(lambda: captured(bot), "the capture")
    [event] = captured(bot)
    assert event.text.startswith("(a message from before I was listening") and event.actor_id == "U0B"
    assert f"https://fake-workspace.slack.com/archives/{channel}/p{TS.replace('.', '')}" in event.text


async def test_events_out_of_order_and_retried_never_undo_a_later_one(bot):
    channel = await incident_channel(bot)
    await send(bot, message(channel, TS, "U0B", "Cache flushed"))
    await send(bot, message(channel, TS, "U0B", "Cache flushed"), retry=2)  # a retried message changes nothing
    await until(lambda: bot.session().exec(select(ChannelMessage)).all(), "the message")
    added, removed = "1795571000.000100", "1795571005.000100"
    await send(bot, reaction("reaction_removed", "U0C", channel, TS, event_ts=removed))  # it overtook its reaction
    await send(bot, reaction("reaction_added", "U0C", channel, TS, event_ts=added))
    await send(bot, reaction("reaction_added", "U0C", channel, TS, event_ts=added), retry=1)
    await asyncio.sleep(0.3)
    assert captured(bot) == [], "the removal is newer: nothing on the timeline"
    await send(bot, reaction("reaction_added", "U0C", channel, TS, event_ts="1795571010.000100"))  # again, later
    await until(lambda: captured(bot), "the capture")
    with bot.session() as s:
        assert len(s.exec(select(ChannelMessage)).all()) == 1


async def test_events_in_shapes_slack_does_not_send_are_ignored(bot):
    channel = await incident_channel(bot)
    for junk in (message(channel, "1e5", "U0B", "x"), message(channel, TS, "U" + "X" * 60, "x"),
                 reaction("reaction_added", "U" + "Y" * 60, channel, TS),
                 reaction("reaction_added", "U0C", channel, "not-a-ts"),
                 {"type": "pin_added", "user": "U0A", "channel_id": channel, "item": {"type": "message"}},
                 {"type": "message", "subtype": "message_changed", "channel": channel, "message": "text"}):
        await send(bot, junk)
    await asyncio.sleep(0.3)
    with bot.session() as s:
        kept = s.exec(select(ChannelMessage)).all()
    assert [(m.ts, m.user_id) for m in kept] == [(TS, None)], "a message is kept; a user id it cannot be is not"
    assert captured(bot) == []


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
