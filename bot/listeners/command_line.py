"""Reading `/incident <verb> [INC-<n>] <args>`: which verb, which incident (if named), and the rest. Pure.

The incident may be named before the verb (`INC-3 status blocked`), right after it (`status INC-3 blocked`),
after `add|remove` for responders, or last for one-word commands (`priority P0 INC-3`). Without it the
incident is the one whose channel the command was typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.incident import parse_incident_ref
from bot.slack.text import parse_user_ref

_FREE_TEXT_VERBS = frozenset({"", "declare", "new", "help", "rotation", "oncall", "handoff", "list", "stats",
                              "heartbeat", "heartbeats", "me", "api"})
_TRAILING_REF_VERBS = frozenset({"priority", "commander", "show", "timeline", "page"})  # one-word arguments only


@dataclass(frozen=True)
class CommandLine:
    verb: str
    number: int | None
    args: str


def _pop(text: str) -> tuple[str, str]:
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def parse(text: str) -> CommandLine:
    first, rest = _pop(text)
    number = parse_incident_ref(first) if first else None
    if number is not None:
        first, rest = _pop(rest)
        return CommandLine(first.lower(), number, rest)
    verb = first.lower()
    if verb in _FREE_TEXT_VERBS:
        return CommandLine(verb, None, rest)
    token, after = _pop(rest)
    if verb == "duplicate":
        second, _ = _pop(after)
        if parse_incident_ref(token) and parse_incident_ref(second):
            return CommandLine(verb, parse_incident_ref(token), after)
        return CommandLine(verb, None, rest)
    if (verb == "responders" or (verb == "status" and token.lower() in ("publish", "update"))) \
            and not parse_incident_ref(token):  # `responders add INC-n @x`, `status update INC-n <text>`
        named, remainder = _pop(after)
        if parse_incident_ref(named):
            return CommandLine(verb, parse_incident_ref(named), f"{token} {remainder}".strip())
        return CommandLine(verb, None, rest)
    if token and parse_incident_ref(token):
        return CommandLine(verb, parse_incident_ref(token), after)
    if verb in _TRAILING_REF_VERBS and rest:
        head, _, last = rest.rpartition(" ")
        if head and parse_incident_ref(last):
            return CommandLine(verb, parse_incident_ref(last), head.strip())
    return CommandLine(verb, None, rest)


def user_refs(text: str) -> tuple[list[str], list[str]]:
    """Mentions in `text` (`<@U…|name>`) and the words that are not mentions."""
    users, other = [], []
    for word in text.replace(",", " ").split():
        user = parse_user_ref(word)
        (users if user else other).append(user or word)
    return users, other
