"""The outbox: Slack calls owed for stored changes, committed with the change and delivered afterwards.

Each message sits in a lane (an incident's home, or one channel) and lanes are delivered in id order: a message
waits while an earlier one in its lane is not through. Slack down, slow or rate limiting → the message is tried
again later with backoff (honouring `Retry-After`); only a permanent refusal (`ok: false`) gives up, and that is
logged and counted in /healthz. A claim with a lease keeps two processes from sending the same message.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident, OutboxMessage
from bot.notify import TRANSPORT_ERRORS, slack_error, transient
from bot.services.base import Effects, ServiceBase
from bot.views import incident as incident_views
from bot.views import notices
from bot.views import paging as paging_views

log = logging.getLogger(__name__)

BACKOFF_MAX = timedelta(minutes=5)


class Later(Exception):
    """Not deliverable yet (the incident's channel is still being set up): try again on a later pass."""


def home_lane(incident_id: int) -> str:
    return f"incident:{incident_id}"


class OutboxService(ServiceBase):
    _flushing = False
    _again = False

    # -- writing (inside the change's transaction) ------------------------------------------------------

    def queue_effects(self, session: Session, incident: Incident, effects: Effects, now: datetime) -> None:
        home = home_lane(incident.id)

        def queue(lane: str, kind: str, **payload) -> None:
            repo.queue_message(session=session, lane=lane, kind=kind, incident_id=incident.id,
                               payload=json.dumps(payload), now=now)

        queue(home, "say", text=effects.say)
        for channel, thread_ts, text in effects.elsewhere:
            queue(f"channel:{channel}", "post", channel=channel, thread_ts=thread_ts, text=text)
        if effects.invite:
            queue(home, "invite", users=list(effects.invite))
        if effects.refresh:
            queue(home, "refresh")
        if effects.postmortem:
            queue(home, "postmortem")
        for channel, ts in effects.stopped_pages:
            queue(f"channel:{channel}", "page_stopped", channel=channel, ts=ts)

    # -- delivering ---------------------------------------------------------------------------------------

    def flush_later(self) -> None:
        self.background.spawn(self.flush_outbox(), name="outbox")

    async def flush_outbox(self) -> int:
        """One pass at a time in a process (lanes stay in order); a request for another pass while one runs
        makes the running one go round again."""
        if self._flushing:
            self._again = True
            return 0
        self._flushing, sent = True, 0
        try:
            while True:
                self._again = False
                sent += await self._pass()
                if not self._again:
                    return sent
        finally:
            self._flushing = False

    async def _pass(self) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            queued = repo.queued_messages(session=session)
        blocked: set[str] = set()
        sent = 0
        for message in queued:
            if message.lane in blocked:
                continue
            if message.next_attempt_at > now or not self._claim(message.id, now):
                blocked.add(message.lane)
                continue
            outcome = await self._attempt(message, now)
            if outcome == "sent":
                sent += 1
            elif outcome != "failed":
                blocked.add(message.lane)  # later messages in this lane wait for this one
        return sent

    def _claim(self, message_id: int, now: datetime) -> bool:
        with self.db.session() as session:
            claimed = repo.claim(session=session, model=OutboxMessage, row_id=message_id, now=now,
                                 claimed_before=now - self.lease)
            session.commit()
        return claimed

    async def _attempt(self, message: OutboxMessage, now: datetime) -> str:
        try:
            await self._send_message(message)
        except Later:
            self._finish(message.id, state="queued", claimed_at=None, next_attempt_at=now + timedelta(seconds=5))
            return "later"
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            if transient(exc):
                self._retry(message, now, slack_error(exc) if isinstance(exc, SlackApiError)
                            else exc.__class__.__name__, _retry_after(exc))
                return "retry"
            error = slack_error(exc)
            log.warning("outbox %s (%s) refused by Slack for good: %s", message.id, message.kind, error)
            self._finish(message.id, state="failed", claimed_at=None, last_error=error[:200])
            return "failed"
        self._finish(message.id, state="sent", sent_at=now, claimed_at=None, last_error="")
        return "sent"

    def _retry(self, message: OutboxMessage, now: datetime, error: str, retry_after: float | None) -> None:
        attempts = message.attempts + 1
        wait = min(timedelta(seconds=5 * 2 ** (attempts - 1)), BACKOFF_MAX)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        log.info("outbox %s (%s): Slack unavailable (%s); attempt %d again in %s", message.id, message.kind, error,
                 attempts + 1, wait)
        self._finish(message.id, state="queued", attempts=attempts, claimed_at=None, next_attempt_at=now + wait,
                     last_error=error[:200])

    def _finish(self, message_id: int, **fields) -> None:
        self._update(OutboxMessage, message_id, **fields)

    async def _send_message(self, message: OutboxMessage) -> None:
        payload = json.loads(message.payload or "{}")
        if message.kind == "post":
            await self.slack.post(payload["channel"], payload["text"], payload.get("blocks"),
                                  thread_ts=payload.get("thread_ts"))
            return
        incident = self._load(message.incident_id) if message.incident_id else None
        if incident is None:
            return
        if message.kind == "page_stopped":
            text, blocks = paging_views.page_stopped(incident)
            await self.slack.update(payload["channel"], payload["ts"], text, blocks)
            return
        if incident.channel_id is None:
            if "done" in incident.steps_done:
                return  # it never got a home in Slack: there is nowhere to say it
            raise Later
        if message.kind == "say":
            await self.slack.post(incident.channel_id, payload["text"], thread_ts=incident.thread_ts)
        elif message.kind == "invite" and incident.thread_ts is None:
            await self.slack.invite(incident.channel_id, payload["users"])
        elif message.kind == "refresh" and incident.summary_ts:
            text, blocks = self._summary(incident)
            await self.slack.update(incident.channel_id, incident.summary_ts, text, blocks)
            if incident.thread_ts is None:
                await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))
        elif message.kind == "postmortem" and incident.postmortem:
            _, ts = await self.slack.post(incident.channel_id, notices.postmortem_message(incident),
                                          thread_ts=incident.thread_ts)
            self._save(incident.id, postmortem_ts=ts)

    def outbox_counts(self) -> dict[str, int]:
        with self.db.session() as session:
            return repo.outbox_counts(session=session)


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None
