"""The issue tracker bridge's rules (SPEC §2 "Issue tracker"): what an incident looks like as an issue (title,
labels, open or closed, the comments it gets), a tracker's webhook event in its words, and what it changes here.
Pure: no HTTP, no database; the trackers' edge is `bot/trackers/` (reading their events: bot/trackers/events.py),
the deliveries `bot/delivery/tracker.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.incident import Priority, Status, incident_ref

TRACKER_NAMES = {"github": "GitHub", "gitlab": "GitLab"}
INCIDENT_LABEL = "incident"
TITLE_MAX = 255  # GitLab's limit (GitHub's is 256)
BODY_MAX = 60_000  # GitHub refuses a body over 65,536 characters; GitLab's limit is higher
STATUS_LABELS = {Status.TRIAGED: "status: triaged", Status.IN_PROGRESS: "status: in progress",
                 Status.BLOCKED: "status: blocked"}
# `P0`, `P1 - high`, `priority: P0`, `priority::P1` (GitLab's scoped labels), `Priority/P0`, `prio-p1`, `sev: P0`.
_PRIORITY_LABEL = re.compile(r"^\s*(?:(?:priority|prio|sev|severity)\s*(?:::|[:/=_-])?\s*)?(p[0-2])(?:\b.*)?$",
                             re.IGNORECASE)
_STATUS_LABEL = re.compile(r"^\s*status\s*(?:::|:)\s*(triaged|in[ _-]?progress|blocked)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class IssueRef:
    """An issue as the bot keeps it: the tracker's own id (stable), the number people see, its web page."""

    tracker: str
    issue_id: str
    number: int
    url: str
    author: str = ""  # who opened it (the bot's own account for an issue the bot opened)
    updated_at: datetime | None = None  # the issue's own time as the tracker answered


@dataclass(frozen=True)
class TrackerActor:
    """Someone who changed an incident from its issue (the webhook is authenticated; they have no Slack id)."""

    tracker: str
    login: str

    def __str__(self) -> str:
        return f"{self.login or 'someone'} on {TRACKER_NAMES.get(self.tracker, self.tracker)}"


# -- an incident as an issue ------------------------------------------------------------------------------------


def issue_title(number: int, title: str) -> str:
    text = f"{incident_ref(number)}: {title}"
    return text if len(text) <= TITLE_MAX else text[:TITLE_MAX - 1] + "…"


def title_prefix(number: int) -> str:
    """How the bot recognises the issue it opened for an incident (after a crash between opening it and
    recording it): its title starts with this."""
    return f"{incident_ref(number)}: "


def priority_of(labels: Iterable[str]) -> Priority | None:
    """The most urgent priority the labels name (an issue labelled both P0 and P1 is a P0), or None."""
    found = {Priority(m.group(1).upper()) for label in labels if (m := _PRIORITY_LABEL.match(label))}
    return min(found, key=lambda p: p.value) if found else None


def _managed(label: str) -> bool:
    return bool(_PRIORITY_LABEL.match(label) or _STATUS_LABEL.match(label))


def _priority_label(priority: Priority, current: Sequence[str]) -> str:
    """In the style the issue already uses (`priority: P0`, `priority::P0`), else bare `P0`."""
    for label in current:
        if (m := _PRIORITY_LABEL.match(label)) and label.strip().upper() != m.group(1).upper():
            start, end = m.span(1)
            return label[:start] + priority.value + label[end:]
    return priority.value


def issue_labels(priority: Priority, status: Status, queue_label: str, current: Sequence[str] = ()) -> list[str]:
    """The labels the issue should carry: whatever people put on it, with the bot's own (incident, priority,
    the queue, the working status) made to match the incident. P2 is not the firefighters' queue: the queue
    label goes."""
    keep = [label for label in current if not _managed(label) and label not in (INCIDENT_LABEL, queue_label)]
    wanted = [INCIDENT_LABEL, _priority_label(priority, current)]
    if priority.pages:
        wanted.append(queue_label)
    if status in STATUS_LABELS:
        wanted.append(STATUS_LABELS[status])
    return list(dict.fromkeys(keep + wanted))


def issue_state(status: Status) -> str:
    return "open" if status.is_open else "closed"


def close_reason(status: Status) -> str:
    """GitHub's `state_reason`: resolved is done; closed (not an incident) and duplicates were not planned."""
    return "completed" if status is Status.RESOLVED else "not_planned"


def slack_link(channel_id: str | None) -> str | None:
    """A link that opens the incident's channel in Slack for anyone in the workspace."""
    return f"https://slack.com/app_redirect?channel={channel_id}" if channel_id else None


_SLACK_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_SLACK_URL = re.compile(r"<(https?://[^|>]+)>")
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]+))?>")
_SLACK_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")


def from_slack(text: str) -> str:
    """Slack's markup as Markdown a tracker renders: links as links, people and channels by name or id — a
    person in code quotes, so `@alice` on Slack never notifies whoever is called alice on the tracker."""
    text = _SLACK_LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})", text)
    text = _SLACK_URL.sub(lambda m: m.group(1), text)
    text = _SLACK_USER.sub(lambda m: f"`@{m.group(2) or m.group(1)}` (Slack)", text)
    text = _SLACK_CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)} (Slack)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


MARKER_START = "<!-- firefighter:"


def marker(key: str) -> str:
    """Hidden in what the bot writes, so a write retried after an unclear answer finds itself instead of doubling
    (and an issue the bot opened is known as its own when its `opened` event comes back)."""
    return f"{MARKER_START}{key} -->"


def _cut(text: str, mark: str) -> str:
    """Within the trackers' limit, the marker kept at the end whatever is cut (it is how the bot knows its own)."""
    if len(text) + len(mark) > BODY_MAX:
        cut = "\n\n…(cut short)\n"
        text = text[:BODY_MAX - len(mark) - len(cut)] + cut
    return text + mark


def issue_marker(number: int) -> str:
    return marker(incident_ref(number))


def follow_up_marker(follow_up_id: int) -> str:
    return marker(f"follow-up-{follow_up_id}")


def own_issue(author: str, body: str, bot_login: str | None, mark: str) -> bool:
    """An issue found again by its title (after an unclear answer to opening it) is adopted only if the bot opened
    it: its author is the bot's own account there and its body carries the marker the bot wrote. Anyone who can open
    issues can copy a title (and a marker): without the bot's account known, nothing is adopted."""
    return bool(bot_login) and author.lower() == bot_login.lower() and mark in body


@dataclass(frozen=True)
class IssueFacts:
    """What an issue's body says about its incident."""

    number: int
    priority: Priority
    description: str
    impacts: Sequence[str]
    commander_id: str | None
    reporter: str
    channel_id: str | None


def issue_body(facts: IssueFacts) -> str:
    lines = [f"**{incident_ref(facts.number)}** — {facts.priority.value}: {facts.priority.meaning}.", ""]
    if facts.description:
        lines += [from_slack(facts.description), ""]
    if facts.impacts:
        lines += ["**Impact**", *(f"- {impact}" for impact in facts.impacts), ""]
    commander = f"Slack user `{facts.commander_id}`" if facts.commander_id else "nobody yet"
    lines += [f"**Commander:** {commander}", f"**Reported by:** {from_slack(facts.reporter)}"]
    if link := slack_link(facts.channel_id):
        lines.append(f"**Slack:** [the incident's channel]({link})")
    lines += ["", "_Kept in step by Firefighter: priority and status show as labels, updates as comments; closing "
              "this issue resolves the incident._", ""]
    return _cut("\n".join(lines), issue_marker(facts.number))


def comment_body(text: str, key: str) -> str:
    return _cut(f"{from_slack(text)}\n\n", marker(key))


# -- a follow-up as an issue ------------------------------------------------------------------------------------

FOLLOW_UP_LABEL = "follow-up"


def follow_up_prefix(number: int, follow_up_id: int) -> str:
    """How the bot recognises the issue it opened for a follow-up (after a crash or an unclear answer)."""
    return f"{incident_ref(number)} follow-up #{follow_up_id}: "


def follow_up_title(number: int, follow_up_id: int, text: str) -> str:
    title = follow_up_prefix(number, follow_up_id) + " ".join(from_slack(text).split())
    return title if len(title) <= TITLE_MAX else title[:TITLE_MAX - 1] + "…"


def follow_up_body(text: str, owner: str, due_on: date | None, incident_issue: str | None,
                   channel_id: str | None, follow_up_id: int) -> str:
    lines = [from_slack(text), "", f"**Owner:** Slack user `{owner}`"]
    if due_on:
        lines.append(f"**Due:** {due_on.isoformat()}")
    if incident_issue:
        lines.append(f"**Incident:** {incident_issue}")
    if link := slack_link(channel_id):
        lines.append(f"**Slack:** [the incident's channel]({link})")
    lines += ["", "_A follow-up of the incident, kept in step by Firefighter: closing this issue marks it done in "
              "Slack, reopening it opens it again (and the other way round)._", ""]
    return _cut("\n".join(lines), follow_up_marker(follow_up_id))


def follow_up_labels(current: Sequence[str] = ()) -> list[str]:
    """Whatever people put on it, with the follow-up label."""
    return list(dict.fromkeys([*current, FOLLOW_UP_LABEL]))


def follow_up_state(done: bool) -> str:
    return "closed" if done else "open"


# -- a tracker's webhook event ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueEvent:
    """One tracker event about an issue, in the same words for GitHub and GitLab. `action`: opened, closed,
    reopened, labeled (the labels changed) or edited."""

    tracker: str
    delivery_id: str
    action: str
    project: str  # owner/name (GitHub), path_with_namespace (GitLab)
    project_id: str
    issue_id: str
    number: int
    title: str
    body: str
    url: str
    labels: tuple[str, ...]
    state: str  # open | closed
    sender: str
    updated_at: datetime | None = None  # the issue's, as the event saw it: orders events that arrive out of order

    @property
    def ref(self) -> IssueRef:
        return IssueRef(self.tracker, self.issue_id, self.number, self.url)


# -- what an event changes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Linked:
    """The incident an issue is linked to, as it stands, and the issue's newest time we know of: in the newest
    event applied, or in the tracker's answer to the bot's own newest change of it (`seen_at`)."""

    number: int
    priority: Priority
    status: Status
    seen_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    what: str  # declare | resolve | reopen | priority | ignore
    priority: Priority | None = None
    reason: str = ""


def newer(event_at: datetime | None, seen_at: datetime | None) -> bool:
    """Whether an event about an issue may change anything: the issue's time in it is strictly later than the
    newest we know of. A tie is not newer: the trackers stamp to the second, and a replayed body carries exactly
    the time of the event it copies (already applied, or already older than our own change) — two real changes
    within one second cannot be ordered, and the later one's event is then ignored. An event without a time
    cannot be shown newer once a time is known."""
    if seen_at is None:
        return True
    return event_at is not None and event_at > seen_at


def decide(event: IssueEvent, linked: Linked | None, queue_label: str, bot_login: str | None,
           closed_since: datetime | None = None) -> Decision:
    """What a tracker event changes. The bot's own changes coming back (its account is the sender) change
    nothing, and neither does an event that only says what the incident already is: no echo loops. Trackers do
    not promise to deliver events in order, and a signed body can be replayed under a new delivery id (neither
    tracker's signature carries a time): an event is applied only if the issue's time in it is newer than
    `seen_at`, its time in the newest event applied or in the bot's own newest change of it (see `newer`); an
    unlinked issue seen closed (`closed_since`, its time then) is not declared from an older event."""
    if bot_login and event.sender.lower() == bot_login.lower():
        return Decision("ignore", reason="the bot's own change")
    priority = priority_of(event.labels)
    if linked is None:
        if MARKER_START in event.body:
            return Decision("ignore", reason="an issue the bot opened")
        if event.state == "closed":
            return Decision("ignore", reason="the issue is closed")
        if closed_since is not None and (event.updated_at is None or event.updated_at <= closed_since):
            return Decision("ignore", reason="an older event: the issue was closed since")
        if queue_label.lower() not in (label.lower() for label in event.labels):
            return Decision("ignore", reason=f"not in the queue (no {queue_label} label)")
        if priority is None or not priority.pages:
            return Decision("ignore", reason="no P0 or P1 priority label")
        return Decision("declare", priority)
    if not newer(event.updated_at, linked.seen_at):
        return Decision("ignore", reason="an older event than the last one applied or sent")
    if event.state == "closed":
        if linked.status.is_open:
            return Decision("resolve")
        return Decision("ignore", reason=f"{incident_ref(linked.number)} is {linked.status.label.lower()} already")
    if event.action == "reopened" and linked.status is Status.RESOLVED:
        return Decision("reopen")
    if event.action == "labeled" and priority is not None and priority is not linked.priority \
            and linked.status.is_open:
        return Decision("priority", priority)
    return Decision("ignore", reason="nothing to change")
