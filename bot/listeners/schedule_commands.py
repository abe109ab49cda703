"""`/incident rotation escalation <name> [P0|P1] [<step>, <step>… | default]` (SPEC § Schedules and escalation
policies): a rotation's own escalation steps; and `/incident pto add|list|remove`, time off. Runs in the
database's threads, like the other rotation commands; the user groups a policy names are asked of Slack before
(`ask_groups`), within the command's budget."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.db import repo
from bot.domain.errors import UserError
from bot.domain.escalation import EXAMPLE, describe, groups_named, parse_policy
from bot.services import EscalationPolicies
from bot.services.escalations import PRIORITIES
from bot.services.layers import RotationLayers
from bot.services.time_off import PTO_USAGE, TimeOffs
from bot.slack.gateway import SlackGateway, slack_error

ESCALATION_USAGE = (f"Use `/incident rotation escalation <name> [P0|P1] <step>, <step>…` — a step is primary, "
                    f"secondary, tertiary, @person or @usergroup with the minutes it waits (`5m`), or `channel` "
                    f"(@here, last); `repeat <n>` at the end walks it again. Like `{EXAMPLE}`. "
                    "`default` goes back to the default chain; without steps it shows the policies.")


@dataclass(frozen=True)
class PolicyGroups:
    """What Slack said of the user groups a policy names: (id, members) by the id or handle it was named by."""

    found: dict[str, tuple[str, list[str]]]


async def ask_groups(slack: SlackGateway, text: str, budget: float) -> PolicyGroups | None:
    named = groups_named(text)
    if not named:
        return None
    found: dict[str, tuple[str, list[str]]] = {}
    try:
        async with asyncio.timeout(budget):
            for word in named:
                group_id = word.group_id
                if group_id is None:
                    group = await slack.usergroup_named(word.handle)
                    group_id = group["id"] if group else None
                if group_id is not None:
                    found[word.group_id or word.handle] = (group_id, await slack.usergroup_members(group_id))
    except TimeoutError:
        raise UserError("Slack did not answer in time, so I could not read the user groups; try again in a "
                        "moment. Nothing changed.") from None
    except SlackApiError as exc:
        raise UserError(f"Slack refused to tell me who is in the user group (`{slack_error(exc)}`). Nothing "
                        "changed.") from None
    return PolicyGroups(found)


def priorities_and_steps(text: str) -> tuple[tuple[str, ...], str]:
    """`[P0|P1] <steps>`: the priorities named (both when none is) and the rest."""
    words = text.split(maxsplit=1)
    if words and words[0].upper() in PRIORITIES:
        return (words[0].upper(),), (words[1] if len(words) > 1 else "").strip()
    return PRIORITIES, text.strip()


def escalation(policies: EscalationPolicies, rotation, rest: str, user: str, key: str | None,
               groups: PolicyGroups | None) -> str:
    priorities, rest = priorities_and_steps(rest)
    if not rest:
        return shown(policies, rotation)
    if rest.lower() in ("default", "reset"):
        policies.set(rotation, priorities, None, user, key)
        return (f"The {' and '.join(priorities)} escalation policy of `{rotation.name}` is the default chain again "
                "(pages already sent keep theirs).")
    policy = parse_policy(rest, groups.found if groups else {})
    policies.set(rotation, priorities, policy, user, key)
    return (f"The {' and '.join(priorities)} escalation policy of `{rotation.name}` is now: {describe(policy)}. "
            "Pages already sent keep the policy they started with.")


def shown(policies: EscalationPolicies, rotation) -> str:
    lines = [f"*Escalation policies of `{rotation.name}`*"]
    for each in policies.shown(rotation):
        lines.append(f"• {each.priority}: {describe(each.policy)}" + (" _(default)_" if each.policy.default else ""))
    lines.append(f"Set one with `/incident rotation escalation {rotation.name} P0 {EXAMPLE}`.")
    return "\n".join(lines)


def pto(time_off: TimeOffs, args: str, user: str, channel_id: str | None, key: str | None) -> str:
    """`/incident pto add|list|remove`."""
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "add":
        return repo.database.retry_on_deadlock(time_off.add, user, rest, key)
    if verb in ("list", ""):
        return time_off.listing(rest, channel_id)
    if verb == "remove":
        return time_off.remove(user, rest)
    raise UserError(PTO_USAGE)


def layer(rotations, layers: RotationLayers, rest: str, user: str, channel_id: str | None, key: str | None,
          split_name) -> str:
    """`rotation layer [add|roster|remove] [name] …`; without a verb, the rotation's layers."""
    verb, _, tail = rest.strip().partition(" ")
    if verb.lower() in ("add", "roster", "remove"):
        name, tail = split_name(rotations, tail)
        target = rotations.find_rotation(name, channel_id)
        return repo.database.retry_on_deadlock(layers.act, target, f"{verb} {tail}", user, key)
    name, _ = split_name(rotations, rest)
    return layers.shown(rotations.find_rotation(name, channel_id))
