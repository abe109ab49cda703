"""Block Kit for incidents: the declare modal, summary, announcement, replies. Pure: data in, dicts out."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, tzinfo

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
from bot.domain.tracker import TRACKER_NAMES
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.text import date_token, escape, link, mention, safe, truncate

OPTIONS_MAX = 100  # options in one Slack select (shared/slack/README.md, "Limits")

PRIORITY_EMOJI = {Priority.P0: ":red_circle:", Priority.P1: ":large_orange_circle:", Priority.P2: ":white_circle:"}
_NORMAL_HINT = "P0 if users are blocked or data is at risk; P1 if they suffer but can work; P2 for ordinary work."


def plain(text: str, limit: int = 3000) -> dict:
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def left_out_text(count: int) -> str:
    """Alertmanager's `truncatedAlerts`: alerts of the group it did not send (its receiver's `max_alerts`)."""
    return (f"Alertmanager left out {count:,} alert{'s' if count != 1 else ''} of this group (its receiver's "
            f"max_alerts): they are not listed here; Alertmanager shows them.")


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


@functools.lru_cache(maxsize=8)
def _rotation_options(rotations: tuple[tuple[int, str], ...]) -> list[dict]:
    """Built once for the forms that share one read of the rotations (a burst of `/incident`: 100 options a form
    were 9% of the event loop's time). Read only: the same dicts go into every such form."""
    return [_option(name, str(rid)) for rid, name in rotations]


def _rotation_element(rotations: Sequence[tuple[int, str]], rotation_id: int | None) -> dict:
    """Every rotation as a list when Slack's select can hold them all (OPTIONS_MAX); past that, a select that
    asks the bot as the person types (`rotation_suggestions`): with 200 rotations a list showed only the first 100,
    and a form of 100 options (13 KB) cost Slack's side more than the rest of the form."""
    if len(rotations) <= OPTIONS_MAX:
        options = _rotation_options(tuple(rotations))
        element: dict = {"type": "static_select", "action_id": ActionId.ROTATION, "options": options}
        chosen = next((o for o in options if o["value"] == str(rotation_id)), None)
    else:
        element = {"type": "external_select", "action_id": ActionId.ROTATION, "min_query_length": 0,
                   "placeholder": plain("Type to search the rotations")}
        chosen = next((_option(name, str(rid)) for rid, name in rotations if rid == rotation_id), None)
    if chosen:
        element["initial_option"] = chosen
    return element


def rotation_suggestions(rotations: Sequence[tuple[int, str]], typed: str) -> list[dict]:
    """The rotations a person typing `typed` is offered (at most OPTIONS_MAX): names that start with it first,
    then names that contain it, each group in the rotations' order; an empty query lists the first ones."""
    wanted = typed.strip().casefold()
    found = [(rid, name) for rid, name in rotations if wanted in name.casefold()]
    found.sort(key=lambda rotation: not rotation[1].casefold().startswith(wanted))  # stable: order kept within
    return [_option(name, str(rid)) for rid, name in found[:OPTIONS_MAX]]


def declare_modal(*, metadata: str, rotations: Sequence[tuple[int, str]], title: str = "", description: str = "",
                  priority: Priority = Priority.P1, impacts: frozenset[Impact] = frozenset(),
                  commander_id: str | None = None, rotation_id: int | None = None,
                  types: Sequence[tuple[str, bool]] = (), type_name: str | None = None) -> dict:
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
    if types:
        blocks.append(_type_block(types, type_name))
    if rotations:
        blocks.append({"type": "input", "block_id": BlockId.ROTATION, "optional": True, "label": plain("Rotation"),
                       "hint": plain("Whose firefighters are paged and where the incident is announced."),
                       "element": _rotation_element(rotations, rotation_id)})
    return {"type": "modal", "callback_id": CallbackId.DECLARE_MODAL, "title": plain("Declare an incident", 24),
            "submit": plain("Declare", 24), "close": plain("Cancel", 24), "private_metadata": metadata,
            "blocks": blocks}


def _type_block(types: Sequence[tuple[str, bool]], chosen: str | None) -> dict:
    """SPEC: the declare form offers a Type select when types exist (`security`, private, from the start)."""
    options = [_option(f"{name} (private)" if private else name, name) for name, private in types[:OPTIONS_MAX]]
    element: dict = {"type": "static_select", "action_id": ActionId.TYPE, "options": options,
                     "placeholder": plain("None")}
    if (found := next((o for o in options if o["value"] == chosen), None)) is not None:
        element["initial_option"] = found
    return {"type": "input", "block_id": BlockId.TYPE, "optional": True, "label": plain("Type"), "element": element,
            "hint": plain("A private type gets a private channel: only the reporter, the commander, the paged "
                          "firefighters and those added see it.")}


def _impacts_of(incident: Incident) -> list[Impact]:
    return [Impact(v) for v in incident.impacts.split(",") if v in Impact._value2member_map_]


_SOURCES = {"generic": "a monitoring alert", "alertmanager": "Alertmanager", "gitlab": "a GitLab pipeline",
            "github": "a GitHub issue"}


def reported_by(incident: Incident) -> str:
    if incident.reporter_id:
        return f"<@{incident.reporter_id}>"
    if incident.source == "gitlab" and not incident.alert_fingerprint:  # GitLab issues and pipelines both say gitlab
        return "a GitLab issue"
    return _SOURCES.get(incident.source, f"an alert ({escape(incident.source)})")


def heading(incident: Incident) -> str:
    return f"{incident_ref(incident.number)}: {incident.title}"


def topic(incident: Incident) -> str:
    commander = f"<@{incident.commander_id}>" if incident.commander_id else "none yet"
    return truncate(f"{incident.priority} · {incident.status.label} · Commander: {commander} · "
                    f"{escape(incident.title)}", 250)


def summary(incident: Incident, rotation_name: str | None, responders: Sequence[str] = (),
            paging: str | None = None, issues: Sequence[tuple[str, int, str]] = (),
            storm: str | None = None) -> tuple[str, list[dict]]:
    """The pinned message: the incident at a glance, with the buttons for the common actions while it is open."""
    priority = incident.priority
    status = incident.status
    status_text = status.label
    if status is Status.DUPLICATE and incident.duplicate_of:
        status_text += f" of {incident_ref(incident.duplicate_of)}"
    fields = [
        mrkdwn(f"*Priority*\n{PRIORITY_EMOJI[priority]} {priority.value} — {priority.meaning}"),
        mrkdwn(f"*Status*\n{status_text}"),
        mrkdwn(f"*Commander*\n{mention(incident.commander_id)}"),
        mrkdwn(f"*Reported by*\n{reported_by(incident)}"),
        mrkdwn(f"*Rotation*\n{escape(rotation_name) if rotation_name else '_none_'}"),
        mrkdwn(f"*Declared*\n{date_token(incident.created_at)}"),
    ]
    for title, person in (("Communications lead", incident.comms_id), ("Scribe", incident.scribe_id)):
        if person:
            fields.append(mrkdwn(f"*{title}*\n<@{person}>"))
    if responders:
        fields.append(mrkdwn("*Responders*\n" + ", ".join(f"<@{r}>" for r in responders[:30]), 2000))
    blocks: list[dict] = [
        {"type": "header", "text": plain(heading(incident), 150)},
        {"type": "section", "fields": fields},
    ]
    if incident.description:
        blocks.append({"type": "section", "text": mrkdwn(escape(incident.description))})
    impacts = _impacts_of(incident)
    context = [mrkdwn("*Impact:* " + "; ".join(i.question for i in impacts))] if impacts else []
    tracked = {url for _, _, url in issues}
    if incident.source_url and incident.source_url not in tracked:
        label = "Declared from this message" if incident.source == "slack" else "What the alert links to"
        shown = link(incident.source_url, label)  # (a link too long for a context element: its label alone)
        context.append(mrkdwn(shown if len(shown) <= 3000 else escape(label)))
    for tracker, number, url in issues:
        context.append(mrkdwn(link(url, f"{TRACKER_NAMES.get(tracker, tracker)} issue #{number}")))
    if incident.alert_count > 1:
        context.append(mrkdwn(f"The alert fired {incident.alert_count} times."))
    if incident.alert_left_out:
        context.append(mrkdwn(left_out_text(incident.alert_left_out)))
    if storm:
        context.append(mrkdwn(storm))
    if paging and status.is_open:
        context.append(mrkdwn(paging))
    if incident.resolution and status is Status.RESOLVED:
        blocks.append({"type": "section", "text": mrkdwn(f"*Resolution*\n{escape(incident.resolution)}")})
    if context:
        blocks.append({"type": "context", "elements": context})
    text = f"{escape(heading(incident))} ({priority.value}, {status_text})"
    if paging and status.is_open:
        text += f" {paging}"  # the notification text carries the mention too
    if not status.is_open:
        closing = ("`/incident reopen` reopens it." if status is Status.RESOLVED
                   else "It stays that way; declare a new incident if the problem is back.")
        blocks.append({"type": "context", "elements": [mrkdwn(f"*{status_text}.* {closing}")]})
        return text, blocks
    value = str(incident.number)
    blocks.append({"type": "actions", "block_id": BlockId.SUMMARY_ACTIONS, "elements": [
        {"type": "button", "action_id": ActionId.ACKNOWLEDGE, "text": plain("Acknowledge"), "value": value,
         "style": "primary"},
        {"type": "button", "action_id": ActionId.POST_UPDATE, "text": plain("Post update"), "value": value},
        {"type": "button", "action_id": ActionId.TAKE_COMMAND, "text": plain("Take command"), "value": value},
        {"type": "button", "action_id": ActionId.RESOLVE, "text": plain("Resolve"), "value": value,
         "style": "danger"},
    ]})
    return text, blocks


def where(incident: Incident) -> str:
    if incident.thread_ts is None and incident.channel_id:
        return f"<#{incident.channel_id}>"
    return "the thread under its announcement"


def announcement(incident: Incident) -> tuple[str, list[dict]]:
    priority = incident.priority
    if incident.private:  # SPEC: the rotation's channel hears only that it exists, and who commands it
        line = (f":lock: A private incident *{incident_ref(incident.number)}* ({priority.value}) was declared; "
                f"commander {mention(incident.commander_id, '_none yet_')}.")
        return f"A private incident {incident_ref(incident.number)} ({priority.value})", [
            {"type": "section", "text": mrkdwn(line)}]
    line = (f":rotating_light: {PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* "
            f"({priority.value}) {escape(incident.title)}")
    details = (f"Declared by {reported_by(incident)} · Commander: {mention(incident.commander_id)}"
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
        "*Working an incident* — in its channel, or anywhere with its id: `/incident update INC-12 rolled back`",
        "• `update <text>` — post an update (P0s need one every hour)",
        "• `status <triaged|in_progress|blocked|resolved|closed> [note]` — move it along",
        "• `priority <P0|P1|P2>` · `commander @user` · `role comms|scribe @user|none` · `responders add|remove @user…`",
        "• `status publish` · `status update <text>` · `status component add|remove <name>` · `status components`",
        "• `private` (moves it to a private channel) · `type add <name> [private] [rotation <name>] "
        "[priority P0|P1|P2]` · `type list|remove <name>`",
        "• `resolve [summary]` — opens the resolve form · `reopen` · `close [reason]` · `duplicate INC-<m>`",
        "• `page <primary|secondary|tertiary|@someone>` — page by hand (escalates like any page)",
        "• `followup add <text> [@owner] [due <day>]` · `followup done <id>` · `followups [mine|open|all]` — "
        "follow-ups that remind their owner when overdue; react with :pushpin: to put a message on the timeline",
        "*Reading*",
        "• `show` · `timeline` (with the incident analysis draft) · `list [all|mine|P0|P1|P2]` · `stats [days]`",
        "*On call*",
        "• `oncall [rotation]` — who is primary, secondary, tertiary now and next · `rotation help` — rosters, "
        "overrides, swaps · `handoff [rotation]` — post the handoff digest now · `board` — the web board · "
        "`me feed-reset` — revoke your calendar links",
        "• `me contact add <sms|push|email> <address>` · `me contact verify <code>` · `me contact test [kind]` · "
        "`me contact remove <kind>` · `me contacts` · `me rules slack 0, sms 2m, email 10m` — how pages wake you",
        "• `me holidays <DE-BY|US-CA|…|none|team>` — whose public holidays are your days off · "
        "`pto add [@person] <from> <to> [reason]` · `pto list` · `pto remove <id>` — time off: never paged, "
        "someone stands in",
        "• `heartbeat create <name> <interval> [rotation] [P0|P1]` · `heartbeat list` · `heartbeat remove <name>` — "
        "an incident when a job stops calling in",
        "• `route add <label>=<value>[,…] <rotation> [P0|P1|P2]` · `route list` · `route test <label>=<value>…` — "
        "alerts to a rotation by their labels · `maintenance add <rotation|label=value> <from> <to> [reason]` · "
        "`maintenance list` — keep alerts from paging for a while",
        "• `api token create <name> <read|write|admin>` · `api token list` · `api token revoke <name>` — tokens for "
        "the HTTP API (ADMINS only; shown once)",
        "• `help` — this help",
        "Or pick *Declare incident* from the ⋯ menu of any message: the form is prefilled from it.",
    ])


def _line(incident: Incident) -> str:
    priority = incident.priority
    return (f"{PRIORITY_EMOJI[priority]} *{incident_ref(incident.number)}* {priority.value} · "
            f"{incident.status.label} · {escape(truncate(incident.title, 120))} · "
            f"commander {mention(incident.commander_id, 'none')} · {where(incident)}")


def incident_list(incidents: Sequence[Incident], total: int,
                  what: str = "open incidents") -> tuple[str, list[dict]]:
    if not incidents:
        text = f"No {what}." + (" :tada:" if what.startswith("open") else "")
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


def event_line(event: TimelineEvent, tz: tzinfo = UTC) -> str:
    return (f"{date_token(event.at, tz=tz)} · {mention(event.actor_id, 'Firefighter')} · *{escape(event.kind)}* "
            f"{safe(truncate(event.text, 400))}")


def incident_detail(incident: Incident, rotation_name: str | None, events: Sequence[TimelineEvent],
                    responders: Sequence[str] = (), tz: tzinfo = UTC) -> tuple[str, list[dict]]:
    text, blocks = summary(incident, rotation_name, responders)
    blocks = [b for b in blocks if b.get("type") != "actions"]
    blocks.append({"type": "context", "elements": [mrkdwn(f"Lives in {where(incident)}")]})
    if events:
        lines = [event_line(e, tz) for e in events[-8:]]
        blocks.append({"type": "section", "text": mrkdwn("*Latest events* (`/incident timeline` has them all)\n"
                                                         + "\n".join(lines))})
    return text, blocks


def _text_input(block_id: BlockId, action_id: ActionId, label: str, *, initial: str = "", optional: bool = False,
                hint: str | None = None) -> dict:
    element: dict = {"type": "plain_text_input", "action_id": action_id, "multiline": True, "max_length": 3000}
    if initial:
        element["initial_value"] = truncate(initial, 3000)
    block: dict = {"type": "input", "block_id": block_id, "label": plain(label), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _incident_modal(incident: Incident, callback_id: CallbackId, verb: str, submit: str,
                    inputs: list[dict]) -> dict:
    return {"type": "modal", "callback_id": callback_id, "private_metadata": str(incident.number),
            "title": plain(f"{verb} {incident_ref(incident.number)}", 24), "submit": plain(submit, 24),
            "close": plain("Cancel", 24),
            "blocks": [{"type": "section", "text": mrkdwn(f"*{escape(heading(incident))}*")}, *inputs]}


def update_modal(incident: Incident, text: str = "") -> dict:
    return _incident_modal(incident, CallbackId.UPDATE_MODAL, "Update", "Post", [
        _text_input(BlockId.UPDATE_TEXT, ActionId.UPDATE_TEXT, "What changed? What is next?", initial=text)])


ROLLBACK_CHOICES = {"yes": "Yes — we rolled back or shipped a hotfix", "no": "No"}


def resolve_modal(incident: Incident, summary_text: str = "", published: bool = False) -> dict:
    """Summary, rollback/hotfix and follow-ups: P0s and rollbacks get an incident analysis draft. `published`: it is
    open on the status page, and its public resolution message is asked here (SPEC § Status page)."""
    options = [_option(label, value) for value, label in ROLLBACK_CHOICES.items()]
    rollback = {"type": "input", "block_id": BlockId.ROLLBACK, "label": plain("Did it need a rollback or hotfix?"),
                "hint": plain("Incidents that needed one, and every P0, get an incident analysis draft."),
                "element": {"type": "radio_buttons", "action_id": ActionId.ROLLBACK, "options": options,
                            "initial_option": options[1]}}
    return _incident_modal(incident, CallbackId.RESOLVE_MODAL, "Resolve", "Resolve", [
        _text_input(BlockId.RESOLVE_SUMMARY, ActionId.RESOLVE_SUMMARY, "How was it resolved?", initial=summary_text),
        rollback,
        _text_input(BlockId.FOLLOW_UPS, ActionId.FOLLOW_UPS, "Follow-ups", optional=True,
                    hint="One per line: what should happen so this does not happen again?"),
        *([_text_input(BlockId.PUBLIC_MESSAGE, ActionId.PUBLIC_MESSAGE, "Public resolution message",
                       hint="It is on the status page: what customers read now that it is over.")]
          if published else []),
    ])
