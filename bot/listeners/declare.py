"""Declaring: `/incident [declare [title]]`, the message shortcut, the modal and its impact hint."""

from __future__ import annotations

import json
import logging
import re

from slack_sdk.errors import SlackApiError

from bot.domain.incident import (
    TITLE_MAX,
    Declaration,
    Impact,
    Priority,
    clean_title,
    validate_declaration,
)
from bot.listeners import after_ack, forms, say_privately, wired
from bot.runtime.background import Turn
from bot.services import Declaring, Reading
from bot.slack.gateway import slack_error
from bot.slack.ids import ActionId, BlockId
from bot.slack.text import as_int, clean_text, is_channel_id, message_permalink, truncate
from bot.views.incident import declare_modal, rotation_suggestions

log = logging.getLogger(__name__)

_FIELD_BLOCKS = {"title": BlockId.TITLE, "description": BlockId.DESCRIPTION, "priority": BlockId.PRIORITY}


def _metadata(channel_id: str | None, source_url: str | None = None) -> str:
    return json.dumps({k: v for k, v in {"channel": channel_id, "source": source_url}.items() if v})


_PERMALINK = re.compile(r"^https://[a-z0-9][a-z0-9-]{0,62}\.slack\.com/archives/[CGD][A-Z0-9]{2,30}/p[0-9]{6,20}$")


def _read_metadata(raw: str | None) -> dict:
    """What we put in the form's private_metadata, read back as untrusted: a channel id and a Slack permalink,
    or nothing (a forged value never reaches the database or a link)."""
    try:
        data = json.loads(raw or "{}")
    except (ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    channel, source = data.get("channel"), data.get("source")
    return {"channel": channel if is_channel_id(channel) else None,
            "source": source if isinstance(source, str) and _PERMALINK.match(source) else None}


async def open_declare_modal(context, trigger_id: str, channel_id: str | None, respond, title: str = "",
                             description: str = "", source_url: str | None = None) -> None:
    reading: Reading = wired(context).services.reading
    rotations, default_rotation, types = await reading.declare_form_defaults(channel_id)
    view = declare_modal(metadata=_metadata(channel_id, source_url), rotations=rotations, title=title,
                         description=description, rotation_id=default_rotation, types=types)
    try:
        await wired(context).slack.open_view(trigger_id, view)
    except SlackApiError as exc:
        log.warning("could not open the declare modal: %s", slack_error(exc))
        await say_privately(respond, "Slack did not let me open the incident form (it took too long). "
                                     "Please run `/incident` again.")


async def rotation_options(ack, payload, context) -> None:
    """The rotations offered as a person types in the declare form's rotation select (a form lists them all
    itself up to Slack's 100; past that it asks here)."""
    reading: Reading = wired(context).services.reading
    rotations, _, _ = await reading.declare_form_defaults(None)
    typed = payload.get("value")
    await ack(options=rotation_suggestions(rotations, typed if isinstance(typed, str) else ""))


async def declare_from_message(ack, shortcut, context, respond) -> None:
    await ack()
    message = shortcut.get("message") or {}
    channel, team = shortcut.get("channel"), shortcut.get("team")  # objects, or (said to be) bare ids
    channel_id = channel.get("id") if isinstance(channel, dict) else channel
    body = clean_text(message.get("text"))
    first_line = clean_title(body.splitlines()[0] if body.strip() else "")
    domain = team.get("domain") if isinstance(team, dict) else None
    has_link = domain and channel_id and message.get("ts")
    source = message_permalink(domain, channel_id, message["ts"]) if has_link else None
    description = body + (f"\n\nFrom a message by <@{message['user']}>" if message.get("user") else "")
    after_ack(context, open_declare_modal(context, shortcut["trigger_id"], channel_id, respond,
                                          title=truncate(first_line, TITLE_MAX), description=description.strip(),
                                          source_url=source), "declare-modal", Turn.FORM)


def _declaration(values: dict, user_id: str, view: dict) -> tuple[Declaration | None, dict[str, str]]:
    title = clean_title(forms.text(values, BlockId.TITLE, ActionId.TITLE))
    description = forms.text(values, BlockId.DESCRIPTION, ActionId.DESCRIPTION).strip()
    priority = forms.selected(values, BlockId.PRIORITY, ActionId.PRIORITY) or Priority.P1.value
    errors = validate_declaration(title, description, priority)
    if errors:
        return None, {_FIELD_BLOCKS[field]: message for field, message in errors.items()}
    impacts = frozenset(Impact(v) for v in forms.checked(values, BlockId.IMPACT, ActionId.IMPACT)
                        if v in Impact._value2member_map_)
    rotation = forms.selected(values, BlockId.ROTATION, ActionId.ROTATION)
    meta = _read_metadata(view.get("private_metadata"))
    return Declaration(
        title=title, description=description, priority=Priority(priority), impacts=impacts,
        reporter_id=user_id, commander_id=forms.user(values, BlockId.COMMANDER, ActionId.COMMANDER),
        rotation_id=as_int(rotation), type_name=forms.selected(values, BlockId.TYPE, ActionId.TYPE),
        declared_in_channel=meta.get("channel"), source_url=meta.get("source"),
        declare_key=f"view:{view['id']}" if view.get("id") else None,
    ), {}


async def declare_submitted(ack, body, view, context) -> None:
    declaring: Declaring = wired(context).services.declaring
    declaration, errors = _declaration(view["state"]["values"], body["user"]["id"], view)
    if declaration is None:
        await ack(response_action="errors", errors=errors)
        return
    await declaring.accept(declaration)  # stored before the ack; declared right after the acks
    await ack()
    wired(context).services.outbox.flush_after_acks(name="declare")


async def impact_changed(ack, body, context) -> None:
    """A "yes" to an impact question re-renders the modal so the priority hint suggests P0."""
    await ack()
    after_ack(context, _rerender(body, context), "declare-hint", Turn.FORM)


async def _rerender(body: dict, context) -> None:
    view = body["view"]
    values = view["state"]["values"]
    impacts = frozenset(Impact(v) for v in forms.checked(values, BlockId.IMPACT, ActionId.IMPACT)
                        if v in Impact._value2member_map_)
    priority = forms.selected(values, BlockId.PRIORITY, ActionId.PRIORITY)
    rotation = forms.selected(values, BlockId.ROTATION, ActionId.ROTATION)
    reading: Reading = wired(context).services.reading
    meta = _read_metadata(view.get("private_metadata"))
    rotations, default_rotation, types = await reading.declare_form_defaults(meta.get("channel"))
    updated = declare_modal(
        metadata=view.get("private_metadata") or "", rotations=rotations, types=types,
        type_name=forms.selected(values, BlockId.TYPE, ActionId.TYPE),
        title=forms.text(values, BlockId.TITLE, ActionId.TITLE),
        description=forms.text(values, BlockId.DESCRIPTION, ActionId.DESCRIPTION),
        priority=Priority(priority) if priority in Priority._value2member_map_ else Priority.P1, impacts=impacts,
        commander_id=forms.user(values, BlockId.COMMANDER, ActionId.COMMANDER),
        rotation_id=as_int(rotation) or default_rotation)
    try:
        await wired(context).slack.update_view(view["id"], updated, view.get("hash"))
    except SlackApiError as exc:  # hash_conflict: the person changed the form again; the newer render wins
        log.info("declare modal not re-rendered: %s", slack_error(exc))
