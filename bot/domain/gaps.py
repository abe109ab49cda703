"""Gaps (SPEC § Schedules): the spans in the next 14 days in which a role the escalation policy pages is held by
nobody — everyone who could hold it away, a layer without roster. Pure: who is on call is constant between the
instants where something changes (a handoff, a layer's window, an override or a time off beginning or ending), so
those instants are all that is asked.

A role counts when the policy pages it and someone would hold it by the roster alone (a roster of two has no
tertiary: that is its shape, not a gap), and the primary always does (no primary is always a gap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.layers import Layer, layer_boundaries
from bot.domain.rotation import ROLES, Handoff, Override, Role, Swap, on_call
from bot.domain.shifts import ShiftPlan
from bot.domain.time_off import Away

HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class Gap:
    role: Role
    starts_at: datetime
    ends_at: datetime


def gaps(roster: Sequence[str], now: datetime, *, handoff: Handoff | ShiftPlan, origin: datetime,
         paged: frozenset[Role], overrides: Sequence[Override] = (), swaps: Sequence[Swap] = (),
         away: Sequence[Away] = (), layers: Sequence[Layer] = (), horizon: timedelta = HORIZON) -> list[Gap]:
    end = now + horizon
    moments = {now}
    boundary = handoff.next_start(handoff.shift_start(now))
    while boundary < end:
        moments.add(boundary)
        boundary = handoff.next_start(boundary)
    for start, stop in [(o.starts_at, o.ends_at) for o in overrides] + [(a.starts_at, a.ends_at) for a in away]:
        moments.update(m for m in (start, stop) if now < m < end)
    moments.update(layer_boundaries(layers, now, end))
    ordered = sorted(moments)
    found: list[Gap] = []
    open_since: dict[Role, datetime] = {}
    for at in ordered:
        held = on_call(roster, at, handoff=handoff, origin=origin, overrides=overrides, swaps=swaps, away=away,
                       layers=layers)
        shape = None  # who the roster alone would have: asked only where a role is empty
        for role in ROLES:
            empty = role in paged and ROLES.index(role) < held.roles and held.holder(role) is None
            if empty and role is not Role.PRIMARY:
                shape = shape or on_call(roster, at, handoff=handoff, origin=origin, layers=layers)
                empty = shape.holder(role) is not None
            if empty and role not in open_since:
                open_since[role] = at
            elif not empty and role in open_since:
                found.append(Gap(role, open_since.pop(role), at))
    found += [Gap(role, since, end) for role, since in open_since.items()]
    return sorted(found, key=lambda g: (g.starts_at, ROLES.index(g.role)))
