"""`app_home_opened`: publish the Home tab for the person who opened it (and again after they act on it)."""

from __future__ import annotations

from bot.listeners import after_ack
from bot.services import IncidentService
from bot.views.home import home

_HOME_INCIDENTS = 20


async def home_opened(event, context) -> None:
    if event.get("tab") not in (None, "home"):
        return
    after_ack(context, publish_home(context, event["user"]), "home")


async def publish_home(context, user: str) -> None:
    incidents: IncidentService = context["incidents"]
    rotations = incidents.rotations_of(user) or incidents.rotations()[:5]
    plans = [incidents.plan(r, shifts=1) for r in rotations]
    open_incidents, total = incidents.list(open_only=True, limit=_HOME_INCIDENTS)
    commanded = incidents.commanded_by(user)
    await incidents.slack.publish_home(user, home(user, plans, commanded, open_incidents, total))
