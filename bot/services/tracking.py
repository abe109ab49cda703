"""What a change owes the issue trackers, queued as deliveries in the change's own transaction (like what it owes
Slack): the issue opened for a P0/P1, its labels and open/closed kept in step, updates and the resolution as
comments. A change that came from a tracker is not told back to it (no echo). SPEC §2 "Issue tracker".
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident
from bot.delivery.kinds import TrackerCall, tracker_kind, tracker_lane
from bot.domain.incident import incident_ref
from bot.domain.tracker import IssueRef
from bot.services.outbox import Outbox
from bot.services.outcomes import Outcome

# The incident's labels or open/closed change with these; the others leave the issue as it is.
RELABEL = frozenset({"priority", "status", "resolved", "reopened", "closed", "duplicate"})


def _comment(incident: Incident, outcome: Outcome) -> str | None:
    """The comment a change leaves on the issue (Markdown; Slack markup is turned into it on the way out)."""
    ref = incident_ref(incident.number)
    match outcome.kind:
        case "update":
            return f"**Update on {ref}** (from Slack):\n\n{outcome.text}"
        case "resolved":
            text = f"**{ref} resolved** in Slack:\n\n{outcome.text}"
            if incident.follow_ups:
                text += "\n\n**Follow-ups**\n" + "\n".join(f"- {line}" for line in incident.follow_ups.splitlines())
            return text
        case "reopened":
            return f"**{ref} reopened** in Slack: {outcome.text}"
        case "closed":
            return f"**{ref} closed** in Slack (not an incident, or moved out of the queue): {outcome.text}"
        case "duplicate":
            return f"**{ref}** is a {outcome.text} in Slack."
    return None


class TrackerOut:
    def __init__(self, trackers: tuple[str, ...], outbox: Outbox) -> None:
        self.trackers, self.outbox = trackers, outbox

    def _queue(self, session: Session, incident: Incident, tracker: str, what: TrackerCall, now: datetime,
               **payload) -> None:
        self.outbox.queue(session, lane=tracker_lane(tracker, incident.id), kind=tracker_kind(tracker, what), now=now,
                          incident_id=incident.id, **payload)

    def follow_up(self, session: Session, incident: Incident, follow_up_id: int, now: datetime, *, opened: bool,
                  origin: str | None = None) -> None:
        """A follow-up added (`opened`: its issue opened on each tracker) or marked done / not done (its issues
        closed or reopened), in the follow-up change's transaction. `origin`: the tracker the change came from."""
        if incident.private:  # nothing of a private incident leaves its channel, trackers included
            return
        for tracker in self.trackers:
            if tracker != origin:
                call = TrackerCall.FOLLOW_UP_OPEN if opened else TrackerCall.FOLLOW_UP_SYNC
                self._queue(session, incident, tracker, call, now, follow_up_id=follow_up_id)

    def declared(self, session: Session, incident: Incident, now: datetime, from_issue: IssueRef | None) -> None:
        """A P0/P1 gets an issue on each tracker; one declared from an issue is linked to it (in the same
        transaction: no second issue is ever opened for it) and the issue hears where it lives in Slack."""
        if incident.private:
            return
        for tracker in self.trackers:
            if from_issue is not None and from_issue.tracker == tracker:
                repo.trackers.link_issue(session=session, incident_id=incident.id, tracker=tracker,
                                         issue_id=from_issue.issue_id, number=from_issue.number, url=from_issue.url,
                                         opened_there=True, now=now)
                self._queue(session, incident, tracker, TrackerCall.COMMENT, now, about="declared")
            elif incident.priority.pages:
                self._queue(session, incident, tracker, TrackerCall.OPEN, now)

    def changed(self, session: Session, incident: Incident, outcome: Outcome, now: datetime,
                origin: str | None) -> None:
        """After the change is applied, before its commit. `origin`: the tracker the change came from."""
        if incident.private:
            return
        for tracker in self.trackers:
            if tracker == origin:  # it knows what it told us; the analysis draft is news to it all the same
                if outcome.kind == "resolved" and incident.postmortem:
                    self._queue(session, incident, tracker, TrackerCall.COMMENT, now, about="postmortem")
                continue
            tracked = incident.priority.pages or repo.trackers.tracker_issue(
                session=session, incident_id=incident.id, tracker=tracker) is not None
            if not tracked and outcome.kind != "priority":
                continue
            if outcome.kind in ("priority", "reopened") and incident.priority.pages \
                    and incident.status.is_open:
                # raised into the queue: opened once, if not yet
                self._queue(session, incident, tracker, TrackerCall.OPEN, now)
            if (text := _comment(incident, outcome)) is not None:
                self._queue(session, incident, tracker, TrackerCall.COMMENT, now, text=text)
            if outcome.kind in RELABEL:
                self._queue(session, incident, tracker, TrackerCall.SYNC, now)
            if outcome.kind == "resolved" and incident.postmortem:
                self._queue(session, incident, tracker, TrackerCall.COMMENT, now, about="postmortem")
