"""What a source's schedule becomes here (SPEC § Moving in, `--plan`): a rotation — its handoff, its roster in the
order that gives the source's answer, its layers — or why not. Pure: the source's JSON and an instant.

PagerDuty (docs/research/opsgenie-pagerduty-apis.md § 2.2): a schedule's layers each turn every
`rotation_turn_length_seconds` from `rotation_virtual_start`; the lowest layer wins where they overlap (the API
lists it first); restrictions limit a layer to windows of the day or week. Here a rotation's layers share its one
handoff, so a schedule maps when its layers turn together: whole days (1–28), one phase. Each roster is rotated so
that this rotation's shift k is the source's turn at the same time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.layers import Layer
from bot.domain.rotation import Handoff

DAY = 86400


@dataclass(frozen=True)
class Planned:
    """One source schedule: `problems` empty means it can be imported as `handoff`, `roster`, `layers`."""

    source_id: str
    name: str
    problems: tuple[str, ...]
    handoff: Handoff | None = None
    roster: tuple[str, ...] = ()
    layers: tuple[Layer, ...] = ()


def rotation_name(name: str) -> str:
    """`Payments Primary` → `payments-primary` (a rotation name: lowercase, digits, `-`, `_`)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.strip().lower()).strip("-_")
    return (slug or "imported")[:80]


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _turned(users: list[str], start: datetime, turn: int, shift_start: datetime) -> tuple[str, ...]:
    """The layer's users in the order that makes shift 0 (starting at `shift_start`) the source's turn then."""
    index = int((shift_start - start).total_seconds() // turn) % len(users)
    return tuple(users[index:] + users[:index])


def _windows(restrictions: list[dict], tz: ZoneInfo, name: str) -> tuple[frozenset[int], time, time] | str:
    """Restrictions as one window on some days, or why they are not one."""
    shapes = {(r.get("start_time_of_day"), r.get("duration_seconds")) for r in restrictions}
    if len(shapes) != 1:
        return f"layer {name!r} has restrictions of different hours"
    start_text, seconds = shapes.pop()
    if not isinstance(seconds, int) or not 0 < seconds < DAY or not isinstance(start_text, str):
        return f"layer {name!r} has a restriction of a day or more"
    start = time.fromisoformat(start_text)
    end = (datetime.combine(datetime(2001, 1, 1), start) + timedelta(seconds=seconds)).time()
    if all(r.get("type") == "daily_restriction" for r in restrictions):
        return frozenset(range(7)), start, end
    days = {r.get("start_day_of_week") for r in restrictions}
    if any(r.get("type") != "weekly_restriction" for r in restrictions) or not days <= set(range(1, 8)):
        return f"layer {name!r} mixes daily and weekly restrictions"
    return frozenset(d - 1 for d in days), start, end


def pagerduty_schedule(schedule: dict, slack_of: Mapping[str, str], now: datetime) -> Planned:
    """`slack_of`: PagerDuty user id → Slack user id, for the users matched by email."""
    name, problems = rotation_name(str(schedule.get("name") or schedule.get("id"))), []
    tz = _zone(schedule.get("time_zone"))
    layers = [layer for layer in schedule.get("schedule_layers") or []
              if not layer.get("end") or datetime.fromisoformat(layer["end"]) > now]
    if tz is None:
        return Planned(schedule.get("id", ""), name, (f"unknown time zone {schedule.get('time_zone')!r}",))
    if not layers:
        return Planned(schedule.get("id", ""), name, ("no layer in force",))
    turns = {layer.get("rotation_turn_length_seconds") for layer in layers}
    starts = [datetime.fromisoformat(layer["rotation_virtual_start"]).astimezone(tz) for layer in layers]
    turn = turns.pop() if len(turns) == 1 else None
    if turn is None or turn % DAY or not 1 <= turn // DAY <= 28:
        problems.append("its layers turn at different lengths, or not every 1 to 28 whole days")
    elif any((s - starts[0]).total_seconds() % turn for s in starts):  # one phase: every handoff together
        problems.append("its layers hand off at different times")
    missing = sorted({u["user"]["id"] for layer in layers for u in layer.get("users") or []} - set(slack_of))
    if missing:
        problems.append(f"{len(missing)} user(s) without a Slack account found by their email: "
                        + ", ".join(missing[:5]))
    if problems:
        return Planned(schedule.get("id", ""), name, tuple(problems))
    first = starts[0]
    handoff = Handoff(first.weekday(), first.time().replace(tzinfo=None), tz, turn // DAY, 1, first.date())
    shift_start = handoff.shift_start(now)
    roster: tuple[str, ...] = ()
    ours: list[Layer] = []
    for layer, start in reversed(list(zip(layers, starts, strict=True))):  # lowest priority first: later wins here
        users = [slack_of[u["user"]["id"]] for u in layer.get("users") or []]
        turned = _turned(users, start, turn, shift_start) if users else ()
        restrictions = layer.get("restrictions") or []
        if not restrictions and not ours and not roster:
            roster = turned
            continue
        window = _windows(restrictions, tz, str(layer.get("name"))) if restrictions else (frozenset(range(7)),
                                                                                        time(0), time(0))
        if isinstance(window, str):
            return Planned(schedule.get("id", ""), name, (window,))
        days, begin, end = window
        ours.append(Layer(rotation_name(str(layer.get("name") or layer.get("id"))), days, begin, end, tz, turned))
    return Planned(schedule.get("id", ""), name, (), handoff, roster, tuple(ours))
