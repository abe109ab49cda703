"""The status page's mail subscribers (SPEC § Status page): a subscribe form, double opt-in (nothing but the
confirmation is sent until its link is opened), an unsubscribe link in every mail, per-component choice. Mails go
through NOTIFY_EMAIL_URL and the delivery engine. The form cannot be used to mail-bomb a stranger: an address gets
at most one confirmation a day whatever is asked, a confirmed one none, and each client a few asks per ten minutes;
every ask gets the same answer, so nobody learns whether an address is subscribed. Addresses are shown to nobody."""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.status_models import StatusSubscriber
from bot.delivery.kinds import Kind
from bot.domain.errors import UserError
from bot.services.outbox import Outbox

_EMAIL = re.compile(r"^[^@\s<>\"',;\x00-\x1f\x7f]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
ASK_AGAIN_AFTER = timedelta(days=1)
ASKS_PER_CLIENT, CLIENT_WINDOW = 5, 600.0
CLIENTS_KEPT = 10_000  # the clients remembered (the least recent forgotten): memory stays bounded under a flood
CONFIRMATIONS_PER_HOUR = 200  # by this process, whoever asks: a flood from many addresses stays a trickle
SAID = "If that address can receive mail, a message with a link to confirm is on its way. Nothing else is sent first."


class TooMany(Exception):
    """This client asked too often: answered 429."""


def lane_of(subscriber_id: int) -> str:
    return f"status-mail:{subscriber_id}"


def mail_to(session: Session, outbox: Outbox, subscriber: StatusSubscriber, subject: str, body: str, now) -> None:
    outbox.queue(session, lane=lane_of(subscriber.id), kind=Kind.STATUS_MAIL, now=now, subscriber_id=subscriber.id,
                 token=subscriber.token, subject=subject, body=body)


def notify(session: Session, outbox: Outbox, component_ids: Sequence[int], subject: str, body: str, now) -> int:
    """A public update, to each confirmed subscriber following one of its components (or all), in the transaction
    that stores it. How many were queued."""
    wanted = {str(c) for c in component_ids}
    queued = 0
    for subscriber in repo.status.confirmed_subscribers(session=session):
        follows = {c for c in subscriber.components.split(",") if c}
        if not follows or follows & wanted:
            mail_to(session, outbox, subscriber, subject, body, now)
            queued += 1
    return queued


class StatusSubscribers:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self._asks: OrderedDict[str, deque[float]] = OrderedDict()
        self._sent: deque[float] = deque()

    @staticmethod
    def _client_key(client: str) -> str:
        """An IPv6 client by its /64 (one host has them all), an IPv4 one by its address."""
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return client[:64]
        if address.version == 6:
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def _limit(self, client: str) -> None:
        now, key = time.monotonic(), self._client_key(client)
        asks = self._asks.pop(key, deque())
        self._asks[key] = asks  # the most recent last
        while asks and asks[0] < now - CLIENT_WINDOW:
            asks.popleft()
        if len(asks) >= ASKS_PER_CLIENT:
            raise TooMany
        asks.append(now)
        while len(self._asks) > CLIENTS_KEPT:
            self._asks.popitem(last=False)

    def _may_send(self) -> bool:
        now = time.monotonic()
        while self._sent and self._sent[0] < now - 3600:
            self._sent.popleft()
        if len(self._sent) >= CONFIRMATIONS_PER_HOUR:
            return False
        self._sent.append(now)
        return True

    def subscribe(self, email: str, component_ids: Sequence[int], client: str) -> str:
        address = email.strip().lower()
        if len(address) > 254 or not _EMAIL.match(address):
            raise UserError("That is not an email address.")
        self._limit(client)
        now = self.clock.now()
        with self.db.session() as session:
            known = {c.id for c in repo.status.components(session=session)}
            chosen = ",".join(str(c) for c in sorted(set(component_ids) & known))
            found = repo.status.subscriber_by_email(session=session, email=address)
            if found is not None and (found.confirmed_at is not None or now - found.asked_at < ASK_AGAIN_AFTER):
                return SAID  # confirmed (nothing to send), or asked lately (one pending confirmation a day)
            if not self._may_send():
                raise TooMany
            if found is None:
                found = StatusSubscriber(email=address, token=secrets.token_urlsafe(32), asked_at=now,
                                         created_at=now, components=chosen)
            found.asked_at, found.components = now, chosen
            session.add(found)
            session.flush()
            link = f"{self.settings.public_url}/status/confirm/{found.token}"
            mail_to(session, self.outbox, found, f"Confirm your subscription to {self.name()}",
                    f"Someone (we hope you) asked to receive {self.name()}'s status updates at this address.\n\n"
                    f"Confirm with this link: {link}\n\nIf it was not you, ignore this mail: nothing more is sent.",
                    now)
            try:
                session.commit()
            except IntegrityError:  # the same address asked twice at once: one of them stored it
                session.rollback()
        self.outbox.flush_later()
        return SAID

    def confirm(self, token: str) -> bool:
        with self.db.session() as session:
            found = repo.status.subscriber_by_token(session=session, token=token)
            if found is None:
                return False
            if found.confirmed_at is None:
                found.confirmed_at = self.clock.now()
                session.add(found)
                session.commit()
        return True

    def unsubscribe(self, token: str) -> bool:
        with self.db.session() as session:
            found = repo.status.subscriber_by_token(session=session, token=token)
            if found is None:
                return False
            session.delete(found)
            session.commit()
        return True

    def name(self) -> str:
        return self.settings.status_page_title or "our status page"
