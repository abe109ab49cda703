"""Use-cases. Each owns its transaction; Slack work happens after the state is stored, off the ack path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Rotation, TimelineEvent
from bot.domain.incident import Declaration, Status, channel_name, incident_ref
from bot.notify import CHANNEL_REFUSED, Background, SlackGateway, slack_error
from bot.views import incident as incident_views

log = logging.getLogger(__name__)

_NAME_ATTEMPTS = 20
_SETUP_RESUME_WINDOW = timedelta(days=1)
_EPHEMERAL_UNDELIVERABLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel",
                                      "is_archived", "no_permission"})


class UserError(Exception):
    """Something the person asked for cannot be done; the message tells them why. Nothing was changed."""


@dataclass(frozen=True)
class Declared:
    incident: Incident
    created: bool


@dataclass(frozen=True)
class Changed:
    incident: Incident
    changed: bool


def _permanent(exc: SlackApiError) -> bool:
    """Slack answered and said no (ok: false with 200): retrying later will not help."""
    return getattr(exc.response, "status_code", 200) == 200


class IncidentService:
    def __init__(self, *, settings: Settings, db: repo.Database, slack: SlackGateway, clock: Clock,
                 background: Background) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock
        self.background = background

    # -- reading -----------------------------------------------------------------------------------------

    def declare_form_defaults(self, channel_id: str | None) -> tuple[list[tuple[int, str]], int | None]:
        """All rotations for the modal, and the default: the one bound to this channel, else the first created."""
        with self.db.session() as session:
            rotations = repo.all_rotations(session=session)
            bound = repo.rotation_by_channel(session=session, channel_id=channel_id) if channel_id else None
        default = bound or (rotations[0] if rotations else None)
        return [(r.id, r.name) for r in rotations if r.id is not None], (default.id if default else None)

    def get(self, number: int) -> Incident:
        with self.db.session() as session:
            incident = repo.incident_by_number(session=session, number=number)
        if incident is None:
            raise UserError(f"There is no {incident_ref(number)}.")
        return incident

    def number_for_channel(self, channel_id: str | None) -> int | None:
        """The incident whose own channel this is, so commands typed there need no `INC-<n>`."""
        if not channel_id:
            return None
        with self.db.session() as session:
            incident = repo.incident_by_channel(session=session, channel_id=channel_id)
        return incident.number if incident and incident.thread_ts is None else None

    def commanded_by(self, user_id: str, *, limit: int = 40) -> list[Incident]:
        """Open incidents this person commands (the App Home's first list)."""
        with self.db.session() as session:
            return repo.list_incidents(session=session, open_only=True, limit=limit, commander_id=user_id)

    def list(self, *, open_only: bool, limit: int = 40) -> tuple[list[Incident], int]:
        with self.db.session() as session:
            return (repo.list_incidents(session=session, open_only=open_only, limit=limit),
                    repo.count_incidents(session=session, open_only=open_only))

    def detail(self, number: int) -> tuple[Incident, str | None, list[TimelineEvent]]:
        incident = self.get(number)
        with self.db.session() as session:
            rotation = self._rotation(session, incident)
            events = repo.events_for(session=session, incident_id=incident.id)
        return incident, rotation.name if rotation else None, events

    @staticmethod
    def _rotation(session, incident: Incident) -> Rotation | None:
        if incident.rotation_id is None:
            return None
        return repo.rotation_by_id(session=session, rotation_id=incident.rotation_id)

    # -- declaring ---------------------------------------------------------------------------------------

    def declare(self, declaration: Declaration) -> Declared:
        """Store the incident and its first timeline event. Idempotent on `declare_key` (one per modal)."""
        now = self.clock.now()
        with self.db.session() as session:
            if declaration.declare_key:
                existing = repo.incident_by_declare_key(session=session, declare_key=declaration.declare_key)
                if existing:
                    return Declared(existing, created=False)
            rotation_id = declaration.rotation_id
            if rotation_id is not None and repo.rotation_by_id(session=session, rotation_id=rotation_id) is None:
                rotation_id = None
            for _ in range(10):
                incident = Incident(
                    number=repo.next_incident_number(session=session), title=declaration.title,
                    description=declaration.description, priority=declaration.priority.value,
                    status=Status.NEW.value, impacts=",".join(sorted(i.value for i in declaration.impacts)),
                    reporter_id=declaration.reporter_id, commander_id=declaration.commander_id,
                    rotation_id=rotation_id, declared_in_channel=declaration.declared_in_channel,
                    source_url=declaration.source_url, declare_key=declaration.declare_key,
                    created_at=now, updated_at=now)
                session.add(incident)
                try:
                    session.flush()
                    repo.add_event(session=session, incident_id=incident.id, at=now, actor_id=declaration.reporter_id,
                                   kind="declared", text=f"{declaration.priority.value}: {declaration.title}")
                    if declaration.commander_id:
                        repo.add_event(session=session, incident_id=incident.id, at=now,
                                       actor_id=declaration.reporter_id, kind="commander",
                                       text=f"<@{declaration.commander_id}> is commander")
                    session.commit()
                    return Declared(incident, created=True)
                except IntegrityError:
                    session.rollback()
                    if declaration.declare_key:
                        existing = repo.incident_by_declare_key(session=session,
                                                                declare_key=declaration.declare_key)
                        if existing:
                            return Declared(existing, created=False)
        raise RuntimeError("could not allocate an incident number")

    def open_in_slack_later(self, incident: Incident) -> None:
        self.background.spawn(self.open_in_slack(incident.id), name=f"open-{incident_ref(incident.number)}")

    async def resume_unfinished(self) -> int:
        """At start-up: finish the Slack set-up of incidents a previous process stored but did not finish."""
        with self.db.session() as session:
            pending = repo.incidents_with_unfinished_setup(session=session,
                                                           since=self.clock.now() - _SETUP_RESUME_WINDOW)
        for incident in pending:
            self.open_in_slack_later(incident)
        return len(pending)

    async def open_in_slack(self, incident_id: int) -> None:
        """Channel (or thread), invitations, topic, pinned summary, announcement, reply to the reporter.

        Each step is recorded when done, so a restart resumes where it stopped instead of starting over.
        """
        incident = self._load(incident_id)
        steps = incident.steps_done
        if "done" in steps:
            return
        if "home" not in steps:
            await self._make_home(incident)
            incident = self._load(incident_id)
        if incident.thread_ts is None:
            plan = [("reply", self._reply), ("invite", self._invite), ("topic", self._topic),
                    ("summary", self._post_summary), ("pin", self._pin), ("announce", self._announce)]
        else:
            plan = [("summary", self._post_summary), ("reply", self._reply)]
        for step, action in plan:
            if step in incident.steps_done:
                continue
            try:
                await action(incident)
            except SlackApiError as exc:
                if not _permanent(exc):
                    raise
                log.warning("%s: step %s refused by Slack (%s)", incident_ref(incident.number), step, slack_error(exc))
            incident = self._mark(incident_id, step)
        self._mark(incident_id, "done")

    def _load(self, incident_id: int) -> Incident:
        with self.db.session() as session:
            incident = repo.incident_by_id(session=session, incident_id=incident_id)
        if incident is None:
            raise LookupError(f"incident id {incident_id} vanished")
        return incident

    def _save(self, incident_id: int, **fields) -> Incident:
        with self.db.session() as session:
            incident = repo.incident_by_id(session=session, incident_id=incident_id)
            for key, value in fields.items():
                setattr(incident, key, value)
            session.commit()
            return incident

    def _mark(self, incident_id: int, step: str) -> Incident:
        incident = self._load(incident_id)
        return self._save(incident_id, slack_steps_done=",".join(sorted(incident.steps_done | {step})))

    def _note(self, incident: Incident, text: str) -> None:
        with self.db.session() as session:
            repo.add_event(session=session, incident_id=incident.id, at=self.clock.now(), actor_id=None,
                           kind="note", text=text)
            session.commit()

    def _announcement_channel(self, incident: Incident) -> str | None:
        with self.db.session() as session:
            rotation = self._rotation(session, incident)
        return rotation.channel_id if rotation else self.settings.incidents_channel

    async def _make_home(self, incident: Incident) -> None:
        """A channel of its own; when that is off or refused, a thread under the announcement."""
        if self.settings.create_incident_channels:
            for attempt in range(1, _NAME_ATTEMPTS + 1):
                name = channel_name(incident.number, incident.title, attempt)
                try:
                    channel_id = await self.slack.create_channel(name)
                except SlackApiError as exc:
                    error = slack_error(exc)
                    if error == "name_taken":
                        continue
                    if not _permanent(exc) and error not in CHANNEL_REFUSED:
                        raise
                    self._note(incident, f"Slack refused to create a channel ({error}); the incident runs in a "
                                         "thread under its announcement.")
                    break
                self._save(incident.id, channel_id=channel_id, channel_name=name,
                           slack_steps_done=",".join(sorted(incident.steps_done | {"home"})))
                return
            else:
                self._note(incident, "Every channel name was taken; the incident runs in a thread.")
        await self._announce_as_thread_root(incident)

    async def _announce_as_thread_root(self, incident: Incident) -> None:
        target = self._announcement_channel(incident) or incident.reporter_id
        text, blocks = incident_views.announcement(incident)
        channel_id, ts = await self.slack.post(target, text, blocks)
        self._save(incident.id, channel_id=channel_id, thread_ts=ts, announcement_channel=channel_id,
                   announcement_ts=ts, slack_steps_done=",".join(sorted(incident.steps_done | {"home", "announce"})))

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
                if slack_error(exc) not in _EPHEMERAL_UNDELIVERABLE:
                    raise
        await self.slack.post(incident.reporter_id, text)

    async def _invite(self, incident: Incident) -> None:
        await self.slack.invite(incident.channel_id, [incident.reporter_id, incident.commander_id])

    async def _topic(self, incident: Incident) -> None:
        await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))

    async def _post_summary(self, incident: Incident) -> None:
        with self.db.session() as session:
            rotation = self._rotation(session, incident)
        text, blocks = incident_views.summary(incident, rotation.name if rotation else None)
        _, ts = await self.slack.post(incident.channel_id, text, blocks, thread_ts=incident.thread_ts)
        self._save(incident.id, summary_ts=ts)

    async def _pin(self, incident: Incident) -> None:
        await self.slack.pin(incident.channel_id, incident.summary_ts)

    async def _announce(self, incident: Incident) -> None:
        target = self._announcement_channel(incident)
        if target is None:
            return
        text, blocks = incident_views.announcement(incident)
        channel_id, ts = await self.slack.post(target, text, blocks)
        self._save(incident.id, announcement_channel=channel_id, announcement_ts=ts)

    # -- working it (the summary's buttons) -------------------------------------------------------------

    def _change(self, number: int, actor_id: str, apply) -> Changed:
        """Load, let `apply(incident) -> event text or None` change it, store it with its timeline event."""
        now = self.clock.now()
        with self.db.session() as session:
            incident = repo.incident_by_number(session=session, number=number)
            if incident is None:
                raise UserError(f"There is no {incident_ref(number)}.")
            outcome = apply(incident, now)
            if outcome is None:
                return Changed(incident, changed=False)
            kind, text = outcome
            incident.updated_at = now
            repo.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor_id, kind=kind, text=text)
            session.commit()
            return Changed(incident, changed=True)

    def acknowledge(self, number: int, user_id: str) -> Changed:
        def apply(incident: Incident, now):
            if not Status(incident.status).is_open:
                raise UserError(f"{incident_ref(number)} is {incident.status}; there is nothing to acknowledge.")
            if incident.acknowledged_at is not None:
                return None
            incident.acknowledged_at = now
            text = "acknowledged"
            if incident.commander_id is None:
                incident.commander_id = user_id
                text += f" and took command (<@{user_id}> is commander)"
            return "acknowledged", text
        return self._change(number, user_id, apply)

    def take_command(self, number: int, user_id: str) -> Changed:
        def apply(incident: Incident, now):
            if not Status(incident.status).is_open:
                raise UserError(f"{incident_ref(number)} is {incident.status}; reopen it before taking command.")
            if incident.commander_id == user_id:
                return None
            previous = incident.commander_id
            incident.commander_id = user_id
            if incident.acknowledged_at is None:
                incident.acknowledged_at = now
            return "commander", f"<@{user_id}> is commander" + (f" (was <@{previous}>)" if previous else "")
        return self._change(number, user_id, apply)

    def post_update(self, number: int, user_id: str, text: str) -> Changed:
        body = text.strip()
        if not body:
            raise UserError("An update needs some text.")

        def apply(incident: Incident, now):
            if not Status(incident.status).is_open:
                raise UserError(f"{incident_ref(number)} is {incident.status}; updates go to open incidents.")
            return "update", body
        return self._change(number, user_id, apply)

    def resolve(self, number: int, user_id: str, summary: str) -> Changed:
        body = summary.strip()
        if not body:
            raise UserError("Say in a sentence how it was resolved.")

        def apply(incident: Incident, now):
            if not Status(incident.status).is_open:
                raise UserError(f"{incident_ref(number)} is already {incident.status}.")
            incident.status = Status.RESOLVED.value
            incident.resolved_at = now
            return "resolved", body
        return self._change(number, user_id, apply)

    def tell_incident_later(self, incident: Incident, text: str, *, refresh: bool) -> None:
        """After a change: say it in the incident's home and keep the pinned summary and topic current."""
        self.background.spawn(self._tell_incident(incident.id, text, refresh),
                              name=f"tell-{incident_ref(incident.number)}")

    async def _tell_incident(self, incident_id: int, text: str, refresh: bool) -> None:
        incident = self._load(incident_id)
        if incident.channel_id is None:
            return
        await self.slack.post(incident.channel_id, text, thread_ts=incident.thread_ts)
        if refresh and incident.summary_ts:
            with self.db.session() as session:
                rotation = self._rotation(session, incident)
            summary_text, blocks = incident_views.summary(incident, rotation.name if rotation else None)
            await self.slack.update(incident.channel_id, incident.summary_ts, summary_text, blocks)
            if incident.thread_ts is None:
                await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))
