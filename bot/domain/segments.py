"""A rotation's time cut where who is on call may change — its handoffs and its layers' windows — for the calendar
feeds and the web page: within a segment the roster's answer is one. Pure."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from bot.domain.layers import layer_boundaries
from bot.domain.rotation import OnCall, on_call, schedule


def segments(roster: Sequence[str], moment: datetime, *, count: int,
             **rules) -> list[tuple[datetime, datetime, OnCall]]:
    """(from, to, who) for now and the next `count` shifts, each shift cut at its layers' windows; overrides are
    shown apart, as events of their own."""
    found = []
    for shift in schedule(roster, moment, count=count, **rules):
        start = max(shift.shift_start, moment) if not found else shift.shift_start
        cuts = [start, *layer_boundaries(rules.get("layers") or (), start, shift.shift_end), shift.shift_end]
        for begin, end in itertools.pairwise(cuts):
            found.append((begin, end, on_call(roster, begin, **rules)))
    return found
