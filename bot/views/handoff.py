"""The handoff digest (SPEC §2 "Tuesday handoff") and the handoff-note modal. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.db.models import FollowUp, Incident, Rotation, TimelineEvent
from bot.domain.gaps import Gap
from bot.domain.incident import incident_ref
from bot.domain.rotation import OnCall
from bot.domain.stats import Spread, humanize
from bot.domain.visibility import title_for_anyone
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.text import date_token, escape, mention, safe, truncate
from bot.views.incident import PRIORITY_EMOJI, mrkdwn, plain, where
from bot.views.rotation import gaps_line

_MAX_INCIDENTS = 35


@dataclass(frozen=True)
class ShiftNumbers:
    declared: int
    resolved: int
    time_to_acknowledge: Spread
    time_to_resolve: Spread
    missed_reminders: int


@dataclass(frozen=True)
class Digest:
    rotation: Rotation
    shift: OnCall
    outgoing: str | None
    incidents: list[tuple[Incident, TimelineEvent | None]]
    numbers: ShiftNumbers
    now: datetime
    overdue: list[tuple[FollowUp, int]] = field(default_factory=list)  # (follow-up, incident number)
    away: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # time off touching this shift
    gaps: list[Gap] = field(default_factory=list)  # roles held by nobody in the next 14 days


def away_line(away: list[tuple[str, datetime, datetime]], now: datetime) -> str:
    """`*Away:* @alice until Fri 28 Nov 00:00 (PTO) · …` — who holds no role for part of the shift."""
    return "*Away:* " + " · ".join(
        f"<@{user}> " + (f"from {date_token(starts)} " if starts > now else "")
        + f"until {date_token(ends)} (PTO)" for user, starts, ends in away[:12])


def _incident_block(incident: Incident, latest: TimelineEvent | None, now: datetime) -> dict:
    priority = incident.priority
    quiet = now - (incident.last_update_at or incident.created_at)
    commander = mention(incident.commander_id, "*none*")
    lines = [f"{PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* "
             f"{escape(truncate(title_for_anyone(incident), 120))}",
             f"{priority.value} · {incident.status.label} · commander {commander} · age "
             f"{humanize(now - incident.created_at)} · last update {humanize(quiet)} ago · {where(incident)}"]
    if latest and not incident.private:  # (the rotation's channel: a private incident's updates stay in its own)
        lines.append(f"> {escape(truncate(latest.text.replace(chr(10), ' '), 300))}")
    elif incident.private:
        lines.append("> _its updates are in its private channel_")
    else:
        lines.append("> _no update yet_")
    return {"type": "section", "text": mrkdwn("\n".join(lines)), "accessory": {
        "type": "button", "action_id": ActionId.HANDOFF_NOTE, "text": plain("Add handoff note"),
        "value": str(incident.number)}}


def _median(spread: Spread) -> str:
    return humanize(spread.median) if spread.count else "—"


def digest(data: Digest) -> tuple[str, list[dict]]:
    shift, name = data.shift, escape(data.rotation.name)
    incoming = shift.primary
    headline = (f":fire_engine: *Handoff for `{name}`*: {mention(data.outgoing, '_nobody_')} → "
                f"{mention(incoming, '_nobody_')} (primary until {date_token(shift.shift_end)})")
    roles = (f"Secondary {mention(shift.secondary, '_nobody_')} · tertiary {mention(shift.tertiary, '_nobody_')}"
             + (f" · now the *{escape(shift.layer)}* layer's" if shift.layer else ""))
    n = data.numbers
    numbers = (f"*Last shift:* {n.declared} declared · {n.resolved} resolved · time to acknowledge (median) "
               f"{_median(n.time_to_acknowledge)} · time to resolve (median) {_median(n.time_to_resolve)} · "
               f"{n.missed_reminders} missed reminders")
    blocks: list[dict] = [
        {"type": "section", "text": mrkdwn(headline)},
        {"type": "context", "elements": [mrkdwn(roles)]},
        *([{"type": "context", "elements": [mrkdwn(away_line(data.away, data.now))]}] if data.away else []),
        *([{"type": "context", "elements": [mrkdwn(gaps_line(data.gaps))]}] if data.gaps else []),
        {"type": "section", "text": mrkdwn(numbers)},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn(f"*Open incidents* ({len(data.incidents)})" if data.incidents
                                           else "*No open incidents.* :tada:")},
    ]
    blocks += [_incident_block(i, latest, data.now) for i, latest in data.incidents[:_MAX_INCIDENTS]]
    if data.overdue:
        owners: dict[str, list[str]] = {}
        for item, number in data.overdue:
            owners.setdefault(item.owner, []).append(
                f"#{item.id} {incident_ref(number)} {safe(truncate(item.text, 120))} (due {item.due_on.isoformat()})")
        lines = [f"• <@{owner}>: " + "; ".join(items[:5]) + (f" …and {len(items) - 5} more" if len(items) > 5
                                                              else "") for owner, items in list(owners.items())[:15]]
        blocks.append({"type": "section", "text": mrkdwn(
            f"*Overdue follow-ups* ({len(data.overdue)})\n" + "\n".join(lines), 3000)})
    if len(data.incidents) > _MAX_INCIDENTS:
        blocks.append({"type": "context", "elements": [mrkdwn(
            f"…and {len(data.incidents) - _MAX_INCIDENTS} more: `/incident list`.")]})
    mine = data.outgoing and any(i.commander_id == data.outgoing for i, _ in data.incidents)
    if mine and incoming and incoming != data.outgoing:
        blocks.append({"type": "section", "text": mrkdwn(
            f"<@{data.outgoing}>: hand over the open incidents you command to <@{incoming}>?")})
        blocks.append({"type": "actions", "block_id": BlockId.HANDOFF_ACTIONS, "elements": [{
            "type": "button", "action_id": ActionId.HAND_OVER, "style": "primary",
            "text": plain("Hand over my incidents"), "value": f"{data.rotation.id}:{data.outgoing}:{incoming}"}]})
    text = (f"Handoff for {data.rotation.name}: {mention(data.outgoing, 'nobody')} → {mention(incoming, 'nobody')}, "
            f"{len(data.incidents)} open incidents")
    return text, blocks


def note_modal(incident: Incident) -> dict:
    return {"type": "modal", "callback_id": CallbackId.HANDOFF_NOTE_MODAL, "private_metadata": str(incident.number),
            "title": plain(f"Note on {incident_ref(incident.number)}", 24), "submit": plain("Add note", 24),
            "close": plain("Cancel", 24), "blocks": [
                {"type": "section", "text": mrkdwn(f"*{incident_ref(incident.number)}: "
                                                   f"{escape(truncate(incident.title, 150))}*")},
                {"type": "input", "block_id": BlockId.HANDOFF_NOTE, "label": plain("What should the next "
                                                                                  "firefighter know?"),
                 "element": {"type": "plain_text_input", "action_id": ActionId.HANDOFF_NOTE_TEXT, "multiline": True,
                             "max_length": 3000}}]}
