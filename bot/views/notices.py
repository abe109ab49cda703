"""What the bot says in an incident's channel when something changes. Pure: text in, text out.

User-written text arrives here already escaped; titles are escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Incident
from bot.domain.incident import Priority, Status, incident_ref
from bot.domain.visibility import title_for_anyone
from bot.slack.text import escape, is_user_id, safe


def _ref(incident: Incident) -> str:
    return incident_ref(incident.number)


def _users(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)


def _who(user: object) -> str:
    """A Slack user by mention; anyone else (someone on an issue tracker) by what they are called there."""
    text = str(user)
    return f"<@{text}>" if is_user_id(text) else f"*{escape(text)}*"


def _with_note(line: str, note: str) -> str:
    return f"{line}\n> {note}" if note else line


def acknowledged(incident: Incident, user: object, took_command: bool, via: str | None = None) -> str:
    how = f" via {via}" if via else ""
    return f":eyes: {_who(user)} acknowledged {_ref(incident)}{how}." + (" They are the commander." if took_command
                                                                       else "")


def new_commander(incident: Incident, actor: str, commander: str) -> str:
    if actor == commander:
        return f":firefighter: <@{commander}> took command of {_ref(incident)}."
    return f":firefighter: <@{actor}> made <@{commander}> the commander of {_ref(incident)}."


def update(incident: Incident, user: object, text: str) -> str:
    return f":memo: *Update on {_ref(incident)}* from {_who(user)}:\n{text}"


def status(incident: Incident, user: object, before: Status, note: str) -> str:
    return _with_note(f":arrows_counterclockwise: {_who(user)} moved {_ref(incident)} from *{before.label}* to "
                      f"*{incident.status.label}*.", note)


def priority(incident: Incident, user: object, before: Priority) -> str:
    after = incident.priority
    arrow = ":arrow_up:" if after.value < before.value else ":arrow_down:"
    return (f"{arrow} {_who(user)} changed the priority of {_ref(incident)} from {before.value} to *{after.value}* "
            f"({after.meaning}).")


def raised_to_p0(incident: Incident, user: object) -> str:
    where = f" Join <#{incident.channel_id}>." if incident.channel_id and incident.thread_ts is None else ""
    return (f":rotating_light: :red_circle: *{_ref(incident)}* is now *P0* (raised by {_who(user)}): "
            f"{escape(title_for_anyone(incident))}.{where}")


def responders(incident: Incident, actor: str, users: Sequence[str], *, added: bool) -> str:
    if added:
        return f":busts_in_silhouette: <@{actor}> added {_users(users)} as responders on {_ref(incident)}."
    return f":busts_in_silhouette: <@{actor}> removed {_users(users)} from the responders on {_ref(incident)}."


def resolved(incident: Incident, user: object | None, summary: str, follow_ups: Sequence[str], analysis: bool) -> str:
    who = f"{_who(user)} resolved" if user else "The alert that opened it resolved"
    text = f":white_check_mark: {who} {_ref(incident)}:\n{summary}"
    if follow_ups:
        text += "\n*Follow-ups*\n" + "\n".join(f"• {safe(f)}" for f in follow_ups)
    if analysis:
        text += "\nAn incident analysis draft follows; `/incident timeline` shows it again later."
    return text


def reopened(incident: Incident, user: object, reason: str) -> str:
    return _with_note(f":leftwards_arrow_with_hook: {_who(user)} reopened {_ref(incident)}; it is "
                      f"*{incident.status.label}* again.", reason)


def duplicate(incident: Incident, user: str, original: Incident) -> str:
    where = f" in <#{original.channel_id}>" if original.channel_id and original.thread_ts is None else ""
    return (f":twisted_rightwards_arrows: <@{user}> marked {_ref(incident)} a duplicate of "
            f"*{_ref(original)}* ({escape(title_for_anyone(original))}). Follow it{where} instead.")


def has_duplicate(original: Incident, duplicate_incident: Incident, user: str) -> str:
    return (f":twisted_rightwards_arrows: <@{user}> marked {_ref(duplicate_incident)} "
            f"({escape(title_for_anyone(duplicate_incident))}) a duplicate of {_ref(original)}.")


def closed(incident: Incident, user: object, reason: str) -> str:
    return _with_note(f":no_entry_sign: {_who(user)} closed {_ref(incident)}.", reason)


def postmortem_message(incident: Incident) -> str:
    return (f":page_facing_up: *Incident analysis draft for {_ref(incident)}* — copy it into your postmortem doc "
            f"and complete it.\n\n{incident.postmortem}")
