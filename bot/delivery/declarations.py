"""Delivering a stored declaration (bot/services/declaring.py): it is declared in the claim's own database job,
and what the incident owes Slack (its set-up, its first page) was queued with it, so the engine's next pass sends
it, pages first. Nothing to call here."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from bot.db.models import Delivery
from bot.delivery.engine import DeliveryEngine, Sent
from bot.services.declaring import DECLARE_KIND
from bot.services.outcomes import Declared


def deliver_declarations(engine: DeliveryEngine, declare_stored: Callable[[Session, Delivery], Declared]) -> None:
    async def declared(_delivery: Delivery, _payload: dict, _declared: Declared) -> Sent:
        return Sent()

    engine.register(DECLARE_KIND, declared, prepare=declare_stored)
