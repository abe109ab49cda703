"""The status page's mails (bot/services/status_subscribers.py) sent through NOTIFY_EMAIL_URL, each with the
subscriber's unsubscribe link. A subscriber gone meanwhile is owed nothing; a refusal for good is dropped; a mail
server down is tried again, as every delivery is."""

from __future__ import annotations

import json

from sqlmodel import Session

from bot.config import Settings
from bot.db.models import Delivery
from bot.db.status_models import StatusSubscriber
from bot.delivery.kinds import Drop, Unavailable
from bot.delivery.providers import Providers


class StatusMails:
    def __init__(self, settings: Settings, providers: Providers) -> None:
        self.settings, self.providers = settings, providers

    @staticmethod
    def read(session: Session, delivery: Delivery) -> StatusSubscriber:
        payload = json.loads(delivery.payload)
        found = session.get(StatusSubscriber, payload.get("subscriber_id"))
        if found is None or found.token != payload.get("token"):
            raise Drop("unsubscribed")
        return found

    async def send(self, delivery: Delivery, payload: dict, subscriber: StatusSubscriber) -> None:
        if "email" not in self.providers.kinds:
            raise Drop("NOTIFY_EMAIL_URL is not set")
        unsubscribe = f"{self.settings.public_url}/status/unsubscribe/{subscriber.token}"
        answer = await self.providers.send("email", subscriber.email, payload["subject"],
                                           f"{payload['body']}\n\n--\nUnsubscribe: {unsubscribe}")
        if answer.sent:
            return
        if answer.permanent:
            raise Drop(answer.reason)
        raise Unavailable(answer.reason)
