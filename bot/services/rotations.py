"""Rotations: rosters, overrides and swaps, and who is on call — the data behind paging and the handoff."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Rotation, RotationMember, RotationOverride, RotationSwap
from bot.domain.business_hours import WorkingTime
from bot.domain.errors import AlreadyDone, Invalid, UserError
from bot.domain.escalation import policy_from_json
from bot.domain.gaps import Gap, gaps
from bot.domain.layers import Layer
from bot.domain.ownership import ChannelFacts, channel_refusal
from bot.domain.rotation import ROLES, Handoff, OnCall, Role, on_call, schedule
from bot.domain.segments import segments
from bot.domain.shifts import ShiftPlan
from bot.domain.when import parse_moment
from bot.runtime.background import Background
from bot.services.once import commit_once, record_once
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotation_inputs import Inputs, inputs_of, plans_of
from bot.slack.text import date_token, echo

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
OVERRIDE_MAX = timedelta(days=90)


@dataclass(frozen=True)
class RotationPlan:
    """A rotation as `oncall` and the App Home show it: who now, the next shifts, upcoming overrides."""

    rotation: Rotation
    roster: list[str]
    shifts: list[OnCall]
    overrides: list[RotationOverride]
    gaps: list[Gap] = field(default_factory=list)  # asked for by `oncall`, the App Home and the digest
    layers: list[Layer] = field(default_factory=list)
    segments: list[tuple[datetime, datetime, OnCall]] = field(default_factory=list)  # shifts cut at layer windows


def _mentions(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)


class Rotations:
    """`people`: whose Slack timezone to learn when they join a roster; `background`: where that runs."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox, people: People,
                 background: Background) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.people, self.background = people, background
        self.handoff = Handoff(settings.handoff_weekday, settings.handoff_time, settings.team_timezone)
        start, end = settings.working_hours
        self.working_time = WorkingTime(start, end, frozenset(settings.working_days), settings.holidays)

    # -- who is on call -----------------------------------------------------------------------------------

    def plans_of(self, session: Session, rotations: Sequence[Rotation]) -> dict[int, ShiftPlan]:
        """Each rotation's shifts over time (`rotation set`), read in one statement."""
        return plans_of(session, self.handoff, rotations)

    def plan_of(self, session: Session, rotation: Rotation) -> ShiftPlan:
        return self.plans_of(session, [rotation])[rotation.id]

    def inputs(self, session: Session, rotation: Rotation, since: datetime) -> Inputs:
        """Everything who-is-on-call reads from `since` on."""
        return inputs_of(session, self.handoff, [rotation], since)[rotation.id]

    def on_call(self, session: Session, rotation: Rotation, at: datetime) -> OnCall:
        found = self.inputs(session, rotation, at)
        return on_call(found.members, at, **found.rules())

    def away_during(self, session: Session, rotation: Rotation, since: datetime,
                    until: datetime) -> list[tuple[str, datetime, datetime]]:
        """Roster and layer members with time off that touches [since, until): (who, from, to), by start."""
        found = self.inputs(session, rotation, since)
        return [(a.user_id, a.starts_at, a.ends_at) for a in found.away if a.starts_at < until
                and (a.user_id in found.members or any(a.user_id in layer.roster for layer in found.layers))]

    def on_call_for(self, session: Session, incident: Incident, at: datetime) -> OnCall | None:
        rotation = repo.rotations.rotation_of(session=session, incident=incident)
        return self.on_call(session, rotation, at) if rotation else None

    def on_call_now(self, session: Session, incident: Incident) -> tuple[str, ...]:
        """Who is on call for this incident now (invited to its channel with the reporter and the commander)."""
        oncall = self.on_call_for(session, incident, self.clock.now())
        return tuple(oncall.people) if oncall else ()

    def announcement_channel(self, incident: Incident, session: Session | None = None) -> str | None:
        """The rotation's channel, else INCIDENTS_CHANNEL: where incidents are announced."""
        if session is None:
            with self.db.session() as own:
                return self.announcement_channel(incident, own)
        rotation = repo.rotations.rotation_of(session=session, incident=incident)
        return rotation.channel_id if rotation else self.settings.incidents_channel

    def plan(self, rotation: Rotation, *, shifts: int = 4) -> RotationPlan:
        """One rotation for its web page or feed: with its shifts cut at layers' windows and time off."""
        return self.plans([rotation], shifts=shifts, with_segments=True)[0]

    def plans(self, rotations: Sequence[Rotation], *, shifts: int = 4, with_gaps: bool = False,
              with_segments: bool = False) -> list[RotationPlan]:
        """`with_gaps`, `with_segments`: the costly parts, asked for only where shown."""
        now = self.clock.now()
        found = []
        with self.db.session() as session:
            read = inputs_of(session, self.handoff, rotations, now)
            for rotation in rotations:
                inputs = read[rotation.id]
                found.append(RotationPlan(
                    rotation, inputs.members, schedule(inputs.members, now, count=shifts, **inputs.rules()),
                    inputs.stored, self.gaps_of(session, rotation, now, inputs) if with_gaps else [],
                    inputs.layers, segments(inputs.members, now, count=shifts, **inputs.rules())
                    if with_segments and (inputs.layers or inputs.away) else []))
        return found

    def gaps_of(self, session: Session, rotation: Rotation, now: datetime, inputs: Inputs | None = None) -> list[Gap]:
        inputs = inputs or self.inputs(session, rotation, now)
        return gaps(inputs.members, now, paged=self.paged_roles(session, rotation), **inputs.rules())

    def paged_roles(self, session: Session, rotation: Rotation) -> frozenset[Role]:
        """The roles the rotation's escalation policies page (the default chain: all three)."""
        stored = repo.schedules.policies_of(session=session, rotation_id=rotation.id)
        policies = [policy_from_json(text) for text in stored.values()]
        if len(stored) < 2:  # a priority without its own policy walks the default chain
            return frozenset(ROLES)
        return frozenset(Role(step.kind) for policy in policies for step in policy.steps
                         if step.kind in Role._value2member_map_)

    # -- finding a rotation -------------------------------------------------------------------------------

    def all(self) -> list[Rotation]:
        with self.db.session() as session:
            return repo.rotations.all_rotations(session=session)

    def roster_sizes(self) -> dict[int, int]:
        with self.db.session() as session:
            return {r.id: len(repo.rotations.roster(session=session, rotation_id=r.id))
                    for r in repo.rotations.all_rotations(session=session) if r.id is not None}

    def rotations_of(self, user_id: str) -> list[Rotation]:
        with self.db.session() as session:
            return repo.rotations.rotations_of_member(session=session, user_id=user_id)

    def named_rotation(self, name: str) -> Rotation | None:
        with self.db.session() as session:
            return repo.rotations.rotation_by_name(session=session, name=name)

    def shown(self, name: str | None, channel_id: str | None, limit: int) -> tuple[list[Rotation], int]:
        """What `oncall` shows: the named rotation; else the one bound to this channel; else all of them — the
        first `limit` of them, and how many there are."""
        if name:
            return [self.find_rotation(name, channel_id)], 1
        with self.db.session() as session:
            if channel_id and (bound := repo.rotations.rotation_by_channel(session=session, channel_id=channel_id)):
                return [bound], 1
            return (repo.rotations.all_rotations(session=session, limit=limit),
                    repo.rotations.count_rotations(session=session))

    def find_rotation(self, name: str | None, channel_id: str | None) -> Rotation:
        """The named rotation; else the one bound to this channel; else the only one there is."""
        with self.db.session() as session:
            if name:
                rotation = repo.rotations.rotation_by_name(session=session, name=name)
                if rotation is None:
                    raise UserError(f"There is no rotation called `{echo(name)}`. "
                                    "`/incident rotation list` shows them all.")
                return rotation
            if channel_id and (rotation := repo.rotations.rotation_by_channel(session=session, channel_id=channel_id)):
                return rotation
            rotations = repo.rotations.all_rotations(session=session)
        if len(rotations) == 1:
            return rotations[0]
        if not rotations:
            raise UserError("There is no rotation yet. Create one: `/incident rotation create <name> #channel`.")
        raise UserError("Which rotation? Run the command in the rotation's channel or name it "
                        f"({', '.join(f'`{r.name}`' for r in rotations[:10])}).")

    # -- changing a roster --------------------------------------------------------------------------------

    def require_roster_permission(self, session: Session, rotation: Rotation, actor: str) -> None:
        """ADMINS, the rotation's creator and its members may change it; anyone when ADMINS is empty."""
        admins = self.settings.admins
        if not admins or actor in admins or actor == rotation.created_by:
            return
        if actor in {m.user_id for m in repo.rotations.roster(session=session, rotation_id=rotation.id)}:
            return
        raise UserError(f"Only the members of `{rotation.name}`, its creator <@{rotation.created_by}> or an admin "
                        "can change its roster.")

    @contextlib.contextmanager
    def roster_change(self, rotation: Rotation, actor: str, request_key: str | None,
                       kind: str) -> Iterator[Session]:
        """One roster change, applied once: the rotation locked (changes to it take turns across replicas), the
        request not seen before, the person allowed; the request is stored with the change when it commits."""
        with self.db.session() as session:
            if repo.rotations.rotation_for_change(session=session, rotation_id=rotation.id) is None:
                raise UserError(f"The rotation `{rotation.name}` is gone.")
            record_once(session, request_key, kind, self.clock.now())
            self.require_roster_permission(session, rotation, actor)
            yield session
            commit_once(session, request_key)

    def create_rotation(self, name: str, channel_id: str, actor: str, request_key: str | None = None,
                        channel: ChannelFacts | None = None) -> Rotation:
        """`channel`: what Slack said of the channel (is it #general, is `actor` in it), asked just before."""
        name = name.strip().lower()
        if not _NAME.match(name):
            raise UserError("A rotation name is lowercase letters, digits, `-` or `_` (up to 80), "
                            f"not `{echo(name)}`.")
        now = self.clock.now()
        with self.db.session() as session:
            if request_key and repo.requests.request_handled(session=session, key=request_key):
                raise AlreadyDone("this `rotation create`")
            if repo.rotations.rotation_by_name(session=session, name=name):
                raise UserError(f"There is already a rotation called `{name}`.")
            bound = repo.rotations.rotation_by_channel(session=session, channel_id=channel_id)
            if bound:
                raise UserError(f"<#{channel_id}> already belongs to the rotation `{bound.name}`.")
            if channel is None or channel.channel_id != channel_id:
                raise UserError(f"I could not check <#{channel_id}> in Slack; try again in a moment. Nothing "
                                "changed.")
            if why := channel_refusal(channel, actor, self.settings.admins):
                raise UserError(why)
            record_once(session, request_key, "rotation create", now)
            rotation = Rotation(name=name, channel_id=channel_id, created_by=actor, created_at=now)
            session.add(rotation)
            session.flush()
            repo.rotations.record_roster(session=session, rotation_id=rotation.id, now=now)
            try:
                commit_once(session, request_key)
            except IntegrityError:
                raise UserError(f"There is already a rotation called `{name}`.") from None
        self._tell_rotation_later(rotation, f":fire_engine: <@{actor}> created the rotation `{name}` for this "
                                            "channel. Add firefighters with `/incident rotation add @someone`.")
        return rotation

    def add_members(self, rotation: Rotation, users: Sequence[str], actor: str,
                    request_key: str | None = None) -> list[str]:
        with self.roster_change(rotation, actor, request_key, "rotation add") as session:
            present = repo.rotations.roster(session=session, rotation_id=rotation.id)
            known = {m.user_id for m in present}
            new = [u for u in dict.fromkeys(users) if u not in known]
            if not new:
                verb = "is" if len(users) == 1 else "are"
                raise UserError(f"{_mentions(users)} {verb} already on `{rotation.name}`.")
            last = max((m.position for m in present), default=-1)
            for offset, user in enumerate(new, start=1):
                session.add(RotationMember(rotation_id=rotation.id, user_id=user, position=last + offset))
            repo.rotations.record_roster(session=session, rotation_id=rotation.id, now=self.clock.now())
        self._tell_rotation_later(rotation, f":busts_in_silhouette: <@{actor}> added {_mentions(new)} to the "
                                            f"`{rotation.name}` roster.")
        self.background.spawn(self.people.refresh(new), name="people")
        return new

    def remove_members(self, rotation: Rotation, users: Sequence[str], actor: str,
                       request_key: str | None = None) -> list[str]:
        with self.roster_change(rotation, actor, request_key, "rotation remove") as session:
            present = {m.user_id: m for m in repo.rotations.roster(session=session, rotation_id=rotation.id)}
            missing = [u for u in users if u not in present]
            if missing:
                raise UserError(f"{_mentions(missing)} {'is' if len(missing) == 1 else 'are'} not on "
                                f"`{rotation.name}`.")
            gone = list(dict.fromkeys(users))
            for user in gone:
                session.delete(present[user])
            repo.rotations.record_roster(session=session, rotation_id=rotation.id, now=self.clock.now())
        self._tell_rotation_later(rotation, f":busts_in_silhouette: <@{actor}> removed {_mentions(gone)} from the "
                                            f"`{rotation.name}` roster.")
        return gone

    def reorder(self, rotation: Rotation, users: Sequence[str], actor: str, request_key: str | None = None) -> None:
        """The whole roster in its new order; the shift count is kept, so only who holds which week changes."""
        with self.roster_change(rotation, actor, request_key, "rotation order") as session:
            members = {m.user_id: m for m in repo.rotations.roster(session=session, rotation_id=rotation.id)}
            wanted = list(dict.fromkeys(users))
            if len(wanted) != len(users):
                raise UserError("Name each person once.")
            missing = [u for u in members if u not in wanted]
            extra = [u for u in wanted if u not in members]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"you left out {_mentions(missing)}")
                if extra:
                    parts.append(f"{_mentions(extra)} {'is' if len(extra) == 1 else 'are'} not on it "
                                 "(`rotation add` them first)")
                raise UserError(f"`rotation order` takes the whole roster of `{rotation.name}`: {'; '.join(parts)}.")
            for position, user in enumerate(wanted):
                members[user].position = position
            repo.rotations.record_roster(session=session, rotation_id=rotation.id, now=self.clock.now())
        self._tell_rotation_later(rotation, f":twisted_rightwards_arrows: <@{actor}> reordered `{rotation.name}`: "
                                            f"{_mentions(wanted)}.")

    def reset_feed(self, rotation: Rotation, actor: str, request_key: str | None = None) -> None:
        with self.roster_change(rotation, actor, request_key, "rotation feed-reset") as session:
            stored = repo.rotations.rotation_by_id(session=session, rotation_id=rotation.id)
            stored.feed_version += 1

    def person_feed_version(self, user: str) -> int:
        with self.db.reading() as session:
            return repo.web.person_feed_version(session=session, user_id=user)

    def reset_person_feed(self, user: str) -> int:
        """`me feed-reset`: every calendar link of the person's shifts handed out so far stops working."""
        with self.db.session() as session:
            version = repo.web.reset_person_feed(session=session, user_id=user, now=self.clock.now())
            session.commit()
        return version

    def add_override(self, rotation: Rotation, user: str, start: datetime, end: datetime, role: Role,
                     actor: str, request_key: str | None = None) -> RotationOverride:
        now = self.clock.now()
        if end <= now:
            raise Invalid("That override would already be over; pick an end in the future.")
        if end - start > OVERRIDE_MAX:
            raise Invalid(f"Keep an override to {OVERRIDE_MAX.days} days; change the roster for longer.")
        with self.roster_change(rotation, actor, request_key, "rotation override") as session:
            roles = self.plan_of(session, rotation).shape_at(max(start, now)).roles
            if ROLES.index(role) >= roles:
                raise UserError(f"`{rotation.name}` has {roles} role{'s' if roles != 1 else ''} now, so there is no "
                                f"{role.value} to take; nothing changed.")
            if repo.rotations.overrides_like(session=session, rotation_id=rotation.id, user_id=user, role=role.value,
                                             starts_at=start, ends_at=end):
                raise UserError(f"<@{user}> is already {role.value} on `{rotation.name}` for exactly that time; "
                                "nothing changed.")
            if why := self.overlap_refusal(session, rotation, role.value, start, end):
                raise UserError(why)
            for asked in repo.covers.covers_overlapping(session=session, rotation_id=rotation.id, role=role.value,
                                                        starts_at=start, ends_at=end):
                raise UserError(f"<@{asked.requester}> asks for cover as {role.value} on `{rotation.name}` from "
                                f"{self._when(asked.starts_at)} to {self._when(asked.ends_at)}, which overlaps: take "
                                "it with I'll cover on the request, or wait until it is withdrawn; nothing changed.")
            override = RotationOverride(rotation_id=rotation.id, user_id=user, role=role, starts_at=start,
                                        ends_at=end, created_by=actor, created_at=now)
            session.add(override)
        self._tell_rotation_later(rotation, f":repeat: <@{actor}>: <@{user}> is {role.value} on `{rotation.name}` "
                                            f"from {self._when(start)} to {self._when(end)}.")
        return override

    def overlap_refusal(self, session: Session, rotation: Rotation, role: str, start: datetime,
                        end: datetime) -> str | None:
        """Why a new override (or cover) of `role` from `start` to `end` cannot be: an override of that role
        already holds part of the time (named), else None."""
        for other in repo.rotations.overrides_overlapping(session=session, rotation_id=rotation.id, role=role,
                                                          starts_at=start, ends_at=end):
            return (f"<@{other.user_id}> is already {role} on `{rotation.name}` from {self._when(other.starts_at)} "
                    f"to {self._when(other.ends_at)} (an override), which overlaps; nothing changed. Pick another "
                    "time, or another role with `as …`.")
        return None

    def add_swap(self, rotation: Rotation, a: str, b: str, week: str, actor: str,
                 request_key: str | None = None) -> OnCall:
        """`a` and `b` exchange roles for one shift: the one containing `week`, by default the next shift in
        which either of them is primary."""
        if a == b:
            raise UserError("A swap needs two different people.")
        now = self.clock.now()
        with self.roster_change(rotation, actor, request_key, "rotation swap") as session:
            members = [m.user_id for m in repo.rotations.roster(session=session, rotation_id=rotation.id)]
            strangers = [u for u in (a, b) if u not in members]
            if strangers:
                raise UserError(f"{_mentions(strangers)} {'is' if len(strangers) == 1 else 'are'} not on "
                                f"`{rotation.name}`; swaps are between its members.")
            shift = self._swap_shift(self.plan_of(session, rotation), rotation, members, a, b, week, now)
            # a second swap would swap them back: not what anyone asking meant
            if repo.rotations.swaps_between(session=session, rotation_id=rotation.id, shift_index=shift.shift_index,
                                            a=a, b=b) % 2:
                raise UserError(f"<@{a}> and <@{b}> are already swapped for the shift from "
                                f"{self._when(shift.shift_start)}; nothing changed.")
            session.add(RotationSwap(rotation_id=rotation.id, user_a=a, user_b=b, shift_index=shift.shift_index,
                                     created_by=actor, created_at=now))
        with self.db.session() as session:
            swapped = self.on_call(session, rotation, shift.shift_start)
        self._tell_rotation_later(rotation, f":repeat: <@{actor}> swapped <@{a}> and <@{b}> for the shift from "
                                            f"{self._when(shift.shift_start)}.")
        return swapped

    def _swap_shift(self, handoff: ShiftPlan, rotation: Rotation, members: list[str], a: str, b: str, week: str,
                    now: datetime) -> OnCall:
        text = week.strip().lower()
        origin = rotation.created_at
        if text in ("", "next-primary"):
            shifts = schedule(members, now, handoff=handoff, origin=origin, count=max(len(members), 1))
            for shift in shifts:
                if shift.primary in (a, b):
                    return shift
            return shifts[0]
        if text in ("this", "current", "now"):
            return on_call(members, now, handoff=handoff, origin=origin)
        if text == "next":
            current = on_call(members, now, handoff=handoff, origin=origin)
            return on_call(members, current.shift_end, handoff=handoff, origin=origin)
        moment = parse_moment(text, now=now, tz=self.settings.team_timezone)
        if moment is None:
            raise UserError("Say which week: `this`, `next`, or a day in it like `2026-12-08` or `tue`.")
        shift = on_call(members, moment, handoff=handoff, origin=origin)
        if shift.shift_end <= now:
            raise UserError("That shift is already over.")
        return shift

    def _when(self, moment: datetime) -> str:
        return date_token(moment, "{date_short_pretty} {time}", tz=self.settings.team_timezone)

    def _tell_rotation_later(self, rotation: Rotation, text: str) -> None:
        """Said in the rotation's channel through the outbox, so Slack being down delays it but does not lose it."""
        with self.db.session() as session:
            self.outbox.queue_post(session, rotation.channel_id, text, self.clock.now())
            session.commit()
        self.outbox.flush_later()

