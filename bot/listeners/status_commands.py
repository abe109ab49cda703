"""`/incident status component|components|publish|update …` (SPEC § Status page) and the publish form. The other
`status <triaged|…>` words move an incident along (bot/listeners/commands.py)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.listeners import after_ack, forms, off_loop, say_privately, wired
from bot.runtime.background import Turn
from bot.slack.gateway import slack_error
from bot.slack.ids import ActionId, BlockId
from bot.slack.text import as_int
from bot.views.status import publish_modal

log = logging.getLogger(__name__)
WORDS = ("component", "components", "publish", "update")


async def status_page(r, word: str, rest: str) -> None:
    """`r`: the command's Request (bot/listeners/commands.py)."""
    pages = r.parts.services.status_page
    if word == "components":
        await r.ack(text=await r.call(pages.components_text))
    elif word == "component":
        await r.ack(text=await r.call(pages.component, r.user, rest))
    elif word == "update":
        result = await r.call(pages.update, await r.number(), r.user, rest, r.key)
        await r.done(result, f"Posted a public update of {incident_ref(result.incident.number)} on the status page.")
    else:
        incident, names = await r.call(pages.form_for, await r.number(), r.user)
        await r.ack()
        after_ack(r.context, _open(r.context, r.command["trigger_id"], publish_modal(incident, names), r.respond),
                  "publish-modal", Turn.FORM)


async def _open(context, trigger_id: str, view: dict, respond) -> None:
    try:
        await wired(context).slack.open_view(trigger_id, view)
    except SlackApiError as exc:
        log.warning("could not open the publish form: %s", slack_error(exc))
        await say_privately(respond, "Slack did not let me open the form (it took too long). Please try again.")


async def publish_submitted(ack, body, view, context) -> None:
    pages = wired(context).services.status_page
    values = view["state"]["values"]
    number = as_int(view.get("private_metadata") or "") or 0
    components = forms.checked(values, BlockId.PUBLIC_COMPONENTS, ActionId.PUBLIC_COMPONENTS)
    try:
        await off_loop(context, pages.publish, number, body["user"]["id"],
                       forms.text(values, BlockId.PUBLIC_TITLE, ActionId.PUBLIC_TITLE), components,
                       forms.selected(values, BlockId.PUBLIC_STATE, ActionId.PUBLIC_STATE) or "",
                       forms.text(values, BlockId.PUBLIC_MESSAGE, ActionId.PUBLIC_MESSAGE),
                       f"view:{view['id']}" if view.get("id") else None)
    except UserError as exc:
        await ack(response_action="errors", errors={BlockId.PUBLIC_MESSAGE: str(exc)})
        return
    await ack()
