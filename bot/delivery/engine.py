"""The one way out to Slack: every message the bot owes is a stored delivery, written in the same transaction as
the change that caused it, and sent by whichever process ticks next.

- Order: deliveries share a lane (an incident's home, one channel, one person) and go out in id order within it;
  a lane waiting on Slack holds only itself, never the others (lanes run side by side, a few at a time).
- Claims: a process claims a delivery with a conditional write that stores a fresh token; every later write of that
  delivery names the token, so a process whose lease ran out cannot record over the one that took over (fencing).
- Leases: a claim lapses CLAIM_LEASE (15 s, or DELIVERY_LEASE if shorter) after it was last renewed, and a live
  process renews every claim it holds three times as often (one conditional write, by id and token, on this
  process's event loop); so a process that dies — or whose event loop stops — frees its claims within CLAIM_LEASE
  and the next tick takes them over (SPEC §5: a tick plus 15 s), while a live one in a long call keeps them.
  `DELIVERY_LEASE` bounds one attempt: it is cut off at half of it, every call and retry in it (a send to a
  provider beyond Slack excepted: its own timeouts end it, see providers.py).
- Outcomes: sent (with what Slack answered, recorded under the claim), later (not deliverable yet), retry (Slack
  down, rate-limited: backoff honouring Retry-After), dropped (no longer owed), failed (Slack said no for good).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Delivery
from bot.delivery.kinds import PROVIDER_LANES, ClaimLost, Drop, Later, Record, Refused, Unavailable, provider_of
from bot.slack.gateway import TRANSPORT_ERRORS, slack_error, transient

log = logging.getLogger(__name__)
_claim_queued = threading.local()  # `apart`: the claim being made in this thread queued sends beyond Slack

BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MAX = timedelta(minutes=5)
LATER = timedelta(seconds=5)
CLAIM_LEASE = timedelta(seconds=15)  # SPEC §5: what a dead process held is free a tick plus this later
LANES_AT_ONCE = 64  # lanes are channels and people: Slack's per-channel limits hold whatever this is
PASS_LIMIT = 500


@dataclass(frozen=True)
class Sent:
    """A delivery went out. `record` stores what Slack answered (a ts, a channel id) in the same transaction that
    marks the delivery sent — and only if this process still holds the claim."""

    record: Record | None = None


Handler = Callable[..., Awaitable[Sent | None]]  # (delivery, payload[, prepared])
# Reads what a handler needs (the incident, ...) — and may write — in the claim's own transaction, which commits
# after it: one job, not two. It must use the session it is given (on SQLite a second one would wait for the claim's
# write lock) unless its kind is registered `apart`. May raise Later or Drop like a handler.
Prepare = Callable[[Session, Delivery], Any]


class DeliveryEngine:
    def __init__(self, db: repo.database.Database, clock: Clock, lease: timedelta, tick: timedelta = BACKOFF_MAX,
                 on_idle: Callable[[], Any] | None = None,
                 spawn: Callable[[Coroutine, str], Any] | None = None) -> None:
        """`spawn(coroutine, name)`: runs a lane to a provider beyond Slack beside the passes (the runtime's
        background, which a shutdown or a test's settle waits for); without it, they run inside the pass."""
        self.db = db
        self.clock = clock
        self.lease = lease
        self.backoff_max = min(tick, BACKOFF_MAX)  # once Slack answers again, everything moves within a tick
        self.attempt_budget = lease / 2  # an attempt (every call and retry in it) ends well inside DELIVERY_LEASE
        # A claim nobody renews lapses after this (clock time); its holder renews it every `renew_every` (real time).
        self.claim_lease = min(lease, CLAIM_LEASE)
        self.renew_every = self.claim_lease / 3
        self._held: dict[int, str] = {}  # the claims this process holds now: delivery id → token
        self._renewing: asyncio.Task | None = None
        self.handlers: dict[str, Handler] = {}
        self.preparers: dict[str, Prepare] = {}
        self.prepared_apart: set[str] = set()
        self._running = False
        self._again = False
        self.on_idle = on_idle  # when a run ends with nothing more to send (the runtime gives memory back then)
        self.spawn = spawn
        self._apart: set[str] = set()  # provider lanes running now
        self._providers: dict[str, asyncio.Semaphore] = {}
        self._rush: asyncio.Task | None = None  # provider lanes started now, beside a pass (`_rush_providers`)
        self._rush_again = False

    def register(self, kind: str, handler: Handler, prepare: Prepare | None = None, apart: bool = False) -> None:
        """`prepare`: the handler is called with what it returned, read (or written) in the claim's own
        transaction. `apart`: the prepare works in a transaction of its own (the claim is committed first): one
        that must not wait on the claim's locks — on SQLite, a second writer would wait for the first."""
        self.handlers[kind] = handler
        if prepare is not None:
            self.preparers[kind] = prepare
        if apart:
            self.prepared_apart.add(kind)

    # -- writing (inside the caller's transaction) ------------------------------------------------------

    async def checkpoint(self, delivery: Delivery, record: Record) -> None:
        """Part of an outcome, written while the delivery is still going (a delivery of several steps resumes
        after its last checkpoint): fenced by the claim like the finish, and the lease renewed with it."""
        await self.db.run_background(self._checkpoint, delivery, record)

    def _checkpoint(self, delivery: Delivery, record: Record) -> None:
        with self.db.session() as session:
            if not repo.deliveries.renew_claim(session=session, delivery_id=delivery.id,
                                               token=delivery.claim_token or "", now=self.clock.now()):
                session.rollback()
                raise ClaimLost
            record(session)
            session.commit()

    def queue(self, session: Session, *, lane: str, kind: str, now: datetime, incident_id: int | None = None,
              **payload: Any) -> None:
        repo.deliveries.queue_delivery(session=session, lane=lane, kind=kind, incident_id=incident_id,
                                       payload=json.dumps(payload), now=now)
        self._again = True  # a pass running now goes round once more for it (once its transaction commits)
        if provider_of(lane):
            _claim_queued.apart = True

    # -- delivering -----------------------------------------------------------------------------------

    async def run(self) -> int:
        """Deliver what is due. One pass at a time in a process; asked again while one runs, it goes round again
        (so what a change queued during a pass is not left for the next tick)."""
        if self._running:
            self._again = True
            return 0
        self._running, sent = True, 0
        try:
            while True:
                self._again = False
                went, full = await self._pass()
                sent += went
                if not (self._again or (full and went)):  # a full pass that delivered: more may be waiting
                    if self.on_idle is not None and sent:
                        self.on_idle()
                    return sent
        finally:
            self._running = False

    async def _pass(self) -> tuple[int, bool]:
        """(delivered, whether the pass took as many as it may)."""
        due = await self.db.run_background(self._due)
        lanes: dict[str, list[Delivery]] = {}
        for delivery in due:
            lanes.setdefault(delivery.lane, []).append(delivery)
        gate = asyncio.Semaphore(LANES_AT_ONCE)

        async def lane(deliveries: list[Delivery]) -> int:
            async with gate:
                return await self._lane(deliveries)

        # Lanes whose next delivery is a page start first: someone is being woken up.
        ordered = sorted(lanes.values(), key=lambda deliveries: deliveries[0].kind not in ("page", "contact_page"))
        here = [deliveries for deliveries in ordered if not self._sent_apart(deliveries)]
        slack_full = sum(not provider_of(d.lane) for d in due) == PASS_LIMIT
        return sum(await asyncio.gather(*(lane(d) for d in here))), slack_full

    def _sent_apart(self, deliveries: list[Delivery]) -> bool:
        """A lane to a provider beyond Slack runs on its own, not as part of this pass: a provider that hangs
        then holds only its own lanes (at most PROVIDER_LANES at once), never the pass Slack's lanes are in."""
        name = deliveries[0].lane
        provider = provider_of(name)
        if provider is None or self.spawn is None:
            return False
        if name not in self._apart:
            self._apart.add(name)
            self.spawn(self._provider_lane(provider, deliveries), f"lane {name}")
        return True

    def _rush_providers(self) -> None:
        """Provider lanes just queued start now, beside the pass running (which may be long: a burst of
        declarations), not after it: each method at its rule's delay within 5 s (SPEC § 7). One read at a time;
        asked meanwhile, it reads once more when done."""
        if self.spawn is None:
            return
        if self._rush is not None and not self._rush.done():
            self._rush_again = True
            return
        self._rush = self.spawn(self._start_provider_lanes(), "provider lanes")

    async def _start_provider_lanes(self) -> None:
        while True:
            self._rush_again = False
            lanes: dict[str, list[Delivery]] = {}
            for delivery in await self.db.run_background(self._due):
                if provider_of(delivery.lane):
                    lanes.setdefault(delivery.lane, []).append(delivery)
            for deliveries in lanes.values():
                self._sent_apart(deliveries)
            if not self._rush_again:
                return

    async def _provider_lane(self, provider: str, deliveries: list[Delivery]) -> None:
        try:
            async with self._providers.setdefault(provider, asyncio.Semaphore(PROVIDER_LANES)):
                went = await self._lane(deliveries)
        finally:
            self._apart.discard(deliveries[0].lane)
        if went or self._again:  # what its outcomes queued (the page's news in Slack) goes now, not at the next tick
            self.spawn(self.run(), "outbox")

    async def _lane(self, deliveries: list[Delivery]) -> int:
        """In order; the first that does not go out (Slack down, not deliverable yet, claimed elsewhere) holds
        the rest of its lane until the next pass."""
        sent = 0
        for delivery in deliveries:
            outcome = await self._attempt(delivery)
            if outcome == "sent":
                sent += 1
            elif outcome not in ("failed", "dropped"):
                break
        return sent

    async def deliver_now(self, delivery: Delivery) -> str:
        """One delivery attempted at once, from inside another's handler (a declaration's first page goes before
        its set-up): claimed and finished like any, so a pass that meets it later finds it done or claimed."""
        return await self._attempt(delivery)

    async def _attempt(self, delivery: Delivery) -> str:
        now = self.clock.now()
        if delivery.next_attempt_at > now:
            return "waiting"
        token = secrets.token_hex(8)
        try:
            claimed, prepared, unprepared, apart = await self.db.run_background(self._claim, delivery, token, now)
        except Exception:  # the database would not take the claim (nothing is held): its lane waits for a pass
            log.exception("delivery %s (%s): could not be claimed", delivery.id, delivery.kind)
            return "unclaimed"
        if not claimed:
            return "elsewhere"
        if apart:  # its claim committed sends beyond Slack (a declaration's first page): they go now
            self._rush_providers()
        self._hold(delivery.id, token)
        try:
            return await self._claimed(delivery, token, now, prepared, unprepared)
        finally:
            self._held.pop(delivery.id, None)
            if not self._held and self._renewing is not None:  # nothing held: no heartbeat left waiting
                self._renewing.cancel()
                self._renewing = None

    async def _claimed(self, delivery: Delivery, token: str, now: datetime, prepared: Any,
                       unprepared: Exception | None) -> str:
        handler = self.handlers.get(delivery.kind)
        if handler is None:
            log.error("delivery %s: nobody delivers kind %r", delivery.id, delivery.kind)
            await self._finish(delivery, token, state="failed", last_error=f"unknown kind {delivery.kind}")
            return "failed"
        try:
            if unprepared is not None:
                raise unprepared
            given = (prepared,) if delivery.kind in self.preparers else ()
            # A send beyond Slack is not cut off here: its thread would go on and might deliver, and the send would
            # go again. Apprise's own timeouts end it (bot/delivery/providers.py); its claim is renewed meanwhile.
            budget = None if provider_of(delivery.lane) else self.attempt_budget.total_seconds()
            done = await asyncio.wait_for(handler(delivery, json.loads(delivery.payload or "{}"), *given), budget)
        except ClaimLost:
            log.warning("delivery %s (%s): its claim was taken over mid-way; the new holder carries on",
                        delivery.id, delivery.kind)
            return "elsewhere"
        except Later:
            await self._finish(delivery, token, next_attempt_at=now + LATER)
            return "later"
        except Drop as exc:
            await self._finish(delivery, token, record=exc.record, state="dropped", last_error=str(exc)[:200])
            return "dropped"
        except Refused as exc:
            return await self._refused(delivery, token, exc.error, exc.record)
        except Unavailable as exc:
            await self._retry(delivery, token, now, exc.error, exc.retry_after)
            return "retry"
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:  # asyncio.TimeoutError (the budget) is one of these
            if not transient(exc):
                return await self._refused(delivery, token,
                                           slack_error(exc) if isinstance(exc, SlackApiError) else "?")
            error = slack_error(exc) if isinstance(exc, SlackApiError) else exc.__class__.__name__
            await self._retry(delivery, token, now, error, _retry_after(exc))
            return "retry"
        except Exception as exc:  # a bug in a handler: logged, retried with backoff, and never stops other lanes
            log.exception("delivery %s (%s) failed unexpectedly", delivery.id, delivery.kind)
            await self._retry(delivery, token, now, f"{exc.__class__.__name__}: {exc}", None)
            return "retry"
        record = done.record if isinstance(done, Sent) else None
        if not await self._finish(delivery, token, record=record, state="sent", sent_at=self.clock.now(),
                                  last_error=""):
            log.warning("delivery %s (%s) went out after its claim was taken over", delivery.id, delivery.kind)
        return "sent"

    async def _refused(self, delivery: Delivery, token: str, error: str, record: Record | None = None) -> str:
        log.warning("delivery %s (%s) refused for good: %s", delivery.id, delivery.kind, error)
        await self._finish(delivery, token, record=record, state="failed", last_error=error[:200])
        return "failed"

    async def _retry(self, delivery: Delivery, token: str, now: datetime, error: str,
                     retry_after: float | None) -> None:
        attempts = delivery.attempts + 1
        wait = min(BACKOFF_FIRST * 2 ** (attempts - 1), self.backoff_max)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        log.info("delivery %s (%s): unavailable (%s); attempt %d in %s", delivery.id, delivery.kind, error,
                 attempts + 1, wait)
        await self._finish(delivery, token, attempts=attempts, next_attempt_at=now + wait, last_error=error[:200])

    # -- the database side (in the database's threads) --------------------------------------------------

    def _due(self) -> list[Delivery]:
        with self.db.reading() as session:
            return repo.deliveries.deliveries_due(session=session, limit=PASS_LIMIT)

    def _claim(self, delivery: Delivery, token: str, now: datetime) -> tuple[bool, Any, Exception | None, bool]:
        """(claimed, what the kind's `prepare` read, what it raised — raised again where the handler's own
        exceptions are handled —, whether it queued sends beyond Slack). The claim and the prepare are one
        transaction (a declaration's writes commit with its claim), tried again whole if PostgreSQL rolls it back
        to break a deadlock."""
        _claim_queued.apart = False
        claimed, prepared, unprepared = repo.database.retry_on_deadlock(self._claim_once, delivery, token, now)
        return claimed, prepared, unprepared, claimed and _claim_queued.apart

    def _claim_once(self, delivery: Delivery, token: str, now: datetime) -> tuple[bool, Any, Exception | None]:
        prepare = self.preparers.get(delivery.kind)
        apart = delivery.kind in self.prepared_apart
        with self.db.session() as session:
            if not self._take(session, delivery, token, now):
                return False, None, None
            if prepare is None or apart:
                session.commit()
            if prepare is None:
                return True, None, None
            try:
                prepared = prepare(session, delivery)
                session.commit()
                return True, prepared, None
            except Exception as exc:  # Later, Drop, or a bug: dealt with as if the handler had raised it
                session.rollback()
                if apart:
                    return True, None, exc
                if repo.database.try_again(exc):
                    raise
                # The claim went with what the prepare did: taken again, on its own, to record the outcome.
                if not self._take(session, delivery, token, now):
                    return False, None, None
                session.commit()
                return True, None, exc

    def _take(self, session: Session, delivery: Delivery, token: str, now: datetime) -> bool:
        claimed = repo.deliveries.claim_delivery(session=session, delivery_id=delivery.id, token=token, now=now,
                                                 claimed_before=now - self.claim_lease)
        if claimed:  # what is written under the claim names it: the handler's checkpoints, a prepare's writes
            delivery.claim_token = token
        return claimed

    # -- the claims' heartbeat ---------------------------------------------------------------------------

    def _hold(self, delivery_id: int, token: str) -> None:
        self._held[delivery_id] = token
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.get_running_loop().create_task(self._keep_claims(), name="claims")

    async def _keep_claims(self) -> None:
        """While this process holds claims, it renews them every `renew_every`. On the event loop on purpose: a
        process whose loop is stuck makes no progress on what it holds, so its claims lapse and another takes over
        (its late outcome is fenced off by the token)."""
        while self._held:
            await asyncio.sleep(self.renew_every.total_seconds())
            await self.renew()

    async def renew(self) -> list[int]:
        """One beat: every claim held now renewed in one write (the ids renewed; a database that fails is logged,
        and the next beat tries again: a claim outlasts two missed beats)."""
        held = dict(self._held)
        if not held:
            return []
        try:
            return await self.db.run_background(self._renew, held, self.clock.now())
        except Exception:
            log.exception("could not renew the claims of deliveries %s", sorted(held))
            return []

    def _renew(self, held: dict[int, str], now: datetime) -> list[int]:
        with self.db.session() as session:
            renewed = repo.deliveries.renew_claims(session=session, held=held, now=now)
            session.commit()
        return renewed

    async def _finish(self, delivery: Delivery, token: str, *, record: Record | None = None, **values) -> bool:
        """Release the claim with the outcome — only while it is still ours (fenced by the token)."""
        return await self.db.run_background(self._finish_now, delivery, token, record, values)

    def _finish_now(self, delivery: Delivery, token: str, record: Record | None, values: dict) -> bool:
        # What went out must be recorded: a deadlock with a change to the same incident is waited out, not left
        # for the lease to lapse (the delivery would go out a second time).
        return repo.database.retry_on_deadlock(self._finish_once, delivery, token, record, values)

    def _finish_once(self, delivery: Delivery, token: str, record: Record | None, values: dict) -> bool:
        with self.db.session() as session:
            if record is not None and delivery.incident_id is not None:
                # What it records touches the incident's rows (its pages, events): their lock first, in the order
                # a change takes them (incident, then the rest), so the two wait for each other, not deadlock.
                repo.incidents.lock_incident_first(session=session, incident_id=delivery.incident_id)
            if not repo.deliveries.finish_delivery(session=session, delivery_id=delivery.id, token=token, **values):
                session.rollback()
                return False
            if record is not None:
                record(session)
            session.commit()
        return True

    # -- what /healthz and /metrics show ------------------------------------------------------------------

    def backlog(self) -> dict:
        now = self.clock.now()
        with self.db.reading() as session:
            return repo.deliveries.delivery_backlog(session=session, now=now)


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None
