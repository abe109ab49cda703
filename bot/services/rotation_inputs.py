"""A rotation's stored rows as the domain's inputs: what who-is-on-call reads (roster, overrides, swaps, time off,
layers, the plan of its shifts), and the conversions from rows to rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.db import repo
from bot.db.models import Rotation, RotationOverride
from bot.db.schedule_models import RotationLayer, ShiftChange
from bot.domain.layers import Layer
from bot.domain.rotation import Handoff, Override, Swap
from bot.domain.shifts import Change, ShiftPlan
from bot.domain.time_off import Away


@dataclass(frozen=True)
class Inputs:
    """What who-is-on-call reads of a rotation: its roster, overrides (and their rows), swaps, time off, layers and
    the plan of its shifts."""

    rotation: Rotation
    members: list[str]
    stored: list[RotationOverride]
    plan: ShiftPlan
    overrides: list[Override]
    swaps: list[Swap]
    away: list[Away]
    layers: list[Layer]

    def rules(self) -> dict:
        """The keyword arguments of on_call, schedule and gaps."""
        return {"handoff": self.plan, "origin": self.rotation.created_at, "overrides": self.overrides,
                "swaps": self.swaps, "away": self.away, "layers": self.layers}


def inputs_of(session, base: Handoff, rotations: Sequence[Rotation], since: datetime) -> dict[int, Inputs]:
    """Everything who-is-on-call reads of each rotation from `since` on, in six statements whatever their number
    (`oncall` shows a dozen rotations: one read per rotation and kind of row made it 70 statements)."""
    ids = [r.id for r in rotations if r.id is not None]
    rosters = repo.rotations.rosters_of(session=session, rotation_ids=ids)
    stored = repo.rotations.overrides_of(session=session, rotation_ids=ids, ending_after=since)
    plans = plans_of(session, base, rotations)
    swaps = repo.rotations.swaps_of(session=session,
                                    from_shift={i: plan.shift_index(since) for i, plan in plans.items()})
    layers = {i: [layer_of(row) for row in rows] for i, rows in repo.schedules.layers_of(session=session,
                                                                                          rotation_ids=ids).items()}
    people = {i: {*rosters[i], *(o.user_id for o in stored[i]),
                  *(u for layer in layers.get(i, []) for u in layer.roster)} for i in ids}
    everyone = sorted(set().union(*people.values()))
    away = [Away(t.user_id, t.starts_at, t.ends_at)
            for t in repo.schedules.time_off_of(session=session, user_ids=everyone, ending_after=since)]
    found = {}
    for rotation in rotations:
        if (i := rotation.id) is None:
            continue
        found[i] = Inputs(rotation, rosters[i], stored[i], plans[i],
                          [Override(o.user_id, o.role, o.starts_at, o.ends_at, created=o.id or 0) for o in stored[i]],
                          [Swap(s.user_a, s.user_b, s.shift_index) for s in swaps[i]],
                          [a for a in away if a.user_id in people[i]], layers.get(i, []))
    return found


def plans_of(session, base: Handoff, rotations: Sequence[Rotation]) -> dict[int, ShiftPlan]:
    """Each rotation's shifts over time (`rotation set`), read in one statement."""
    changes = repo.schedules.shift_changes_of(session=session, rotation_ids=[r.id for r in rotations if r.id])
    return {r.id: shift_plan(base, r.created_at, changes.get(r.id, [])) for r in rotations if r.id}


def shift_plan(base: Handoff, origin: datetime, rows: Sequence[ShiftChange]) -> ShiftPlan:
    """A rotation's plan from its stored changes (none: the team's weekly handoff from `origin` on)."""
    return ShiftPlan(base, origin, [
        Change(row.since, Handoff(row.weekday, time.fromisoformat(row.at), ZoneInfo(row.tz), row.days, row.roles,
                                  row.anchor), row.first_index) for row in rows])


def layer_of(row: RotationLayer) -> Layer:
    return Layer(row.name, frozenset(int(d) for d in row.days.split(",") if d), time.fromisoformat(row.start),
                 time.fromisoformat(row.end), ZoneInfo(row.tz), tuple(u for u in row.roster.split(",") if u))
