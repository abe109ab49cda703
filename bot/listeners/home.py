"""`app_home_opened`: publish the Home tab for the person who opened it."""

from __future__ import annotations

from bot.listeners import after_ack
from bot.services import IncidentService
from bot.views.home import home


async def home_opened(event, context) -> None:
    if event.get("tab") not in (None, "home"):
        return
    after_ack(context, _publish(event, context), "home")


async def _publish(event: dict, context) -> None:
    incidents: IncidentService = context["incidents"]
    user = event["user"]
    open_incidents, total = incidents.list(open_only=True)
    commanded = incidents.commanded_by(user)
    await incidents.slack.publish_home(user, home(user, commanded, open_incidents, total))
