"""Delivering a stored declaration (bot/services/declaring.py): in the job that claims it, the incident is declared
and the same delivery becomes the incident's set-up (the claim, the incident and what the set-up reads commit in
one transaction); the handler then sends the first page, if any, and goes on with the set-up at once, under the
same claim — one delivery, claimed once, from the form to the channel. A form delivered twice declares once: the
second meets declare_key's unique index and is dropped. Should the process die mid-way, the row is a `setup`
delivery like any other and is resumed as one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Delivery, Incident
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.setup import Fresh, IncidentSetup, Surroundings


class Declared(Fresh, Protocol):
    """What declaring a stored declaration hands back (bot/services/outcomes.py): `paged` (Fresh) and its incident."""

    @property
    def incident(self) -> Incident: ...


@dataclass(frozen=True)
class DeclaredHere:
    pages: list[Delivery]  # the first page, stored with the incident: it goes before the set-up (unless something
    # queued earlier in its lane must go first; then the engine's next pass sends it, page lanes first)
    setup: tuple[Incident, Surroundings]  # what the set-up reads before its steps


DeclareStored = Callable[[Session, Delivery, Callable[[Session, Declared], DeclaredHere]], DeclaredHere]


class Declarations:
    """`declare_stored`: declares the incident a stored declaration asks for (bot/services/declaring.py), then reads
    what its delivery goes on with, in the same transaction."""

    def __init__(self, engine: DeliveryEngine, declare_stored: DeclareStored, setup: IncidentSetup) -> None:
        self.engine, self.declare_stored, self.setup = engine, declare_stored, setup

    def prepare(self, session: Session, delivery: Delivery) -> DeclaredHere:
        def read(session: Session, declared: Declared) -> DeclaredHere:
            delivery.incident_id = declared.incident.id  # as stored: its outcome is about this incident
            pages = repo.deliveries.pages_first_in_lane(session=session, incident_id=declared.incident.id) \
                if declared.paged else []
            return DeclaredHere(pages, self.setup.prepare(session, delivery, declared))
        return self.declare_stored(session, delivery, read)

    async def deliver(self, delivery: Delivery, payload: dict, prepared: DeclaredHere) -> Sent | None:
        for page in prepared.pages:
            await self.engine.deliver_now(page)
        return await self.setup.setup(delivery, payload, prepared.setup)
