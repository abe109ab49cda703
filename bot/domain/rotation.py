"""Who is on call at an instant (SPEC §1): a pure function of the roster, the handoff and overrides.

Shifts are counted on the wall clock of the handoff's timezone: by default a shift starts every week on the handoff
weekday at the handoff time, so a DST change makes one shift an hour shorter or longer but never moves the handoff
(a rotation may set other shift lengths and fewer roles: bot/domain/shifts.py). Shift k (k counts whole shifts
since the rotation's start, the last handoff at or before its creation) has primary r[k mod n], secondary
r[(k+1) mod n], tertiary r[(k+2) mod n]; a role that would repeat someone already holding an earlier role (rosters
of one or two), or that the rotation does not have, is held by nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.layers import Layer, layer_at
from bot.domain.time_off import Away, away_at, stand_ins

if TYPE_CHECKING:
    from bot.domain.shifts import ShiftPlan


class Role(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"


ROLES = (Role.PRIMARY, Role.SECONDARY, Role.TERTIARY)


_A_MONDAY = date(2001, 1, 1)


@dataclass(frozen=True)
class Handoff:
    """When shifts change: a weekday (0 = Monday) and a wall-clock time in a timezone, every `days` days (7 by
    default: the seeds' week); `roles` how many of primary, secondary, tertiary the rotation has. `anchor`: the date
    of one handoff, which fixes the cycle of shifts that are not a week long."""

    weekday: int
    at: time
    tz: tzinfo
    days: int = 7
    roles: int = 3
    anchor: date | None = None

    def boundary_on(self, day: date) -> datetime:
        return datetime.combine(day, self.at, tzinfo=self.tz).astimezone(UTC)

    def _cycle_start(self, day: date) -> date:
        """The handoff day at or before `day`."""
        anchor = self.anchor or _A_MONDAY + timedelta(days=self.weekday)
        return day - timedelta(days=(day - anchor).days % self.days)

    def shift_start(self, moment: datetime) -> datetime:
        """The last handoff at or before `moment`."""
        day = self._cycle_start(moment.astimezone(self.tz).date())
        boundary = self.boundary_on(day)
        if boundary > moment:
            boundary = self.boundary_on(day - timedelta(days=self.days))
        return boundary

    def next_start(self, shift_start: datetime) -> datetime:
        return self.boundary_on(shift_start.astimezone(self.tz).date() + timedelta(days=self.days))

    def shift_index(self, moment: datetime, origin: datetime) -> int:
        """Whole shifts from the shift containing `origin` to the one containing `moment` (negative before it)."""
        first = self.shift_start(origin).astimezone(self.tz).date()
        this = self.shift_start(moment).astimezone(self.tz).date()
        return (this - first).days // self.days

    def start_of(self, index: int, origin: datetime) -> datetime:
        first = self.shift_start(origin).astimezone(self.tz).date()
        return self.boundary_on(first + timedelta(days=self.days * index))

    def shape_at(self, moment: datetime) -> Handoff:
        """The handoff in force at `moment` (a rotation's plan may change it: bot/domain/shifts.py)."""
        return self


@dataclass(frozen=True)
class Override:
    """`user` holds `role` from `starts_at` until `ends_at` (the later-created override wins where two overlap)."""

    user_id: str
    role: Role
    starts_at: datetime
    ends_at: datetime
    created: int = 0  # ordering: higher wins

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


@dataclass(frozen=True)
class Swap:
    """`a` and `b` exchange whatever roles they hold during shift `shift_index`."""

    a: str
    b: str
    shift_index: int


@dataclass(frozen=True)
class OnCall:
    shift_index: int
    shift_start: datetime
    shift_end: datetime
    primary: str | None
    secondary: str | None
    tertiary: str | None
    overridden: frozenset[Role] = field(default_factory=frozenset)
    roles: int = 3  # how many roles the rotation has in this shift (`rotation set … roles`)
    covering: tuple[tuple[Role, str], ...] = ()  # (role, who is away) where someone stands in (time off)
    layer: str | None = None  # the layer whose roster holds the roles now (None: the base roster)

    def holder(self, role: Role) -> str | None:
        return {Role.PRIMARY: self.primary, Role.SECONDARY: self.secondary, Role.TERTIARY: self.tertiary}[role]

    @property
    def chain(self) -> list[tuple[Role, str]]:
        """Primary → secondary → tertiary, skipping empty roles and people already earlier in the chain."""
        seen: set[str] = set()
        chain = []
        for role in ROLES:
            user = self.holder(role)
            if user and user not in seen:
                seen.add(user)
                chain.append((role, user))
        return chain

    @property
    def people(self) -> set[str]:
        return {u for u in (self.primary, self.secondary, self.tertiary) if u}


def base_roles(roster: Sequence[str], k: int, count: int = 3) -> dict[Role, str | None]:
    n = len(roster)
    roles: dict[Role, str | None] = {}
    for offset, role in enumerate(ROLES):
        roles[role] = roster[(k + offset) % n] if offset < min(n, count) else None
    return roles


def on_call(roster: Sequence[str], moment: datetime, *, handoff: Handoff | ShiftPlan, origin: datetime,
            overrides: Sequence[Override] = (), swaps: Sequence[Swap] = (), away: Sequence[Away] = (),
            layers: Sequence[Layer] = ()) -> OnCall:
    """Who holds each role at `moment`. `origin` is the rotation's creation time; `away`: time off (whoever is
    away holds no role: bot/domain/time_off.py); `layers`: rosters for windows of the week (bot/domain/layers.py)."""
    layer = layer_at(layers, moment) if layers else None
    if layer is not None:
        roster = layer.roster
    k = handoff.shift_index(moment, origin)
    start = handoff.start_of(k, origin)
    end = handoff.next_start(start)
    count = handoff.shape_at(moment).roles
    roles = base_roles(roster, k, count) if roster else dict.fromkeys(ROLES)
    base = [roles[role] for role in ROLES]
    for swap in swaps:
        if swap.shift_index == k:
            roles = {role: (swap.b if u == swap.a else swap.a if u == swap.b else u) for role, u in roles.items()}
    overridden = set()
    for override in sorted(overrides, key=lambda o: o.created):
        if override.covers(moment) and ROLES.index(override.role) < count:
            roles[override.role] = override.user_id
            overridden.add(override.role)
    holders, covering = [roles[role] for role in ROLES], []
    if away and (gone := away_at(away, moment)):
        holders, covering = stand_ins(holders, roster, gone, base)
    return OnCall(k, start, end, *holders, frozenset(overridden), count,
                  tuple((ROLES[index], user) for index, user in covering), layer.name if layer else None)


def schedule(roster: Sequence[str], moment: datetime, *, handoff: Handoff | ShiftPlan, origin: datetime, count: int,
             overrides: Sequence[Override] = (), swaps: Sequence[Swap] = (), away: Sequence[Away] = (),
             layers: Sequence[Layer] = ()) -> list[OnCall]:
    """Now, then the start of each of the next `count` shifts (as they will be when they begin)."""
    now = on_call(roster, moment, handoff=handoff, origin=origin, overrides=overrides, swaps=swaps, away=away,
                  layers=layers)
    shifts = [now]
    start = now.shift_end
    for _ in range(count):
        shift = on_call(roster, start, handoff=handoff, origin=origin, overrides=overrides, swaps=swaps, away=away,
                        layers=layers)
        shifts.append(shift)
        start = shift.shift_end
    return shifts
