"""Roles beyond the commander (SPEC § Incident types, private incidents and roles): `role comms|scribe @person`
and `role comms|scribe none`. The communications lead owes the P0 hourly updates (bot/services/reminders.py sends
the nags to them and tells the commander); the scribe pins the key messages. Each is a change like any other —
the incident's lock, its permission, a timeline event, once per request — made through Working.change; the person
named becomes a responder (invited, and allowed to post the updates they owe)."""

from __future__ import annotations

from bot.db import repo
from bot.db.models import Incident
from bot.domain import lifecycle
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.services.outcomes import Changed, Effects, Outcome
from bot.services.working import Working

ROLES = {"comms": "communications lead", "scribe": "scribe"}
USAGE = "Use `/incident role comms @someone` or `/incident role scribe @someone` (`none` to take it back)."


def set_role(working: Working, number: int, actor: str, role: str, person: str | None,
             request_key: str | None = None) -> Changed:
    if role not in ROLES:
        raise UserError(USAGE)
    title = ROLES[role]

    def apply(session, incident: Incident, now):
        ref = incident_ref(number)
        lifecycle.require_open(number, incident.status, f"change its {title}", incident.duplicate_of)
        previous = getattr(incident, f"{role}_id")
        if previous == person:
            raise UserError(f"<@{person}> is the {title} of {ref} already." if person else f"{ref} has no {title}.")
        setattr(incident, f"{role}_id", person)
        was = f" (was <@{previous}>)" if previous else ""
        if person is None:
            after = " The P0 update reminders go to the commander again." if role == "comms" else ""
            return Outcome("role", f"no {title}{was}", Effects(
                f":busts_in_silhouette: <@{actor}> took back the {title} role of {ref}{was}.{after}"))
        if person != incident.commander_id and person not in repo.incidents.responder_ids(
                session=session, incident_id=incident.id):
            repo.incidents.add_responder(session=session, incident_id=incident.id, user_id=person, at=now)
        if role == "comms":
            duty = "the hourly P0 update reminders go to them" + (
                f"; <@{incident.commander_id}> stays in command" if incident.commander_id else "")
            told = () if incident.commander_id in (None, person, actor) else ((incident.commander_id, None, (
                f":busts_in_silhouette: <@{person}> is now the communications lead of {ref}: the P0 update reminders "
                "go to them, and you are told when one does.")),)
        else:
            emoji = working.settings.timeline_emoji
            duty = f"they pin the key messages (a :{emoji}: reaction puts a message on the timeline)"
            told = ((person, None, f":{emoji}: You are the scribe of {ref}: react with :{emoji}: to the key "
                                   "messages in its channel (decisions, findings, what was changed) so they go on "
                                   "the timeline and into the incident analysis."),)
        return Outcome("role", f"<@{person}> is {title}{was}", Effects(
            f":busts_in_silhouette: <@{actor}> made <@{person}> the {title} of {ref}{was}: {duty}.",
            invite=(person,), elsewhere=told))
    return working.change(number, actor, apply, request_key)
