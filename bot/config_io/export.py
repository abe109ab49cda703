"""The database's configuration as the file's shape: rotations (roster by Slack id and verified email, handoff,
layers, escalation policies), people's holiday calendars, alert routes, incident types and status components.
Never a secret (routing keys, heartbeat and feed tokens, API tokens) and nothing operational (incidents,
overrides, swaps, time off, maintenance)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.config_io import model
from bot.db import repo
from bot.db.models import Rotation
from bot.db.schedule_models import RotationLayer, ShiftChange
from bot.domain.escalation import policy_from_json, wait_text
from bot.domain.layers import describe_days
from bot.domain.rotation import Handoff
from bot.services.rotation_inputs import shift_plan


def handoff_of(base: Handoff, rotation: Rotation, changes: list[ShiftChange]) -> model.Handoff:
    """The rotation's newest handoff (a change made with `rotation set` that is still to come included) and the day
    its shift number 0 began in that handoff's cycle: together they say whose turn every shift is from then on."""
    plan = shift_plan(base, rotation.created_at, changes)
    if plan.changes:
        change = plan.changes[-1]
        shape = change.handoff
        first = change.first_boundary().astimezone(shape.tz).date()
        day = first - timedelta(days=shape.days * (change.first_index + 1))
    else:
        shape = base
        day = base.shift_start(rotation.created_at).astimezone(base.tz).date()
    return model.Handoff(weekday=model.WEEKDAYS[day.weekday()], time=f"{shape.at:%H:%M}", timezone=str(shape.tz),
                         shift_days=shape.days, roles=shape.roles, first_shift=day)


class Exporter:
    def __init__(self, session: Session, base: Handoff) -> None:
        self.session, self.base = session, base
        self.emails: dict[str, str] = {}

    def person(self, user: str) -> model.PersonRef:
        return model.PersonRef(slack_id=user, email=self.emails.get(user))

    def read(self) -> model.ConfigFile:
        session = self.session
        rotations = repo.rotations.all_rotations(session=session)
        ids = [r.id for r in rotations if r.id is not None]
        members = repo.config_io.all_members(session=session)
        changes = repo.schedules.shift_changes_of(session=session, rotation_ids=ids)
        layers = repo.schedules.layers_of(session=session, rotation_ids=ids)
        policies = repo.config_io.all_policies(session=session)
        calendars = repo.config_io.all_calendars(session=session)
        people = {m.user_id for rows in members.values() for m in rows} | set(calendars)
        people |= {u for rows in layers.values() for row in rows for u in row.roster.split(",") if u}
        for stored in policies.values():
            people |= {s.ref for text in stored.values() for s in policy_from_json(text).steps
                       if s.kind == "person" and s.ref}
        self.emails = repo.config_io.verified_emails(session=session, user_ids=sorted(people))
        names = {r.id: r.name for r in rotations}
        found = []
        for rotation in sorted(rotations, key=lambda r: r.name):
            found.append(model.Rotation(
                name=rotation.name, channel=rotation.channel_id,
                handoff=handoff_of(self.base, rotation, changes.get(rotation.id, [])),
                roster=[self.person(m.user_id) for m in members.get(rotation.id, [])],
                layers=[self.layer(row) for row in layers.get(rotation.id, [])],
                policies={p: self.policy(text) for p, text in policies.get(rotation.id, {}).items()}))
        routes, seen = [], set()
        for row, name in repo.routes.routes(session=session):
            if row.matchers in seen:  # the same labels again: never reached (the first wins)
                continue
            seen.add(row.matchers)
            routes.append(model.Route(match=dict(p.split("=", 1) for p in row.matchers.split(",")), rotation=name,
                                      priority=row.priority))
        return model.ConfigFile(
            rotations=found,
            holidays=[model.Holidays(slack_id=u, email=self.emails.get(u), calendar=c) for u, c in calendars.items()],
            routes=routes,
            types=[model.IncidentType(name=t.name, private=t.private, rotation=names.get(t.rotation_id),
                                      priority=t.priority) for t in repo.types.incident_types(session=session)],
            components=[model.Component(name=c.name, group=c.group_name)
                        for c in repo.status.components(session=session)])

    def layer(self, row: RotationLayer) -> model.Layer:
        days = frozenset(int(d) for d in row.days.split(",") if d)
        return model.Layer(name=row.name, days=describe_days(days) if days else "daily",
                           hours=f"{row.start}-{row.end}", timezone=row.tz,
                           roster=[self.person(u) for u in row.roster.split(",") if u])

    def policy(self, text: str) -> model.Policy:
        policy = policy_from_json(text)
        steps = []
        for step in policy.steps:
            wait = wait_text(step.seconds) if step.seconds else None
            if step.kind == "person":
                steps.append(model.Step(person=self.person(step.ref or ""), wait=wait))
            elif step.kind == "group":
                steps.append(model.Step(group=model.Group(id=step.ref or "", handle=step.handle or step.ref or "",
                                                          members=list(step.members)), wait=wait))
            else:
                steps.append(model.Step(page=step.kind, wait=wait))
        return model.Policy(steps=steps, repeat=policy.repeat)


def export(session: Session, base: Handoff) -> model.ConfigFile:
    return Exporter(session, base).read()
