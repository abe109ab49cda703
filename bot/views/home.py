"""The App Home tab: who is on call in your rotations, the next handoff, what you command, everything open. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.db.models import CoverRequest, Incident, Rotation
from bot.domain.incident import incident_ref
from bot.domain.rotation import Role
from bot.slack.ids import ActionId
from bot.slack.text import date_token, escape, mention, truncate
from bot.views.incident import PRIORITY_EMOJI, mrkdwn, plain, where
from bot.views.rotation import gaps_line, roles_line

if TYPE_CHECKING:
    from bot.services.rotations import RotationPlan

_HOME_BLOCKS = 100


@dataclass(frozen=True)
class MyShift:
    """One of your coming shifts (the current one from now on)."""

    rotation: Rotation
    role: Role
    starts_at: datetime
    ends_at: datetime


def _shift_section(shift: MyShift) -> dict:
    span = f"{int(shift.starts_at.timestamp())}:{int(shift.ends_at.timestamp())}"
    value = f"{shift.rotation.id}:{shift.role.value}:{span}"
    return {"type": "section", "text": mrkdwn(
        f"*{shift.role.value}* on `{escape(shift.rotation.name)}` from {date_token(shift.starts_at)} to "
        f"{date_token(shift.ends_at)}"), "accessory": {
        "type": "button", "action_id": ActionId.COVER_ASK, "text": plain("Ask for cover"), "value": value}}


def _my_rotation_blocks(shifts: Sequence[MyShift], requests: Sequence[tuple[CoverRequest, str]]) -> list[dict]:
    blocks: list[dict] = [{"type": "divider"}, {"type": "section", "text": mrkdwn("*Your next shifts*")}]
    blocks += [_shift_section(s) for s in shifts] or [
        {"type": "context", "elements": [mrkdwn("None in the next weeks.")]}]
    if requests:
        lines = [f"• {cover.role} on `{escape(name)}` from {date_token(cover.starts_at)} to "
                 f"{date_token(cover.ends_at)}: waiting for someone to take it" for cover, name in requests]
        blocks += [{"type": "section", "text": mrkdwn("*Your requests for cover*\n" + "\n".join(lines))}]
    return blocks


def _incident_section(incident: Incident, user_id: str) -> dict:
    priority = incident.priority
    text = (f"{PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* {escape(truncate(incident.title, 120))}\n"
            f"{priority.value} · {incident.status.label} · commander {mention(incident.commander_id, 'none')}"
            f" · {where(incident)}")
    if incident.acknowledged_at is None:
        button = (ActionId.ACKNOWLEDGE, "Acknowledge")
    elif incident.commander_id == user_id:
        button = (ActionId.POST_UPDATE, "Post update")
    else:
        button = (ActionId.TAKE_COMMAND, "Take command")
    return {"type": "section", "text": mrkdwn(text), "accessory": {
        "type": "button", "action_id": button[0], "text": plain(button[1]), "value": str(incident.number)}}


def home(user_id: str, plans: Sequence[RotationPlan], commanded: Sequence[Incident],
         open_incidents: Sequence[Incident], open_total: int, shifts: Sequence[MyShift] = (),
         requests: Sequence[tuple[CoverRequest, str]] = (), contact_blocks: Sequence[dict] = ()) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": plain("Firefighter")},
        {"type": "section", "text": mrkdwn("Type `/incident` anywhere to declare an incident, "
                                           "`/incident help` for everything else.")},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn("*On call*")},
    ]
    if not plans:
        blocks.append({"type": "context", "elements": [mrkdwn(
            "No rotation yet: `/incident rotation create <name> #channel`.")]})
    for plan in plans[:5]:
        now = plan.shifts[0]
        mine = " (you are on it)" if user_id in plan.roster else ""
        blocks.append({"type": "section", "text": mrkdwn(
            f"*{escape(plan.rotation.name)}*{mine}: {roles_line(now)}\n"
            f"Next handoff {date_token(now.shift_end, '{date_long_pretty} at {time}')}")})
        if plan.gaps:
            blocks.append({"type": "context", "elements": [mrkdwn(gaps_line(plan.gaps))]})
    if any(user_id in plan.roster for plan in plans):
        blocks += _my_rotation_blocks(shifts, requests)
    blocks += contact_blocks
    blocks += [{"type": "divider"}, {"type": "section", "text": mrkdwn(f"*Incidents you command* ({len(commanded)})")}]
    if commanded:
        blocks += [_incident_section(i, user_id) for i in commanded[:15]]
    else:
        blocks.append({"type": "context", "elements": [mrkdwn("None right now.")]})
    shown = f" (showing {len(open_incidents)})" if open_total > len(open_incidents) else ""
    blocks += [{"type": "divider"}, {"type": "section", "text": mrkdwn(f"*Open incidents* ({open_total}){shown}")}]
    if open_incidents:
        blocks += [_incident_section(i, user_id) for i in open_incidents]
    else:
        blocks.append({"type": "context", "elements": [mrkdwn("No open incidents. :tada:")]})
    return {"type": "home", "blocks": blocks[:_HOME_BLOCKS]}
