"""Slack's events about incident channels: messages (new, edited, deleted), TIMELINE_EMOJI reactions added and
removed, and pins — handed to the capture service (bot/services/capture.py). Events are acked by Bolt at once;
whatever shape an event comes in, a field that is not what Slack sends is ignored, never an error."""

from __future__ import annotations

from bot.listeners import off_loop
from bot.services.capture import Said


def _str(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _said(channel, message: dict) -> Said | None:
    ts = _str(message.get("ts"))
    if not _str(channel) or ts is None:
        return None
    return Said(channel, ts, _str(message.get("user")), _str(message.get("text")) or "",
                _str(message.get("thread_ts")))


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
        await off_loop(context, lambda: context["capture"].heard(said, deleted=deleted))


def _item(event) -> tuple[str, str] | None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    channel, ts = _str(item.get("channel")), _str(item.get("ts"))
    return (channel, ts) if channel and ts else None


async def reaction_added(event, context) -> None:
    item = _item(event)
    if item and event.get("reaction") == context["settings"].timeline_emoji:
        await off_loop(context, context["capture"].captured, *item, _str(event.get("user")) or "")


async def reaction_removed(event, context) -> None:
    item = _item(event)
    if item and event.get("reaction") == context["settings"].timeline_emoji:
        await off_loop(context, context["capture"].released, *item)


async def pin_added(event, context) -> None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message" or not isinstance(item.get("message"), dict):
        return
    user = _str(event.get("user")) or ""
    if user and user == context["slack"].bot_user_id:
        return  # the bot pins each incident's summary: that is not news for its timeline
    channel = _str(event.get("channel_id")) or _str(item.get("channel"))
    said = _said(channel, item["message"])
    if said is not None:
        await off_loop(context, context["capture"].captured, said.channel_id, said.ts, user, said)
