"""What Slack shows of the status page: the publish form (`status publish [INC-n]`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Incident
from bot.domain.incident import incident_ref
from bot.domain.status_page import LABEL, OUTAGES
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.text import truncate
from bot.views.incident import _option, plain


def publish_modal(incident: Incident, components: Sequence[str]) -> dict:
    """Public title (the internal one to start from: edit it for customers), the components and their state, and
    the first public message. Nothing internal goes out unless someone writes it here."""
    blocks: list[dict] = [
        {"type": "input", "block_id": BlockId.PUBLIC_TITLE, "label": plain("Public title"),
         "hint": plain("What customers read: say it in their words, without internal names."),
         "element": {"type": "plain_text_input", "action_id": ActionId.PUBLIC_TITLE, "max_length": 150,
                     "initial_value": truncate(incident.title, 150)}},
    ]
    if components:
        blocks.append({"type": "input", "block_id": BlockId.PUBLIC_COMPONENTS, "optional": True,
                       "label": plain("Affected components"),
                       "element": {"type": "multi_static_select", "action_id": ActionId.PUBLIC_COMPONENTS,
                                   "placeholder": plain("Components"),
                                   "options": [_option(name, name) for name in components[:100]]}})
    blocks += [
        {"type": "input", "block_id": BlockId.PUBLIC_STATE, "label": plain("Their state"),
         "element": {"type": "static_select", "action_id": ActionId.PUBLIC_STATE,
                     "options": [_option(LABEL[s], s) for s in OUTAGES],
                     "initial_option": _option(LABEL[OUTAGES[1]], OUTAGES[1])}},
        {"type": "input", "block_id": BlockId.PUBLIC_MESSAGE, "label": plain("Public message"),
         "element": {"type": "plain_text_input", "action_id": ActionId.PUBLIC_MESSAGE, "multiline": True,
                     "max_length": 3000, "placeholder": plain("What customers see, what we are doing, when we "
                                                              "will say more.")}},
    ]
    return {"type": "modal", "callback_id": CallbackId.STATUS_PUBLISH_MODAL,
            "title": plain(f"Publish {incident_ref(incident.number)}", 24), "submit": plain("Publish", 24),
            "close": plain("Cancel", 24), "private_metadata": str(incident.number), "blocks": blocks}
