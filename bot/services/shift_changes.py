"""`rotation set <name> handoff|shift|roles` (SPEC § Schedules): a rotation's own handoff, shift length and number
of roles, applied from the next boundary so whoever is on call now stays on call; announced in the rotation's
channel with the next four shifts, in the transaction that stores the change."""

from __future__ import annotations

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Rotation
from bot.db.schedule_models import ShiftChange
from bot.domain.rotation import Override, Swap, schedule
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

    def _next_shifts(self, session: Session, rotation: Rotation, plan: ShiftPlan, change: Change) -> list[str]:
        members = [m.user_id for m in repo.rotations.roster(session=session, rotation_id=rotation.id)]
        stored = repo.rotations.overrides_for(session=session, rotation_id=rotation.id, ending_after=change.since)
        overrides = [Override(o.user_id, o.role, o.starts_at, o.ends_at, created=o.id or 0) for o in stored]
        swaps = [Swap(s.user_a, s.user_b, s.shift_index) for s in repo.rotations.swaps_for(
            session=session, rotation_id=rotation.id, from_shift=change.first_index)]
        shifts = schedule(members, change.since, handoff=plan, origin=rotation.created_at, count=SHIFTS_SHOWN - 1,
                          overrides=overrides, swaps=swaps)
        return [f"• *{date_token(s.shift_start)}*–{date_token(s.shift_end)}: {roles_line(s)}" for s in shifts]
