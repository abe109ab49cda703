"""Declaring: store the incident first, then give it a home in Slack step by step (resumable after a crash)."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.db import repo
from bot.db.models import Incident
from bot.domain.incident import Declaration, Priority, Status, channel_name, incident_ref
from bot.notify import CHANNEL_REFUSED, slack_error
from bot.services.base import Declared, permanent
from bot.services.paging import PagingService
from bot.views import incident as incident_views

log = logging.getLogger(__name__)

_NAME_ATTEMPTS = 20
_SETUP_RESUME_WINDOW = timedelta(days=1)
_EPHEMERAL_UNDELIVERABLE = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel",
                                      "is_archived", "no_permission"})


class DeclaringService(PagingService):
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
                    created_at=now, updated_at=now, p0_since=now if declaration.priority is Priority.P0 else None,
                    source=declaration.source, alert_fingerprint=declaration.alert_fingerprint,
                    alert_count=1 if declaration.alert_fingerprint else 0)
                session.add(incident)
                try:
                    session.flush()
                    repo.add_event(session=session, incident_id=incident.id, at=now,
                                   actor_id=declaration.reporter_id or None, kind="declared",
                                   text=f"{declaration.priority.value}: {declaration.title}"
                                   + (f" (opened by a {declaration.source} alert)" if declaration.source != "slack"
                                      else ""))
                    if declaration.commander_id:
                        repo.add_event(session=session, incident_id=incident.id, at=now,
                                       actor_id=declaration.reporter_id, kind="commander",
                                       text=f"<@{declaration.commander_id}> is commander")
                    if declaration.priority.pages and rotation_id is not None:
                        self.start_chain(session, incident, now)  # stored with the incident, sent right after
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
        self.background.spawn_after_acks(self.open_in_slack(incident.id), name=f"open-{incident_ref(incident.number)}")

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
        if incident.channel_id is None:
            plan = [("page", self._page)]
        elif incident.thread_ts is None:
            plan = [("page", self._page), ("reply", self._reply), ("invite", self._invite), ("topic", self._topic),
                    ("summary", self._post_summary), ("pin", self._pin), ("announce", self._announce)]
        else:
            plan = [("page", self._page), ("summary", self._post_summary), ("reply", self._reply)]
        for step, action in plan:
            if step in incident.steps_done:
                continue
            try:
                await action(incident)
            except SlackApiError as exc:
                if not permanent(exc):
                    raise
                log.warning("%s: step %s refused by Slack (%s)", incident_ref(incident.number), step, slack_error(exc))
            incident = self._mark(incident_id, step)
        self._mark(incident_id, "done")

    def _mark(self, incident_id: int, step: str) -> Incident:
        incident = self._load(incident_id)
        return self._save(incident_id, slack_steps_done=",".join(sorted(incident.steps_done | {step})))

    def _note(self, incident: Incident, text: str) -> None:
        with self.db.session() as session:
            repo.add_event(session=session, incident_id=incident.id, at=self.clock.now(), actor_id=None,
                           kind="note", text=text)
            session.commit()

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
                    if not permanent(exc) and error not in CHANNEL_REFUSED:
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
        if not target:  # an alert, with no channel allowed and nowhere to announce: it lives in the bot alone
            self._note(incident, "No channel could be created and there is nowhere to announce it.")
            self._save(incident.id, slack_steps_done=",".join(sorted(incident.steps_done | {"home", "announce"})))
            return
        text, blocks = incident_views.announcement(incident)
        channel_id, ts = await self.slack.post(target, text, blocks)
        self._save(incident.id, channel_id=channel_id, thread_ts=ts, announcement_channel=channel_id,
                   announcement_ts=ts, slack_steps_done=",".join(sorted(incident.steps_done | {"home", "announce"})))

    async def _reply(self, incident: Incident) -> None:
        if not incident.reporter_id:  # opened by an alert: there is nobody to answer
            return
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

    async def _page(self, incident: Incident) -> None:
        """Slack failing the DM does not hold up the channel: the page stays queued and the tick delivers it."""
        await self.deliver_pages(incident.id)

    async def _invite(self, incident: Incident) -> None:
        """The reporter, the commander and whoever is on call for the incident's rotation."""
        with self.db.session() as session:
            oncall = self.on_call_for(session, incident, self.clock.now())
        await self.slack.invite(incident.channel_id, [incident.reporter_id, incident.commander_id,
                                                      *(oncall.people if oncall else ())])

    async def _topic(self, incident: Incident) -> None:
        await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))

    async def _post_summary(self, incident: Incident) -> None:
        text, blocks = self._summary(incident)
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

