"""What an Opsgenie schedule becomes here (SPEC § Moving in, `--plan`). Pure: the source's JSON and an instant.

Opsgenie's rotations are cumulative (docs/research/opsgenie-pagerduty-apis.md § 1.2): everyone on call in any of a
schedule's rotations is notified at once. Here one person holds the pager, so a schedule maps when its rotations
never overlap: one rotation, or rotations whose time restrictions tile the week (a day and a night rotation). Each
rotation turns every `length` days or weeks from its `startDate`; `hourly` rotations do not map (a shift here is
whole days).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time

from bot.domain.importing import DAY, Planned, SourceLayer, _zone, assemble, rotation_name

UNITS = {"daily": DAY, "weekly": 7 * DAY}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SLOTS = 7 * 48  # Opsgenie restrictions start and end on the hour or half-hour


def _at(hour: object, minute: object) -> time | None:
    if not isinstance(hour, int) or not isinstance(minute, int) or not (0 <= hour <= 24 and 0 <= minute < 60):
        return None
    return time(0) if hour == 24 else time(hour, minute)


def _windows(restriction: dict | None, name: str) -> tuple[tuple[frozenset[int], time, time], ...] | str | None:
    """Opsgenie's `timeRestriction` as our windows (days, start, end), or why not."""
    if not restriction:
        return None
    if restriction.get("type") == "time-of-day":
        inner = restriction.get("restriction") or {}
        start, end = _at(inner.get("startHour"), inner.get("startMin")), _at(inner.get("endHour"), inner.get("endMin"))
        if start is None or end is None:
            return f"rotation {name!r} has a time restriction I cannot read"
        return ((frozenset(range(7)), start, end),)
    if restriction.get("type") != "weekday-and-time-of-day":
        return f"rotation {name!r} has a time restriction of type {restriction.get('type')!r}"
    shapes: dict[tuple[time, time], set[int]] = {}
    for item in restriction.get("restrictions") or []:
        day, last = str(item.get("startDay", "")).lower(), str(item.get("endDay", "")).lower()
        start, end = _at(item.get("startHour"), item.get("startMin")), _at(item.get("endHour"), item.get("endMin"))
        if day not in WEEKDAYS or start is None or end is None:
            return f"rotation {name!r} has a time restriction I cannot read"
        if day != last or (end <= start and end != time(0)):
            return (f"rotation {name!r} has a restriction running from {day} to {last}: here a window is a time "
                    "of day on some weekdays")
        shapes.setdefault((start, end), set()).add(WEEKDAYS.index(day))
    if not shapes:
        return f"rotation {name!r} has an empty time restriction"
    return tuple((frozenset(days), start, end) for (start, end), days in shapes.items())


def _slots(windows: tuple[tuple[frozenset[int], time, time], ...] | None) -> set[int]:
    """The half-hours of the week (0 = Monday 00:00 on the schedule's clock) a rotation is on call."""
    if windows is None:
        return set(range(SLOTS))
    found = set()
    for days, start, end in windows:
        first = start.hour * 2 + start.minute // 30
        last = end.hour * 2 + end.minute // 30
        length = (last - first) % 48 or 48
        for day in days:
            found |= {(day * 48 + first + k) % SLOTS for k in range(length)}
    return found


def _slot_text(slot: int) -> str:
    return f"{WEEKDAYS[slot // 48].capitalize()} {slot % 48 // 2:02d}:{slot % 2 * 30:02d}"


def _overlaps(layers: list[SourceLayer]) -> str | None:
    """Why rotations that are on call together (or leave a gap) cannot be one pager here, or None."""
    counts = [0] * SLOTS
    for layer in layers:
        for slot in _slots(layer.windows if isinstance(layer.windows, tuple) else None):
            counts[slot] += 1
    if (slot := next((s for s in range(SLOTS) if counts[s] > 1), None)) is not None:
        return (f"its rotations are on call together (from {_slot_text(slot)}): Opsgenie notifies all of them at "
                "once, here one person holds the pager")
    if (slot := next((s for s in range(SLOTS) if counts[s] == 0), None)) is not None:
        return f"nobody is on call from {_slot_text(slot)} (here someone always is)"
    return None


def opsgenie_schedule(schedule: dict, slack_of: Mapping[str, str], now: datetime) -> Planned:
    """`slack_of`: Opsgenie user id → Slack user id, for the users matched by email."""
    source_id, name = str(schedule.get("id", "")), rotation_name(str(schedule.get("name") or schedule.get("id")))
    tz = _zone(schedule.get("timezone"))
    if tz is None:
        return Planned(source_id, name, (f"unknown time zone {schedule.get('timezone')!r}",))
    if schedule.get("enabled") is False:
        return Planned(source_id, name, ("it is disabled at Opsgenie",))
    layers, problems = [], []
    for rotation in schedule.get("rotations") or []:
        label = str(rotation.get("name") or rotation.get("id"))
        ends = datetime.fromisoformat(rotation["endDate"]) if rotation.get("endDate") else None
        if ends is not None and ends <= now:
            continue
        unit = UNITS.get(str(rotation.get("type")))
        if unit is None:
            problems.append(f"rotation {label!r} turns {rotation.get('type')}: here a shift is whole days")
            continue
        others = {p.get("type") for p in rotation.get("participants") or []} - {"user"}
        if others:
            problems.append(f"rotation {label!r} has participants of type {', '.join(sorted(map(str, others)))}: "
                            "here a roster is people")
            continue
        length = rotation.get("length") or 1
        layers.append(SourceLayer(label, tuple(p["id"] for p in rotation.get("participants") or []),
                                  datetime.fromisoformat(rotation["startDate"]).astimezone(tz),
                                  int(length) * unit, _windows(rotation.get("timeRestriction"), label),
                                  datetime.fromisoformat(rotation["startDate"]), ends))
    if problems:
        return Planned(source_id, name, tuple(problems))
    if len(layers) > 1 and not any(isinstance(layer.windows, str) for layer in layers):
        if (why := _overlaps(layers)) is not None:
            return Planned(source_id, name, (why,))
        layers = [layers[-1], *layers[:-1]]  # the rest of the week: the base, without its window
        layers[0] = replace(layers[0], windows=None)
    elif len(layers) == 1 and isinstance(layers[0].windows, tuple):
        return Planned(source_id, name, (f"rotation {layers[0].name!r} is restricted and nobody is on call outside "
                                         "it (here someone always is)",))
    return assemble(source_id, name, tz, layers, slack_of, now)

