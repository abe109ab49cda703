"""`/incident timeline` and `/incident stats`: Block Kit for what happened and how fast. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from bot.db.models import Incident, TimelineEvent
from bot.domain.incident import Priority, incident_ref
from bot.domain.stats import Spread, Stats, humanize
from bot.slack.text import escape, message_permalink, truncate
from bot.slack.text import link as slack_link
from bot.views.incident import event_line, mrkdwn

_SECTION_TEXT = 2900
_EVENT_BLOCKS = 30
_ANALYSIS_BLOCKS = 15


def chunk_lines(lines: Sequence[str], limit: int = _SECTION_TEXT) -> list[str]:
    """Pack lines into section-sized texts (Slack allows 3000 characters per section)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for raw in lines:
        line = truncate(raw, limit)
        if current and size + len(line) + 1 > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return chunks


def _sections(texts: Sequence[str]) -> list[dict]:
    return [{"type": "section", "text": mrkdwn(t)} for t in texts]


def timeline(incident: Incident, events: Sequence[TimelineEvent], tz: tzinfo,
             team_domain: str | None = None) -> tuple[str, list[dict]]:
    """Every event, times as date tokens (each reader sees their own timezone), then the analysis draft if any."""
    ref = incident_ref(incident.number)
    heading = (f"*Timeline of {ref}* ({incident.priority}, {incident.status.label}): "
               f"{escape(truncate(incident.title, 150))}")
    chunks = chunk_lines([event_line(e, tz) for e in events]) or ["_No events yet._"]
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(heading)}]
    if len(chunks) > _EVENT_BLOCKS:
        left_out = len(chunks) - _EVENT_BLOCKS
        chunks = chunks[-_EVENT_BLOCKS:]
        blocks.append({"type": "context", "elements": [mrkdwn(f"_{left_out} earlier screenfuls of events are left "
                                                              "out; the web board shows them all._")]})
    blocks += _sections(chunks)
    if incident.postmortem:
        link = ""
        if team_domain and incident.postmortem_ts and incident.channel_id:
            url = message_permalink(team_domain, incident.channel_id, incident.postmortem_ts)
            link = f" ({slack_link(url, 'posted in the channel')})"
        blocks += [{"type": "divider"}, {"type": "section", "text": mrkdwn(f"*Incident analysis draft*{link}")}]
        blocks += _sections(chunk_lines(incident.postmortem.splitlines())[:_ANALYSIS_BLOCKS])
    return f"Timeline of {ref}: {len(events)} events", blocks


def _spread(label: str, spread: Spread) -> str:
    if not spread.count:
        return f"*{label}*: no data yet"
    return f"*{label}*: median {humanize(spread.median)}, p90 {humanize(spread.p90)} (over {spread.count})"


def stats(result: Stats) -> tuple[str, list[dict]]:
    rows = [f"• *{p.value}*: {c.declared} declared, {c.resolved} resolved, {c.still_open} still open"
            for p, c in result.by_priority.items()]
    lines = [
        f"*Incidents declared in the last {result.days} days: {result.declared}*",
        *rows,
        _spread("Time to acknowledge", result.time_to_acknowledge),
        _spread("Time to resolve", result.time_to_resolve),
        f"*Reopened*: {result.reopened} · *Duplicates*: {result.duplicates} · *Closed*: {result.closed}",
    ]
    text = f"{result.declared} incidents in the last {result.days} days"
    p0 = result.by_priority.get(Priority.P0)
    if p0 and p0.declared:
        text += f", {p0.declared} P0"
    return text, _sections(["\n".join(lines)])
