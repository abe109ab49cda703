"""`/incident <subcommand>`: parse, call one service, ack with a short ephemeral answer (or ack and open a modal).

Every reason a command cannot be done — unknown incident, illegal transition, no permission, bad input — is a
one-line ephemeral answer and nothing changes. The command's trigger id is the change's request key, so Slack
delivering the same command twice applies it once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from bot.domain import lifecycle
from bot.domain.errors import UserError
from bot.domain.incident import Status, incident_ref, parse_incident_ref
from bot.domain.rotation import Role
from bot.domain.stats import parse_days
from bot.listeners import (
    after_ack,
    contacts,
    off_loop,
    request_key,
    rotation_commands,
    schedule_commands,
    status_commands,
    wired,
)
from bot.listeners.command_line import CommandLine, parse, user_refs
from bot.listeners.declare import open_declare_modal
from bot.listeners.working import open_incident_modal
from bot.runtime.background import Turn
from bot.services import Changed
from bot.services.follow_ups import line as follow_up_line
from bot.services.follow_ups import parse_due
from bot.services.privacy import make_private
from bot.services.roles import ROLES, set_role
from bot.services.roles import USAGE as ROLE_USAGE
from bot.slack.text import as_int, clean_text, echo, parse_user_ref
from bot.views import incident as views
from bot.views import timeline as timeline_views

log = logging.getLogger(__name__)
Answer = tuple[str, list | None]  # an ephemeral message: its text and blocks


def _quote(word: str) -> str:
    return echo(word)


def _command_line(text: str | None) -> CommandLine:
    line = parse(clean_text(text))
    if line.verb == "" and line.number is not None:  # `/incident INC-3` on its own shows it
        return CommandLine("show", line.number, "")
    return line


async def incident_command(ack, command, context, respond) -> None:
    line = _command_line(command.get("text"))
    if line.verb in ("", "declare", "new") and line.number is None:
        await ack()
        after_ack(context, open_declare_modal(context, command["trigger_id"], command.get("channel_id"), respond,
                                              title=line.args), "declare-modal", Turn.FORM)
        return
    handler = _READERS.get(line.verb) or _CHANGES.get(line.verb)
    if handler is None:
        await ack(text=f"I don't know `{_quote(line.verb)}`.\n" + views.help_text())
        return
    request = Request(command, line, ack, context, respond)
    try:
        await handler(request)
    except UserError as exc:
        await ack(text=str(exc))


class Request:
    """One `/incident` invocation: who, where, what they typed, and how to answer."""

    def __init__(self, command: dict, line: CommandLine, ack, context, respond) -> None:
        self.parts = wired(context)
        services = self.parts.services
        self.reading, self.working = services.reading, services.working
        self.rotations, self.handoffs, self.settings = services.rotations, services.handoffs, self.parts.settings
        self.command = command
        self.line = line
        self.ack = ack
        self.context = context
        self.respond = respond
        self.user: str = command["user_id"]
        self.key = request_key("cmd", command.get("trigger_id"), self.user, command.get("command"),
                               command.get("text"), command.get("channel_id"))
        self.acked = False

    def let_go_of_bolt(self) -> None:
        """Acked, with its answer still to come: what Bolt made for the request (its context, with a Web API client of
        its own, the ack) is let go, so a burst's answers waiting their turn hold a few objects each, not dozens. At
        full size the cyclic collector walking those waiting answers took a quarter of the burst's acks' time."""
        self.acked = True
        self.context = self.ack = None

    async def call(self, work, *args):
        if self.acked:  # answered after the ack: its reads give way to requests still waiting for theirs
            return await self.parts.db.run_background(work, *args)
        return await off_loop(self.context, work, *args)

    async def number(self) -> int:
        """The incident named in the command, else the one whose channel this is."""
        number = self.line.number or await self.call(self.reading.number_for_channel, self.command.get("channel_id"))
        if number is None:
            verb = self.line.verb
            raise UserError(f"Which incident? Run `/incident {verb}` in the incident's channel, or name it: "
                            f"`/incident {verb} INC-<n>{' …' if verb not in ('show', 'timeline', 'reopen') else ''}`.")
        return number

    async def done(self, result: Changed, text: str) -> None:
        if result.replayed:
            text = f"Already done: {incident_ref(result.incident.number)} got this request before."
        await self.ack(text=text)


# -- reading ------------------------------------------------------------------------------------------------

async def _help(r: Request) -> None:
    await r.ack(text=views.help_text())


async def _list(r: Request) -> Answer:
    listing = await r.call(r.reading.listing, r.line.args, r.user)
    return views.incident_list(listing.incidents, listing.total, listing.what)


def _viewer(r: Request) -> str | bool:
    """Who asks to read an incident: typed in its own channel, a member of it (Slack lets only members type in a
    private channel); named from elsewhere, whoever typed it (bot/domain/visibility.py)."""
    return r.user if r.line.number is not None else False


async def _show(r: Request) -> Answer:
    detail = await r.call(r.reading.detail, await r.number(), _viewer(r))
    return views.incident_detail(detail.incident, detail.rotation_name, detail.events, detail.responders,
                                 tz=r.settings.team_timezone)


async def _timeline(r: Request) -> Answer:
    detail = await r.call(r.reading.detail, await r.number(), _viewer(r))
    return timeline_views.timeline(detail.incident, detail.events, r.settings.team_timezone,
                                   r.command.get("team_domain"))


async def _stats(r: Request) -> Answer:
    text, blocks = timeline_views.stats(await r.call(r.reading.stats, parse_days(r.line.args)))
    link = rotation_commands.stats_link(r.rotations)
    return text, [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": link}]}]


async def _followups(r: Request) -> Answer:
    what, found, today = await r.call(r.parts.services.follow_ups.listing, r.line.args, r.user)
    if not found:
        return f"{what}: none.", None
    text = f"*{what}* ({len(found)})\n" + "\n".join(follow_up_line(item, number, today) for item, number in found)
    return text[:3000], None


async def _oncall(r: Request) -> Answer:
    return await r.call(rotation_commands.oncall, r.rotations, r.line.args, r.command.get("channel_id"), r.user)


def _answered_after_ack(read: Callable[[Request], Awaitable[Answer]], verb: str):
    """A reading command acks at once and answers through its response_url (SPEC §5: ack first): a burst of them
    is acked at the speed of a bare Bolt app and the reads follow when the acks are out. Nothing is stored, so a
    process that dies in between loses only an answer, which typing the command again brings back."""
    async def handler(r: Request) -> None:
        await r.ack()
        after_ack(r.context, _answer(read, verb, r), f"answer-{verb}")
        r.let_go_of_bolt()  # (before `_answer` can start: it reads as an acked request)
    return handler


async def _answer(read: Callable[[Request], Awaitable[Answer]], verb: str, r: Request) -> None:
    """(A function of the module's, not a closure: a burst's thousands of answers waiting hold fewer objects.)"""
    try:
        text, blocks = await read(r)
    except UserError as exc:
        text, blocks = str(exc), None
    except Exception:
        log.exception("/incident %s could not be answered", verb)
        text, blocks = f"`/incident {verb}` could not be read just now; try again in a moment.", None
    await r.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


async def _board(r: Request) -> None:
    await r.ack(text=rotation_commands.board_link(r.rotations))


async def _rotation(r: Request) -> None:
    question = await r.call(rotation_commands.slack_question, r.rotations, r.line.args)
    facts = await rotation_commands.ask_slack(r.parts.slack, question, r.user)  # (what is to be checked)
    services = r.parts.services
    text, blocks = await r.call(rotation_commands.rotation, r.rotations, r.line.args, r.user,
                                r.command.get("channel_id"), r.key, services.covers, services.usergroups,
                                services.fairness, facts, services.policies, services.shift_changes, services.layers)
    await r.ack(text=text, blocks=blocks or None)


async def _me(r: Request) -> None:
    services = r.parts.services
    await r.ack(text=await r.call(contacts.me, services.contacts, r.rotations, services.people, r.settings.holidays,
                                  r.line.args, r.user))


async def _maintenance(r: Request) -> None:
    text = await r.call(r.parts.services.maintenance.act, r.user, r.line.args, r.key)
    if r.line.args.strip().lower() in ("", "list"):
        text += f"\n{rotation_commands.page_link(r.rotations, '/maintenance', 'The windows and the alerts they kept')}"
    await r.ack(text=text)


async def _route(r: Request) -> None:
    await r.ack(text=await r.call(r.parts.services.routes.act, r.user, r.line.args, r.key))


async def _api(r: Request) -> None:
    await r.ack(text=await r.call(r.parts.services.api_tokens.act, r.user, r.line.args))


async def _type(r: Request) -> None:
    await r.ack(text=await r.call(r.parts.services.types.act, r.user, r.line.args))


async def _pto(r: Request) -> None:
    await r.ack(text=await r.call(schedule_commands.pto, r.parts.services.time_off, r.line.args, r.user,
                                  r.command.get("channel_id"), r.key))


async def _handoff(r: Request) -> None:
    rotation = await r.call(r.rotations.find_rotation, r.line.args.strip() or None, r.command.get("channel_id"))
    await r.call(r.handoffs.post_digest_later, rotation, r.key)
    await r.ack(text=f"Posting the handoff digest of `{rotation.name}` in <#{rotation.channel_id}>.")


HEARTBEAT_USAGE = ("Use `/incident heartbeat create <name> <interval> [rotation] [P0|P1]`, `heartbeat list` or "
                   "`heartbeat remove <name>`.")


async def _heartbeat(r: Request) -> None:
    heartbeats = r.parts.services.heartbeats
    word, _, rest = r.line.args.strip().partition(" ")
    verb = word.lower() or "list"
    if verb == "create":
        text = await r.call(heartbeats.create, r.user, rest, r.key)
    elif verb == "remove":
        text = await r.call(heartbeats.remove, r.user, rest)
    elif verb == "list" and not rest:
        text = await r.call(heartbeats.listing)
    else:
        raise UserError(HEARTBEAT_USAGE)
    await r.ack(text=text)


_READ_AFTER_ACK = {"list": _list, "show": _show, "timeline": _timeline, "stats": _stats, "oncall": _oncall,
                   "followups": _followups}
_READERS: dict[str, Callable[[Request], Awaitable[None]]] = {
    "help": _help, "rotation": _rotation, "handoff": _handoff, "board": _board, "heartbeat": _heartbeat,
    "heartbeats": _heartbeat, "me": _me, "pto": _pto, "route": _route, "routes": _route, "type": _type,
    "types": _type, "api": _api,
    "maintenance": _maintenance,
    **{verb: _answered_after_ack(read, verb) for verb, read in _READ_AFTER_ACK.items()},
}


def answered_after_ack(text: str) -> bool:
    """Whether `/incident <text>` is answered through its response_url rather than in its ack."""
    return _command_line(text).verb in _READ_AFTER_ACK


# -- changing -----------------------------------------------------------------------------------------------

async def _open_modal(r: Request, which: str, text: str) -> None:
    incident = await r.call(r.working.ensure_changeable, await r.number(), r.user, which)
    await r.ack()
    after_ack(r.context, open_incident_modal(r.context, r.command["trigger_id"], incident, which, r.respond,
                                             text=text), f"{which}-modal", Turn.FORM)


async def _update(r: Request) -> None:
    if not r.line.args:
        await _open_modal(r, "update", "")
        return
    result = await r.call(r.working.post_update, await r.number(), r.user, r.line.args, r.key)
    await r.done(result, f"Posted your update to {incident_ref(result.incident.number)}.")


async def _status(r: Request) -> None:
    word, _, note = r.line.args.partition(" ")
    if word.lower() in status_commands.WORDS:  # the status page's, not the incident's status
        await status_commands.status_page(r, word.lower(), note.strip())
        return
    second, _, rest = note.partition(" ")
    if word.lower() == "in" and second.lower() == "progress":  # `status in progress`
        word, note = "in_progress", rest
    if not word:
        raise UserError("Which status? `/incident status <triaged|in_progress|blocked|resolved|closed> [note]`.")
    target = lifecycle.parse_status(word)
    if target is Status.RESOLVED and (not note.strip() or await r.call(
            r.parts.services.status_page.is_published_number, await r.number())):
        await _open_modal(r, "resolve", note.strip())  # (on the status page: its public message is asked too)
        return
    result = await r.call(r.working.set_status, await r.number(), r.user, target, note, r.key)
    await r.done(result, f"{incident_ref(result.incident.number)} is now *{result.incident.status.label}*.")


async def _priority(r: Request) -> None:
    if not r.line.args:
        raise UserError("Which priority? `/incident priority <P0|P1|P2>`.")
    target = lifecycle.parse_priority(r.line.args)
    result = await r.call(r.working.set_priority, await r.number(), r.user, target, r.key)
    await r.done(result, f"{incident_ref(result.incident.number)} is now {target.value}.")


async def _commander(r: Request) -> None:
    users, other = user_refs(r.line.args)
    if len(users) != 1 or other:
        raise UserError("Name one person: `/incident commander @someone`.")
    result = await r.call(r.working.set_commander, await r.number(), r.user, users[0], r.key)
    await r.done(result, f"<@{users[0]}> now commands {incident_ref(result.incident.number)}.")


async def _role(r: Request) -> None:
    role, _, who = r.line.args.strip().partition(" ")
    users, other = user_refs(who)
    cleared = who.strip().lower() == "none"
    if role.lower() not in ROLES or not (cleared or (len(users) == 1 and not other)):
        raise UserError(ROLE_USAGE)
    person = None if cleared else users[0]
    result = await r.call(set_role, r.working, await r.number(), r.user, role.lower(), person, r.key)
    title, ref = ROLES[role.lower()], incident_ref(result.incident.number)
    await r.done(result, f"<@{person}> is the {title} of {ref}." if person else f"{ref} has no {title} now.")


async def _private(r: Request) -> None:
    result = await r.call(make_private, r.working, await r.number(), r.user, r.key)
    await r.done(result, f"{incident_ref(result.incident.number)} is private now: it moves to a private channel "
                         "with its timeline.")


async def _responders(r: Request) -> None:
    action, _, names = r.line.args.partition(" ")
    users, other = user_refs(names)
    if action.lower() not in ("add", "remove") or not users or other:
        raise UserError("Use `/incident responders add @someone @someone-else` (or `remove`).")
    number = await r.number()
    if action.lower() == "add":
        result = await r.call(r.working.add_responders, number, r.user, users, r.key)
    else:
        result = await r.call(r.working.remove_responders, number, r.user, users, r.key)
    verb = "Added" if action.lower() == "add" else "Removed"
    await r.done(result, f"{verb} {', '.join(f'<@{u}>' for u in users)} "
                         f"{'to' if verb == 'Added' else 'from'} the responders of {incident_ref(number)}.")


async def _resolve(r: Request) -> None:
    await _open_modal(r, "resolve", r.line.args)


async def _reopen(r: Request) -> None:
    result = await r.call(r.working.reopen, await r.number(), r.user, r.line.args, r.key)
    await r.done(result, f"Reopened {incident_ref(result.incident.number)}.")


async def _duplicate(r: Request) -> None:
    word, _, extra = r.line.args.partition(" ")
    original = parse_incident_ref(word) if word else None
    if original is None or extra.strip():
        raise UserError("Name the original: `/incident duplicate INC-<m>` (in the duplicate's channel), or "
                        "`/incident duplicate INC-<n> INC-<m>`.")
    result = await r.call(r.working.mark_duplicate, await r.number(), r.user, original, r.key)
    await r.done(result, f"{incident_ref(result.incident.number)} is now a duplicate of {incident_ref(original)}.")


async def _close(r: Request) -> None:
    result = await r.call(r.working.close, await r.number(), r.user, r.line.args, r.key)
    await r.done(result, f"Closed {incident_ref(result.incident.number)}.")


async def _page(r: Request) -> None:
    word = r.line.args.strip()
    who = parse_user_ref(word) or (word.lower() if word.lower() in Role._value2member_map_ else None)
    if who is None:
        raise UserError("Page whom? `/incident page <primary|secondary|tertiary|@someone>`.")
    result = await r.call(r.working.page, await r.number(), r.user, who, r.key)
    whom = f"<@{who}>" if who.startswith(("U", "W")) else f"the {who}"
    await r.done(result, f"Paging {whom} for {incident_ref(result.incident.number)}.")


FOLLOW_UP_USAGE = ("Use `/incident followup [INC-n] add <text> [@owner] [due <day>]`, `followup done <id>`, "
                   "`followup undone <id>`, `followup <id> owner @someone` or `followup <id> due <day|none>`.")


async def _followup(r: Request) -> None:
    follow_ups = r.parts.services.follow_ups
    word, _, rest = r.line.args.strip().partition(" ")
    verb, rest = word.lower(), rest.strip()
    if verb == "add":
        result, item = await r.call(follow_ups.add, await r.number(), r.user, rest, r.key)
        await r.done(result, f"Added follow-up #{item.id} to {incident_ref(result.incident.number)}."
                     if item else "Done.")
        return
    if verb in ("done", "undone"):
        item_id = as_int(rest.lstrip("#"))
        if item_id is None:
            raise UserError(FOLLOW_UP_USAGE)
        result = await r.call(partial(follow_ups.done, undo=verb == "undone"), item_id, r.user, r.key)
        await r.done(result, f"Follow-up #{item_id} is {'open again' if verb == 'undone' else 'done'}.")
        return
    item_id = as_int(word.lstrip("#"))
    what, _, value = rest.partition(" ")
    if item_id is None or what.lower() not in ("owner", "due") or not value.strip():
        raise UserError(FOLLOW_UP_USAGE)
    if what.lower() == "owner":
        users, other = user_refs(value)
        if len(users) != 1 or other:
            raise UserError("Name one owner: `/incident followup <id> owner @someone`.")
        result = await r.call(follow_ups.reassign, item_id, r.user, users[0], r.key)
        await r.done(result, f"Follow-up #{item_id} is <@{users[0]}>'s now.")
        return
    due = None if value.strip().lower() == "none" else parse_due(value.split(), r.working.clock.now(), r.settings)
    result = await r.call(follow_ups.move_due, item_id, r.user, due, r.key)
    await r.done(result, f"Follow-up #{item_id} is due {due.isoformat() if due else 'no particular day'}.")


_CHANGES: dict[str, Callable[[Request], Awaitable[None]]] = {
    "update": _update, "status": _status, "priority": _priority, "commander": _commander, "role": _role,
    "private": _private, "responders": _responders, "resolve": _resolve, "reopen": _reopen,
    "duplicate": _duplicate, "close": _close, "page": _page, "followup": _followup,
}
