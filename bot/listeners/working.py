"""The summary message's buttons and the modals they open: acknowledge, post update, take command, resolve."""

from __future__ import annotations

from bot.domain.incident import incident_ref
from bot.ids import ActionId, BlockId
from bot.listeners import after_ack, forms, say_privately
from bot.services import Changed, IncidentService, UserError
from bot.slack_text import escape
from bot.views import incident as views


def _number(action: dict) -> int:
    value = action.get("value") or ""
    return int(value) if value.isdigit() else 0


async def acknowledge(ack, body, action, context, respond) -> None:
    await ack()
    user = body["user"]["id"]

    def announce(result: Changed) -> str:
        ref = incident_ref(result.incident.number)
        return f":eyes: <@{user}> acknowledged {ref}." + (
            " They are the commander." if result.incident.commander_id == user else "")

    after_ack(context, _change(context, respond, lambda s: s.acknowledge(_number(action), user), announce,
                               "was already acknowledged."), "acknowledge")


async def take_command(ack, body, action, context, respond) -> None:
    await ack()
    user = body["user"]["id"]
    after_ack(context, _change(
        context, respond, lambda s: s.take_command(_number(action), user),
        lambda r: f":firefighter: <@{user}> took command of {incident_ref(r.incident.number)}.",
        "is already commanded by you."), "take-command")


async def _change(context, respond, apply, announce, unchanged: str) -> None:
    incidents: IncidentService = context["incidents"]
    try:
        result = apply(incidents)
    except UserError as exc:
        await say_privately(respond, str(exc))
        return
    if not result.changed:
        await say_privately(respond, f"{incident_ref(result.incident.number)} {unchanged}")
        return
    incidents.tell_incident_later(result.incident, announce(result), refresh=True)


async def open_modal(ack, body, action, context, respond) -> None:
    """Post update / Resolve: open the matching modal for the incident on the button."""
    await ack()
    after_ack(context, _open_modal(body, action, context, respond), "incident-modal")


async def _open_modal(body: dict, action: dict, context, respond) -> None:
    incidents: IncidentService = context["incidents"]
    try:
        incident = incidents.get(_number(action))
    except UserError as exc:
        await say_privately(respond, str(exc))
        return
    builder = views.update_modal if action["action_id"] == ActionId.POST_UPDATE else views.resolve_modal
    await incidents.slack.open_view(body["trigger_id"], builder(incident))


def _modal_number(view: dict) -> int:
    meta = view.get("private_metadata") or ""
    return int(meta) if meta.isdigit() else 0


async def _submitted(ack, body, view, context, block_id: BlockId, action_id: ActionId, apply, announce,
                     refresh: bool) -> None:
    """A one-field modal: apply it to the incident, or show why not inside the modal."""
    incidents: IncidentService = context["incidents"]
    user = body["user"]["id"]
    text = forms.text(view["state"]["values"], block_id, action_id)
    try:
        result = apply(incidents, _modal_number(view), user, text)
    except UserError as exc:
        await ack(response_action="errors", errors={block_id: str(exc)})
        return
    await ack()
    ref = incident_ref(result.incident.number)
    incidents.tell_incident_later(result.incident, announce(ref, user, escape(text.strip())),
                                  refresh=refresh)


async def update_submitted(ack, body, view, context) -> None:
    await _submitted(ack, body, view, context, BlockId.UPDATE_TEXT, ActionId.UPDATE_TEXT, IncidentService.post_update,
                     lambda ref, user, text: f":memo: *Update on {ref}* from <@{user}>:\n{text}", refresh=False)


async def resolve_submitted(ack, body, view, context) -> None:
    await _submitted(ack, body, view, context, BlockId.RESOLVE_SUMMARY, ActionId.RESOLVE_SUMMARY,
                     IncidentService.resolve,
                     lambda ref, user, text: f":white_check_mark: <@{user}> resolved {ref}:\n{text}", refresh=True)
