"""The incident analysis draft (SPEC §2 "Resolving and analysis"): markdown a person completes, built from the
stored incident and its timeline. Pure.

Times are written in the team's timezone with their zone abbreviation (the draft is copied into documents where
Slack's date tokens mean nothing). User text is escaped so posting the draft can never ping `@here` or a whole
channel; the people involved are mentioned by name, so Slack shows (and copies) their names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.db.models import FollowUp, Incident, TimelineEvent
from bot.domain.incident import Impact, incident_ref
from bot.domain.stats import humanize
from bot.slack.text import escape, safe, truncate
from bot.views.incident import reported_by

TIMELINE_MAX_EVENTS = 200
DRAFT_MAX = 35_000  # Slack cuts message text at 40,000 characters


def local_time(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _who(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "Firefighter"


def _rollback(needed: bool | None) -> str:
    return {True: "yes", False: "no", None: "not recorded"}[needed]


def event_line(event: TimelineEvent, tz: tzinfo) -> str:
    return f"- {local_time(event.at, tz)} — {_who(event.actor_id)} {event.kind}: {safe(truncate(event.text, 500))}"


def _follow_up(item: FollowUp) -> str:
    mark = "x" if item.done_at else " "
    due = f" (due {item.due_on.isoformat()})" if item.due_on else ""
    owner = f" — <@{item.owner}>" if item.owner else ""
    return f"- [{mark}] #{item.id} {safe(item.text)}{owner}{due}"


def postmortem(incident: Incident, events: Sequence[TimelineEvent], responders: Sequence[str], tz: tzinfo,
               follow_up_items: Sequence[FollowUp] = ()) -> str:
    """`follow_up_items`: the incident's follow-ups as items (owner, due day, done); without them the resolve
    form's lines."""
    ref = incident_ref(incident.number)
    tta = incident.acknowledged_at - incident.created_at if incident.acknowledged_at else None
    ttr = incident.resolved_at - incident.created_at if incident.resolved_at else None
    impacts = [Impact(v) for v in incident.impacts.split(",") if v in Impact._value2member_map_]
    follow_ups = [f for f in incident.follow_ups.splitlines() if f.strip()]
    zone = getattr(tz, "key", str(tz))
    lines = [
        f"# {ref}: {escape(incident.title)}",
        "_Draft incident analysis written by Firefighter from the incident's timeline: complete it before sharing._",
        "",
        "## Summary",
        safe(incident.resolution) or "_How was it resolved?_",
        "",
        f"- Priority: {incident.priority.value}",
        f"- Declared: {local_time(incident.created_at, tz)} by {reported_by(incident)}",
        f"- Resolved: {local_time(incident.resolved_at, tz) if incident.resolved_at else 'not yet'}",
        f"- Commander: {_who(incident.commander_id) if incident.commander_id else 'nobody'}",
        *([f"- Communications lead: {_who(incident.comms_id)}"] if incident.comms_id else []),
        *([f"- Scribe: {_who(incident.scribe_id)}"] if incident.scribe_id else []),
        f"- Responders: {', '.join(f'<@{r}>' for r in responders) or 'none recorded'}",
        f"- Rollback or hotfix needed: {_rollback(incident.needed_rollback)}",
        f"- Time to acknowledge: {humanize(tta) if tta is not None else 'never acknowledged'}",
        f"- Time to resolve: {humanize(ttr) if ttr is not None else 'not resolved'}",
        "",
        "## Impact",
        *([f"- {i.question}" for i in impacts] or ["_Who was affected, how, and for how long?_"]),
    ]
    if incident.description:
        lines += ["", escape(truncate(incident.description, 3000))]
    shown = list(events)[-TIMELINE_MAX_EVENTS:]
    lines += ["", f"## Timeline ({zone})"]
    if len(events) > len(shown):
        lines.append(f"_{len(events) - len(shown)} earlier events are left out; `/incident timeline` has them._")
    lines += [event_line(e, tz) for e in shown]
    listed = [_follow_up(item) for item in follow_up_items] or [f"- [ ] {safe(f.strip())}" for f in follow_ups]
    lines += ["", "## Follow-ups", *(listed or ["_None recorded._"])]
    lines += ["", "## Root cause", "_What made this possible?_", "", "## Lessons learned",
              "_What went well, what went wrong, where did we get lucky?_"]
    return truncate("\n".join(lines), DRAFT_MAX)
