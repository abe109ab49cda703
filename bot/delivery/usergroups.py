"""Setting an @oncall user group's members to whoever is on call when the delivery goes out (not when it was
queued: a change that came meanwhile is already in). Slack's refusals for good are recorded on the group (shown in
/healthz and on the rotation's page) and told to the person who set it, once per refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Delivery, RotationUserGroup
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Refused, user_lane
from bot.domain.ownership import CREATE, OURS, REFUSALS
from bot.slack.gateway import SlackGateway, slack_error, transient
from bot.slack.text import escape


class GroupNow(Protocol):
    """A bound group as its delivery reads it (bot/services/usergroups.py): who should be in it now."""

    @property
    def binding(self) -> RotationUserGroup: ...
    @property
    def rotation_name(self) -> str: ...
    @property
    def users(self) -> list[str]: ...


class UserGroupSync:
    def __init__(self, engine: DeliveryEngine, slack: SlackGateway, clock: Clock,
                 group_now: Callable[[Session, int], GroupNow | None]) -> None:
        self.engine, self.slack, self.clock, self.group_now = engine, slack, clock, group_now

    def read(self, session: Session, delivery: Delivery) -> GroupNow:
        found = self.group_now(session, json.loads(delivery.payload)["rotation_id"])
        if found is None:
            raise Drop("the rotation keeps no user group any more")
        return found

    async def sync(self, delivery: Delivery, payload: dict, found: GroupNow) -> Sent | None:
        binding = found.binding
        if not found.users:  # nobody on call (an empty roster): Slack cannot empty a group; it keeps its members
            raise Refused("cannot_empty", self._refused(found, "cannot_empty"))
        created = False
        try:
            group_id = binding.group_id
            if group_id is None and binding.origin == CREATE:
                group_id, created = await self._create(found), True
            elif group_id is None:  # (a binding from before the bot created groups: looked up by its handle)
                group_id = await self.slack.usergroup_id(binding.handle)
            if group_id is None:
                raise Refused("no_such_subteam", self._refused(found, "no_such_subteam"))
            await self.slack.set_usergroup(group_id, found.users)
        except SlackApiError as exc:
            if transient(exc):
                raise
            error = slack_error(exc)
            raise Refused(error, self._refused(found, error)) from exc
        now, users = self.clock.now(), ",".join(found.users)

        def record(session: Session) -> None:
            if created:  # the bot's own from now on, whoever binds it later
                repo.usergroups.record_bot_usergroup(session=session, group_id=group_id, handle=binding.handle,
                                                     rotation_id=binding.rotation_id, now=now)
            stored = _same(session, binding)
            if stored is not None:  # (not one set again meanwhile, to another group)
                stored.group_id, stored.synced, stored.synced_at, stored.error, stored.told = \
                    group_id, users, now, "", ""
                if created:
                    stored.origin, stored.create_ref = OURS, ""
        return Sent(record)

    async def _create(self, found: GroupNow) -> str:
        """usergroups.create with the handle asked for; its description carries the binding's reference, so a group
        created by an attempt whose answer was lost is found again, and one someone else made is never taken."""
        binding = found.binding
        marker = f"ref {binding.create_ref}"
        try:
            return await self.slack.create_usergroup(
                binding.handle, binding.handle,
                f"Who is on call on {found.rotation_name}, kept by the Firefighter bot ({marker})")
        except SlackApiError as exc:
            if slack_error(exc) not in ("name_already_exists", "handle_already_exists"):
                raise
            group = await self.slack.usergroup_named(binding.handle)
            if group is not None and binding.create_ref and marker in (group.get("description") or ""):
                return group["id"]
            raise Refused("name_already_exists", self._refused(found, "name_already_exists")) from exc

    def _refused(self, found: GroupNow, error: str) -> Callable[[Session], None]:
        now = self.clock.now()

        def record(session: Session) -> None:
            stored = _same(session, found.binding)
            if stored is None:
                return
            stored.error, stored.error_at = error, now
            if stored.told != error:  # each refusal told once, to the person who set the group
                stored.told = error
                text = (f":warning: I could not keep `@{escape(stored.handle)}` equal to who is on call on "
                        f"`{escape(found.rotation_name)}`: Slack said `{error}` — {REFUSALS.get(error, 'a refusal')}. "
                        "Everything else goes on; `/incident rotation usergroup` tries again, `… off` stops it.")
                self.engine.queue(session, lane=user_lane(stored.set_by), kind=Kind.POST, now=now,
                                  channel=stored.set_by, text=text)
        return record


def _same(session: Session, binding: RotationUserGroup) -> RotationUserGroup | None:
    """The group's row, unless it was set again since this delivery read it (then what it did is not news)."""
    stored = repo.usergroups.usergroup_of(session=session, rotation_id=binding.rotation_id)
    return stored if stored is not None and stored.set_at == binding.set_at else None
