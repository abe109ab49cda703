"""The App Home tab. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Incident
from bot.views.incident import incident_list, mrkdwn, plain


def home(user_id: str, commanded: Sequence[Incident], open_incidents: Sequence[Incident],
         open_total: int) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": plain("Firefighter")},
        {"type": "section", "text": mrkdwn("Type `/incident` anywhere to declare an incident, "
                                           "`/incident help` for everything else.")},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn(f"*Incidents you command* ({len(commanded)})")},
    ]
    if commanded:
        blocks += incident_list(commanded, len(commanded))[1][1:]
    else:
        blocks.append({"type": "context", "elements": [mrkdwn("None right now.")]})
    blocks += [{"type": "divider"}, *incident_list(open_incidents, open_total)[1]]
    return {"type": "home", "blocks": blocks[:100]}
