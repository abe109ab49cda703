"""Giving a declared incident its place in Slack, step by step: one delivery in the incident's lane, stored with
the incident (or the stored declaration it was declared from: delivery/declarations.py), that records each step
as it is done; the engine resumes at the first step not done within a tick
of Slack answering again.

Crash windows are closed where Slack lets us: a channel already created under the incident's own name is adopted
(the bot created it), and a summary already posted is found again by its message metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Delivery, Incident
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Record, Refused, user_lane
from bot.delivery.messages import Summary, post_at
from bot.domain.incident import channel_name, incident_ref
from bot.slack.gateway import CHANNEL_REFUSED, SlackGateway, slack_error, transient
from bot.views import incident as incident_views

log = logging.getLogger(__name__)

_NAME_ATTEMPTS = 20
_EPHEMERAL_UNDELIVERABLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel",
                                      "is_archived", "no_permission"})
SUMMARY_EVENT = "firefighter_incident_summary"
SETUP = ("home", "reply", "invite", "topic", "summary", "pin", "announce", "done")
# Steps that may be written later, with the next: Slack asked twice does no harm, or the step finds what it did
# before when resumed — a channel created under the incident's own name is adopted, a summary is found by its
# metadata. Only the reporter's reply and the announcement would show twice: the reply is written before the next
# call (one checkpoint), the announcement with the delivery's own outcome.
_REPEATABLE = frozenset({"home", "invite", "topic", "summary", "pin", "done"})


def _where(place: str) -> str:
    return f"<#{place}>" if place[0] in "CG" else f"<@{place}> by DM" if place[0] in "UW" else place


def _steps(incident: Incident, *more: str) -> str:
    return ",".join(sorted(incident.steps_done | set(more)))


@dataclass(frozen=True)
class Surroundings:
    """What the steps need from the rest of the bot, read in the same database job that loads the incident (one
    job per attempt instead of one per step: on SQLite every job waits its turn on the one writer thread)."""

    on_call: tuple[str, ...]  # invited with the reporter and the commander
    announce_in: str | None  # the rotation's channel, else INCIDENTS_CHANNEL
    # The pinned summary, read with the rest when nothing can change it before it is posted but a person (whose
    # change queues the summary's refresh behind the set-up); None: read when it is posted (a first page goes out
    # before it, and the summary says when that page escalates).
    summary: Summary | None = None


class Fresh(Protocol):
    """An incident declared in the transaction that reads for its set-up (bot/services/outcomes.py Declared)."""

    @property
    def paged(self) -> bool: ...  # its first page was stored with it


# (session, incident, fresh): `fresh` — declared in this very transaction (no page unless `paged`, no responder yet)
Around = Callable[[Session, Incident, Fresh | None], Surroundings]


@dataclass(frozen=True)
class Done:
    step: str
    fields: dict
    note: str | None
    tell_reporter: str | None


def _tried_before(delivery: Delivery) -> bool:
    """Tried before (a retry, or a claim that lapsed when a process died): Slack may have done it already."""
    return delivery.attempts > 0 or delivery.claimed_at is not None


class IncidentSetup:
    """`around(session, incident)`: what the steps need from the rest of the bot (`Surroundings`); `summary`: the
    pinned summary as it stands when it is posted (the first page has usually gone out by then, and it says
    when it escalates).

    One delivery (`setup`) does every step still to do, in order, with the incident in hand: each step's outcome
    is written as it happens (one fenced write, which also renews the claim), so a retry or a process taking over
    resumes at the first step not done. Deliveries of the older one-per-step kinds (`setup_<step>`) still go."""

    def __init__(self, engine: DeliveryEngine, db: repo.database.Database, slack: SlackGateway, clock: Clock,
                 settings: Settings, around: Around, summary: Summary) -> None:
        self.delivery, self.db, self.slack, self.clock, self.settings = engine, db, slack, clock, settings
        self.around, self.summary = around, summary
        self.step_calls = {"home": self._setup_home, "reply": self._setup_reply, "invite": self._setup_invite,
                       "topic": self._setup_topic, "summary": self._setup_summary, "pin": self._setup_pin,
                       "announce": self._setup_announce, "done": self._setup_done}  # one per SETUP step

    def prepare(self, session: Session, delivery: Delivery,
                fresh: Fresh | None = None) -> tuple[Incident, Surroundings]:
        """In the job that claims the delivery (a stored declaration's too, once declared: delivery/declarations.py,
        which says so with `fresh`: what a new incident cannot have yet is not read)."""
        incident = repo.incidents.incident_by_id(session=session, incident_id=delivery.incident_id) \
            if delivery.incident_id else None
        if incident is None:
            raise Drop("the incident is gone")
        return incident, self.around(session, incident, fresh)

    async def setup(self, delivery: Delivery, payload: dict, prepared: tuple[Incident, Surroundings]) -> Sent | None:
        incident, around = prepared
        todo = [step for step in SETUP if step not in incident.steps_done]
        # What an earlier attempt may have got Slack to do without writing it down: up to the first step that is
        # written before anything after it is asked of Slack.
        unsure = todo[:next((i + 1 for i, step in enumerate(todo) if step not in _REPEATABLE), len(todo))] \
            if _tried_before(delivery) else []
        owed: list[Done] = []  # steps done, not yet written
        for step in todo:
            if step in incident.steps_done:  # done along with an earlier one (a thread home is announced with it)
                continue
            if step != "done" and any(d.step not in _REPEATABLE for d in owed):
                # Before the next call to Slack can fail, what Slack must not be asked twice is written.
                await self.delivery.checkpoint(delivery, self._write(incident, owed))
                owed = []
            done = await self._step(step, incident, around, resumed=step in unsure)
            owed += [done] if done else []
        return Sent(self._write(incident, owed)) if owed else None  # written with the delivery's own outcome

    def one_step(self, step: str):
        """The delivery of a `setup_<step>` (bot/delivery/kinds.py: setup_step_kind)."""
        async def deliver(delivery: Delivery, payload: dict, prepared: tuple[Incident, Surroundings]) -> Sent | None:
            incident, around = prepared
            if step in incident.steps_done:
                return None
            done = await self._step(step, incident, around, resumed=_tried_before(delivery))
            return Sent(self._write(incident, [done])) if done else None
        return deliver

    async def _step(self, step: str, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        if step not in ("home", "done") and incident.channel_id is None:
            return None  # a home step given up leaves none: nothing more to do in Slack
        return await self.step_calls[step](incident, around, resumed)

    @staticmethod
    def _done(incident: Incident, *steps: str, note: str | None = None, tell_reporter: str | None = None,
              **fields) -> Done:
        """The step(s) and what Slack answered, on the in-hand incident at once (written by `_write`)."""
        fields["slack_steps_done"] = _steps(incident, *steps)
        for key, value in fields.items():
            setattr(incident, key, value)
        return Done(steps[0], fields, note, tell_reporter)

    def _write(self, incident: Incident, done: list[Done]) -> Record:
        """One UPDATE for the steps' answers, with their notes on the timeline and a word to the reporter."""
        fields = {key: value for d in done for key, value in d.fields.items()}

        def record(session: Session) -> None:
            now = self.clock.now()
            repo.incidents.update_incident(session=session, incident_id=incident.id, **fields)
            for d in done:
                if d.note:
                    repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None,
                                            kind="note", text=d.note)
                if d.tell_reporter and incident.reporter_id:
                    self.delivery.queue(session, lane=user_lane(incident.reporter_id), kind=Kind.POST, now=now,
                                        incident_id=incident.id, channel=incident.reporter_id,
                                        text=f":mega: {incident_ref(incident.number)}: {d.tell_reporter}")
        return record

    async def _setup_home(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        """A channel of its own; when that is off or refused, a thread under the announcement."""
        note = None
        if self.settings.create_incident_channels:
            for attempt in range(1, _NAME_ATTEMPTS + 1):
                # A private incident's channel name says nothing of it: anyone can read channel names in some views.
                name = channel_name(incident.number, "private" if incident.private else incident.title, attempt)
                try:
                    channel_id = await self.slack.create_channel(name, private=incident.private)
                except SlackApiError as exc:
                    error = slack_error(exc)
                    if transient(exc):
                        raise
                    if error == "name_taken":
                        if channel_id := await self._ours(name, incident.private):
                            log.info("%s: adopting #%s, created before a crash", incident_ref(incident.number), name)
                            return self._done(incident, "home", channel_id=channel_id, channel_name=name)
                        continue
                    note = (f"Slack refused to create a channel ({error}); the incident runs in a thread under its "
                            "announcement.")
                    if error not in CHANNEL_REFUSED:
                        log.warning("%s: conversations.create said %s", incident_ref(incident.number), error)
                    break
                return self._done(incident, "home", channel_id=channel_id, channel_name=name)
            else:
                note = "Every channel name was taken; the incident runs in a thread."
        return await self._thread_home(incident, around, note)

    async def _ours(self, name: str, private: bool) -> str | None:
        """The channel of that name if the bot created it and no other incident has it: Slack created it but we
        never heard (a crash, or an answer lost on the way back). A channel somebody else made is never taken."""
        channel = await self.slack.channel_named(name, private)
        if channel is None:
            return None
        me = self.slack.bot_user_id or (await self.slack.whoami()).get("user_id")
        if channel.get("creator") != me:
            return None
        return None if await self.db.run_background(self._has_incident, channel["id"]) else channel["id"]

    def _has_incident(self, channel_id: str) -> bool:
        with self.db.session() as session:
            return repo.incidents.incident_by_channel(session=session, channel_id=channel_id) is not None

    async def _thread_home(self, incident: Incident, around: Surroundings, note: str | None) -> Done:
        """Its home is the announcement's thread: done as "announce" first, so it is written before the next call
        (an announcement must not be posted twice)."""
        # A private incident's thread could not be in a channel others read: the reporter's DM, or nowhere.
        target = incident.reporter_id if incident.private else around.announce_in or incident.reporter_id
        if not target:  # an alert, with no channel allowed and nowhere to announce: it lives in the bot alone
            return self._done(incident, "announce", "home", note=(note or "") + " There is nowhere to announce it.")
        text, blocks = incident_views.announcement(incident)
        channel_id, ts = await self.slack.post(target, text, blocks)
        return self._done(incident, "announce", "home", note=note, channel_id=channel_id, thread_ts=ts,
                          announcement_channel=channel_id, announcement_ts=ts)

    async def _setup_reply(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        if incident.reporter_id:  # opened by an alert: there is nobody to answer
            await self._reply(incident)
        return self._done(incident, "reply")

    async def _reply(self, incident: Incident) -> None:
        if incident.thread_ts is None:
            link = f"<#{incident.channel_id}>"
        else:
            link = f"<{await self.slack.permalink(incident.channel_id, incident.thread_ts)}|its thread>"
        text = incident_views.reporter_reply(incident, link)
        if incident.declared_in_channel:
            try:
                await self.slack.post_ephemeral(incident.declared_in_channel, incident.reporter_id, text)
                return
            except SlackApiError as exc:
                if transient(exc) or slack_error(exc) not in _EPHEMERAL_UNDELIVERABLE:
                    raise
        await self.slack.post(incident.reporter_id, text)

    async def _setup_invite(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        """The reporter, the commander and whoever is on call for the incident's rotation (a private incident's
        on-call people only when paged: its paging invites them)."""
        if incident.thread_ts is None:
            await self.slack.invite(incident.channel_id, [incident.reporter_id, incident.commander_id,
                                                          *(() if incident.private else around.on_call)])
        return self._done(incident, "invite")

    async def _setup_topic(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        if incident.thread_ts is None:
            await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))
        return self._done(incident, "topic")

    async def _setup_summary(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        marker = {"event_type": SUMMARY_EVENT, "event_payload": {"incident": incident.number}}
        if resumed:  # posted before a crash? then it is found, not posted again
            found = await self.slack.find_marked(incident.channel_id, SUMMARY_EVENT, {"incident": incident.number},
                                                 thread_ts=incident.thread_ts)
            if found:
                return self._done(incident, "summary", summary_ts=found)
        text, blocks = around.summary(incident) if around.summary else \
            await self.db.run_background(self.summary, incident)
        _, ts = await self.slack.post(incident.channel_id, text, blocks, thread_ts=incident.thread_ts,
                                      metadata=marker)
        return self._done(incident, "summary", summary_ts=ts)

    async def _setup_pin(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        if incident.thread_ts is None and incident.summary_ts:
            try:
                await self.slack.pin(incident.channel_id, incident.summary_ts)
            except SlackApiError as exc:
                if slack_error(exc) != "already_pinned":
                    raise
        return self._done(incident, "pin")

    async def _setup_announce(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        """In the rotation's channel (joining it when the bot is not in it), else INCIDENTS_CHANNEL, else the
        reporter's DM — and the timeline and the reporter are told where it went when that is not where it should
        have."""
        wanted = around.announce_in
        if not wanted:  # no rotation and no INCIDENTS_CHANNEL: nothing to announce (the reporter has their reply)
            return self._done(incident, "announce")
        places = [p for p in dict.fromkeys((wanted, self.settings.incidents_channel, incident.reporter_id)) if p]
        text, blocks = incident_views.announcement(incident)
        refusals: list[str] = []
        for place in places:
            posted = await post_at(self.slack, place, text, blocks)
            if isinstance(posted, str):
                refusals.append(f"{_where(place)} ({posted})")
                continue
            channel_id, ts = posted
            note = (f"The announcement could not go to {', '.join(refusals)}; it went to {_where(place)}."
                    if refusals else None)
            return self._done(incident, "announce", note=note, tell_reporter=note, announcement_channel=channel_id,
                              announcement_ts=ts)
        raise Refused(f"the announcement could go nowhere: {', '.join(refusals)}")

    async def _setup_done(self, incident: Incident, around: Surroundings, resumed: bool) -> Done | None:
        return self._done(incident, "done")
