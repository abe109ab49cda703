"""`/incident oncall [rotation]` and `/incident rotation <create|add|remove|order|override|swap|list|show>`.

A rotation is named in the command, or it is the one bound to the channel the command was typed in, or the only
one there is. Answers are ephemeral; roster changes are also said in the rotation's channel. These run in the
database's threads (they read as they go), called through `off_loop`.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from slack_sdk.errors import SlackApiError

from bot.db import repo
from bot.domain.errors import UserError
from bot.domain.escalation import groups_named
from bot.domain.fairness import parse_weeks
from bot.domain.ownership import ChannelFacts
from bot.domain.rotation import Role
from bot.domain.shifts import SET_USAGE
from bot.domain.when import EXAMPLES, parse_range
from bot.http.tokens import page_token, person_feed_token, rotation_feed_token
from bot.listeners import report_commands, schedule_commands
from bot.listeners.command_line import user_refs
from bot.listeners.schedule_commands import PolicyGroups
from bot.services import Covers, EscalationPolicies, Fairness, RotationLayers, Rotations, ShiftChanges, UserGroups
from bot.services.routes import new_rotation_key
from bot.services.usergroups import SlackGroup, group_word
from bot.slack.gateway import SlackGateway, slack_error
from bot.slack.text import date_token, echo, escape, parse_channel_ref, parse_user_ref
from bot.views import fairness as fairness_views
from bot.views import rotation as views
from bot.views.incident import mrkdwn

USAGE = "\n".join([
    "*Rotations*",
    "• `/incident oncall [rotation]` — who is primary, secondary and tertiary now and for the next 4 shifts",
    "• `/incident rotation create <name> #channel` · `rotation list`",
    "• `rotation add|remove [name] @user…` · `rotation order [name] @a @b @c…`",
    "• `rotation override [name] @user <from> <to> [as primary|secondary|tertiary]` — times like "
    f"{EXAMPLES}, team time",
    "• `rotation swap [name] @a @b [this|next|<day>]` — by default the next shift either of them is primary",
    "• `rotation cover [name] <from> <to> [as primary|secondary|tertiary] [reason]` — ask the roster to cover you: "
    "the first to press *I'll cover* takes it",
    "• `rotation usergroup [name] <@handle|off> [primary|all]` — keep a Slack user group equal to who is on call",
    "• `rotation stats [name] [weeks]` — shifts, pages, night pages, time to acknowledge and covers per person "
    "(default 12 weeks)",
    "• `rotation report <name> [YYYY-MM]` — hours on call by role and kind (business, outside business hours, "
    "weekend, holiday), pages and amounts owed per person for a month, with a CSV",
    "• `rotation feed-reset [name]` — revoke the calendar-feed links handed out so far",
    "• `rotation escalation [name] [P0|P1] <step>, <step>… [repeat <n>]` — the rotation's own escalation steps "
    "(`primary 5m, secondary 10m, @lead 15m, channel`); without steps, shows them",
    "• `rotation set [name] handoff <weekday> <HH:MM> [zone]` · `shift <n>d` · `roles <1|2|3>` — the rotation's "
    "own handoff, shift length and roles, from the next handoff on",
    "• `rotation layer add [name] <layer> <days> <HH:MM-HH:MM> [zone]` · `layer roster [name] <layer> @a @b…` · "
    "`layer remove [name] <layer>` — follow-the-sun rosters for windows of the week",
    "• `rotation key [name]` — a new PagerDuty routing key for the rotation (`POST /v2/enqueue`), shown once",
])


def _split_name(rotations: Rotations, text: str) -> tuple[str | None, str]:
    """A leading word that names an existing rotation (and is not a mention) picks the rotation."""
    word, _, rest = text.strip().partition(" ")
    if word and not parse_user_ref(word) and rotations.named_rotation(word):
        return word, rest.strip()
    return None, text.strip()


GAPS_SHOWN_UP_TO = 3


def oncall(rotations: Rotations, args: str, channel_id: str | None, user: str | None = None) -> tuple[str, list[dict]]:
    shown, total = rotations.shown(args.strip() or None, channel_id, views.MAX_PLANS)
    few = total <= GAPS_SHOWN_UP_TO  # gaps are 14 days of answers a rotation: for a few, or one by name
    text, blocks = views.oncall(rotations.plans(shown, with_gaps=few), total)
    if not few:
        blocks.append({"type": "context", "elements": [mrkdwn(
            "`/incident oncall <rotation>` also warns of any hour in the next 14 days that nobody holds.")]})
    if shown:
        links = [f"<{_page_url(rotations, f'/rotations/{quote(r.name)}')}|{escape(r.name)} on the web> · "
                 f"<{_feed_url(rotations, r)}|calendar feed>" for r in shown[:5]]
        if user:
            links.append(f"<{person_feed_url(rotations, user)}|your shifts as a calendar feed>")
        blocks = [*blocks, {"type": "context", "elements": [mrkdwn(" · ".join(links) + " (web links last 12 h)")]}]
    return text, blocks[:50]


def person_feed_url(rotations: Rotations, user: str) -> str:
    token = person_feed_token(rotations.settings.web_secret or "", user, rotations.person_feed_version(user))
    return f"{rotations.settings.public_url}/people/{user}.ics?token={token}"


def me(rotations: Rotations, args: str, user: str) -> str:
    """`/incident me feed-reset`: the person's own settings (SPEC §2 Web board and calendar)."""
    if args.strip().lower() != "feed-reset":
        raise UserError("Use `/incident me feed-reset` to revoke every calendar link of your shifts handed out so "
                        "far (`/incident oncall` then gives you a new one).")
    rotations.reset_person_feed(user)
    return ("Every calendar-feed link of your shifts handed out so far stops working. Your new one: "
            f"<{person_feed_url(rotations, user)}|your shifts as a calendar feed> (keep it to yourself: whoever "
            "has it sees your shifts).")


def _page_url(rotations: Rotations, path: str) -> str:
    token = page_token(rotations.settings.web_secret or "", rotations.clock.now())
    return f"{rotations.settings.public_url}{path}?token={token}"


def _feed_url(rotations: Rotations, rotation) -> str:
    token = rotation_feed_token(rotations.settings.web_secret or "", rotation.name, rotation.feed_version)
    return f"{rotations.settings.public_url}/rotations/{quote(rotation.name)}.ics?token={token}"


def page_link(rotations: Rotations, path: str, label: str) -> str:
    return f"<{_page_url(rotations, path)}|{label}> (the link works for 12 hours)."


def stats_link(rotations: Rotations) -> str:
    return page_link(rotations, "/stats", "The last weeks as charts")


def board_link(rotations: Rotations) -> str:
    return page_link(rotations, "/board", "Open the incident board")



SLACK_BUDGET = 1.5  # seconds Slack has to answer what a command must know before it is acked (SPEC §5: 3 s)


def slack_question(rotations: Rotations, args: str) -> tuple[str, str] | None:
    """What Slack must be asked before `rotation <args>` is decided: ("channel", id) for `create` (is it #general,
    is its creator in it), ("group", handle) for `usergroup` with a handle (does such a group exist, which)."""
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "create":
        words = rest.split()
        channel = parse_channel_ref(words[1]) if len(words) == 2 else None
        return ("channel", channel) if channel and channel.startswith(("C", "G")) else None
    if verb == "usergroup":
        words = _split_name(rotations, rest)[1].split()
        group = group_word(words[0]) if words else None
        return ("group", group[1]) if group and group[0] is None else None
    if verb == "escalation":
        steps = schedule_commands.priorities_and_steps(_split_name(rotations, rest)[1])[1]
        return ("groups", steps) if groups_named(steps) else None
    return None


async def ask_slack(slack: SlackGateway, question: tuple[str, str] | None,
                    user: str) -> ChannelFacts | SlackGroup | PolicyGroups | None:
    """The answer to `slack_question`, within SLACK_BUDGET (the command is acked after it); Slack not answering
    or refusing is said, and nothing changes."""
    if question is None:
        return None
    what, name = question
    if what == "groups":
        return await schedule_commands.ask_groups(slack, name, SLACK_BUDGET)
    try:
        async with asyncio.timeout(SLACK_BUDGET):
            if what == "channel":
                general, member = await slack.channel_facts(name, user)
                return ChannelFacts(name, general, member)
            group = await slack.usergroup_named(name)
            return SlackGroup(name, group["id"] if group else None)
    except TimeoutError:
        raise UserError("Slack did not answer in time, so I could not check that; try again in a moment. Nothing "
                        "changed.") from None
    except SlackApiError as exc:
        if what == "channel" and slack_error(exc) in ("channel_not_found", "not_in_channel"):
            raise UserError(f"I cannot see <#{name}>: invite me to it first (`/invite @Firefighter`). Nothing "
                            "changed.") from None
        raise UserError(f"Slack refused to tell me (`{slack_error(exc)}`), so I could not check that. Nothing "
                        "changed.") from None


def rotation(rotations: Rotations, args: str, user: str, channel_id: str | None,
             key: str | None = None, covers: Covers | None = None,
             usergroups: UserGroups | None = None, fairness: Fairness | None = None,
             slack_facts: ChannelFacts | SlackGroup | PolicyGroups | None = None,
             policies: EscalationPolicies | None = None,
             shift_changes: ShiftChanges | None = None, layers: RotationLayers | None = None) -> tuple[str, list]:
    """Returns (text, blocks) for the ephemeral answer. `key` names the request, so a change is applied once.
    `slack_facts`: what `ask_slack` found for it."""
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb in ("", "help"):
        return USAGE, []
    if verb == "create":
        return _create(rotations, rest, user, key, slack_facts), []
    if verb == "list":
        return views.rotation_list(rotations.all(), rotations.roster_sizes()), []
    if verb in ("show", "oncall"):
        return oncall(rotations, rest, channel_id)
    if verb == "cover":
        if covers is None:
            raise UserError("Cover requests are not available here.")
        name, rest = _split_name(rotations, rest)
        return _cover(rotations, covers, rotations.find_rotation(name, channel_id), rest, user, key), []
    if verb == "stats" and fairness is not None:
        name, rest = _split_name(rotations, rest)
        weeks = parse_weeks(rest)
        target = rotations.find_rotation(name, channel_id)
        return fairness_views.stats(target.name, weeks, fairness.loads(target, weeks))
    if verb == "report" and fairness is not None:
        name, rest = _split_name(rotations, rest)
        return report_commands.report(rotations, fairness, rotations.find_rotation(name, channel_id), rest)
    if verb == "usergroup" and usergroups is not None:
        name, rest = _split_name(rotations, rest)
        return _usergroup(usergroups, rotations.find_rotation(name, channel_id), rest, user, key, slack_facts), []
    if verb == "escalation" and policies is not None:
        name, rest = _split_name(rotations, rest)
        target = rotations.find_rotation(name, channel_id)
        groups = slack_facts if isinstance(slack_facts, PolicyGroups) else None
        return repo.database.retry_on_deadlock(schedule_commands.escalation, policies, target, rest, user, key,
                                               groups), []
    if verb == "key":
        name, _ = _split_name(rotations, rest)
        return repo.database.retry_on_deadlock(new_rotation_key, rotations, rotations.find_rotation(
            name, channel_id), user, key), []
    if verb == "layer" and layers is not None:
        return schedule_commands.layer(rotations, layers, rest, user, channel_id, key, _split_name), []
    if verb == "set" and shift_changes is not None:
        name, rest = _split_name(rotations, rest)
        target = rotations.find_rotation(name, channel_id)
        if not rest.strip():
            return f"{shift_changes.shown(target)}\n{SET_USAGE}", []
        return repo.database.retry_on_deadlock(shift_changes.set, target, rest, user, key), []
    handler = {"add": _add, "remove": _remove, "order": _order, "override": _override, "swap": _swap,
               "feed-reset": _feed_reset}.get(verb)
    if handler is None:
        return f"I don't know `rotation {echo(verb)}`.\n{USAGE}", []
    name, rest = _split_name(rotations, rest)
    target = rotations.find_rotation(name, channel_id)
    # A roster change locks the rotation's row; PostgreSQL may roll it back to break a deadlock with incident work
    # holding that row's key-share lock: its transaction is gone whole, so it is simply made again.
    return repo.database.retry_on_deadlock(handler, rotations, target, rest, user, key), []


def _usergroup(usergroups: UserGroups, rotation, rest: str, user: str, key: str | None, facts) -> str:
    words = rest.split()
    if not 1 <= len(words) <= 2:
        raise UserError("Use `/incident rotation usergroup [name] <@handle|off> [primary|all]`.")
    bound = usergroups.bind(rotation, words[0], words[1] if len(words) == 2 else "primary", user, key,
                            facts if isinstance(facts, SlackGroup) else None)
    if bound is None:
        return f"`{rotation.name}` keeps no user group any more (its members stay as they are)."
    who = "its primary" if bound.scope == "primary" else "its primary, secondary and tertiary"
    made = "I am creating it; " if bound.origin == "create" else ""
    return (f"`@{bound.handle}` now follows {who} on `{rotation.name}`: {made}set now, and again at every handoff, "
            "override, swap and cover. If Slack refuses, I will tell you.")


def _cover(rotations: Rotations, covers: Covers, rotation, rest: str, user: str, key: str | None) -> str:
    """`<from> <to> [as role] [reason]`: the longest start of the words that reads as two moments is the time."""
    words = rest.split()
    usage = ("Use `/incident rotation cover <from> <to> [as primary|secondary|tertiary] [reason]`, with times like "
             f"{EXAMPLES}.")
    role, reason = None, []
    lowered = [w.lower() for w in words]
    at = next((i for i, w in enumerate(lowered[:-1]) if w == "as" and lowered[i + 1] in Role._value2member_map_), None)
    if at is not None:  # "as <role>"; any other "as" belongs to the reason
        role, reason, words = Role(lowered[at + 1]), words[at + 2:], words[:at]
    now, tz = rotations.clock.now(), rotations.settings.team_timezone
    span = None
    for end in range(min(len(words), 4), 1, -1):
        try:
            span = parse_range(words[:end], now=now, tz=tz)
        except UserError:
            continue
        reason = words[end:] + reason
        break
    if span is None:
        raise UserError(usage)
    if role is None and reason and reason[0].lower() == "as":  # right after the time: meant as a role
        raise UserError("Cover is `as primary`, `as secondary` or `as tertiary`.")
    cover = covers.request(rotation, user, span[0], span[1], role, " ".join(reason), key)
    return (f"Asked `{rotation.name}` to cover you as {cover.role} from {date_token(cover.starts_at)} to "
            f"{date_token(cover.ends_at)}: the request is in <#{rotation.channel_id}>. You will hear when someone "
            "takes it (or withdraw it there).")


def _create(rotations: Rotations, rest: str, user: str, key: str | None, facts) -> str:
    words = rest.split()
    channel = parse_channel_ref(words[1]) if len(words) == 2 else None
    if channel is None or not channel.startswith(("C", "G")):
        raise UserError("Use `/incident rotation create <name> #channel` (pick the channel with `#` so Slack "
                        "sends its id).")
    created = rotations.create_rotation(words[0], channel, user, key,
                                        facts if isinstance(facts, ChannelFacts) else None)
    return (f"Created the rotation `{created.name}` for <#{channel}>. Add firefighters in the order they take the "
            f"pager: `/incident rotation add {created.name} @first @second @third`.")


def _people(rest: str, usage: str) -> list[str]:
    users, other = user_refs(rest)
    if not users or other:
        raise UserError(f"Use `{usage}`.")
    return users


def _add(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    added = rotations.add_members(rotation, _people(rest, "/incident rotation add @someone @someone-else"), user,
                                  key)
    return f"Added {', '.join(f'<@{u}>' for u in added)} to `{rotation.name}`."


def _remove(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    gone = rotations.remove_members(rotation, _people(rest, "/incident rotation remove @someone"), user, key)
    return f"Removed {', '.join(f'<@{u}>' for u in gone)} from `{rotation.name}`."


def _order(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    users = _people(rest, "/incident rotation order @first @second @third")
    rotations.reorder(rotation, users, user, key)
    now = rotations.plan(rotation, shifts=0).shifts[0]
    return f"New order for `{rotation.name}`: {', '.join(f'<@{u}>' for u in users)}. Now: {views.roles_line(now)}."


def _override(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    words = rest.split()
    usage = ("Use `/incident rotation override @someone <from> <to> [as primary|secondary|tertiary]`, with times "
             f"like {EXAMPLES}.")
    if not words or not (who := parse_user_ref(words[0])):
        raise UserError(usage)
    words = words[1:]
    role = Role.PRIMARY
    if len(words) >= 2 and words[-2].lower() == "as":
        if words[-1].lower() not in Role._value2member_map_:
            raise UserError("An override is `as primary`, `as secondary` or `as tertiary`.")
        role = Role(words[-1].lower())
        words = words[:-2]
    if len(words) < 2:
        raise UserError(usage)
    start, end = parse_range(words, now=rotations.clock.now(), tz=rotations.settings.team_timezone)
    rotations.add_override(rotation, who, start, end, role, user, key)
    return f"<@{who}> is {role.value} on `{rotation.name}` from {date_token(start)} to {date_token(end)}."


def _swap(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    words = rest.split()
    people = [parse_user_ref(w) for w in words[:2]]
    if len(words) < 2 or not all(people):
        raise UserError("Use `/incident rotation swap @someone @someone-else [this|next|<day>]`.")
    shift = rotations.add_swap(rotation, people[0], people[1], " ".join(words[2:]), user, key)
    return (f"Swapped <@{people[0]}> and <@{people[1]}> on `{rotation.name}` for the shift from "
            f"{date_token(shift.shift_start)}: {views.roles_line(shift)}.")


def _feed_reset(rotations: Rotations, rotation, rest: str, user: str, key: str | None) -> str:
    rotations.reset_feed(rotation, user, key)
    return (f"Every calendar-feed link of `{rotation.name}` handed out so far stops working. "
            "`/incident oncall` gives the new one.")
