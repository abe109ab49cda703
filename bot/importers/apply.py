"""`--apply` (SPEC § Moving in): what the plan said, each object in one transaction with the record of its source
id, so a failure leaves nothing half-imported for that object and a second run changes nothing. Two runs at once:
the unique (source, kind, source id) lets one of them store each object; the other says it was imported already."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.edge_models import Heartbeat, ImportedObject
from bot.db.models import Rotation, RotationMember, RotationOverride
from bot.db.schedule_models import RotationLayer, ShiftChange
from bot.domain.escalation import describe, policy_json
from bot.domain.heartbeats import silent_after
from bot.domain.importing import Planned
from bot.domain.incident import Priority
from bot.domain.rotation import Role
from bot.domain.shifts import describe_shape
from bot.importers.plan import KINDS, ImportPlan, Item, Progress
from bot.services.outbox import Outbox
from bot.slack.text import escape


class Applier:
    def __init__(self, db: repo.database.Database, clock: Clock, outbox: Outbox, creator: str | None,
                 progress: Progress) -> None:
        self.db, self.clock, self.outbox, self.creator, self.progress = db, clock, outbox, creator, progress

    def apply(self, plan: ImportPlan, say: Callable[[str], None]) -> tuple[int, int, int]:
        """Imports every ✓ object not imported yet: (how many now, how many were already, how many failed)."""
        todo = sorted((i for i in plan.items if i.ok and i.kind != "user"), key=lambda i: KINDS.index(i.kind))
        made = already = failed = 0
        for item in self.progress(todo, f"Importing from {plan.data.title}"):
            try:
                stored = not item.done and self._one(plan, item)
            except Exception as exc:  # this object's transaction rolled back whole; the next ones still go
                failed += 1
                say(f"✗ {item.kind} {item.label}: not imported ({exc.__class__.__name__}: "
                    f"{' '.join(str(exc).split())[:200]}); nothing of it was stored, run --apply again")
                continue
            if not stored:
                already += 1
                say(f"= {item.kind} {item.label}: imported already")
                continue
            made += 1
            say(f"✓ {item.kind} {item.label} → {item.becomes}")
        return made, already, failed

    def _one(self, plan: ImportPlan, item: Item) -> bool:
        now = self.clock.now()
        with self.db.session() as session:
            if (item.kind, item.source_id) in repo.imports.imported(session=session, source=plan.data.source):
                return False
            try:
                local_id = getattr(self, f"_{item.kind}")(session, plan, item, now)
                session.add(ImportedObject(source=plan.data.source, kind=item.kind, source_id=item.source_id,
                                           local_id=local_id, imported_at=now))
                session.commit()
            except IntegrityError:  # this transaction made nothing: another run stored it first, or it clashes
                session.rollback()
                if repo.imports.was_imported(session=session, source=plan.data.source, kind=item.kind,
                                             source_id=item.source_id):
                    return False
                raise
        self.outbox.flush_later()
        return True

    def _rotation(self, session: Session, plan: ImportPlan, schedule_id: str) -> Rotation:
        """An imported schedule's rotation, locked (its roster and policy change under the rotation's lock)."""
        name = plan.rotations[schedule_id]
        found = repo.rotations.rotation_by_name(session=session, name=name)
        if found is None:
            raise LookupError(f"the rotation {name} is not here")
        return repo.rotations.rotation_for_change(session=session, rotation_id=found.id) or found

    def _schedule(self, session: Session, plan: ImportPlan, item: Item, now: datetime) -> int:
        mapped, channel_id = item.payload
        assert isinstance(mapped, Planned) and mapped.handoff is not None
        creator = self.creator or mapped.roster[0]
        now = plan.now  # the roster was turned for the shift of that moment: from there on, a handoff since counts
        rotation = Rotation(name=mapped.name, channel_id=channel_id, created_by=creator, created_at=now)
        session.add(rotation)
        session.flush()
        for position, user in enumerate(mapped.roster):
            session.add(RotationMember(rotation_id=rotation.id, user_id=user, position=position))
        repo.rotations.record_roster(session=session, rotation_id=rotation.id, now=now)
        shape = mapped.handoff
        session.add(ShiftChange(rotation_id=rotation.id, since=now, weekday=shape.weekday, at=f"{shape.at:%H:%M}",
                                tz=str(shape.tz), days=shape.days, roles=shape.roles, anchor=shape.anchor,
                                first_index=0, set_by=creator, set_at=now))
        for position, layer in enumerate(mapped.layers, start=1):
            session.add(RotationLayer(rotation_id=rotation.id, name=layer.name, days=",".join(
                str(d) for d in sorted(layer.days)), start=f"{layer.start:%H:%M}", end=f"{layer.end:%H:%M}",
                tz=str(layer.tz), roster=",".join(layer.roster), position=position, set_by=creator, set_at=now))
        people = ", ".join(f"<@{u}>" for u in mapped.roster)
        layers = "".join(f" Layer *{layer.name}* ({layer.describe()}): {', '.join(f'<@{u}>' for u in layer.roster)}."
                         for layer in mapped.layers)
        self.outbox.queue_post(session, channel_id, f":inbox_tray: This channel's rotation `{mapped.name}` was "
                               f"imported from {plan.data.title} ({escape(item.label)}): it hands off "
                               f"{describe_shape(shape)}, in this order: {people}.{layers} `/incident oncall "
                               f"{mapped.name}` shows who is on call.", now)
        return rotation.id

    def _override(self, session: Session, plan: ImportPlan, item: Item, now: datetime) -> int:
        schedule_id, user, start, end = item.payload
        rotation = self._rotation(session, plan, schedule_id)
        row = RotationOverride(rotation_id=rotation.id, user_id=user, role=Role.PRIMARY, starts_at=start,
                               ends_at=end, created_by=rotation.created_by, created_at=now)
        session.add(row)
        session.flush()
        return row.id

    def _policy(self, session: Session, plan: ImportPlan, item: Item, now: datetime) -> int:
        schedule_id, policy = item.payload
        rotation = self._rotation(session, plan, schedule_id)
        for priority in ("P0", "P1"):
            repo.schedules.set_policy(session=session, rotation_id=rotation.id, priority=priority,
                                      policy=policy_json(policy), user_id=rotation.created_by, now=now)
        self.outbox.queue_post(session, rotation.channel_id, f":rotating_light: The P0 and P1 escalation policy of "
                               f"`{rotation.name}` was imported from {plan.data.title} ({escape(item.label)}): "
                               f"{describe(policy)}.", now)
        return rotation.id

    def _heartbeat(self, session: Session, plan: ImportPlan, item: Item, now: datetime) -> int:
        seconds, rotation_name, priority = item.payload
        rotation = repo.rotations.rotation_by_name(session=session, name=rotation_name) if rotation_name else None
        row = Heartbeat(name=item.source_id, interval_seconds=seconds, rotation_id=rotation.id if rotation else None,
                        priority=Priority(priority), created_by=self.creator or "import", created_at=now,
                        silent_after=silent_after(now, timedelta(seconds=seconds)))
        session.add(row)
        session.flush()
        return row.id
