"""The plan written in the caller's one transaction (all of the file or nothing), by the rules the commands use: a
changed handoff takes effect from the next boundary as `rotation set` does (whoever is on call stays on call), a
roster change keeps its history (`rotation stats`), each changed rotation hears of it in its channel (through the
outbox, like every message). Only what the plan names is written: a second apply writes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlmodel import Session

from bot.config_io import model
from bot.config_io.check import layer_of, policy_of, zone
from bot.config_io.plan import Change, route_order
from bot.db import repo
from bot.db.edge_models import AlertRoute
from bot.db.models import Rotation, RotationMember
from bot.db.schedule_models import IncidentType, RotationLayer, ShiftChange
from bot.db.status_models import StatusComponent
from bot.delivery.kinds import Kind, channel_lane
from bot.domain.escalation import policy_json
from bot.domain.rotation import Handoff
from bot.domain.shifts import Change as ShiftChangeRule
from bot.domain.shifts import ShiftPlan
from bot.services.rotation_inputs import shift_plan
from bot.slack.text import escape

SAID_BY = "`python -m bot config apply`"


class Refused(Exception):
    """The plan cannot be written (a rotation still used by incidents, say); nothing was."""


def new_shape(spec: model.Handoff, anchor=None) -> Handoff:
    hour, minute = (int(x) for x in spec.time.split(":"))
    return Handoff(model.WEEKDAYS.index(spec.weekday), time(hour, minute), zone(spec.timezone), spec.shift_days,
                   spec.roles, anchor)


class Applier:
    def __init__(self, session: Session, base: Handoff, now: datetime, actor: str | None) -> None:
        self.session, self.base, self.now, self.actor = session, base, now, actor

    def by(self, roster: list[str] | None = None) -> str:
        """Who a row says made it: the first of ADMINS, else the rotation's first person (as the importer does)."""
        return self.actor or (roster[0] if roster else "config")

    def apply(self, changes: list[Change], want: model.ConfigFile, have: model.ConfigFile, prune: bool) -> None:
        wanted = {r.name: r for r in want.rotations}
        rotations = {r.name: r for r in repo.rotations.all_rotations(session=self.session)}
        for change in (c for c in changes if c.op == "-" and c.kind == "type"):
            repo.types.remove_type(session=self.session, name=change.name)
        for change in (c for c in changes if c.op == "-" and c.kind == "rotation"):
            self._remove_rotation(rotations.pop(change.name))
        for change in (c for c in changes if c.kind == "rotation" and c.op != "-"):
            if change.op == "+":
                rotations[change.name] = self._create(wanted[change.name])
            else:
                self._update(rotations[change.name], wanted[change.name], change)
        for change in (c for c in changes if c.kind == "holidays"):
            calendar = next((h.calendar for h in want.holidays if h.slack_id == change.name), None)
            repo.schedules.set_calendar(session=self.session, user_id=change.name,
                                        calendar=None if change.op == "-" else calendar, now=self.now)
        if any(c.kind in ("route", "routes") for c in changes):
            self._routes(want, have, prune, rotations, {c.name for c in changes if c.kind == "rotation"
                                                        and c.op == "-"})
        types = {t.name: t for t in want.types}
        stored_types = {t.name: t for t in repo.types.incident_types(session=self.session)}
        for change in (c for c in changes if c.kind == "type" and c.op != "-"):
            spec = types[change.name]
            row = stored_types.get(change.name) or IncidentType(name=spec.name, created_by=self.by(),
                                                                 created_at=self.now)
            row.private, row.priority = spec.private, spec.priority
            row.rotation_id = rotations[spec.rotation].id if spec.rotation else None
            self.session.add(row)
        self._components(changes, want)
        self.session.flush()

    # -- rotations ------------------------------------------------------------------------------------------

    def _remove_rotation(self, rotation: Rotation) -> None:
        uses = repo.config_io.rotation_uses(session=self.session, rotation_id=rotation.id)
        if uses:
            raise Refused(f"the rotation `{rotation.name}` cannot be removed while these use it: "
                          + ", ".join(f"{n} {what if n != 1 else what[:-1]}" for what, n in uses.items())
                          + " (they are kept, and so is it). Name it in the file, or run without --prune.")
        for kind in repo.types.incident_types(session=self.session):
            if kind.rotation_id == rotation.id:
                kind.rotation_id = None
                self.session.add(kind)
        repo.config_io.remove_rotation(session=self.session, rotation_id=rotation.id)

    def _create(self, spec: model.Rotation) -> Rotation:
        roster = [p.slack_id or "" for p in spec.roster]
        rotation = Rotation(name=spec.name, channel_id=spec.channel, created_by=self.by(roster), created_at=self.now)
        self.session.add(rotation)
        self.session.flush()
        self._roster(rotation, roster)
        self._handoff(rotation, spec.handoff, None)
        self._layers(rotation, spec.layers)
        for priority in ("P0", "P1"):
            self._policy(rotation, priority, spec)
        self._say(rotation, f":gear: {SAID_BY} created the rotation `{spec.name}` for this channel: it hands off "
                            f"{_shown(spec.handoff)}, in this order: {_mentions(roster) or 'nobody yet'}.")
        return rotation

    def _update(self, rotation: Rotation, spec: model.Rotation, change: Change) -> None:
        rotation = repo.rotations.rotation_for_change(session=self.session, rotation_id=rotation.id) or rotation
        if "channel" in change.aspects:
            rotation.channel_id = spec.channel
            self.session.add(rotation)
        if "roster" in change.aspects:
            self._roster(rotation, [p.slack_id or "" for p in spec.roster])
        if "handoff" in change.aspects:
            changes = repo.schedules.shift_changes_of(session=self.session, rotation_ids=[rotation.id])
            kept = [row for row in changes.get(rotation.id, []) if row.since <= self.now]
            self._handoff(rotation, spec.handoff, shift_plan(self.base, rotation.created_at, kept))
        if "layers" in change.aspects:
            self._layers(rotation, spec.layers)
        for priority in ("P0", "P1"):
            if priority in change.aspects:
                self._policy(rotation, priority, spec)
        self._say(rotation, f":gear: {SAID_BY} changed the rotation `{rotation.name}`:\n"
                            + "\n".join(f"• {escape(d)}" for d in change.details))

    def _roster(self, rotation: Rotation, users: list[str]) -> None:
        present = {m.user_id: m for m in repo.rotations.roster(session=self.session, rotation_id=rotation.id)}
        for user, member in present.items():
            if user not in users:
                self.session.delete(member)
        self.session.flush()
        for position, user in enumerate(users):
            member = present.get(user) or RotationMember(rotation_id=rotation.id, user_id=user)
            member.position = position
            self.session.add(member)
        repo.rotations.record_roster(session=self.session, rotation_id=rotation.id, now=self.now)

    def _handoff(self, rotation: Rotation, spec: model.Handoff, plan: ShiftPlan | None) -> None:
        """A rotation made now (`plan` None) follows the handoff from the start of its shift now; a changed one from
        the next boundary of the shifts in force, as `rotation set` decides it. `first_shift` (when given) fixes
        whose turn each shift is: the shift starting that day is number 0."""
        wanted = new_shape(spec)
        first = spec.first_shift
        if plan is None:
            shape = replace(wanted, anchor=first or _cycle_day(wanted, self.now))
            since = shape.shift_start(self.now)
            change = ShiftChangeRule(since, shape, (since.astimezone(shape.tz).date() - first).days // shape.days
                                     if first else 0)
        else:
            change = plan.changed(self.now, weekday=wanted.weekday, at=wanted.at, tz=wanted.tz, days=wanted.days,
                                  roles=wanted.roles)
            if first is not None:
                shape = replace(change.handoff, anchor=first)
                day = shape.shift_start(change.since).astimezone(shape.tz).date()
                change = ShiftChangeRule(change.since, shape, (day - first).days // shape.days)
        shape = change.handoff
        repo.schedules.set_shift_change(session=self.session, change=ShiftChange(
            rotation_id=rotation.id, since=change.since, weekday=shape.weekday, at=f"{shape.at:%H:%M}",
            tz=str(shape.tz), days=shape.days, roles=shape.roles, anchor=shape.anchor,
            first_index=change.first_index, set_by=self.by(), set_at=self.now), now=self.now)

    def _layers(self, rotation: Rotation, layers: list[model.Layer]) -> None:
        rows = {r.name: r for r in repo.schedules.layers_of(session=self.session, rotation_ids=[rotation.id])
                .get(rotation.id, [])}
        wanted = {spec.name for spec in layers}
        for name, row in rows.items():
            if name not in wanted:
                self.session.delete(row)
        self.session.flush()
        for position, spec in enumerate(layers, start=1):
            layer = layer_of(spec)
            values = {"days": ",".join(str(d) for d in sorted(layer.days)), "start": f"{layer.start:%H:%M}",
                      "end": f"{layer.end:%H:%M}", "tz": str(layer.tz), "roster": ",".join(layer.roster),
                      "position": position}
            row = rows.get(spec.name)
            if row is None:
                row = RotationLayer(rotation_id=rotation.id, name=spec.name, set_by=self.by(), set_at=self.now,
                                    **values)
            elif any(getattr(row, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                row.set_by, row.set_at = self.by(), self.now
            else:
                continue
            self.session.add(row)

    def _policy(self, rotation: Rotation, priority: str, spec: model.Rotation) -> None:
        policy = spec.policies.get(priority)
        repo.schedules.set_policy(session=self.session, rotation_id=rotation.id, priority=priority,
                                  policy=policy_json(policy_of(policy)) if policy else None, user_id=self.by(),
                                  now=self.now)

    def _say(self, rotation: Rotation, text: str) -> None:
        repo.deliveries.queue_delivery(session=self.session, lane=channel_lane(rotation.channel_id), kind=Kind.POST,
                                       incident_id=None, payload=json.dumps({"channel": rotation.channel_id,
                                                                             "text": text}), now=self.now)

    # -- the rest -------------------------------------------------------------------------------------------

    def _routes(self, want: model.ConfigFile, have: model.ConfigFile, prune: bool, rotations: dict[str, Rotation],
                gone: set[str]) -> None:
        """Tried in the file's order, then (without --prune) the others in theirs; a route with the same labels as
        an earlier one (never reached) goes last, or with --prune goes."""
        order = route_order(want, have, prune, gone)
        wanted = {r.key(): r for r in want.routes}
        rows: dict[str, AlertRoute] = {}
        unreached = []
        for row, _name in repo.routes.routes(session=self.session):
            if row.matchers in order and row.matchers not in rows:
                rows[row.matchers] = row
            elif prune:
                self.session.delete(row)
            else:
                unreached.append(row)
        self.session.flush()
        for position, key in enumerate(order, start=1):
            row, spec = rows.get(key), wanted.get(key)
            if row is None:
                row = AlertRoute(position=position, matchers=key, rotation_id=rotations[spec.rotation].id,
                                 priority=spec.priority, created_by=self.by(), created_at=self.now)
            elif spec is not None and (rotations[spec.rotation].id, spec.priority) != (row.rotation_id, row.priority):
                row.rotation_id, row.priority = rotations[spec.rotation].id, spec.priority
            elif row.position == position:
                continue
            row.position = position
            self.session.add(row)
        for position, row in enumerate(unreached, start=len(order) + 1):
            if row.position < position:
                row.position = position
                self.session.add(row)

    def _components(self, changes: list[Change], want: model.ConfigFile) -> None:
        wanted = {c.name.lower(): c for c in want.components}
        for change in (c for c in changes if c.kind == "component"):
            found = repo.status.component_named(session=self.session, name=change.name)
            if change.op == "-":
                if found is not None and repo.status.open_naming(session=self.session, component_id=found.id):
                    raise Refused(f"the component `{found.name}` cannot be removed: a published incident still open "
                                  "names it. Resolve it first, or keep the component in the file.")
                if found is not None:
                    repo.status.remove_component(session=self.session, component_id=found.id)
                continue
            spec = wanted[change.name.lower()]
            row = found or StatusComponent(name=spec.name, created_at=self.now)
            row.name, row.group_name = spec.name, spec.group
            self.session.add(row)


def _cycle_day(shape: Handoff, now: datetime):
    """The handoff day (on its weekday) of the shift running now, when no first shift was given."""
    day = now.astimezone(shape.tz).date()
    day -= timedelta(days=(day.weekday() - shape.weekday) % 7)
    if shape.boundary_on(day) > now:
        day -= timedelta(days=7)
    return day


def _shown(spec: model.Handoff) -> str:
    every = "every week" if spec.shift_days == 7 else f"every {spec.shift_days} days"
    return f"{spec.weekday} {spec.time} {spec.timezone}, {every}, {spec.roles} role{'s' if spec.roles != 1 else ''}"


def _mentions(users: list[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users)
