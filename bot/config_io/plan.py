"""The file against the database, both in the file's shape: what to create (+), change (~) and, with --prune,
remove (-), keyed by name (a route by its labels, holidays by person). Pure: a second plan after the first was
applied is empty.

A rotation the file names is made to match it whole (roster, handoff, layers, policies); --prune only decides
about the objects the file does not name at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config_io import model
from bot.config_io.check import layer_of, policy_of, zone
from bot.domain.escalation import Policy
from bot.domain.layers import describe_days

ORDER = ("rotation", "holidays", "route", "routes", "type", "component")


@dataclass(frozen=True)
class Change:
    op: str  # + ~ -
    kind: str  # one of ORDER
    name: str
    details: tuple[str, ...] = ()
    aspects: frozenset[str] = field(default_factory=frozenset)  # what of a rotation changes (apply writes only that)

    def lines(self) -> list[str]:
        if self.op == "~":
            return [f"~ {self.kind} {self.name}: {detail}" for detail in self.details]
        return [f"{self.op} {self.kind} {self.name}" + (f" ({'; '.join(self.details)})" if self.details else "")]


def _ids(people: list[model.PersonRef]) -> list[str]:
    return [p.slack_id or "" for p in people]


def shape_key(handoff: model.Handoff) -> tuple:
    """What the handoff's shifts are, whatever way it was written (a weekday means nothing to shifts of 1 day)."""
    tz = zone(handoff.timezone)
    weekday = handoff.weekday if handoff.shift_days % 7 == 0 else None
    return weekday, handoff.time, str(tz) if tz else handoff.timezone, handoff.shift_days, handoff.roles


def shown_handoff(handoff: model.Handoff) -> str:
    every = "" if handoff.shift_days == 7 else f", every {handoff.shift_days} days"
    roles = "" if handoff.roles == 3 else f", {handoff.roles} roles"
    return f"{handoff.weekday} {handoff.time} {handoff.timezone}{every}{roles}"


def _layer_key(layer: model.Layer) -> tuple:
    found = layer_of(layer)
    return found.name, found.days, found.start, found.end, str(found.tz), tuple(_ids(layer.roster))


def shown_layer(layer: model.Layer) -> str:
    found = layer_of(layer)
    return (f"{layer.name} {describe_days(found.days)} {found.start:%H:%M}-{found.end:%H:%M} {found.tz}: "
            + (", ".join(_ids(layer.roster)) or "nobody"))


def shown_policy(policy: Policy | None) -> str:
    if policy is None:
        return "the default chain"
    words = []
    for step in policy.steps:
        who = {"person": step.ref, "group": f"@{step.handle}"}.get(step.kind, step.kind)
        words.append(f"{who} {step.seconds // 60}m" if step.seconds and step.seconds % 60 == 0 else
                     f"{who} {step.seconds}s" if step.seconds else str(who))
    return " → ".join(words) + (f", repeat {policy.repeat}" if policy.repeat else "")


def rotation_changes(want: model.Rotation, have: model.Rotation) -> Change | None:
    details, aspects = [], set()
    if want.channel != have.channel:
        details.append(f"channel {have.channel} → {want.channel}")
        aspects.add("channel")
    if shape_key(want.handoff) != shape_key(have.handoff):
        details.append(f"handoff {shown_handoff(have.handoff)} → {shown_handoff(want.handoff)}")
        aspects.add("handoff")
    elif want.handoff.first_shift and want.handoff.first_shift != have.handoff.first_shift:
        details.append(f"first shift {have.handoff.first_shift} → {want.handoff.first_shift} (whose turn each "
                       "shift is)")
        aspects.add("handoff")
    if _ids(want.roster) != _ids(have.roster):
        had, wanted = ", ".join(_ids(have.roster)) or "nobody", ", ".join(_ids(want.roster)) or "nobody"
        details.append(f"roster {had} → {wanted}")
        aspects.add("roster")
    if [_layer_key(la) for la in want.layers] != [_layer_key(la) for la in have.layers]:
        aspects.add("layers")
        wanted, had = {la.name: la for la in want.layers}, {la.name: la for la in have.layers}
        for name, layer in wanted.items():
            if name not in had:
                details.append(f"layer added: {shown_layer(layer)}")
            elif _layer_key(layer) != _layer_key(had[name]):
                details.append(f"layer {shown_layer(had[name])} → {shown_layer(layer)}")
        details += [f"layer removed: {name}" for name in had if name not in wanted]
        if [n for n in wanted if n in had] != [n for n in had if n in wanted]:
            details.append(f"layers in order {', '.join(wanted)} (the later wins where windows overlap)")
    for priority in ("P0", "P1"):
        wanted_policy = policy_of(want.policies[priority]) if priority in want.policies else None
        had_policy = policy_of(have.policies[priority]) if priority in have.policies else None
        if wanted_policy != had_policy:
            details.append(f"{priority} policy {shown_policy(had_policy)} → {shown_policy(wanted_policy)}")
            aspects.add(priority)
    if not details:
        return None
    return Change("~", "rotation", want.name, tuple(details), frozenset(aspects))


def plan(want: model.ConfigFile, have: model.ConfigFile, prune: bool) -> list[Change]:
    changes: list[Change] = []
    had = {r.name: r for r in have.rotations}
    for rotation in want.rotations:
        if rotation.name not in had:
            changes.append(Change("+", "rotation", rotation.name, (
                f"{rotation.channel}, {shown_handoff(rotation.handoff)}, "
                f"{len(rotation.roster)} {'person' if len(rotation.roster) == 1 else 'people'}"
                + (f", {len(rotation.layers)} layer{'s' if len(rotation.layers) != 1 else ''}" if rotation.layers
                   else "") + "".join(f", {p} policy" for p in sorted(rotation.policies)),)))
        elif found := rotation_changes(rotation, had[rotation.name]):
            changes.append(found)
    named = {r.name for r in want.rotations}
    if prune:
        changes += [Change("-", "rotation", name) for name in had if name not in named]
    changes += _holidays(want, have, prune)
    changes += _routes(want, have, prune, gone={name for name in had if prune and name not in named})
    changes += _keyed("type", {t.name: t for t in want.types}, {t.name: t for t in have.types}, prune,
                      lambda t: ", ".join(w for w in ("private" if t.private else "", f"rotation {t.rotation}"
                                                      if t.rotation else "", t.priority or "") if w) or "plain")
    changes += _keyed("component", {c.name.lower(): c for c in want.components},
                      {c.name.lower(): c for c in have.components}, prune,
                      lambda c: f"{c.name} in group {c.group}" if c.group else f"{c.name}, no group")
    return changes


def _keyed(kind: str, want: dict, have: dict, prune: bool, shown) -> list[Change]:
    changes = []
    for key, item in want.items():
        if key not in have:
            changes.append(Change("+", kind, item.name, (shown(item),)))
        elif item != have[key]:
            changes.append(Change("~", kind, item.name, (f"{shown(have[key])} → {shown(item)}",)))
    if prune:
        changes += [Change("-", kind, item.name) for key, item in have.items() if key not in want]
    return changes


def _holidays(want: model.ConfigFile, have: model.ConfigFile, prune: bool) -> list[Change]:
    wanted = {h.slack_id: h.calendar for h in want.holidays if h.slack_id}
    had = {h.slack_id: h.calendar for h in have.holidays if h.slack_id}
    changes = []
    for user, calendar in wanted.items():
        if user not in had:
            changes.append(Change("+", "holidays", user, (calendar,)))
        elif had[user] != calendar:
            changes.append(Change("~", "holidays", user, (f"{had[user]} → {calendar}",)))
    if prune:
        changes += [Change("-", "holidays", user, (f"{calendar}: back to the team's",)) for user, calendar in
                    had.items() if user not in wanted]
    return changes


def route_order(want: model.ConfigFile, have: model.ConfigFile, prune: bool, gone: set[str]) -> list[str]:
    """The routes' keys in the order they are tried once applied: the file's, then (without --prune) the others."""
    wanted = [r.key() for r in want.routes]
    return wanted + [r.key() for r in have.routes if not prune and r.key() not in wanted and r.rotation not in gone]


def _routes(want: model.ConfigFile, have: model.ConfigFile, prune: bool, gone: set[str]) -> list[Change]:
    def shown(route: model.Route) -> str:
        return f"→ {route.rotation}" + (f" as {route.priority}" if route.priority else "")
    changes = []
    had = {r.key(): r for r in have.routes}
    wanted = {r.key(): r for r in want.routes}
    for key, route in wanted.items():
        if key not in had:
            changes.append(Change("+", "route", key, (shown(route),)))
        elif (route.rotation, route.priority) != (had[key].rotation, had[key].priority):
            changes.append(Change("~", "route", key, (f"{shown(had[key])} becomes {shown(route)}",)))
    changes += [Change("-", "route", key) for key, route in had.items() if key not in wanted
                and (prune or route.rotation in gone)]
    order = route_order(want, have, prune, gone)
    natural = [k for k in had if k in order] + [k for k in wanted if k not in had]
    if natural != order:
        changes.append(Change("~", "routes", "order", (f"tried in the order {'; '.join(order)}",)))
    return changes


def sort(changes: list[Change]) -> list[Change]:
    """Removals first (a removed rotation frees its channel and name), then creations, then changes."""
    rank = {"-": 0, "+": 1, "~": 2}
    return sorted(changes, key=lambda c: (rank[c.op], ORDER.index(c.kind)))
