"""A rotation's stored rows as the domain's inputs: what who-is-on-call reads (roster, overrides, swaps, time off,
layers, the plan of its shifts), and the conversions from rows to rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

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


def shift_plan(base: Handoff, origin: datetime, rows: Sequence[ShiftChange]) -> ShiftPlan:
    """A rotation's plan from its stored changes (none: the team's weekly handoff from `origin` on)."""
    return ShiftPlan(base, origin, [
        Change(row.since, Handoff(row.weekday, time.fromisoformat(row.at), ZoneInfo(row.tz), row.days, row.roles,
                                  row.anchor), row.first_index) for row in rows])


def layer_of(row: RotationLayer) -> Layer:
    return Layer(row.name, frozenset(int(d) for d in row.days.split(",") if d), time.fromisoformat(row.start),
                 time.fromisoformat(row.end), ZoneInfo(row.tz), tuple(u for u in row.roster.split(",") if u))
