"""A click on a button that changes an incident (Acknowledge, Take command, a page's Acknowledge) is stored before
its ack as a delivery of its own, and applied right after the acks by whichever process delivers next.

Storing it is one short INSERT, so a burst of clicks is acknowledged about as fast as a bare Bolt app acks; the
change itself (the incident's row lock, its timeline event, what it owes Slack) follows in the background. A
process that dies between the ack and the change loses nothing: the click is a stored delivery that the next tick
claims. Its request key makes a click applied twice (Slack's retry, a takeover after a lapsed lease) count once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Delivery
from bot.delivery.kinds import Kind, click_lane
from bot.domain.errors import UserError
from bot.services.outcomes import Changed
from bot.services.working import Working

# What each button does (a Working method taking the number or page id on the button, the user and the request
# key), and what its presser is told when it changed nothing.
BUTTONS = {"acknowledge": "was already acknowledged.", "take_command": "is already commanded by you.",
           "acknowledge_page": "was already acknowledged."}


@dataclass(frozen=True)
class Click:
    method: str
    target: int  # the incident number, or the page id for a page's button
    user: str
    key: str | None  # the request key: the same click delivered again changes nothing
    response_url: str | None  # where the presser is answered; none on the App Home (a DM instead)
    from_home: bool  # pressed on the App Home tab, which is published again afterwards

    @property
    def unchanged(self) -> str:
        return BUTTONS[self.method]


class Clicks:
    def __init__(self, db: repo.database.Database, clock: Clock, working: Working) -> None:
        self.db, self.clock, self.working = db, clock, working

    async def accept(self, click: Click) -> None:
        """Before the ack: stored (committed) when this returns."""
        if click.method not in BUTTONS:
            raise ValueError(f"no button does {click.method!r}")
        await self.db.queue_before_ack(repo.deliveries.delivery_row(lane=click_lane(click.user), kind=Kind.CLICK,
                                                                    payload=json.dumps(click.__dict__),
                                                                    now=self.clock.now()))

    def apply(self, _session: Session, delivery: Delivery) -> tuple[Click, Changed | UserError]:
        """The change the click asks for, in its own transaction (the delivery's claim is already committed)."""
        click = Click(**json.loads(delivery.payload))
        try:
            return click, getattr(self.working, click.method)(click.target, click.user, click.key)
        except UserError as exc:
            return click, exc
