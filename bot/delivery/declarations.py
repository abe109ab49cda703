"""Delivering a stored declaration (bot/services/declaring.py): in the job that claims it, the incident is declared
and the same delivery becomes the incident's set-up (the claim, the incident and what the set-up reads commit in
one transaction); the handler then sends the first page, if any, and goes on with the set-up at once, under the
same claim — one delivery, claimed once, from the form to the channel. A form delivered twice declares once: the
second meets declare_key's unique index and is dropped. Should the process die mid-way, the row is a `setup`
delivery like any other and is resumed as one."""

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


DeclareStored = Callable[[Session, Delivery, Callable[[Session, Declared], DeclaredHere]], DeclaredHere]


def deliver_declarations(engine: DeliveryEngine, declare_stored: DeclareStored, setup: IncidentSetup) -> None:
    def prepare(session: Session, delivery: Delivery) -> DeclaredHere:
        def read(session: Session, declared: Declared) -> DeclaredHere:
            delivery.incident_id = declared.incident.id  # as stored: its outcome is about this incident
            pages = repo.pages_first_in_lane(session=session, incident_id=declared.incident.id) \
                if declared.paged else []
            return DeclaredHere(pages, setup.prepare(session, delivery))
        return declare_stored(session, delivery, read)

    async def deliver(delivery: Delivery, payload: dict, prepared: DeclaredHere) -> Sent | None:
        for page in prepared.pages:
            await engine.deliver_now(page)
        return await setup.setup(delivery, payload, prepared.setup)

    engine.register(DECLARE_KIND, deliver, prepare=prepare)
