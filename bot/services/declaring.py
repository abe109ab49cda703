"""Declaring: store the incident first, with its set-up in Slack owed as deliveries in the same transaction; the
delivery engine then gives it a home step by step (bot/delivery/setup.py).

The declare form stores its declaration before the ack as one INSERT (a delivery of kind `declare`, like a stored
click: bot/services/clicks.py), and the incident is declared from it right after the acks, by whichever process
delivers next: a burst of declarations is acknowledged about as fast as a bare Bolt app, and one whose process died
after the ack is declared by the next tick. Its form's view id (`declare_key`) makes it one incident however often
it is delivered. Alerts declare directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Delivery, Incident, Rotation
from bot.delivery.kinds import ClaimLost, Drop, Kind, Later, declare_lane, incident_lane
from bot.domain.incident import (
    Declaration,
    Priority,
    Status,
    declaration_from_payload,
    declaration_to_payload,
    incident_ref,
)
from bot.domain.tracker import TRACKER_NAMES, IssueRef
from bot.services.outbox import Outbox
from bot.services.outcomes import Declared
from bot.services.paging import Paging
from bot.services.tracking import TrackerOut
from bot.slack.text import escape

log = logging.getLogger(__name__)
T = TypeVar("T")


_ALERT_SENDERS = {"alertmanager": "an Alertmanager alert", "generic": "a generic webhook alert",
                  "gitlab": "a failed GitLab pipeline"}


def _opened_by(source: str, from_alert: bool) -> str:
    """What opened it, for the declaration's timeline event (`gitlab` is both a pipeline alert and a tracker)."""
    if from_alert:
        return f" (opened by {_ALERT_SENDERS.get(source, f'an alert from {source}')})"
    if source in TRACKER_NAMES:
        return f" (from a {TRACKER_NAMES[source]} issue)"
    if source in ("storm", "heartbeat"):
        return " (an alert storm)" if source == "storm" else " (a heartbeat went silent)"
    return f" (opened by an alert from {source})" if source != "slack" else ""


class Declaring:
    """`paging`: a declared P0/P1 stores its first page with the incident; `trackers`: and its issue owed."""

    def __init__(self, db: repo.database.Database, clock: Clock, outbox: Outbox, paging: Paging,
                 trackers: TrackerOut) -> None:
        self.db, self.clock, self.outbox, self.paging, self.trackers = db, clock, outbox, paging, trackers

    async def accept(self, declaration: Declaration) -> None:
        """Before the declare form's ack: the declaration stored (committed) when this returns, to be declared."""
        await self.db.queue_before_ack(repo.deliveries.delivery_row(
            lane=declare_lane(declaration.declare_key or declaration.reporter_id), kind=Kind.DECLARE,
            payload=json.dumps(declaration_to_payload(declaration)), now=self.clock.now()))

    def declare_stored(self, session: Session, delivery: Delivery,
                       read: Callable[[Session, Declared], T]) -> T:
        """The stored declaration declared in the session that claimed it (the claim, the incident and the
        delivery turned into its set-up commit together); returns what `read` (the set-up's reads) found, read
        before the number is taken: the numbering lock is held for the last statement only. A form delivered twice meets
        declare_key's unique index: Drop (the engine records it under its claim again), the incident is there."""
        declaration = declaration_from_payload(json.loads(delivery.payload))
        try:
            declared, rotation = self._store(session, declaration, (delivery.id, delivery.claim_token or ""))
            found = read(session, declared)  # `rotation` held meanwhile: the session's look-ups of it find it
            del rotation
            self._number(session, declared.incident, commit=True)
        except IntegrityError:
            session.rollback()
            existing = repo.incidents.incident_by_declare_key(session=session, declare_key=declaration.declare_key) \
                if declaration.declare_key else None
            if existing is None:  # not a form delivered twice: unexpected — said, and tried again shortly
                log.exception("a stored declaration (delivery %s) was refused by the database", delivery.id)
                raise Later from None
            raise Drop(f"declared already as {incident_ref(existing.number)}") from None
        return found

    def declare(self, declaration: Declaration, from_issue: IssueRef | None = None) -> Declared:
        """Store the incident and its first timeline event, committed when this returns. Idempotent on
        `declare_key` (one per modal). One transaction, tried again if PostgreSQL rolls it back to break a
        deadlock. `from_issue`: the tracker issue it comes from, linked in the same transaction."""
        return repo.database.retry_on_deadlock(self._declare_once, declaration, from_issue)

    def declare_in(self, session: Session, declaration: Declaration,
                   then: Callable[[Session, Incident], None] | None = None) -> Declared:
        """Stored in `session`, for its caller to commit: for a caller that decided to declare under a lock of its
        own (an alert, counted towards a storm). `then`: more rows of the caller's, written before the numbering
        lock is taken (last, as in `declare`)."""
        declared, _ = self._store(session, declaration, None)
        if then is not None:
            then(session, declared.incident)
        self._number(session, declared.incident)
        return declared

    def _declare_once(self, declaration: Declaration, from_issue: IssueRef | None) -> Declared:
        with self.db.session() as session:
            for _ in range(10):
                try:
                    declared, _ = self._store(session, declaration, None, from_issue)
                    self._number(session, declared.incident, commit=True)
                    session.commit()
                    return declared
                except IntegrityError:
                    # A form submitted again (Slack's retry, a double click) is refused by declare_key's unique
                    # index and answered with the incident it made: no look-up first on every declaration.
                    session.rollback()
                    if declaration.declare_key:
                        existing = repo.incidents.incident_by_declare_key(session=session,
                                                                          declare_key=declaration.declare_key)
                        if existing:
                            return Declared(existing, created=False)
        raise RuntimeError("could not allocate an incident number")

    def _store(self, session: Session, declaration: Declaration, becomes_setup: tuple[int, str] | None,
               from_issue: IssueRef | None = None) -> tuple[Declared, Rotation | None]:
        """The incident, its events and first page, and its set-up owed, flushed in `session` (not committed), and
        its rotation. `becomes_setup`: (id, claim token) of the claimed delivery that goes on as the set-up, instead
        of a new one. On PostgreSQL the number is a placeholder until `_number`."""
        now = self.clock.now()
        kind = repo.types.incident_type(session=session, name=declaration.type_name) if declaration.type_name \
            else None
        if kind is not None:  # its type's rotation and priority, when it names them, over the form's
            declaration = replace(declaration, rotation_id=kind.rotation_id or declaration.rotation_id,
                                  priority=Priority(kind.priority) if kind.priority else declaration.priority)
        rotation = repo.rotations.rotation_by_id(session=session, rotation_id=declaration.rotation_id) \
            if declaration.rotation_id is not None else None
        rotation_id = rotation.id if rotation else None
        number = repo.incidents.placeholder_number() if repo.incidents.numbered_last(session=session) \
            else repo.incidents.next_incident_number(session=session)
        incident = Incident(
            number=number, title=declaration.title,
            description=declaration.description, priority=declaration.priority,
            status=Status.NEW, impacts=",".join(sorted(i.value for i in declaration.impacts)),
            reporter_id=declaration.reporter_id, commander_id=declaration.commander_id,
            rotation_id=rotation_id, declared_in_channel=declaration.declared_in_channel,
            source_url=declaration.source_url, declare_key=declaration.declare_key,
            created_at=now, updated_at=now, p0_since=now if declaration.priority is Priority.P0 else None,
            source=declaration.source, alert_fingerprint=declaration.alert_fingerprint,
            alert_count=1 if declaration.alert_fingerprint else 0, type_name=declaration.type_name,
            private=kind.private if kind else declaration.type_name is not None)  # a type removed meanwhile: private
        session.add(incident)
        session.flush()
        if incident.private:  # who may see it: its reporter and commander, then whoever is invited or paged
            repo.incidents.add_members(session=session, incident_id=incident.id, at=now, user_ids=[
                u for u in (declaration.reporter_id, declaration.commander_id) if u])
        repo.timeline.add_event(session=session, incident_id=incident.id, at=now,
                                actor_id=declaration.reporter_id or None, kind="declared",
                                text=f"{declaration.priority.value}: {escape(declaration.title)}"
                                + (f" ({escape(declaration.declared_by)})" if declaration.declared_by else
                                   _opened_by(declaration.source, bool(declaration.alert_fingerprint))))
        if declaration.commander_id:
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=declaration.reporter_id,
                                    kind="commander", text=f"<@{declaration.commander_id}> is commander")
        paged = declaration.priority.pages and rotation_id is not None
        if paged:
            self.paging.start_chain(session, incident, now)  # stored with the incident, sent right after
        # its place in Slack, owed from the moment it exists
        if becomes_setup is None:
            self.outbox.queue(session, lane=incident_lane(incident.id), kind=Kind.SETUP, now=now,
                              incident_id=incident.id)
        elif not repo.deliveries.become_setup(session=session, delivery_id=becomes_setup[0], token=becomes_setup[1],
                                              kind=Kind.SETUP, lane=incident_lane(incident.id),
                                              incident_id=incident.id):
            raise ClaimLost  # another process took the declaration over: it declares it
        self.trackers.declared(session, incident, now, from_issue)
        session.flush()
        return Declared(incident, created=True, paged=paged), rotation

    @staticmethod
    def _number(session: Session, incident: Incident, commit: bool = False) -> None:
        """PostgreSQL: the number, under a lock held from here to the commit (the transaction's last statements).
        `commit`: the caller commits right after, so the commit goes with the number (SQLite: the caller's)."""
        if not repo.incidents.numbered_last(session=session):
            return
        if commit:
            repo.incidents.take_number_and_commit(session=session, incident=incident)
        else:
            repo.incidents.take_number(session=session, incident=incident)

    def open_in_slack_later(self, incident: Incident) -> None:
        """After the ack, what it owes Slack goes out (the first page in its own lane, side by side with the
        set-up); the tick would get to it, this is just sooner."""
        self.outbox.flush_after_acks(name=f"open-{incident_ref(incident.number)}")
