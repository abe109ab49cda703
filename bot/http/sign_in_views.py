"""What sign-in and the board's writes decide, as pure functions beside them (bot/http/sign_in.py does the I/O):
where Slack's sign-in starts, what a `POST /board/act` body asks for, which change that is and what the person is
told. Tested without HTTP (tests/test_sign_in_views.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status, incident_ref

MOVES = {Status.TRIAGED, Status.IN_PROGRESS, Status.BLOCKED, Status.RESOLVED}
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


def authorize_url(authorize: str, client_id: str, redirect_uri: str, state: str, nonce: str,
                  team_id: str | None) -> str:
    """Slack's OpenID Connect authorize page, for the bot's own workspace when it is known."""
    return authorize + "?" + urlencode({
        "response_type": "code", "scope": "openid profile", "client_id": client_id, "state": state, "nonce": nonce,
        "redirect_uri": redirect_uri, **({"team": team_id} if team_id else {})})


@dataclass(frozen=True)
class BoardAct:
    """`POST /board/act` {incident, action: move|command|priority, value, note?, key}."""

    number: int
    action: str
    value: str
    note: str
    key: str  # the client's own key: a double click or a retried request changes the incident once


def board_act(raw: bytes) -> BoardAct:
    """ValueError, saying what to send, when the body is not one."""
    try:
        body = json.loads(raw)
        number, action = body["incident"], str(body["action"])
        value, note, key = str(body.get("value", "")), str(body.get("note", "")), str(body.get("key", ""))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ValueError("send {incident, action, value, key} as JSON") from None
    if type(number) is not int or not _KEY.fullmatch(key) or not 0 < number < 2**31:
        raise ValueError("a request key and an incident number are needed")
    return BoardAct(number, action, value, note, key)


@dataclass(frozen=True)
class Change:
    """Which change an act is: `status` (to `target`, with `note`), `command` or `priority` (to `priority`);
    `said`: what the person is told once it is made."""

    what: str
    said: str
    target: Status | None = None
    priority: Priority | None = None
    note: str = ""


def change_of(act: BoardAct) -> Change:
    """UserError, saying why, for an act the board does not make."""
    ref = incident_ref(act.number)
    if act.action == "move":
        target = Status(act.value) if act.value in Status._value2member_map_ else None
        if target not in MOVES:
            raise UserError(f"A card moves to triaged, in progress, blocked or resolved, not {act.value[:20]!r}.")
        if target is Status.RESOLVED and not act.note.strip():
            raise UserError("Say in a sentence how it was resolved.")
        return Change("status", f"{ref}: {target.label}.", target=target, note=act.note)
    if act.action == "command":
        return Change("command", f"You command {ref}.")
    if act.action == "priority" and act.value in Priority._value2member_map_:
        return Change("priority", f"{ref} is {act.value}.", priority=Priority(act.value))
    raise UserError("Unknown action: move, command or priority.")
