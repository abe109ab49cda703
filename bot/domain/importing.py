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

from bot.domain.layers import MAX_LAYERS, Layer
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


def _wall(since: datetime, until: datetime) -> float:
    """Seconds between two instants on the wall clock of `since`'s zone: turns of whole days keep their local
    time across DST, as the handoffs here do (a week from a winter Tuesday 09:00 to a summer one is one week)."""
    return (until.astimezone(since.tzinfo).replace(tzinfo=None) - since.replace(tzinfo=None)).total_seconds()


def _turned(users: list[str], start: datetime, turn: int, shift_start: datetime) -> tuple[str, ...]:
    """The layer's users in the order that makes shift 0 (starting at `shift_start`) the source's turn then."""
    index = int(_wall(start, shift_start) // turn) % len(users)
    return tuple(users[index:] + users[:index])


def _windows(restrictions: list[dict], name: str) -> tuple[frozenset[int], time, time] | str:
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


@dataclass(frozen=True)
class SourceLayer:
    """One of a source's layers (a PagerDuty layer, an Opsgenie rotation): its users (source ids) in order, turning
    every `turn` seconds from `start`; `windows` where it is on call (None: always), or why that cannot be said."""

    name: str
    users: tuple[str, ...]
    start: datetime
    turn: int
    windows: tuple[tuple[frozenset[int], time, time], ...] | str | None = None
    begins: datetime | None = None  # when it takes effect, where the source says
    ends: datetime | None = None  # when it stops (None: never)


def pagerduty_schedule(schedule: dict, slack_of: Mapping[str, str], now: datetime) -> Planned:
    """`slack_of`: PagerDuty user id → Slack user id, for the users matched by email."""
    source_id, name = str(schedule.get("id", "")), rotation_name(str(schedule.get("name") or schedule.get("id")))
    tz = _zone(schedule.get("time_zone"))
    if tz is None:
        return Planned(source_id, name, (f"unknown time zone {schedule.get('time_zone')!r}",))
    layers = []
    for layer in schedule.get("schedule_layers") or []:  # the lowest PagerDuty layer wins: listed first
        ends = datetime.fromisoformat(layer["end"]) if layer.get("end") else None
        if ends is not None and ends <= now:
            continue
        label = str(layer.get("name") or layer.get("id"))
        restrictions = layer.get("restrictions") or []
        window = _windows(restrictions, label) if restrictions else None
        layers.append(SourceLayer(label, tuple(u["user"]["id"] for u in layer.get("users") or []),
                                  datetime.fromisoformat(layer["rotation_virtual_start"]).astimezone(tz),
                                  int(layer.get("rotation_turn_length_seconds") or 0),
                                  (window,) if isinstance(window, tuple) else window,
                                  datetime.fromisoformat(layer["start"]) if layer.get("start") else None, ends))
    return assemble(source_id, name, tz, list(reversed(layers)), slack_of, now)


def assemble(source_id: str, name: str, tz: ZoneInfo, layers: list[SourceLayer], slack_of: Mapping[str, str],
             now: datetime) -> Planned:
    """The rotation for source layers given lowest priority first (the last wins where windows overlap): the first
    unrestricted one is the base roster, every other becomes one layer per window shape."""
    if not layers:
        return Planned(source_id, name, ("no layer or rotation in force",))
    problems = []
    turns = {layer.turn for layer in layers}
    turn = turns.pop() if len(turns) == 1 else 0
    if not turn or turn % DAY or not 1 <= turn // DAY <= 28:
        problems.append("its layers turn at different lengths, or not every 1 to 28 whole days")
    elif any(_wall(layers[0].start, layer.start) % turn for layer in layers):
        problems.append("its layers hand off at different times")  # one phase: every handoff together
    missing = sorted({u for layer in layers for u in layer.users} - set(slack_of))
    if missing:
        problems.append(f"{len(missing)} user(s) without a Slack account found by their email: "
                        + ", ".join(missing[:5]))
    problems += [layer.windows for layer in layers if isinstance(layer.windows, str)]
    for layer in layers:
        if layer.begins is not None and layer.begins > now:
            problems.append(f"{layer.name!r} starts on {layer.begins:%Y-%m-%d} (a change planned there: "
                            "import after it, or make it here then)")
        if layer.ends is not None:
            problems.append(f"{layer.name!r} ends on {layer.ends:%Y-%m-%d} (a change planned there: import "
                            "after it)")
        if len(set(layer.users)) != len(layer.users):
            problems.append(f"{layer.name!r} lists someone more than once (here a roster names each person "
                            "once)")
    if not any(layer.users for layer in layers):
        problems.append("nobody is on it")
    if problems:
        return Planned(source_id, name, tuple(problems))
    first = layers[0].start
    handoff = Handoff(first.weekday(), first.time().replace(tzinfo=None), tz, turn // DAY, 1, first.date())
    shift_start = handoff.shift_start(now)
    roster: tuple[str, ...] | None = None
    ours: list[Layer] = []
    for layer in layers:
        users = [slack_of[u] for u in layer.users]
        turned = _turned(users, layer.start, turn, shift_start) if users else ()
        if layer.windows is None:  # always on call: what lies under it never shows
            roster, ours = turned, []
            continue
        label = rotation_name(layer.name)[:34]
        for n, (days, begin, end) in enumerate(layer.windows):
            named = label if len(layer.windows) == 1 else f"{label}-{n + 1}"
            while any(o.name == named for o in ours):  # two source names that read alike here
                named += "-2"
            ours.append(Layer(named, days, begin, end, tz, turned))
    if not roster:
        return Planned(source_id, name, ("its base layer (unrestricted, lowest) has nobody on it" if roster == ()
                                         else "every layer is restricted: nobody would be on call outside them",))
    if len(ours) > MAX_LAYERS:
        return Planned(source_id, name, (f"it would take {len(ours)} layers here (at most {MAX_LAYERS})",))
    return Planned(source_id, name, (), handoff, roster, tuple(ours))
