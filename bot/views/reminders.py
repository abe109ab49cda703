"""Reminder texts: P0 update nags, P1 targets, triage, heading home, the handoff heads-up. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.db.models import Incident
from bot.domain.incident import incident_ref
from bot.domain.stats import humanize
from bot.domain.visibility import title_for_anyone
from bot.slack.ids import ActionId
from bot.slack.text import date_token, escape, mention, truncate
from bot.views.handoff import away_line
from bot.views.incident import mrkdwn, plain, where


def _title(incident: Incident) -> str:
    """(A reminder may go to someone on call who is not in a private incident's channel: its title stays there.)"""
    return (f"*{incident_ref(incident.number)}* ({incident.priority}) "
            f"{escape(truncate(title_for_anyone(incident), 120))}")


def with_update_button(text: str, incident: Incident) -> tuple[str, list[dict]]:
    return text, [{"type": "section", "text": mrkdwn(text), "accessory": {
        "type": "button", "action_id": ActionId.POST_UPDATE, "text": plain("Post update"),
        "value": str(incident.number)}}]


def p0_nag(incident: Incident, silent_for: timedelta, step: int) -> str:
    who = (f"<@{incident.comms_id}> (communications lead)" if incident.comms_id
           else f"<@{incident.commander_id}>" if incident.commander_id else "Nobody commands it")
    again = f" (reminder {step})" if step > 1 else ""
    return (f":alarm_clock: {who}: {_title(incident)} has had no update for {humanize(silent_for)}{again}. "
            "P0s are updated every hour: what changed, what is next?")


def p0_nag_firefighters(incident: Incident, silent_for: timedelta, step: int) -> str:
    owner = (f"communications lead <@{incident.comms_id}>" if incident.comms_id
             else f"commander {mention(incident.commander_id, '(nobody)')}")
    return (f":rotating_light: {_title(incident)} has gone {humanize(silent_for)} without an update and its "
            f"{owner} has not answered {step - 1} reminders. Please check in: {where(incident)}.")


def p0_nag_told(incident: Incident, silent_for: timedelta) -> str:
    """The commander's copy when the communications lead owes the update."""
    return (f":information_source: {_title(incident)} has had no update for {humanize(silent_for)}: its "
            f"communications lead <@{incident.comms_id}> was reminded to post one.")


def p1_warning(incident: Incident, due: datetime) -> str:
    return (f":hourglass_flowing_sand: {mention(incident.commander_id, 'Commander')}: {_title(incident)} has used "
            f"75% of its resolution target (due {date_token(due)}). If it will take longer, post an update saying so.")


def p1_missed(incident: Incident, due: datetime) -> str:
    return (f":warning: {mention(incident.commander_id, 'Commander')}: {_title(incident)} missed its resolution "
            f"target ({date_token(due)}). Post an update with the new plan, or lower its priority.")


def triage(incident: Incident, person: str | None, step: int, waited: str) -> str:
    who = f"<@{person}>" if person else "Firefighters"
    later = " The primary was reminded already." if step > 1 else ""
    return (f":mag: {who}: {_title(incident)} is still *new* after {waited}. Triage it: check the title and "
            f"priority, then `/incident status {incident_ref(incident.number)} triaged`.{later}")


def heading_home(incident: Incident) -> str:
    return (f":house: Heading home? Post a final update of the day on {_title(incident)} before you go, "
            "especially if it will not be resolved in time.")


def heads_up(rotation_name: str, starts: datetime, outgoing: str | None, incoming: str | None,
             for_user: str, away: list[tuple[str, datetime, datetime]] = (), now: datetime | None = None) -> str:
    said = _heads_up(rotation_name, starts, outgoing, incoming, for_user)
    return f"{said}\n{away_line(list(away), now or starts)}" if away else said


def _heads_up(rotation_name: str, starts: datetime, outgoing: str | None, incoming: str | None,
              for_user: str) -> str:
    when = date_token(starts, "{date_long_pretty} at {time}")
    if for_user == incoming and for_user == outgoing:
        return f":fire_engine: You stay primary on `{escape(rotation_name)}` after the handoff {when}."
    if for_user == incoming:
        return (f":fire_engine: You become primary on `{escape(rotation_name)}` {when}, taking over from "
                f"{mention(outgoing, 'nobody')}. Look at the open incidents before then: `/incident list`.")
    return (f":fire_engine: Your shift as primary on `{escape(rotation_name)}` ends {when}; "
            f"{mention(incoming, 'nobody')} takes over. Add handoff notes and updates to your open incidents.")
