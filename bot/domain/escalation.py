"""Escalation policies (SPEC § Schedules and escalation policies): the steps a page walks until someone answers.

A policy is a list of steps — a role of the rotation, a person, a user group (every member), or `@here` in the
rotation's channel (always last) — each with the minutes it waits for an acknowledgement, and `repeat n` to walk it
again up to n more times. The default is the seeds' chain: primary → secondary → tertiary → channel, each waiting
ESCALATION_TIMEOUT_P0/P1.

A page stores the policy its chain started with (as JSON, group members resolved), so editing a policy never
changes pages already sent. What comes next is a pure function of that snapshot, the chain's pages so far and who
holds each role now: within a round, the first step (from the top) whose people were not paged yet in that round;
once the channel was paged, or nobody is left, the next round (if `repeat` allows).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.errors import UserError
from bot.domain.rotation import ROLES, Role

MAX_STEPS = 10
MAX_MINUTES = 24 * 60
MAX_REPEAT = 9
MAX_GROUP_MEMBERS = 50

_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|@?([^>]+))?>$")
_HANDLE = re.compile(r"^@([a-z0-9][a-z0-9._-]{0,79})$")
_MINUTES = re.compile(r"^(\d{1,4})\s*(?:m|min|mins|minutes?)$")
_REPEAT = re.compile(r"(?:^|[\s,])repeat\s+(\d+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    """kind: a role's value, `person`, `group` or `channel`. `ref`: the user or group id. `seconds`: how long this
    step waits for an acknowledgement (None: the channel's, which ends the chain unless the policy repeats)."""

    kind: str
    seconds: int | None
    ref: str | None = None
    handle: str | None = None  # a group's, for showing it
    members: tuple[str, ...] = ()  # a group's, as Slack said when the policy was set


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...]
    repeat: int = 0
    default: bool = field(default=False, compare=False)  # the seeds' chain from the settings (shown as such)


def default_policy(timeout: timedelta) -> Policy:
    seconds = max(int(timeout.total_seconds()), 1)
    return Policy((*(Step(role.value, seconds) for role in ROLES), Step("channel", None)), default=True)


# -- reading and writing --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupWord:
    """A group named in a policy: its id when Slack sent one (`<!subteam^S1|@x>`), else only its handle."""

    group_id: str | None
    handle: str


def groups_named(text: str) -> list[GroupWord]:
    """The user groups a policy's text names (their members must be asked of Slack before it is parsed)."""
    found = []
    for target, _ in _step_words(text)[0]:
        if (m := _GROUP.match(target)) is not None:
            found.append(GroupWord(m.group(1), (m.group(2) or m.group(1)).strip()))
        elif (m := _HANDLE.match(target.lower())) is not None:
            found.append(GroupWord(None, m.group(1)))
    return found


def parse_policy(text: str, groups: Mapping[str, tuple[str, Sequence[str]]] | None = None) -> Policy:
    """`primary 5m, secondary 10m, @bob 15m, @core-leads 5m, channel repeat 2`. `groups`: each named group's
    (id, members) by its id or handle, as Slack answered."""
    groups = groups or {}
    words, repeat = _step_words(text)
    if not words:
        raise UserError(f"A policy needs at least one step, like `{EXAMPLE}`.")
    if len(words) > MAX_STEPS:
        raise UserError(f"A policy has at most {MAX_STEPS} steps.")
    steps = []
    for index, (target, minutes_text) in enumerate(words):
        step = _step(target, minutes_text, groups)
        if step.kind == "channel" and index != len(words) - 1:
            raise UserError("`channel` (@here in the rotation's channel) is always the last step.")
        steps.append(step)
    if repeat > MAX_REPEAT:
        raise UserError(f"`repeat` goes up to {MAX_REPEAT}.")
    if repeat and steps[-1].seconds is None:
        raise UserError("A policy that repeats needs minutes on its last step too, like `channel 5m repeat 2`.")
    return Policy(tuple(steps), repeat)


EXAMPLE = "primary 5m, secondary 10m, channel"


def _step_words(text: str) -> tuple[list[tuple[str, str | None]], int]:
    text = text.strip()
    repeat = 0
    if (m := _REPEAT.search(text)) is not None:
        repeat, text = int(m.group(1)), text[:m.start()].strip().rstrip(",").strip()
    words = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        target, _, minutes = part.partition(" ")
        words.append((target.strip(), minutes.strip() or None))
    return words, repeat


def _step(target: str, minutes_text: str | None, groups: Mapping[str, tuple[str, Sequence[str]]]) -> Step:
    seconds = _seconds(target, minutes_text)
    lowered = target.lower()
    if lowered in Role._value2member_map_:
        kind, ref, handle, members = lowered, None, None, ()
    elif lowered in ("channel", "here", "@here"):
        kind, ref, handle, members = "channel", None, None, ()
    elif (m := _USER.match(target)) is not None:
        kind, ref, handle, members = "person", m.group(1), None, ()
    elif (m := _GROUP.match(target)) is not None or (m := _HANDLE.match(lowered)) is not None:
        key = m.group(1)
        if key not in groups:
            raise UserError(f"I could not find the user group `{_shown(target)}` (pick people and groups with @, "
                            "so Slack sends which one you mean).")
        ref, found = groups[key]
        if not found:
            raise UserError(f"The user group `{_shown(target)}` has nobody in it.")
        handle = (m.group(2) or key) if m.re is _GROUP else key
        kind, members = "group", tuple(found)[:MAX_GROUP_MEMBERS]
    else:
        raise UserError(f"`{_shown(target)}` is not a step: use primary, secondary, tertiary, @person, @usergroup "
                        f"or channel, each with minutes, like `{EXAMPLE}`.")
    if seconds is None and kind != "channel":
        raise UserError(f"`{_shown(target)}` needs minutes to wait, like `{_shown(target)} 5m`.")
    return Step(kind, seconds, ref, handle.lstrip("@") if handle else None, members)


def _seconds(target: str, text: str | None) -> int | None:
    if text is None:
        return None
    m = _MINUTES.match(text.strip().lower())
    if m is None or not 1 <= int(m.group(1)) <= MAX_MINUTES:
        raise UserError(f"`{_shown(target)} {_shown(text)}`: minutes are like `5m`, from 1 to {MAX_MINUTES}.")
    return int(m.group(1)) * 60


def _shown(text: str) -> str:
    return text.replace("`", "'")[:60]


def policy_json(policy: Policy) -> str:
    return json.dumps({"steps": [{k: v for k, v in (("kind", s.kind), ("seconds", s.seconds), ("ref", s.ref),
                                                     ("handle", s.handle), ("members", list(s.members))) if v}
                                 for s in policy.steps], "repeat": policy.repeat}, separators=(",", ":"))


def policy_from_json(text: str) -> Policy:
    data = json.loads(text)
    return Policy(tuple(Step(s["kind"], s.get("seconds"), s.get("ref"), s.get("handle"), tuple(s.get("members", ())))
                        for s in data["steps"]), int(data.get("repeat", 0)))


def describe(policy: Policy) -> str:
    """`primary 5m → secondary 5m → tertiary 5m → @here in the channel`, as people read it."""
    def one(step: Step) -> str:
        who = {"person": f"<@{step.ref}>", "group": f"@{step.handle} ({len(step.members)} people)",
               "channel": "@here in the channel"}.get(step.kind, step.kind)
        return f"{who} {wait_text(step.seconds)}" if step.seconds else who
    text = " → ".join(one(s) for s in policy.steps)
    return text + (f", then again up to {policy.repeat} more time{'s' if policy.repeat > 1 else ''}"
                   if policy.repeat else "")


def wait_text(seconds: int) -> str:
    """`5m`, or `90s` where the wait is not whole minutes (the settings take seconds)."""
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def page_wait(wait_seconds: int | None, default: timedelta) -> timedelta:
    """How long a page waits for an answer: its step's, or (a page from before policies) the priority's timeout."""
    return timedelta(seconds=wait_seconds) if wait_seconds else default


# -- what a chain pages next --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Paged:
    """A page already in the chain, as the policy sees it."""

    round: int
    user_id: str | None  # None: the channel


@dataclass(frozen=True)
class Next:
    """What the chain pages now: `users` (one, or a group's members) or the channel; `seconds`: the step's wait."""

    round: int
    step: int  # the step's index in the policy (-1: the person a chain was started at by hand)
    role: str  # primary, secondary, tertiary, person, group or channel
    users: tuple[str, ...]
    seconds: int | None
    note: str = ""

    @property
    def channel(self) -> bool:
        return self.role == "channel"


def next_pages(policy: Policy, chain: Sequence[Paged], *, start: str, holders: Mapping[Role, str | None],
               p1_inside: Callable[[str], bool] | None, away: frozenset[str] = frozenset()) -> Next | None:
    """The chain's next step. `start`: a role the chain began at (earlier roles are left out) or the user paged
    by hand (paged first, whatever their hours). `p1_inside`: for P1s, whether it is someone's business hours — a
    role step goes to the first of the role holders still to page who is inside them (everyone outside: the
    first all the same, with a note). None for P0s. `away`: people on time off now, never paged (a person or
    group step passes over them; their roles are already held by someone else)."""
    by_hand = start not in Role._value2member_map_
    if by_hand and not chain:
        return Next(0, -1, "person", (start,), policy.steps[0].seconds or _fallback(policy))
    first_role = 0 if by_hand else ROLES.index(Role(start))
    rounds = max((p.round for p in chain), default=0)
    for round_ in range(rounds, policy.repeat + 1):
        paged = [p for p in chain if p.round == round_]
        if any(p.user_id is None for p in paged):
            continue  # the channel was paged: this round is over
        done = {p.user_id for p in paged}
        candidates = _candidates(policy, done | away, holders, first_role)
        if candidates:
            return _pick(round_, candidates, p1_inside)
    return None


def _fallback(policy: Policy) -> int | None:
    return next((s.seconds for s in policy.steps if s.seconds), None)


def _candidates(policy: Policy, done: set[str | None], holders: Mapping[Role, str | None],
                first_role: int) -> list[tuple[int, Step, tuple[str, ...]]]:
    seen = set(done)
    found = []
    for index, step in enumerate(policy.steps):
        if step.kind == "channel":
            found.append((index, step, ()))
            continue
        if step.kind in Role._value2member_map_:
            role = Role(step.kind)
            people = (holders.get(role),) if ROLES.index(role) >= first_role else ()
        elif step.kind == "person":
            people = (step.ref,)
        else:
            people = step.members
        fresh = tuple(u for u in dict.fromkeys(people) if u and u not in seen)
        seen.update(fresh)
        if fresh:
            found.append((index, step, fresh))
    return found


def _pick(round_: int, candidates: list[tuple[int, Step, tuple[str, ...]]],
          p1_inside: Callable[[str], bool] | None) -> Next:
    index, step, people = candidates[0]
    if step.kind == "channel":
        return Next(round_, index, "channel", (), step.seconds, "nobody acknowledged")
    if step.kind not in Role._value2member_map_ or p1_inside is None:
        return Next(round_, index, step.kind, people, step.seconds)
    roles = []  # the role steps from here on, up to the first step of another kind
    for each in candidates:
        if each[1].kind not in Role._value2member_map_:
            break
        roles.append(each)
    inside = next((i for i, each in enumerate(roles) if p1_inside(each[2][0])), None)
    if inside is None:
        return Next(round_, index, step.kind, people, step.seconds,
                    "everyone is outside business hours; paging all the same")
    index, step, people = roles[inside]
    skipped = [each[2][0] for each in roles[:inside]]
    note = f"skipped {', '.join(f'<@{u}>' for u in skipped)} (outside business hours)" if skipped else ""
    return Next(round_, index, step.kind, people, step.seconds, note)
