"""The summary message's buttons and the modals they open: acknowledge, post update, take command, resolve."""

from __future__ import annotations

from bot.domain.incident import incident_ref
from bot.ids import ActionId, BlockId
from bot.listeners import forms
from bot.services import IncidentService, UserError
from bot.slack_text import escape
from bot.views import incident as views


def _number(action: dict) -> int | None:
    value = action.get("value") or ""
    return int(value) if value.isdigit() else None


async def _say_privately(respond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def acknowledge(ack, body, action, context, respond) -> None:
    await ack()
    incidents: IncidentService = context["incidents"]
    user = body["user"]["id"]
    try:
        result = incidents.acknowledge(_number(action) or 0, user)
    except UserError as exc:
        await _say_privately(respond, str(exc))
        return
    ref = incident_ref(result.incident.number)
    if not result.changed:
        await _say_privately(respond, f"{ref} was already acknowledged.")
        return
    commander = result.incident.commander_id
    incidents.tell_incident_later(
        result.incident, f":eyes: <@{user}> acknowledged {ref}."
        + (" They are the commander." if commander == user else ""), refresh=True)


async def take_command(ack, body, action, context, respond) -> None:
    await ack()
    incidents: IncidentService = context["incidents"]
    user = body["user"]["id"]
    try:
        result = incidents.take_command(_number(action) or 0, user)
    except UserError as exc:
        await _say_privately(respond, str(exc))
        return
    if not result.changed:
        await _say_privately(respond, f"You already command {incident_ref(result.incident.number)}.")
        return
    incidents.tell_incident_later(
        result.incident, f":firefighter: <@{user}> took command of {incident_ref(result.incident.number)}.",
        refresh=True)


async def open_modal(ack, body, action, context, respond) -> None:
    """Post update / Resolve: open the matching modal for the incident on the button."""
    await ack()
    incidents: IncidentService = context["incidents"]
    try:
        incident = incidents.get(_number(action) or 0)
    except UserError as exc:
        await _say_privately(respond, str(exc))
        return
    builder = views.update_modal if action["action_id"] == ActionId.POST_UPDATE else views.resolve_modal
    await incidents.slack.open_view(body["trigger_id"], builder(incident))


def _modal_number(view: dict) -> int:
    meta = view.get("private_metadata") or ""
    return int(meta) if meta.isdigit() else 0


async def update_submitted(ack, body, view, context) -> None:
    incidents: IncidentService = context["incidents"]
    user = body["user"]["id"]
    text = forms.text(view["state"]["values"], BlockId.UPDATE_TEXT, ActionId.UPDATE_TEXT)
    try:
        result = incidents.post_update(_modal_number(view), user, text)
    except UserError as exc:
        await ack(response_action="errors", errors={BlockId.UPDATE_TEXT: str(exc)})
        return
    await ack()
    incidents.tell_incident_later(
        result.incident, f":memo: *Update on {incident_ref(result.incident.number)}* from <@{user}>:\n{escape(text)}",
        refresh=False)


async def resolve_submitted(ack, body, view, context) -> None:
    incidents: IncidentService = context["incidents"]
    user = body["user"]["id"]
    summary = forms.text(view["state"]["values"], BlockId.RESOLVE_SUMMARY, ActionId.RESOLVE_SUMMARY)
    try:
        result = incidents.resolve(_modal_number(view), user, summary)
    except UserError as exc:
        await ack(response_action="errors", errors={BlockId.RESOLVE_SUMMARY: str(exc)})
        return
    await ack()
    incidents.tell_incident_later(
        result.incident, f":white_check_mark: <@{user}> resolved {incident_ref(result.incident.number)}:\n"
        f"{escape(summary.strip())}", refresh=True)
