"""A rotation's time cut where who is on call may change — its handoffs, its layers' windows, time off beginning
and ending — for the calendar feeds and the web page: within a segment the roster's answer is one (overrides are
shown as events of their own). Pure."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from bot.domain.layers import layer_boundaries
from bot.domain.rotation import OnCall, Role, on_call, schedule


def segments(roster: Sequence[str], moment: datetime, *, count: int,
             **rules) -> list[tuple[datetime, datetime, OnCall]]:
    """(from, to, who) for now and the next `count` shifts, each shift cut at its layers' windows; overrides are
    shown apart, as events of their own."""
    found = []
    for shift in schedule(roster, moment, count=count, **rules):
        start = max(shift.shift_start, moment) if not found else shift.shift_start
        away = {m for a in rules.get("away") or () for m in (a.starts_at, a.ends_at) if start < m < shift.shift_end}
        cuts = sorted({start, *layer_boundaries(rules.get("layers") or (), start, shift.shift_end), *away,
                       shift.shift_end})
        for begin, end in itertools.pairwise(cuts):
            found.append((begin, end, on_call(roster, begin, **rules)))
    return found


def held_spans(user: str, roster: Sequence[str], since: datetime, until: datetime, *, limit: int,
               **rules) -> list[tuple[Role, datetime, datetime]]:
    """(role, from, to) for each stretch of [since, until) in which `user` holds a role — cut where anything can
    change it: handoffs, layers' windows, overrides' edges (time off is not asked: it is what this is for)."""
    handoff, overrides = rules["handoff"], rules.get("overrides") or ()
    cuts = {since, until, *layer_boundaries(rules.get("layers") or (), since, until),
            *(m for o in overrides for m in (o.starts_at, o.ends_at) if since < m < until)}
    boundary = handoff.next_start(handoff.shift_start(since))
    while boundary < until:
        cuts.add(boundary)
        boundary = handoff.next_start(boundary)
    found: list[tuple[Role, datetime, datetime]] = []
    for begin, end in itertools.pairwise(sorted(cuts)):
        held = on_call(roster, begin, **{**rules, "away": ()})
        for role, holder in held.chain:
            if holder != user:
                continue
            if found and found[-1][0] == role and found[-1][2] == begin:
                found[-1] = (role, found[-1][1], end)
            elif len(found) < limit:
                found.append((role, begin, end))
    return found
