"""The summary message's buttons and the modals behind them: acknowledge, take command, post update, resolve.

Buttons act on the incident number they carry. Whether the person may change it is checked before a modal
opens (nobody fills in a form only to be refused) and again when it is submitted.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.db.models import Incident
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.listeners import after_ack, forms, off_loop, request_key, say_privately, wired
from bot.runtime.background import Turn
from bot.services import Click, Handoffs, Paging, Resolution, Working
from bot.slack.gateway import slack_error
from bot.slack.ids import ActionId, BlockId
from bot.slack.text import as_int
from bot.views import handoff as handoff_views
from bot.views import incident as views

log = logging.getLogger(__name__)


def action_number(action: dict) -> int:
    value = action.get("value") or ""
    return as_int(value) or 0


def action_key(body: dict) -> str | None:
    action = (body.get("actions") or [{}])[0]
    action = action if isinstance(action, dict) else {}
    return request_key("action", body.get("trigger_id"), body["user"]["id"], action.get("action_id"),
                       action.get("value"), action.get("action_ts"))


def _acting_button(method: str):
    """A button that changes the incident: `Working.<method>(number or page id, user, key)`, through a stored
    click (bot/services/clicks.py).

    The click is stored before the ack: Slack never resends a click it got a 200 for, so a process that died
    between the ack and the write would lose it silently. Storing it is one INSERT; the change and the answer
    follow right after the acks (pages they stop go first), and the tick delivers what a dead process left."""
    async def handler(ack, body, action, context) -> None:
        click = Click(method=method, target=action_number(action), user=body["user"]["id"], key=action_key(body),
                      response_url=body.get("response_url"), from_home=(body.get("view") or {}).get("type") == "home")
        await wired(context).services.clicks.accept(click)
        await ack()
        wired(context).services.outbox.flush_after_acks(name=f"click-{method}")
    return handler


acknowledge = _acting_button("acknowledge")
take_command = _acting_button("take_command")
acknowledge_page = _acting_button("acknowledge_page")  # a page's DM or `@here`


async def escalate_page(ack, body, action, context, respond) -> None:
    """Stored before the ack, like the other buttons that change something (see `_acting_button`)."""
    paging: Paging = wired(context).services.paging
    user = body["user"]["id"]
    try:
        page = await off_loop(context, paging.escalate_page, action_number(action), user)
        whom = f"<@{page.target_user_id}>" if page.target_user_id else "the rotation's channel"
        answer = f"Escalated: paging {whom} instead."
    except UserError as exc:
        answer = str(exc)
    await ack()
    after_ack(context, say_privately(respond, answer, context=context, user=user), "escalate-page")


async def open_modal(ack, body, action, context, respond) -> None:
    """Post update / Resolve: open the matching modal for the incident on the button."""
    await ack()
    after_ack(context, _open_from_button(body, action, context, respond), "incident-modal", Turn.FORM)


async def _open_from_button(body: dict, action: dict, context, respond) -> None:
    which = {ActionId.POST_UPDATE: "update", ActionId.RESOLVE: "resolve",
             ActionId.HANDOFF_NOTE: "handoff note"}[action["action_id"]]
    try:
        incident = await off_loop(context, wired(context).services.working.ensure_changeable, action_number(action),
                                  body["user"]["id"], "resolve" if which == "resolve" else "update")
    except UserError as exc:
        await say_privately(respond, str(exc), context=context, user=body["user"]["id"])
        return
    await open_incident_modal(context, body["trigger_id"], incident, which, respond)


async def open_incident_modal(context, trigger_id: str, incident: Incident, which: str, respond,
                              text: str = "") -> None:
    published = which == "resolve" and await off_loop(context, wired(context).services.status_page.is_published,
                                                      incident.id)
    builders = {"update": lambda: views.update_modal(incident, text), "resolve": lambda: views.resolve_modal(
        incident, text, published), "handoff note": lambda: handoff_views.note_modal(incident)}
    view = builders[which]()
    try:
        await wired(context).slack.open_view(trigger_id, view)
    except SlackApiError as exc:
        log.warning("could not open the %s modal: %s", which, slack_error(exc))
        await say_privately(respond, f"Slack did not let me open the form for {incident_ref(incident.number)} "
                                     "(it took too long). Please try again.")


def _modal_number(view: dict) -> int:
    meta = view.get("private_metadata") or ""
    return as_int(meta) or 0


def _view_key(view: dict) -> str | None:
    return f"view:{view['id']}" if view.get("id") else None


async def _apply_form(ack, context, block: BlockId, apply) -> None:
    """A form is closed when its change is stored; otherwise it stays open with the reason under `block`."""
    try:
        await off_loop(context, apply)
    except UserError as exc:
        await ack(response_action="errors", errors={block: str(exc)})
        return
    await ack()


async def update_submitted(ack, body, view, context) -> None:
    working: Working = wired(context).services.working
    text = forms.text(view["state"]["values"], BlockId.UPDATE_TEXT, ActionId.UPDATE_TEXT)
    await _apply_form(ack, context, BlockId.UPDATE_TEXT, lambda: working.post_update(
        _modal_number(view), body["user"]["id"], text, _view_key(view)))


async def resolve_submitted(ack, body, view, context) -> None:
    working: Working = wired(context).services.working
    values = view["state"]["values"]
    rollback = forms.selected(values, BlockId.ROLLBACK, ActionId.ROLLBACK)
    resolution = Resolution(
        summary=forms.text(values, BlockId.RESOLVE_SUMMARY, ActionId.RESOLVE_SUMMARY),
        needed_rollback={"yes": True, "no": False}.get(rollback or ""),
        follow_ups=tuple(forms.text(values, BlockId.FOLLOW_UPS, ActionId.FOLLOW_UPS).splitlines()))
    public = forms.text(values, BlockId.PUBLIC_MESSAGE, ActionId.PUBLIC_MESSAGE)
    pages = wired(context).services.status_page

    def resolve():
        changed = working.resolve(_modal_number(view), body["user"]["id"], resolution, _view_key(view))
        if public:  # its public resolution, right after (also when this form was applied before and that part failed)
            pages.resolve_public(changed.incident.number, body["user"]["id"], public, _view_key(view))
        return changed
    await _apply_form(ack, context, BlockId.RESOLVE_SUMMARY, resolve)


async def handoff_note_submitted(ack, body, view, context) -> None:
    working: Working = wired(context).services.working
    text = forms.text(view["state"]["values"], BlockId.HANDOFF_NOTE, ActionId.HANDOFF_NOTE_TEXT)
    await _apply_form(ack, context, BlockId.HANDOFF_NOTE, lambda: working.add_handoff_note(
        _modal_number(view), body["user"]["id"], text, _view_key(view)))


async def hand_over(ack, body, action, context, respond) -> None:
    """The digest's "Hand over my incidents": command moves from the outgoing to the incoming primary — stored
    before the ack, like the other buttons that change something (see `_acting_button`)."""
    handoffs: Handoffs = wired(context).services.handoffs
    user = body["user"]["id"]
    rotation, outgoing, incoming = [*(action.get("value") or "").split(":"), "", "", ""][:3]
    try:
        if as_int(rotation) is None or not outgoing or not incoming:
            raise UserError("This button is out of date; run `/incident handoff` for a fresh digest.")
        moved, refused = await off_loop(context, handoffs.hand_over, as_int(rotation) or 0, outgoing, incoming, user)
        lines = [f"Handed over to <@{incoming}>: {', '.join(incident_ref(n) for n in moved)}."] if moved else []
        answer = "\n".join(lines + [f"Not handed over: {why}" for why in refused])
    except UserError as exc:
        answer = str(exc)
    await ack()
    after_ack(context, say_privately(respond, answer, context=context, user=user), "hand-over")
