"""Block Kit for incidents: the declare modal, summary, announcement, replies. Pure: data in, dicts out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Incident, TimelineEvent
from bot.domain.incident import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Impact,
    Priority,
    Status,
    incident_ref,
    suggested_priority,
)
from bot.ids import ActionId, BlockId, CallbackId
from bot.slack_text import date_token, escape, mention, truncate

_PRIORITY_EMOJI = {Priority.P0: ":red_circle:", Priority.P1: ":large_orange_circle:", Priority.P2: ":white_circle:"}
_NORMAL_HINT = "P0 if users are blocked or data is at risk; P1 if they suffer but can work; P2 for ordinary work."


def plain(text: str, limit: int = 3000) -> dict:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = 3000) -> dict:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def _option(text: str, value: str) -> dict:
    return {"text": plain(text, 75), "value": value}


def _priority_option(priority: Priority) -> dict:
    return _option(f"{priority.value} — {priority.meaning.split(':')[0]}", priority.value)


def _impact_option(impact: Impact) -> dict:
    return _option(impact.question, impact.value)


def priority_hint(impacts: frozenset[Impact]) -> str:
    if suggested_priority(impacts) is Priority.P0:
        return "You answered yes to an impact question: this is a P0 — fix it before any other work, update hourly."
    return _NORMAL_HINT


def declare_modal(*, metadata: str, rotations: Sequence[tuple[int, str]], title: str = "", description: str = "",
                  priority: Priority = Priority.P1, impacts: frozenset[Impact] = frozenset(),
                  commander_id: str | None = None, rotation_id: int | None = None) -> dict:
    """The modal behind `/incident` and the message shortcut; re-rendered when impact answers change."""
    title_element: dict = {"type": "plain_text_input", "action_id": ActionId.TITLE, "max_length": TITLE_MAX,
                           "placeholder": plain("What is broken, for whom?")}
    if title:
        title_element["initial_value"] = truncate(title, TITLE_MAX)
    description_element: dict = {"type": "plain_text_input", "action_id": ActionId.DESCRIPTION, "multiline": True,
                                  "max_length": DESCRIPTION_MAX, "placeholder": plain("What do you see? Since when?")}
    if description:
        description_element["initial_value"] = truncate(description, DESCRIPTION_MAX)
    impact_element: dict = {"type": "checkboxes", "action_id": ActionId.IMPACT,
                            "options": [_impact_option(i) for i in Impact]}
    if impacts:
        impact_element["initial_options"] = [_impact_option(i) for i in Impact if i in impacts]
    commander_element: dict = {"type": "users_select", "action_id": ActionId.COMMANDER,
                               "placeholder": plain("Who coordinates the response?")}
    if commander_id:
        commander_element["initial_user"] = commander_id

    blocks: list[dict] = [
        {"type": "input", "block_id": BlockId.TITLE, "label": plain("Title"), "element": title_element},
        {"type": "input", "block_id": BlockId.IMPACT, "optional": True, "dispatch_action": True,
         "label": plain("Is any of this true right now?"), "element": impact_element},
        {"type": "input", "block_id": BlockId.PRIORITY, "label": plain("Priority"),
         "hint": plain(priority_hint(impacts), 2000),
         "element": {"type": "static_select", "action_id": ActionId.PRIORITY,
                     "options": [_priority_option(p) for p in Priority],
                     "initial_option": _priority_option(priority)}},
        {"type": "input", "block_id": BlockId.DESCRIPTION, "optional": True, "label": plain("Description"),
         "element": description_element},
        {"type": "input", "block_id": BlockId.COMMANDER, "optional": True, "label": plain("Commander"),
         "hint": plain("Leave empty and whoever acknowledges the page becomes commander."),
         "element": commander_element},
    ]
    if rotations:
        options = [_option(name, str(rid)) for rid, name in rotations[:100]]
        rotation_element: dict = {"type": "static_select", "action_id": ActionId.ROTATION, "options": options}
        chosen = next((o for o in options if o["value"] == str(rotation_id)), None)
        if chosen:
            rotation_element["initial_option"] = chosen
        blocks.append({"type": "input", "block_id": BlockId.ROTATION, "optional": True, "label": plain("Rotation"),
                       "hint": plain("Whose firefighters are paged and where the incident is announced."),
                       "element": rotation_element})
    return {"type": "modal", "callback_id": CallbackId.DECLARE_MODAL, "title": plain("Declare an incident", 24),
            "submit": plain("Declare", 24), "close": plain("Cancel", 24), "private_metadata": metadata,
            "blocks": blocks}


def _impacts_of(incident: Incident) -> list[Impact]:
    return [Impact(v) for v in incident.impacts.split(",") if v in Impact._value2member_map_]


def heading(incident: Incident) -> str:
    return f"{incident_ref(incident.number)}: {incident.title}"


def topic(incident: Incident) -> str:
    commander = f"<@{incident.commander_id}>" if incident.commander_id else "none yet"
    return truncate(f"{incident.priority} · {Status(incident.status).label} · Commander: {commander} · "
                    f"{escape(incident.title)}", 250)


def summary(incident: Incident, rotation_name: str | None) -> tuple[str, list[dict]]:
    """The pinned message: the incident at a glance, with the buttons for the common actions."""
    priority = Priority(incident.priority)
    fields = [
        mrkdwn(f"*Priority*\n{_PRIORITY_EMOJI[priority]} {priority.value} — {priority.meaning}"),
        mrkdwn(f"*Status*\n{Status(incident.status).label}"),
        mrkdwn(f"*Commander*\n{mention(incident.commander_id)}"),
        mrkdwn(f"*Reported by*\n<@{incident.reporter_id}>"),
        mrkdwn(f"*Rotation*\n{escape(rotation_name) if rotation_name else '_none_'}"),
        mrkdwn(f"*Declared*\n{date_token(incident.created_at)}"),
    ]
    blocks: list[dict] = [
        {"type": "header", "text": plain(heading(incident), 150)},
        {"type": "section", "fields": fields},
    ]
    if incident.description:
        blocks.append({"type": "section", "text": mrkdwn(escape(incident.description))})
    impacts = _impacts_of(incident)
    context = [mrkdwn("*Impact:* " + "; ".join(i.question for i in impacts))] if impacts else []
    if incident.source_url:
        context.append(mrkdwn(f"<{incident.source_url}|Declared from this message>"))
    if context:
        blocks.append({"type": "context", "elements": context})
    value = str(incident.number)
    blocks.append({"type": "actions", "block_id": BlockId.SUMMARY_ACTIONS, "elements": [
        {"type": "button", "action_id": ActionId.ACKNOWLEDGE, "text": plain("Acknowledge"), "value": value,
         "style": "primary"},
        {"type": "button", "action_id": ActionId.POST_UPDATE, "text": plain("Post update"), "value": value},
        {"type": "button", "action_id": ActionId.TAKE_COMMAND, "text": plain("Take command"), "value": value},
        {"type": "button", "action_id": ActionId.RESOLVE, "text": plain("Resolve"), "value": value,
         "style": "danger"},
    ]})
    text = f"{escape(heading(incident))} ({priority.value}, {Status(incident.status).label})"
    return text, blocks


def where(incident: Incident) -> str:
    if incident.thread_ts is None and incident.channel_id:
        return f"<#{incident.channel_id}>"
    return "the thread under its announcement"


def announcement(incident: Incident) -> tuple[str, list[dict]]:
    priority = Priority(incident.priority)
    line = (f":rotating_light: {_PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* "
            f"({priority.value}) {escape(incident.title)}")
    details = (f"Declared by <@{incident.reporter_id}> · Commander: {mention(incident.commander_id)}"
               + (f" · Join {where(incident)}" if incident.thread_ts is None and incident.channel_id else ""))
    blocks = [{"type": "section", "text": mrkdwn(line)}, {"type": "context", "elements": [mrkdwn(details)]}]
    return f"{incident_ref(incident.number)} ({priority.value}) {escape(incident.title)}", blocks


def reporter_reply(incident: Incident, link: str) -> str:
    """SPEC §2 / seed 001: acknowledge the report and tag the commander."""
    commander = (f"<@{incident.commander_id}> is the incident commander."
                 if incident.commander_id else "No commander yet: the first firefighter to acknowledge takes command.")
    return (f":white_check_mark: Incident *{incident_ref(incident.number)}* ({incident.priority}) "
            f"\"{escape(incident.title)}\" is declared. Follow it in {link}. {commander}")


def help_text() -> str:
    return "\n".join([
        "*/incident* — declare and work incidents",
        "• `/incident` or `/incident declare [title]` — declare an incident (opens a form)",
        "• `/incident list [all]` — open incidents (or all of them)",
        "• `/incident show INC-<n>` — one incident with its latest events",
        "• `/incident help` — this help",
        "Or pick *Declare incident* from the ⋯ menu of any message: the form is prefilled from it.",
    ])


def _line(incident: Incident) -> str:
    priority = Priority(incident.priority)
    return (f"{_PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* {priority.value} · "
            f"{Status(incident.status).label} · {escape(truncate(incident.title, 120))} · "
            f"commander {mention(incident.commander_id, 'none')} · {where(incident)}")


def incident_list(incidents: Sequence[Incident], total: int, open_only: bool) -> tuple[str, list[dict]]:
    what = "open incidents" if open_only else "incidents"
    if not incidents:
        text = f"No {what}. :tada:" if open_only else "No incidents yet."
        return text, [{"type": "section", "text": mrkdwn(text)}]
    header = f"*{total} {what}*" + (f" (showing {len(incidents)})" if total > len(incidents) else "")
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(header)}]
    chunk: list[str] = []
    for incident in incidents:
        line = _line(incident)
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
    return f"{total} {what}", blocks[:50]


def incident_detail(incident: Incident, rotation_name: str | None,
                    events: Sequence[TimelineEvent]) -> tuple[str, list[dict]]:
    text, blocks = summary(incident, rotation_name)
    blocks = [b for b in blocks if b.get("type") != "actions"]
    blocks.append({"type": "context", "elements": [mrkdwn(f"Lives in {where(incident)}")]})
    if events:
        lines = [f"{date_token(e.at)} · {mention(e.actor_id, 'Firefighter')} · *{e.kind}* "
                 f"{escape(truncate(e.text, 300))}" for e in events[-10:]]
        blocks.append({"type": "section", "text": mrkdwn("*Latest events*\n" + "\n".join(lines))})
    return text, blocks


def _one_text_modal(incident: Incident, callback_id: CallbackId, verb: str, submit: str, block_id: BlockId,
                    action_id: ActionId, label: str) -> dict:
    return {"type": "modal", "callback_id": callback_id, "private_metadata": str(incident.number),
            "title": plain(f"{verb} {incident_ref(incident.number)}", 24), "submit": plain(submit, 24),
            "close": plain("Cancel", 24), "blocks": [
                {"type": "section", "text": mrkdwn(f"*{escape(heading(incident))}*")},
                {"type": "input", "block_id": block_id, "label": plain(label),
                 "element": {"type": "plain_text_input", "action_id": action_id, "multiline": True,
                             "max_length": 3000}}]}


def update_modal(incident: Incident) -> dict:
    return _one_text_modal(incident, CallbackId.UPDATE_MODAL, "Update", "Post", BlockId.UPDATE_TEXT,
                           ActionId.UPDATE_TEXT, "What changed? What is next?")


def resolve_modal(incident: Incident) -> dict:
    return _one_text_modal(incident, CallbackId.RESOLVE_MODAL, "Resolve", "Resolve", BlockId.RESOLVE_SUMMARY,
                           ActionId.RESOLVE_SUMMARY, "How was it resolved?")
