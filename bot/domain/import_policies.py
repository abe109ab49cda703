"""What a source's escalation policy becomes here (SPEC § Moving in): a rotation's P0 and P1 policy, or why not.
Pure: the source's JSON, the schedules imported (source id → rotation name) and the users matched.

A policy here belongs to one rotation and pages its roles, people and user groups in turn, each step waiting its
minutes. So a source policy maps when it pages exactly one imported schedule (that rotation's primary) and people,
one target per rule. PagerDuty's `escalation_delay_in_minutes` is how long a rule waits before the next: a step's
minutes. Opsgenie's rule `delay` counts from the alert's creation: a step waits until the next rule's delay; the
last waits the repeat's `waitInterval` (minutes until the rules start again, at least one here), or LAST_WAIT when
the escalation does not repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.escalation import MAX_MINUTES, MAX_REPEAT, MAX_STEPS, Policy, Step

LAST_WAIT = 30 * 60
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass(frozen=True)
class PlannedPolicy:
    source_id: str
    label: str
    problems: tuple[str, ...]
    schedule_id: str | None = None
    policy: Policy | None = None


def _wait(seconds: int) -> int | str:
    minutes = -(-seconds // 60)  # whole minutes, up
    if not 1 <= minutes <= MAX_MINUTES:
        return f"waits {minutes} minutes (here 1 to {MAX_MINUTES})"
    return minutes * 60


def _finish(source_id: str, label: str, problems: list[str], targets: list[tuple[str, str, int]],
            repeat: int, rotations: Mapping[str, str], slack_of: Mapping[str, str]) -> PlannedPolicy:
    """`targets`: (kind `schedule`|`user`, source id, seconds to wait) in order."""
    schedules = sorted({ref for kind, ref, _ in targets if kind == "schedule"})
    if not schedules:
        problems.append("it pages no schedule (a policy here belongs to a rotation)")
    elif len(schedules) > 1:
        problems.append("it pages several schedules (a policy here belongs to one rotation)")
    elif schedules[0] not in rotations:
        problems.append(f"it pages the schedule {schedules[0]}, which is not imported")
    steps = []
    for kind, ref, seconds in targets:
        if kind == "user" and ref not in slack_of:
            problems.append(f"it pages the user {ref}, who has no Slack account found by their email")
        steps.append(Step("primary", seconds) if kind == "schedule" else Step("person", seconds, slack_of.get(ref)))
    if len(steps) > MAX_STEPS:
        problems.append(f"it has {len(steps)} steps (here at most {MAX_STEPS})")
    if repeat > MAX_REPEAT:
        problems.append(f"it repeats {repeat} times (here at most {MAX_REPEAT})")
    if problems:
        return PlannedPolicy(source_id, label, tuple(problems))
    return PlannedPolicy(source_id, label, (), schedules[0], Policy(tuple(steps), repeat))


def pagerduty_policy(policy: dict, rotations: Mapping[str, str], slack_of: Mapping[str, str]) -> PlannedPolicy:
    source_id, label = str(policy.get("id", "")), str(policy.get("name") or policy.get("id"))
    problems: list[str] = []
    targets: list[tuple[str, str, int]] = []
    for n, rule in enumerate(policy.get("escalation_rules") or [], start=1):
        found = rule.get("targets") or []
        if len(found) != 1:
            problems.append(f"rule {n} pages {len(found)} targets at once (here a step pages one role, person or "
                            "user group)")
            continue
        kind = str(found[0].get("type", "")).removesuffix("_reference")
        wait = _wait(int(rule.get("escalation_delay_in_minutes") or 0) * 60)
        if kind not in ("user", "schedule"):
            problems.append(f"rule {n} pages a {kind} target")
        elif isinstance(wait, str):
            problems.append(f"rule {n} {wait}")
        else:
            targets.append((kind, str(found[0].get("id")), wait))
    return _finish(source_id, label, problems, targets, int(policy.get("num_loops") or 0), rotations, slack_of)


def opsgenie_policy(escalation: dict, rotations: Mapping[str, str], slack_of: Mapping[str, str]) -> PlannedPolicy:
    source_id, label = str(escalation.get("id", "")), str(escalation.get("name") or escalation.get("id"))
    problems: list[str] = []
    timed: list[tuple[int, str, str]] = []
    for n, rule in enumerate(escalation.get("rules") or [], start=1):
        recipient = rule.get("recipient") or {}
        delay = rule.get("delay") or {}
        unit = UNIT_SECONDS.get(str(delay.get("timeUnit") or "minutes"))
        if rule.get("condition", "if-not-acked") != "if-not-acked":
            problems.append(f"rule {n} goes on until the alert is closed (here paging stops at an acknowledgement)")
        elif rule.get("notifyType", "default") != "default":
            problems.append(f"rule {n} notifies {rule.get('notifyType')!r} (here a step pages whoever is on call)")
        elif recipient.get("type") not in ("user", "schedule"):
            problems.append(f"rule {n} pages a {recipient.get('type')} (here a step pages a role or a person)")
        elif unit is None:
            problems.append(f"rule {n} has a delay in {delay.get('timeUnit')}")
        else:
            timed.append((int(delay.get("timeAmount") or 0) * unit, str(recipient["type"]), str(recipient.get("id"))))
    timed.sort(key=lambda t: t[0])
    targets: list[tuple[str, str, int]] = []
    repeat = escalation.get("repeat") or {}
    count = int(repeat.get("count") or 0)
    last_wait = max(int(repeat.get("waitInterval") or 0) * 60, 60) if count else LAST_WAIT
    for index, (at, kind, ref) in enumerate(timed):
        following = timed[index + 1][0] if index + 1 < len(timed) else at + last_wait
        wait = _wait(following - at)
        if following == at:
            problems.append(f"two rules page at {at // 60} minutes together (here one step at a time)")
        elif isinstance(wait, str):
            problems.append(f"the rule at {at // 60} minutes {wait}")
        else:
            targets.append((kind, ref, wait))
    if timed and timed[0][0]:
        problems.append(f"its first rule waits {timed[0][0] // 60} minutes (here the first step pages at once)")
    return _finish(source_id, label, problems, targets, count, rotations, slack_of)
