"""How an incident may change (SPEC §1) and who may change it. Pure: states in, a reason out.

Statuses move forward — new → triaged → in_progress ⇄ blocked — skipping steps is fine (someone can start
work before anyone marks it triaged). From any open status an incident can be resolved, closed or marked a
duplicate; only `resolved` can be reopened. Duplicate and closed are final: a new problem gets a new incident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status, incident_ref
from bot.slack.text import echo

_RANK = {Status.NEW: 0, Status.TRIAGED: 1, Status.IN_PROGRESS: 2, Status.BLOCKED: 2}
SETTABLE_STATUSES = (Status.TRIAGED, Status.IN_PROGRESS, Status.BLOCKED, Status.RESOLVED, Status.CLOSED)
REOPENED_STATUS = Status.IN_PROGRESS


def describe(status: Status, duplicate_of: int | None = None) -> str:
    if status is Status.DUPLICATE and duplicate_of:
        return f"a duplicate of {incident_ref(duplicate_of)}"
    return status.label.lower()


def require_open(number: int, status: Status, doing: str, duplicate_of: int | None = None) -> None:
    """Changes other than `reopen` need an open incident; say what to do instead."""
    if status.is_open:
        return
    ref = incident_ref(number)
    if status is Status.RESOLVED:
        raise UserError(f"{ref} is resolved; `reopen` it before you {doing}.")
    raise UserError(f"{ref} is {describe(status, duplicate_of)}; it stays that way. Declare a new incident instead.")


def check_resolve(number: int, status: Status, duplicate_of: int | None = None) -> None:
    if status is Status.RESOLVED:
        raise UserError(f"{incident_ref(number)} is already resolved.")
    require_open(number, status, "resolve it", duplicate_of)


def parse_status(word: str) -> Status:
    text = word.strip().lower().replace("-", "_").replace(" ", "_")
    text = {"inprogress": "in_progress", "progress": "in_progress", "working": "in_progress"}.get(text, text)
    try:
        status = Status(text)
    except ValueError:
        status = None
    if status not in SETTABLE_STATUSES:
        choices = ", ".join(f"`{s.value}`" for s in SETTABLE_STATUSES)
        hint = " (use `duplicate INC-<m>`)" if status is Status.DUPLICATE else ""
        raise UserError(f"Status must be one of {choices}{hint}, not `{echo(word)}`.")
    return status


def check_status_change(number: int, current: Status, target: Status, duplicate_of: int | None = None) -> None:
    ref = incident_ref(number)
    if target is current:
        raise UserError(f"{ref} is already {describe(current)}.")
    require_open(number, current, "change its status", duplicate_of)
    if target in _RANK and _RANK[target] < _RANK[current]:
        raise UserError(f"{ref} is {describe(current)}; statuses move forward, it cannot go back to "
                        f"{describe(target)}.")


def check_reopen(number: int, current: Status, duplicate_of: int | None = None) -> None:
    ref = incident_ref(number)
    if current.is_open:
        raise UserError(f"{ref} is open ({describe(current)}); there is nothing to reopen.")
    if current is not Status.RESOLVED:
        raise UserError(f"{ref} is {describe(current, duplicate_of)}; only resolved incidents can be reopened. "
                        "Declare a new incident instead.")


def check_duplicate(number: int, current: Status, original: int, original_status: Status | None,
                    original_duplicate_of: int | None, duplicate_of: int | None = None) -> None:
    """`original_status` is None when there is no such incident."""
    ref = incident_ref(number)
    if original == number:
        raise UserError(f"{ref} cannot be a duplicate of itself.")
    require_open(number, current, "mark it a duplicate", duplicate_of)
    if original_status is None:
        raise UserError(f"There is no {incident_ref(original)}.")
    if original_status is Status.DUPLICATE and original_duplicate_of:
        raise UserError(f"{incident_ref(original)} is itself a duplicate of {incident_ref(original_duplicate_of)}; "
                        f"mark {ref} a duplicate of {incident_ref(original_duplicate_of)}.")
    if original_status is Status.CLOSED:
        raise UserError(f"{incident_ref(original)} is closed; a duplicate must point at an incident that was worked.")


def check_priority_change(number: int, status: Status, current: Priority, target: Priority,
                          duplicate_of: int | None = None) -> None:
    if target is current:
        raise UserError(f"{incident_ref(number)} is already {current.value}.")
    require_open(number, status, "change its priority", duplicate_of)


def parse_priority(word: str) -> Priority:
    text = word.strip().upper()
    if text not in Priority._value2member_map_:
        raise UserError(f"Priority must be P0, P1 or P2, not `{echo(word)}`.")
    return Priority(text)


def is_raise_to_p0(before: Priority, after: Priority) -> bool:
    return after is Priority.P0 and before is not Priority.P0


def may_change(actor: str, *, commander: str | None, responders: Iterable[str] | Callable[[], Iterable[str]],
               firefighters: Iterable[str] | Callable[[], Iterable[str]], admins: Iterable[str]) -> bool:
    """The commander, responders, the rotation's firefighters and admins may change an incident.

    An incident nobody holds yet (no commander, responders, firefighters or admins at all) is open to everyone,
    so the first person to pick it up is never locked out. A group given as a callable (or a generator) is read
    only as far as needed: the first match settles it.
    """
    anyone = True
    for group in ((commander,), admins, responders, firefighters):
        for user in group() if callable(group) else group:
            if user == actor:
                return True
            anyone = anyone and not user
    return anyone


def not_allowed(number: int, commander: str | None) -> str:
    ref = incident_ref(number)
    who = f"its commander <@{commander}>" if commander else "its commander"
    return (f"Only {who}, its responders, the rotation's firefighters, people paged for it or an admin can change "
            f"{ref}. "
            f"Ask to be added with `/incident responders add {ref} @you`.")


UPDATE_MAX = 3000  # an update or a note said in the channel with a change: what one message can hold


def bounded(text: str, what: str) -> str:
    """A note said in the channel with the change: within what one message can hold."""
    text = text.strip()
    if len(text) > UPDATE_MAX:
        raise UserError(f"Keep the {what} to {UPDATE_MAX} characters (it has {len(text)}).")
    return text
