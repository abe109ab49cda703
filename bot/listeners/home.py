"""`app_home_opened`: publish the Home tab for the person who opened it (and again after they act on it)."""

from __future__ import annotations

from bot.listeners import after_ack, off_loop
from bot.services import Reading, Rotations
from bot.views.home import home

_HOME_INCIDENTS = 20


async def home_opened(event, context) -> None:
    if event.get("tab") not in (None, "home"):
        return
    after_ack(context, publish_home(context, event["user"]), "home")


async def publish_home(context, user: str) -> None:
    await context["slack"].publish_home(user, await off_loop(context, home_view, context["rotations"],
                                                             context["reading"], user))


def home_view(rotations: Rotations, reading: Reading, user: str) -> dict:
    theirs = rotations.rotations_of(user) or rotations.all()[:5]
    plans = rotations.plans(theirs, shifts=1)
    open_incidents, total = reading.list(open_only=True, limit=_HOME_INCIDENTS)
    return home(user, plans, reading.commanded_by(user), open_incidents, total)
