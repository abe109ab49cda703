"""What the issue trackers tell us (SPEC §2 "Issue tracker", in): an issue put into the queue with a P0/P1 label
becomes an incident through the same declare path as a person's (channel, announcement, pages); closing it
resolves the incident, reopening reopens it, a priority label changes its priority. One incident per issue
whatever the redeliveries: the issue's own id is the declaration's key, the delivery id each change's request key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import FollowUpIssue
from bot.db.models import FollowUp
from bot.domain.errors import UserError
from bot.domain.incident import Declaration, Priority, clean_title, incident_ref
from bot.domain.tracker import Decision, IssueEvent, Linked, TrackerActor, decide, newer
from bot.services.declaring import Declaring
from bot.services.follow_ups import FollowUps
from bot.services.working import Resolution, Working
from bot.slack.text import escape

log = logging.getLogger(__name__)

TITLE_MAX = 150
DESCRIPTION_MAX = 3000


@dataclass(frozen=True)
class Heard:
    incident: str | None
    did: str  # declared | resolved | reopened | priority | follow-up done | follow-up reopened | ignored
    reason: str = ""

    def as_json(self) -> dict:
        return {"incident": self.incident, "did": self.did, **({"reason": self.reason} if self.reason else {})}


class IssueEvents:
    """`declaring`: an issue in the queue opens an incident as a person would; `working`: its changes change it."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, declaring: Declaring,
                 working: Working, follow_ups: FollowUps | None = None) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self.declaring, self.working, self.follow_ups = declaring, working, follow_ups

    def health(self, counts: dict[str, dict[str, int]]) -> dict[str, dict]:
        """For /healthz: each tracker's last refusal for good (until a call goes through again) and what it is
        owed (`counts`: the outbox by state and kind)."""
        with self.db.reading() as session:
            states = repo.trackers.tracker_states(session=session)
        health = {}
        for name in self.settings.trackers:
            state = states.get(name)
            owed = {what: sum(n for kind, n in counts.get(what, {}).items() if kind.startswith(f"{name}_"))
                    for what in ("queued", "failed")}
            entry = {"state": "refused" if state and state.error else "ok", "as": state.login if state else None,
                     **owed}
            if state and state.error:
                entry.update(error=state.error, since=state.error_at.isoformat() if state.error_at else None)
            health[name] = entry
        return health

    def receive(self, event: IssueEvent) -> Heard:
        with self.db.reading() as session:
            item, item_link = repo.trackers.follow_up_of_issue(session=session, tracker=event.tracker,
                                                               issue_id=event.issue_id)
            number = repo.incidents.incident_by_id(session=session, incident_id=item.incident_id).number \
                if item else None
            state = repo.trackers.tracker_states(session=session).get(event.tracker)
        if item is not None and number is not None:
            return self._follow_up(event, item, item_link, number, state.login if state else None)
        with self.db.reading() as session:
            incident, link = repo.trackers.incident_of_issue(session=session, tracker=event.tracker,
                                                             issue_id=event.issue_id)
            state = repo.trackers.tracker_states(session=session).get(event.tracker)
            closed_since = repo.trackers.closed_unlinked(session=session, tracker=event.tracker,
                                                         issue_id=event.issue_id) \
                if incident is None else None
            rotations = repo.rotations.all_rotations(session=session) if incident is None else []
        linked = Linked(incident.number, incident.priority, incident.status, link.seen_at) \
            if incident else None
        decision = decide(event, linked, self.settings.queue_label, state.login if state else None, closed_since)
        log.info("%s issue #%s (%s, delivery %s): %s %s", event.tracker, event.number, event.action,
                 event.delivery_id, decision.what, decision.reason)
        in_queue = self.settings.queue_label.lower() in (label.lower() for label in event.labels)
        if incident is None and event.state == "closed" and event.updated_at is not None and in_queue:
            self._remember_closed(event)  # an older `opened` arriving after this must not declare it
        if decision.what == "declare":
            return self._declare(event, decision, rotations)
        if incident is None:
            return Heard(None, "ignored", decision.reason)
        heard = self._apply(event, decision, incident.number)
        if event.updated_at is not None and not decision.reason.startswith("an older event"):
            self._seen(event)
        return heard

    def _follow_up(self, event: IssueEvent, item: FollowUp, link: FollowUpIssue, number: int,
                   login: str | None) -> Heard:
        """A follow-up's issue closed (→ done) or reopened (→ not done), unless the change is the bot's own coming
        back, or older than one already applied."""
        ref = incident_ref(number)
        if login and event.sender.lower() == login.lower():
            return Heard(ref, "ignored", "the bot's own change")
        if not newer(event.updated_at, link.seen_at):  # older, or replayed (bot/domain/tracker.py `newer`)
            return Heard(ref, "ignored", "an older event than the last one applied or sent")
        if event.action not in ("closed", "reopened"):  # an edit's state may be older than a change in Slack
            return Heard(ref, "ignored", f"a follow-up's issue {event.action}: only closing and reopening count")
        done, closed = item.done_at is not None, event.action == "closed"
        heard = Heard(ref, "ignored", f"follow-up #{item.id} is {'done' if done else 'open'} already")
        if done != closed and self.follow_ups is not None:
            try:
                self.follow_ups.done(item.id, None, f"{event.tracker}:{event.delivery_id}", undo=not closed,
                                     external=TrackerActor(event.tracker, event.sender))
                heard = Heard(ref, "follow-up done" if closed else "follow-up reopened")
            except UserError as exc:  # changed in Slack meanwhile
                heard = Heard(ref, "ignored", str(exc))
        if event.updated_at is not None:
            with self.db.session() as session:
                repo.trackers.follow_up_issue_seen(session=session, tracker=event.tracker, issue_id=event.issue_id,
                                                   at=event.updated_at)
                session.commit()
        return heard

    def _remember_closed(self, event: IssueEvent) -> None:
        with self.db.session() as session:
            repo.trackers.note_closed_unlinked(session=session, tracker=event.tracker, issue_id=event.issue_id,
                                               at=event.updated_at)
            session.commit()

    def _seen(self, event: IssueEvent) -> None:
        with self.db.session() as session:
            repo.trackers.issue_seen(session=session, tracker=event.tracker, issue_id=event.issue_id,
                                     at=event.updated_at)
            session.commit()

    def _apply(self, event: IssueEvent, decision: Decision, number: int) -> Heard:
        if decision.what == "ignore":
            return Heard(incident_ref(number), "ignored", decision.reason)
        incident_number = number
        actor = TrackerActor(event.tracker, event.sender)
        key = f"{event.tracker}:{event.delivery_id}"
        try:
            if decision.what == "resolve":
                self.working.resolve(incident_number, None, Resolution(f"Its issue was closed: {escape(event.url)}"),
                                     key, external=actor)
            elif decision.what == "reopen":
                self.working.reopen(incident_number, None, f"its issue was reopened: {escape(event.url)}", key,
                                    external=actor)
            else:
                self.working.set_priority(incident_number, None, decision.priority, key, external=actor)
        except UserError as exc:  # it changed in Slack meanwhile (resolved a moment ago, ...): nothing to do
            return Heard(incident_ref(incident_number), "ignored", str(exc))
        return Heard(incident_ref(incident_number), {"resolve": "resolved", "reopen": "reopened"}.get(
            decision.what, "priority"))

    def _declare(self, event: IssueEvent, decision: Decision, rotations: list) -> Heard:
        """Into the rotation a label names (`infra` for a rotation called infra), else the first created."""
        labels = {label.lower() for label in event.labels}
        rotation = next((r for r in rotations if r.name.lower() in labels), rotations[0] if rotations else None)
        title = clean_title(event.title)[:TITLE_MAX] or f"Issue #{event.number}"
        declared = self.declaring.declare(Declaration(
            title=title, reporter_id="", priority=decision.priority or Priority.P1,
            description=event.body.strip()[:DESCRIPTION_MAX], rotation_id=rotation.id if rotation else None,
            source_url=event.url, declare_key=f"{event.tracker}:issue:{event.issue_id}", source=event.tracker),
            from_issue=event.ref)
        if declared.created:
            self.declaring.open_in_slack_later(declared.incident)
            return Heard(incident_ref(declared.incident.number), "declared")
        return Heard(incident_ref(declared.incident.number), "ignored", "declared already")
