"""Delivering a stored declaration (bot/services/declaring.py): in the job that claims it, the incident is declared
and the same delivery becomes the incident's set-up (in the declaration's own transaction); the handler then sends
the first page, if any, and goes on with the set-up at once, under the same claim — one delivery, claimed once,
from the form to the channel. A form delivered twice declares once: the second finds the incident and has nothing
to do. Should the process die mid-way, the row is a `setup` delivery like any other and is resumed as one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Delivery, Incident
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.setup import IncidentSetup, Surroundings
from bot.services.declaring import DECLARE_KIND
from bot.services.outcomes import Declared


@dataclass(frozen=True)
class DeclaredHere:
    pages: list[Delivery]  # the first page, stored with the incident: it goes before the set-up (unless something
    # queued earlier in its lane must go first; then the engine's next pass sends it, page lanes first)
    setup: tuple[Incident, Surroundings]  # what the set-up reads before its steps


def deliver_declarations(engine: DeliveryEngine, declare_stored: Callable[[Session, Delivery], Declared],
                         setup: IncidentSetup) -> None:
    def prepare(session: Session, delivery: Delivery) -> Declared | DeclaredHere:
        declared = declare_stored(session, delivery)
        if not declared.created:
            return declared
        incident = declared.incident
        delivery.incident_id = incident.id  # as stored: its outcome is about this incident
        pages = repo.pages_first_in_lane(session=session, incident_id=incident.id) if declared.paged else []
        return DeclaredHere(pages, setup.prepare(session, delivery))

    async def deliver(delivery: Delivery, payload: dict, prepared: Declared | DeclaredHere) -> Sent | None:
        if isinstance(prepared, Declared):
            return Sent()  # declared already (a form delivered twice): nothing more to do
        for page in prepared.pages:
            await engine.deliver_now(page)
        return await setup.setup(delivery, payload, prepared.setup)

    engine.register(DECLARE_KIND, deliver, prepare=prepare)
