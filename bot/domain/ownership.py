"""What the bot may change outside itself (SPEC §5): a Slack user group it created, or an existing one someone in
ADMINS bound (with ADMINS empty, only groups it creates), never one already bound to another rotation; a rotation
is bound only to a channel its creator is a member of, and never to the workspace's general channel except by
ADMINS. Pure: what Slack and the database said in, a refusal (or how the group is to be had) out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.slack.text import escape

CREATE, OURS, ADMIN = "create", "ours", "admin"  # how a bound group is had: made by us, made by us before, an admin's
# What Slack's refusals mean to the person who set the group.
REFUSALS = {
    "paid_teams_only": "user groups need a paid Slack plan",
    "permission_denied": "this workspace lets only admins (or owners) change user groups; ask one to allow the app",
    "no_such_subteam": "there is no such user group (any more)",
    "subteam_not_found": "there is no such user group (any more)",
    "missing_scope": "the app lacks the usergroups:write scope: paste manifest.yml again and reinstall it",
    "not_allowed_token_type": "the bot token may not change user groups",
    "invalid_users": "Slack refused the members (a deactivated account?)",
    "cannot_empty": "nobody is on call (the roster is empty) and Slack cannot empty a user group: it keeps its members",
    "name_already_exists": "a user group with that handle or name already exists and I did not create it, so I leave "
                           "it alone: pick another handle (an admin can bind an existing group)",
}


@dataclass(frozen=True)
class GroupFacts:
    """A group asked for by `handle` (and `group_id` when Slack sent it, or when a group has that handle now)."""

    handle: str
    group_id: str | None
    exists: bool  # Slack has a group with this id or handle
    created_by_bot: bool  # that very group (by id) is one the bot created
    bound_to: str | None  # the other rotation it is bound to, if any


def group_claim(facts: GroupFacts, actor: str, admins: tuple[str, ...] | frozenset[str], kept: str = "") -> str:
    """CREATE (a new group, made by the bot), OURS (one the bot made) or ADMIN (an existing one bound by an admin);
    else the refusal, saying why. `kept`: how this rotation already has this very group (its scope changed by one
    of its people keeps an admin's binding)."""
    shown = f"`@{escape(facts.handle)}`"
    if facts.bound_to is not None:
        raise UserError(f"{shown} already follows the rotation `{escape(facts.bound_to)}`: one group follows one "
                        "rotation. Switch it off there first (`rotation usergroup "
                        f"{escape(facts.bound_to)} off`), or pick another handle; nothing changed.")
    if facts.created_by_bot:
        return OURS
    if kept == ADMIN and facts.exists:
        return ADMIN
    if not facts.exists:
        return CREATE
    if admins and actor in admins:
        return ADMIN
    who = "someone in ADMINS" if admins else "nobody (ADMINS is empty: I only keep groups I create)"
    raise UserError(f"{shown} is an existing Slack user group that I did not create, so I will not change its "
                    f"members: an existing group can be bound by {who}. Pick a handle nobody uses and I will create "
                    "the group; nothing changed.")


@dataclass(frozen=True)
class ChannelFacts:
    channel_id: str
    is_general: bool  # the workspace's #general (conversations.info `is_general`)
    actor_is_member: bool


def channel_refusal(facts: ChannelFacts, actor: str, admins: tuple[str, ...] | frozenset[str]) -> str | None:
    """Why a rotation may not be bound to this channel by `actor`, or None."""
    admin = bool(admins) and actor in admins
    if facts.is_general and not admin:
        return (f"<#{facts.channel_id}> is the workspace's general channel: only someone in ADMINS can bind a "
                "rotation to it (its pages would reach everyone). Pick the team's own channel; nothing changed.")
    if not facts.actor_is_member:
        return (f"You are not a member of <#{facts.channel_id}>: a rotation is bound only to a channel its creator "
                "is in. Join it first (or pick your team's channel); nothing changed.")
    return None
