"""`app_home_opened`: publish the Home tab for the person who opened it (and again after they act on it)."""

from __future__ import annotations

from bot.domain.rotation import ROLES
from bot.listeners import after_ack, off_loop, wired
from bot.services import Contacts, Covers, Reading, Rotations
from bot.views.contacts import contacts_home_blocks
from bot.views.home import MyShift, home

_HOME_INCIDENTS = 20
_MY_SHIFTS = 6
_AHEAD = 8  # shifts looked at for your own


async def home_opened(event, context) -> None:
    if event.get("tab") not in (None, "home"):
        return
    after_ack(context, publish_home(context, event["user"]), "home")


async def publish_home(context, user: str) -> None:
    parts = wired(context)
    services = parts.services
    await parts.slack.publish_home(user, await off_loop(context, home_view, services.rotations, services.reading, user,
                                                        services.covers, services.contacts))


def home_view(rotations: Rotations, reading: Reading, user: str, covers: Covers | None = None,
              contacts: Contacts | None = None) -> dict:
    mine = rotations.rotations_of(user)
    shown = mine or rotations.all()[:5]
    plans = rotations.plans(shown, shifts=_AHEAD if mine else 1, with_gaps=len(shown) <= 3)
    now = rotations.clock.now()
    shifts = [MyShift(plan.rotation, role, max(shift.shift_start, now), shift.shift_end)
              for plan in plans if user in plan.roster for shift in plan.shifts
              for role in ROLES if shift.holder(role) == user][:_MY_SHIFTS]
    requests = covers.open_requests(user) if covers is not None else []
    open_incidents, total = reading.list(open_only=True, viewer=user, limit=_HOME_INCIDENTS)
    mine = contacts.of(user) if contacts is not None else None
    return home(user, plans, reading.commanded_by(user), open_incidents, total, shifts, requests,
                contacts_home_blocks(mine) if mine else [])
