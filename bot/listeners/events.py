"""Slack's events about incident channels: messages (new, edited, deleted), TIMELINE_EMOJI reactions added and
removed, and pins — handed to the capture service (bot/services/capture.py); members joining and leaving — who may
see a private incident (bot/services/visibility.py). Bolt acks events at once; a field
that is not what Slack sends (an id of the wrong shape, a ts that is not one) makes the event ignored, never an
error."""

from __future__ import annotations

from bot.listeners import off_loop, wired
from bot.services.capture import PIN, Said, is_ts
from bot.slack.text import is_channel_id, is_user_id


def _user(value) -> str | None:
    return value if is_user_id(value) else None


def _said(channel, message: dict) -> Said | None:
    ts, thread_ts, text = message.get("ts"), message.get("thread_ts"), message.get("text")
    if not is_channel_id(channel) or not is_ts(ts):
        return None
    return Said(channel, ts, _user(message.get("user")), text if isinstance(text, str) else "",
                thread_ts if is_ts(thread_ts) else None)


async def message(event, context) -> None:
    subtype, channel = event.get("subtype"), event.get("channel")
    deleted = False
    if subtype == "message_changed":
        inner = event.get("message")
        said = _said(channel, inner) if isinstance(inner, dict) else None
    elif subtype == "message_deleted":
        previous = event.get("previous_message")
        previous = previous if isinstance(previous, dict) else {}
        said = _said(channel, {**previous, "ts": event.get("deleted_ts")})
        deleted = True
    elif subtype in (None, "thread_broadcast", "file_share", "me_message"):
        said = _said(channel, event)
    else:
        return  # joins, topic changes, …: not what anyone said
    if said is not None:
        await off_loop(context, lambda: wired(context).services.capture.heard(said, deleted=deleted))


async def user_change(event, context) -> None:
    """A person deactivated in the workspace (`user.deleted`) loses their web sessions at once; the board also asks
    Slack now and then (bot/http/sign_in.py), for an event that never came."""
    user = event.get("user")
    if isinstance(user, dict) and user.get("deleted") is True and is_user_id(user.get("id")):
        await off_loop(context, wired(context).services.people.deactivated, user["id"])


async def _reaction(event, context, on: bool) -> None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return
    who, event_ts = _user(event.get("user")), event.get("event_ts")
    if event.get("reaction") != wired(context).settings.timeline_emoji or who is None or not is_ts(event_ts):
        return
    channel, ts = item.get("channel"), item.get("ts")
    await off_loop(context, lambda: wired(context).services.capture.marked(channel, ts, who, event_ts, on,
                                                              author=_user(event.get("item_user"))))


async def reaction_added(event, context) -> None:
    await _reaction(event, context, True)


async def reaction_removed(event, context) -> None:
    await _reaction(event, context, False)


async def pin_added(event, context) -> None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message" or not isinstance(item.get("message"), dict):
        return
    user, event_ts = _user(event.get("user")), event.get("event_ts")
    if user and user == wired(context).slack.bot_user_id:
        return  # the bot pins each incident's summary: that is not news for its timeline
    said = _said(event.get("channel_id") or item.get("channel"), item["message"])
    if said is not None and is_ts(event_ts):
        capture = wired(context).services.capture
        await off_loop(context, lambda: capture.marked(said.channel_id, said.ts, PIN, event_ts, True,
                                                       author=said.user_id, said=said))


async def member_joined_channel(event, context) -> None:
    """Who is in a private incident's channel decides who may see it (bot/services/visibility.py)."""
    user, channel = _user(event.get("user")), event.get("channel")
    if user and is_channel_id(channel):
        await off_loop(context, wired(context).services.visibility.joined, channel, user)


async def member_left_channel(event, context) -> None:
    user, channel = _user(event.get("user")), event.get("channel")
    if user and is_channel_id(channel):
        await off_loop(context, wired(context).services.visibility.left, channel, user)
