"""`/incident <subcommand>`: ack with an ephemeral answer, or ack and open a modal."""

from __future__ import annotations

from bot.domain.incident import incident_ref, parse_incident_ref
from bot.listeners import after_ack
from bot.listeners.declare import open_declare_modal
from bot.services import IncidentService, UserError
from bot.views import incident as views


async def incident_command(ack, command, context, respond) -> None:
    incidents: IncidentService = context["incidents"]
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    sub = word.lower()
    rest = rest.strip()
    if sub in ("", "declare", "new"):
        await ack()
        after_ack(context, open_declare_modal(context, command["trigger_id"], command.get("channel_id"), respond,
                                              title=rest), "declare-modal")
        return
    if sub == "help":
        await ack(text=views.help_text())
    elif sub == "list":
        await _list(ack, incidents, rest)
    elif sub == "show":
        await _show(ack, incidents, rest, command.get("channel_id"))
    else:
        await ack(text=f"I don't know `{_quote(word)}`.\n" + views.help_text())


def _quote(word: str) -> str:
    return word.replace("`", "'")[:40]


async def _list(ack, incidents: IncidentService, rest: str) -> None:
    scope = rest.lower()
    if scope not in ("", "all", "open"):
        await ack(text=f"`list` takes `all` or nothing, not `{_quote(rest)}`.")
        return
    open_only = scope != "all"
    found, total = incidents.list(open_only=open_only)
    text, blocks = views.incident_list(found, total, open_only)
    await ack(text=text, blocks=blocks)


async def _show(ack, incidents: IncidentService, rest: str, channel_id: str | None) -> None:
    number = parse_incident_ref(rest) if rest else incidents.number_for_channel(channel_id)
    if number is None:
        await ack(text="Which incident? Use `/incident show INC-<n>` (or run it in the incident's channel).")
        return
    try:
        incident, rotation_name, events = incidents.detail(number)
    except UserError as exc:
        await ack(text=str(exc))
        return
    text, blocks = views.incident_detail(incident, rotation_name, events)
    await ack(text=text or incident_ref(number), blocks=blocks)
