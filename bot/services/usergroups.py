"""An @oncall user group (SPEC §2 Rotation): a Slack user group kept equal to who is on call on a rotation — the
primary, or all three roles — at every handoff and at the start and end of every override, swap and cover.

Derived from stored state, never from timers: each tick works out who should be in each bound group now and, when
that differs from what was last queued, claims the change (a conditional update, once across replicas) and queues
one delivery, which sets the group to whoever is on call when it goes out. Slack refusing (a free workspace, a
missing permission, a group that is gone) is told to the person who set the group, once per refusal, and shown in
/healthz and on the rotation's page; nothing else waits for it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Rotation, RotationUserGroup
from bot.delivery.kinds import Kind, usergroup_lane
from bot.domain.errors import UserError
from bot.domain.ownership import CREATE, REFUSALS, GroupFacts, group_claim
from bot.services.outbox import Outbox
from bot.services.rotations import Rotations
from bot.slack.text import echo, escape

SCOPES = ("primary", "all")
_SUBTEAM = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|@?([^>]+))?>$")
_HANDLE = re.compile(r"^@?([a-z0-9][a-z0-9._-]{0,79})$")


@dataclass(frozen=True)
class SlackGroup:
    """What Slack says of a handle: the id of the group that has it now, or None when there is none."""

    handle: str
    group_id: str | None


def group_word(text: str) -> tuple[str | None, str] | None:
    """(id, handle) of the group a `rotation usergroup` argument names, None for `off` or no group at all."""
    if text.strip().lower() == "off":
        return None
    try:
        return parse_group(text)
    except UserError:
        return None


def parse_group(text: str) -> tuple[str | None, str]:
    """`<!subteam^S0123|@core-oncall>` (what Slack sends for a group picked with @) → (id, handle); `@core-oncall`
    or `core-oncall` → (None, handle): its id is looked up when it is first set."""
    word = text.strip()
    if m := _SUBTEAM.match(word):
        return m.group(1), (m.group(2) or m.group(1)).strip()
    if m := _HANDLE.match(word.lower()):
        return None, m.group(1)
    raise UserError(f"`{echo(word)}` is not a user group: name it like `@core-oncall`.")


@dataclass(frozen=True)
class GroupNow:
    """A bound group as its delivery reads it: who should be in it now."""

    binding: RotationUserGroup
    rotation_name: str
    users: list[str]


class UserGroups:
    def __init__(self, db: repo.database.Database, clock: Clock, outbox: Outbox, rotations: Rotations) -> None:
        self.db, self.clock, self.outbox, self.rotations = db, clock, outbox, rotations

    def wanted(self, session: Session, rotation: Rotation, scope: str, at: datetime) -> list[str]:
        oncall = self.rotations.on_call(session, rotation, at)
        people = [oncall.primary] if scope == "primary" else [user for _, user in oncall.chain]
        return sorted({u for u in people if u})

    def bind(self, rotation: Rotation, group: str, scope: str, actor: str,
             request_key: str | None = None, slack_group: SlackGroup | None = None) -> RotationUserGroup | None:
        """`rotation usergroup [name] <@handle|off> [primary|all]`; None when switched off. `slack_group`: what Slack
        said of a handle named without its id (looked up before: whether such a group exists, and which)."""
        scope = (scope or "primary").strip().lower()
        if scope not in SCOPES:
            raise UserError("A user group follows the `primary` or `all` three roles.")
        off = group.strip().lower() == "off"
        group_id, handle = (None, "") if off else parse_group(group)
        now = self.clock.now()
        with self.rotations.roster_change(rotation, actor, request_key, "rotation usergroup") as session:
            existing = repo.usergroups.usergroup_of(session=session, rotation_id=rotation.id)
            if off:
                if existing is None:
                    raise UserError(f"`{escape(rotation.name)}` keeps no user group; nothing to switch off.")
                session.delete(existing)
                return None
            if group_id is None:
                if slack_group is None or slack_group.handle != handle:
                    raise UserError(f"I could not look `@{escape(handle)}` up in Slack; try again in a moment.")
                group_id = slack_group.group_id
            repo.usergroups.lock_usergroup_bindings(session=session)
            other = repo.usergroups.usergroup_bound_elsewhere(session=session, rotation_id=rotation.id, handle=handle,
                                                              group_id=group_id)
            elsewhere = repo.rotations.rotation_by_id(session=session, rotation_id=other.rotation_id) if other else None
            origin = group_claim(GroupFacts(
                handle=handle, group_id=group_id, exists=group_id is not None,
                created_by_bot=bool(group_id and repo.usergroups.bot_usergroup(session=session, group_id=group_id)),
                bound_to=(elsewhere.name if elsewhere else str(other.rotation_id)) if other else None),
                actor, self.rotations.settings.admins, kept=existing.origin if existing is not None and group_id
                and existing.group_id == group_id else "")
            if existing is None:
                existing = RotationUserGroup(rotation_id=rotation.id, handle=handle, set_by=actor, set_at=now)
                session.add(existing)
            existing.handle, existing.group_id, existing.scope = handle, group_id, scope
            existing.origin = origin
            existing.create_ref = secrets.token_hex(8) if origin == CREATE else ""
            existing.set_by, existing.set_at, existing.error, existing.told = actor, now, "", ""
            existing.wanted = ",".join(self.wanted(session, rotation, scope, now))
            self._queue(session, rotation.id, now)  # set now, not at the next tick
        self.outbox.flush_later()
        return existing

    def _queue(self, session: Session, rotation_id: int, now: datetime) -> None:
        self.outbox.queue(session, lane=usergroup_lane(rotation_id), kind=Kind.USERGROUP_SYNC, now=now,
                          rotation_id=rotation_id)

    # -- the tick ---------------------------------------------------------------------------------------------

    async def sync_due(self) -> int:
        queued = await self.db.run_background(self._sync_due)
        if queued:
            self.outbox.flush_later()
        return queued

    def _sync_due(self) -> int:
        now = self.clock.now()
        with self.db.reading() as session:
            bindings = repo.usergroups.usergroups(session=session)
            rotations = {r.id: r for r in repo.rotations.all_rotations(session=session)} if bindings else {}
            changes = [(b, ",".join(self.wanted(session, rotations[b.rotation_id], b.scope, now)))
                       for b in bindings if b.rotation_id in rotations]
        queued = 0
        for binding, wanted in changes:
            if wanted == binding.wanted:
                continue
            with self.db.session() as session:
                if repo.usergroups.claim_usergroup_change(session=session, rotation_id=binding.rotation_id,
                                                          was=binding.wanted, now_wanted=wanted):
                    self._queue(session, binding.rotation_id, now)
                    session.commit()
                    queued += 1
        return queued

    # -- what the delivery reads and records -----------------------------------------------------------------

    def now(self, session: Session, rotation_id: int) -> GroupNow | None:
        binding = repo.usergroups.usergroup_of(session=session, rotation_id=rotation_id)
        rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id)
        if binding is None or rotation is None:
            return None
        return GroupNow(binding, rotation.name, self.wanted(session, rotation, binding.scope, self.clock.now()))

    def state_of(self, rotation_id: int) -> dict | None:
        with self.db.reading() as session:
            binding = repo.usergroups.usergroup_of(session=session, rotation_id=rotation_id)
            return state(binding) if binding else None

    def health(self) -> dict[str, dict]:
        with self.db.reading() as session:
            names = {r.id: r.name for r in repo.rotations.all_rotations(session=session)}
            return {names.get(b.rotation_id, str(b.rotation_id)): state(b)
                    for b in repo.usergroups.usergroups(session=session)}


def state(binding: RotationUserGroup) -> dict:
    """/healthz's and the rotation page's view of a bound group."""
    found = {"handle": f"@{binding.handle}", "follows": binding.scope,
             "members": [u for u in binding.synced.split(",") if u], "state": "refused" if binding.error else "ok"}
    if binding.error:
        found["error"] = binding.error
        found["meaning"] = REFUSALS.get(binding.error, "Slack refused it")
    return found
