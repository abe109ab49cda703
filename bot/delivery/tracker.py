"""What a stored tracker delivery means in tracker calls: open the incident's issue, bring its labels and
open/closed in step with the incident, leave a comment. Through the one delivery engine like every Slack message:
stored with the change, claimed, in order per incident and tracker, retried while the tracker is down or asks us to
slow down (its rate-limit headers honoured), given up only when it says no for good — which the incident's timeline
and /healthz then show.

Nothing is doubled by an unclear answer: before opening an issue again, or leaving a comment again, the tracker is
asked whether an earlier attempt got through (the issue's title, a hidden marker in the comment). An issue found
again is adopted only if the bot's own account opened it and its body carries the bot's marker: anyone can open an
issue titled `INC-8: …` in a public repository, and whoever's issue is linked can resolve the incident by closing it.

What the bot changes on an issue is remembered with the issue's own time in the tracker's answer (`seen_at`, as for
the events applied): a webhook event no newer than that — an older one arriving late, or a captured body replayed
under a new delivery id — changes nothing (bot/domain/tracker.py `decide`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.edge_models import FollowUpIssue, TrackerIssue
from bot.db.models import Delivery, FollowUp, Incident
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Later, Refused, TrackerCall, Unavailable, incident_lane, tracker_kind
from bot.delivery.messages import incident_in
from bot.domain.incident import Impact, incident_ref
from bot.domain.tracker import (
    TRACKER_NAMES,
    IssueFacts,
    IssueRef,
    close_reason,
    comment_body,
    follow_up_body,
    follow_up_labels,
    follow_up_marker,
    follow_up_prefix,
    follow_up_state,
    follow_up_title,
    issue_body,
    issue_labels,
    issue_marker,
    issue_state,
    issue_title,
    marker,
    slack_link,
    title_prefix,
)
from bot.slack.text import escape
from bot.trackers import Synced, Tracker, TrackerDown, TrackerRefused
from bot.views.incident import reported_by

log = logging.getLogger(__name__)

HOME_WAIT = timedelta(minutes=2)  # an issue waits this long for the incident's channel, to link to it
LOOK_BACK = timedelta(minutes=10)  # an earlier attempt's issue or comment is this recent at most (clock skew)


@dataclass(frozen=True)
class Found:
    incident: Incident
    issue: TrackerIssue | None
    login: str | None  # who the bot is on the tracker (else learnt on this delivery's way out)


@dataclass(frozen=True)
class FoundFollowUp:
    incident: Incident
    item: FollowUp
    issue: FollowUpIssue | None  # the follow-up's own issue there, once opened
    incident_issue: TrackerIssue | None
    login: str | None


class TrackerDeliveries:
    def __init__(self, engine: DeliveryEngine, clock: Clock, trackers: dict[str, Tracker], queue_label: str,
                 queue_refresh: Callable[[Session, Incident, datetime], None]) -> None:
        self.engine, self.clock, self.trackers, self.queue_label = engine, clock, trackers, queue_label
        self.queue_refresh = queue_refresh  # the pinned summary links the issue once it exists
        # A tracker that asked us to slow down is left alone until then, by every lane (in this process).
        self.not_before: dict[str, datetime] = {}
        self.asked_login: set[str] = set()  # once per process: a token that may not read its own user stays so

    # -- reads, in the claim's transaction ------------------------------------------------------------------

    @staticmethod
    def _tracker(delivery: Delivery) -> str:
        return delivery.kind.rsplit("_", 1)[0]

    def _found(self, session: Session, delivery: Delivery) -> Found:
        incident = incident_in(session, delivery, need_home=False)
        tracker = self._tracker(delivery)
        issue = repo.trackers.tracker_issue(session=session, incident_id=incident.id, tracker=tracker)
        state = repo.trackers.tracker_states(session=session).get(tracker)
        return Found(incident, issue, state.login if state and state.login else None)

    def read(self, session: Session, delivery: Delivery) -> Found:
        found = self._found(session, delivery)
        if found.issue is None:
            raise Drop(f"{incident_ref(found.incident.number)} has no issue on "
                       f"{TRACKER_NAMES[self._tracker(delivery)]} (it could not be opened)")
        return found

    def read_for_open(self, session: Session, delivery: Delivery) -> Found:
        found = self._found(session, delivery)
        incident = found.incident
        if found.issue is None and incident.channel_id is None and "done" not in incident.steps_done \
                and self.clock.now() - incident.created_at < HOME_WAIT:
            raise Later  # its channel is on the way: the issue links to it
        return found

    # -- calls -----------------------------------------------------------------------------------------------

    async def _calling(self, delivery: Delivery, incident: Incident, doing: str, call) -> object:
        """A tracker call: down → tried again later; refused for good → failed, and said on the timeline and in
        /healthz (with the outcome, under the claim)."""
        tracker = self._tracker(delivery)
        now = self.clock.now()
        if (until := self.not_before.get(tracker)) and now < until:
            call.close()
            raise Unavailable(f"{tracker}: waiting out its rate limit", (until - now).total_seconds())
        try:
            return await call
        except TrackerDown as exc:
            if exc.retry_after:
                self.not_before[tracker] = now + timedelta(seconds=exc.retry_after)
            raise Unavailable(f"{tracker}: {exc.error}", exc.retry_after) from exc
        except TrackerRefused as exc:
            now, error = self.clock.now(), exc.error

            def record(session: Session) -> None:
                repo.trackers.note_tracker(session=session, tracker=tracker, now=now, error=error)
                repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="tracker",
                                        text=f"{TRACKER_NAMES[tracker]} refused to {doing}: {escape(error)}")
            raise Refused(error, record) from exc

    async def _ok(self, tracker: str, found: Found | FoundFollowUp, also: Callable[[Session], None] | None = None,
                  learnt: str | None = None) -> Sent:
        """Went through: a refusal shown before is over. Who the bot is there, if not known yet (the tracker was
        down at start-up), is learnt now (`learnt`: the author of the issue it just opened, or asked): its own
        changes coming back through webhooks are then known as such."""
        now, login = self.clock.now(), None if found.login else learnt or None
        if not found.login and not login and tracker not in self.asked_login:
            self.asked_login.add(tracker)
            try:
                login = await self.trackers[tracker].whoami()
            except (TrackerDown, TrackerRefused) as exc:
                log.info("%s: who the bot is there is still unknown (%s)", tracker, exc)

        def record(session: Session) -> None:
            repo.trackers.note_tracker(session=session, tracker=tracker, now=now, error="", login=login)
            if also is not None:
                also(session)
        return Sent(record)

    async def _own_account(self, delivery: Delivery, incident: Incident, found: Found | FoundFollowUp) -> str | None:
        """Who the bot is on the tracker, asked now if not known yet; None when the token may not read its own
        user (then no issue is adopted: one more issue is better than someone else's)."""
        if found.login:
            return found.login
        try:
            return await self._calling(delivery, incident, "tell who the bot is there",
                                       self.trackers[self._tracker(delivery)].whoami())
        except Refused as exc:
            log.info("%s: who the bot is there is unknown (%s): an earlier attempt's issue is not looked for",
                     self._tracker(delivery), exc)
            return None

    async def _found_again(self, delivery: Delivery, incident: Incident, found: Found | FoundFollowUp, doing: str,
                           prefix: str, since: datetime, mark: str) -> tuple[IssueRef | None, str | None]:
        """The issue an earlier, unclear attempt opened — only the bot's own (see `own_issue`) — and the bot's
        account, when known."""
        login = await self._own_account(delivery, incident, found)
        if login is None:
            return None, None
        tracker = self.trackers[self._tracker(delivery)]
        return await self._calling(delivery, incident, doing, tracker.find_issue(prefix, since, login, mark)), login

    async def _set(self, delivery: Delivery, incident: Incident, doing: str, call) -> datetime | None:
        """The issue made as it should be; its time then: the tracker's (once changed, or when read and found so
        already), else when we sent a change; None if neither. Whatever the issue said before that time is
        superseded by what it says now, which is what the incident says."""
        sent = self.clock.now()
        synced: Synced = await self._calling(delivery, incident, doing, call)  # type: ignore[assignment]
        return synced.at or (sent if synced.changed else None)

    @staticmethod
    def _tried_before(delivery: Delivery) -> bool:
        """An earlier attempt may have got through without our hearing it (a timeout, a 5xx after the write, a
        process that died mid-call)."""
        return delivery.attempts > 0 or delivery.claimed_at is not None

    async def open(self, delivery: Delivery, payload: dict, found: Found) -> Sent | None:
        incident, tracker_name = found.incident, self._tracker(delivery)
        if found.issue is not None:
            return None  # opened already (by an earlier delivery, or the incident came from this issue)
        if not incident.priority.pages:
            return None  # lowered to P2 while this waited: not the firefighters' queue
        tracker = self.trackers[tracker_name]
        ref, login = None, found.login
        if self._tried_before(delivery):
            ref, login = await self._found_again(delivery, incident, found, "find the issue it opened",
                                                 title_prefix(incident.number), incident.created_at - LOOK_BACK,
                                                 issue_marker(incident.number))
        if ref is None:
            impacts = [Impact(v).question for v in incident.impacts.split(",") if v in Impact._value2member_map_]
            body = issue_body(IssueFacts(
                number=incident.number, priority=incident.priority, description=incident.description,
                impacts=impacts, commander_id=incident.commander_id, reporter=reported_by(incident),
                channel_id=incident.channel_id if incident.thread_ts is None else incident.announcement_channel))
            labels = issue_labels(incident.priority, incident.status, self.queue_label)
            ref = await self._calling(delivery, incident, "open an issue", tracker.open_issue(
                issue_title(incident.number, incident.title), body, labels))
        now = self.clock.now()

        def link(session: Session) -> None:
            repo.trackers.link_issue(session=session, incident_id=incident.id, tracker=tracker_name,
                                     issue_id=ref.issue_id, number=ref.number, url=ref.url, opened_there=False, now=now,
                                     seen_at=ref.updated_at)
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="tracker",
                                    text=f"opened {TRACKER_NAMES[tracker_name]} issue #{ref.number}: {escape(ref.url)}")
            self.queue_refresh(session, incident, now)
        return await self._ok(tracker_name, found, link, login or ref.author)

    async def sync(self, delivery: Delivery, payload: dict, found: Found) -> Sent:
        """Labels and open/closed from the incident as it is now (not as it was when the change was queued):
        several changes in a row need only the last word, and a sync can never put back an older state."""
        incident, tracker_name = found.incident, self._tracker(delivery)
        priority, status = incident.priority, incident.status
        sent = await self._set(delivery, incident, "update the issue's labels and state",
                               self.trackers[tracker_name].set_issue(
                                   found.issue.number, lambda current: issue_labels(priority, status,
                                                                                    self.queue_label, current),
                                   issue_state(status), close_reason(status)))
        issue_id = found.issue.issue_id

        def seen(session: Session) -> None:  # an event about the issue before our change is older than it
            repo.trackers.issue_seen(session=session, tracker=tracker_name, issue_id=issue_id, at=sent)
        return await self._ok(tracker_name, found, seen if sent else None)

    async def comment(self, delivery: Delivery, payload: dict, found: Found) -> Sent | None:
        incident, tracker_name = found.incident, self._tracker(delivery)
        text = self._comment_text(payload, incident)
        if text is None:
            return None
        tracker = self.trackers[tracker_name]
        key = f"delivery-{delivery.id}"
        if self._tried_before(delivery) and await self._calling(
                delivery, incident, "read the issue's comments",
                tracker.has_comment(found.issue.number, marker(key), delivery.created_at - LOOK_BACK)):
            return await self._ok(tracker_name, found)  # the earlier attempt got through
        await self._calling(delivery, incident, "comment on the issue",
                            tracker.comment(found.issue.number, comment_body(text, key)))
        return await self._ok(tracker_name, found)

    # -- follow-ups ------------------------------------------------------------------------------------------

    def read_follow_up(self, session: Session, delivery: Delivery) -> FoundFollowUp:
        incident = incident_in(session, delivery, need_home=False)
        tracker = self._tracker(delivery)
        item = repo.follow_ups.follow_up_by_id(session=session,
                                               follow_up_id=json.loads(delivery.payload)["follow_up_id"])
        if item is None:
            raise Drop("the follow-up is gone")
        state = repo.trackers.tracker_states(session=session).get(tracker)
        return FoundFollowUp(incident, item, repo.trackers.follow_up_issue(session=session, follow_up_id=item.id,
                                                                           tracker=tracker),
                             repo.trackers.tracker_issue(session=session, incident_id=incident.id, tracker=tracker),
                             state.login if state and state.login else None)

    async def open_follow_up(self, delivery: Delivery, payload: dict, found: FoundFollowUp) -> Sent | None:
        if found.issue is not None:
            return None  # opened already
        incident, item, tracker_name = found.incident, found.item, self._tracker(delivery)
        tracker = self.trackers[tracker_name]
        ref, login = None, found.login
        if self._tried_before(delivery):
            ref, login = await self._found_again(delivery, incident, found, "find the follow-up's issue it opened",
                                                 follow_up_prefix(incident.number, item.id),
                                                 item.created_at - LOOK_BACK, follow_up_marker(item.id))
        if ref is None:
            body = follow_up_body(item.text, item.owner, item.due_on,
                                  found.incident_issue.url if found.incident_issue else None,
                                  incident.channel_id if incident.thread_ts is None else incident.announcement_channel,
                                  item.id)
            ref = await self._calling(delivery, incident, f"open an issue for follow-up #{item.id}", tracker.open_issue(
                follow_up_title(incident.number, item.id, item.text), body, follow_up_labels()))
        now, follow_up_id = self.clock.now(), item.id

        def link(session: Session) -> None:
            repo.trackers.link_follow_up_issue(session=session, follow_up_id=follow_up_id, tracker=tracker_name,
                                               issue_id=ref.issue_id, number=ref.number, url=ref.url, now=now,
                                               seen_at=ref.updated_at)
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None, kind="tracker",
                                    text=f"opened {TRACKER_NAMES[tracker_name]} issue #{ref.number} for follow-up "
                                f"#{follow_up_id}: {escape(ref.url)}")
            if item.done_at is not None:  # done while its issue was being opened: closed too
                kind = tracker_kind(tracker_name, TrackerCall.FOLLOW_UP_SYNC)
                self.engine.queue(session, lane=delivery.lane, kind=kind, now=now, incident_id=incident.id,
                                  follow_up_id=follow_up_id)
        return await self._ok(tracker_name, found, link, login or ref.author)

    async def sync_follow_up(self, delivery: Delivery, payload: dict, found: FoundFollowUp) -> Sent | None:
        """Open or closed from the follow-up as it is now: several changes in a row need only the last word."""
        if found.issue is None:
            return None  # not opened (yet): its opening closes it if it is done by then
        tracker_name, done = self._tracker(delivery), found.item.done_at is not None
        sent = await self._set(delivery, found.incident, f"close or reopen follow-up #{found.item.id}'s issue",
                               self.trackers[tracker_name].set_issue(found.issue.number, follow_up_labels,
                                                                     follow_up_state(done), "completed"))
        issue_id = found.issue.issue_id

        def seen(session: Session) -> None:
            repo.trackers.follow_up_issue_seen(session=session, tracker=tracker_name, issue_id=issue_id, at=sent)
        return await self._ok(tracker_name, found, seen if sent else None)

    def _comment_text(self, payload: dict, incident: Incident) -> str | None:
        about = payload.get("about")
        if about == "postmortem":
            return f"## Incident analysis draft\n\n{incident.postmortem}" if incident.postmortem else None
        if about == "declared":
            if incident.channel_id is None and "done" not in incident.steps_done \
                    and self.clock.now() - incident.created_at < HOME_WAIT:
                raise Later  # its channel is on the way: the comment links to it
            where = slack_link(incident.channel_id if incident.thread_ts is None else incident.announcement_channel)
            return (f"Declared as **{incident_ref(incident.number)}** ({incident.priority}) in Slack"
                    + (f": [the incident's channel]({where})" if where else "") + ". Closing this issue resolves "
                    "it; its priority follows the P0/P1 label.")
        return payload.get("text")


def refresh_summary(engine: DeliveryEngine) -> Callable[[Session, Incident, datetime], None]:
    def queue(session: Session, incident: Incident, now: datetime) -> None:
        engine.queue(session, lane=incident_lane(incident.id), kind=Kind.REFRESH, now=now, incident_id=incident.id)
    return queue
