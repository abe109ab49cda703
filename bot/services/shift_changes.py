"""`rotation set <name> handoff|shift|roles` (SPEC § Schedules): a rotation's own handoff, shift length and number
of roles, applied from the next boundary so whoever is on call now stays on call; announced in the rotation's
channel with the next four shifts, in the transaction that stores the change."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Rotation, RotationOverride
from bot.db.schedule_models import ShiftChange
from bot.domain.rotation import ROLES, schedule
from bot.domain.shifts import Change, ShiftPlan, describe_shape, parse_setting
from bot.services.outbox import Outbox
from bot.services.rotations import Rotations
from bot.slack.text import date_token
from bot.views.rotation import roles_line

SHIFTS_SHOWN = 4


class ShiftChanges:
    def __init__(self, db: repo.database.Database, clock: Clock, outbox: Outbox, rotations: Rotations) -> None:
        self.db, self.clock, self.outbox, self.rotations = db, clock, outbox, rotations

    def shown(self, rotation: Rotation) -> str:
        now = self.clock.now()
        with self.db.reading() as session:
            plan = self.rotations.plan_of(session, rotation)
        line = f"`{rotation.name}` hands off {describe_shape(plan.shape_at(now))}."
        coming = [c for c in plan.changes if c.since > now]
        if coming:
            line += f" From {date_token(coming[0].since)}: {describe_shape(coming[-1].handoff)}."
        return line

    def set(self, rotation: Rotation, text: str, actor: str, request_key: str | None = None) -> str:
        """Stores the change once per request, by whoever may change the roster. A change made before an earlier
        one took effect is folded into it (same moment)."""
        fields = parse_setting(text)
        now = self.clock.now()
        with self.rotations.roster_change(rotation, actor, request_key, "rotation set") as session:
            plan = self.rotations.plan_of(session, rotation)
            change = plan.changed(now, **fields)
            shape = change.handoff
            before = plan.shape_at(change.since - timedelta(seconds=1))
            if (shape.weekday, shape.at, shape.tz, shape.days, shape.anchor) != (before.weekday, before.at, before.tz,
                                                                              before.days, before.anchor):
                self._swaps_to_overrides(session, rotation, plan, change.first_index, actor, now)
            repo.schedules.set_shift_change(session=session, change=ShiftChange(
                rotation_id=rotation.id, since=change.since, weekday=shape.weekday, at=f"{shape.at:%H:%M}",
                tz=str(shape.tz), days=shape.days, roles=shape.roles, anchor=shape.anchor,
                first_index=change.first_index, set_by=actor, set_at=now), now=now)
            after = ShiftPlan(plan.base, plan.origin, [c for c in plan.changes if c.since <= now] + [change])
            coming = self._next_shifts(session, rotation, after, change)
            said = (f":calendar: <@{actor}> changed how `{rotation.name}` hands off: {describe_shape(shape)}, from "
                    f"{date_token(change.since)} (who is on call until then stays on call). The next shifts:\n"
                    + "\n".join(coming))
            self.outbox.queue_post(session, rotation.channel_id, said, now)
        self.outbox.flush_later()
        return (f"Done: `{rotation.name}` hands off {describe_shape(shape)} from {date_token(change.since)}; who is "
                f"on call until then stays on call. Said in <#{rotation.channel_id}> with the next shifts.")

    def _swaps_to_overrides(self, session: Session, rotation: Rotation, plan: ShiftPlan, first_index: int,
                            actor: str, now) -> None:
        """Swaps are kept by shift number, which a new cycle would move to other days: each swap still to come
        becomes the overrides it amounts to, over the times it was agreed for."""
        for row in repo.rotations.swaps_for(session=session, rotation_id=rotation.id, from_shift=first_index):
            start = plan.start_of(row.shift_index)
            end = plan.next_start(start)
            held = self.rotations.on_call(session, rotation, start)  # the swap applied, as agreed
            for role in ROLES:
                if held.holder(role) in (row.user_a, row.user_b):
                    session.add(RotationOverride(rotation_id=rotation.id, user_id=held.holder(role), role=role,
                                                 starts_at=max(start, now), ends_at=end, created_by=actor,
                                                 created_at=now))
            session.delete(row)
        session.flush()

    def _next_shifts(self, session: Session, rotation: Rotation, plan: ShiftPlan, change: Change) -> list[str]:
        """As they will be: time off, layers, overrides and swaps on the changed plan."""
        inputs = self.rotations.inputs(session, rotation, change.since)
        shifts = schedule(inputs.members, change.since, count=SHIFTS_SHOWN - 1, **{**inputs.rules(), "handoff": plan})
        return [f"• *{date_token(s.shift_start)}*–{date_token(s.shift_end)}: {roles_line(s)}" for s in shifts]
