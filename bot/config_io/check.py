"""What the file means, checked before anything is planned: names given once, timezones, days and hours, policies and
holiday calendars the bot knows, rotations that exist, and every person resolved to a Slack id (by the id, else by
an email address someone verified here). Every problem is named by its place in the file; any problem and nothing
is changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_io import model
from bot.domain.errors import UserError
from bot.domain.escalation import MAX_MINUTES, Policy, Step
from bot.domain.holidays import parse_calendar
from bot.domain.incident_types import BUILT_IN
from bot.domain.layers import Layer, parse_layer
from bot.domain.routes import parse_matchers

Lookup = Callable[[list[str]], dict[str, list[str]]]  # emails -> the Slack ids that verified each


def zone(name: str) -> ZoneInfo | None:
    """An IANA zone as `rotation set` takes it (`Europe/Berlin` or `UTC`), else None."""
    try:
        if name.upper() == "UTC":
            return ZoneInfo("UTC")
        return ZoneInfo(name) if "/" in name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def layer_of(spec: model.Layer) -> Layer:
    """The domain's layer (UserError when its days or hours say nothing the bot understands)."""
    found = zone(spec.timezone)
    if found is None:
        raise UserError(f"`{spec.timezone}` is not a timezone I know: say an IANA name like `Asia/Tokyo`.")
    layer = parse_layer(spec.name, spec.days, spec.hours, None, found)
    return Layer(layer.name, layer.days, layer.start, layer.end, found, tuple(p.slack_id or "" for p in spec.roster))


def seconds_of(wait: str) -> int:
    return int(wait[:-1]) * (60 if wait.endswith("m") else 1)


def policy_of(spec: model.Policy) -> Policy:
    """The domain's policy (UserError as `rotation escalation` would refuse it)."""
    steps = []
    for index, item in enumerate(spec.steps):
        seconds = seconds_of(item.wait) if item.wait else None
        if seconds is not None and not 1 <= seconds <= MAX_MINUTES * 60:
            raise UserError(f"steps[{index}]: a wait is from 1s to {MAX_MINUTES}m")
        if item.page == "channel" and index != len(spec.steps) - 1:
            raise UserError(f"steps[{index}]: `page: channel` (@here in the rotation's channel) is always the "
                            "last step")
        if item.person is not None:
            steps.append(Step("person", seconds, item.person.slack_id))
        elif item.group is not None:
            steps.append(Step("group", seconds, item.group.id, item.group.handle.lstrip("@"),
                              tuple(item.group.members)))
        else:
            steps.append(Step(item.page or "channel", seconds))
    if spec.repeat and steps[-1].seconds is None:
        raise UserError("a policy that repeats needs `wait` on its last step too")
    return Policy(tuple(steps), spec.repeat)


def calendar_code(text: str) -> str:
    return "none" if text.strip().lower() == "none" else parse_calendar(text).code


def _twice(names: list[str], what: str) -> list[str]:
    return [f"{what} `{name}` is named {n} times" for name, n in Counter(names).items() if n > 1]


class Checker:
    """`lookup`: who verified each email address (the database's answer); `kept`: the rotations the database
    keeps beside the file's (none with --prune); `channels`: the channels those kept rotations hold."""

    def __init__(self, lookup: Lookup, kept: set[str], channels: dict[str, str]) -> None:
        self.lookup, self.kept, self.channels = lookup, kept, channels
        self.problems: list[str] = []
        self.found: dict[str, list[str]] = {}

    def check(self, config: model.ConfigFile) -> model.ConfigFile:
        """The file with every person given a Slack id; FileProblems naming each problem."""
        emails = [p.email for p in _people(config) if p.email]
        self.found = {k: v for k, v in self.lookup(sorted({e.lower() for e in emails})).items()} if emails else {}
        rotations = [self._rotation(f"rotations[{i}] ({r.name})", r) for i, r in enumerate(config.rotations)]
        named = {r.name for r in config.rotations} | self.kept
        holidays = [self._holidays(f"holidays[{i}]", h) for i, h in enumerate(config.holidays)]
        for i, route in enumerate(config.routes):
            self._route(f"routes[{i}] ({route.key()})", route, named)
        for i, kind in enumerate(config.types):
            where = f"types[{i}] ({kind.name})"
            if kind.name == BUILT_IN:
                self.problems.append(f"{where}: `{BUILT_IN}` is built in (private, always offered): leave it out")
            if kind.rotation and kind.rotation not in named:
                self.problems.append(f"{where}: there is no rotation `{kind.rotation}` in the file or the database")
        self.problems += _twice([r.name for r in config.rotations], "the rotation")
        self.problems += _twice([r.channel for r in config.rotations], "the channel")
        self.problems += _twice([h.slack_id or "" for h in holidays if h.slack_id], "holidays of")
        self.problems += _twice([r.key() for r in config.routes], "the route")
        self.problems += _twice([t.name for t in config.types], "the type")
        self.problems += _twice([c.name.lower() for c in config.components], "the component")
        for rotation in config.rotations:
            other = self.channels.get(rotation.channel)
            if other and other != rotation.name:
                self.problems.append(f"rotations ({rotation.name}): the channel {rotation.channel} belongs to the "
                                     f"rotation `{other}`, which the file leaves as it is (one channel, one rotation)")
        if self.problems:
            raise model.FileProblems(self.problems)
        return config.model_copy(update={"rotations": rotations, "holidays": holidays})

    def _person(self, where: str, person: model.PersonRef) -> model.PersonRef:
        if not person.email:
            return person
        users = self.found.get(person.email.lower(), [])
        if person.slack_id:
            if users and person.slack_id not in users:
                self.problems.append(f"{where}: {person.email} is {', '.join(users)} here, not {person.slack_id}")
            return person
        if not users:
            self.problems.append(f"{where}: nobody here verified {person.email} as their email (a verified email "
                                 "contact method): give their slack_id")
            return person
        if len(users) > 1:
            self.problems.append(f"{where}: {person.email} was verified by several people ({', '.join(users)}): "
                                 "give the slack_id")
            return person
        return person.model_copy(update={"slack_id": users[0]})

    def _people(self, where: str, people: list[model.PersonRef]) -> list[model.PersonRef]:
        resolved = [self._person(f"{where}[{i}]", p) for i, p in enumerate(people)]
        self.problems += [f"{where}: {p} is named {n} times" for p, n in
                          Counter(p.slack_id for p in resolved if p.slack_id).items() if n > 1]
        return resolved

    def _rotation(self, where: str, rotation: model.Rotation) -> model.Rotation:
        handoff = rotation.handoff
        if zone(handoff.timezone) is None:
            self.problems.append(f"{where}.handoff.timezone: `{handoff.timezone}` is not a timezone I know (an IANA "
                                 "name like Europe/Berlin, or UTC)")
        first = handoff.first_shift
        if first is not None and model.WEEKDAYS[first.weekday()] != handoff.weekday:
            self.problems.append(f"{where}.handoff.first_shift: {first} is a {model.WEEKDAYS[first.weekday()]}, "
                                 f"not the handoff's weekday ({handoff.weekday})")
        roster = self._people(f"{where}.roster", rotation.roster)
        layers = []
        for i, layer in enumerate(rotation.layers):
            place = f"{where}.layers[{i}] ({layer.name})"
            layer = layer.model_copy(update={"roster": self._people(f"{place}.roster", layer.roster)})
            try:
                layer_of(layer)
            except UserError as exc:
                self.problems.append(f"{place}: {exc}")
            layers.append(layer)
        self.problems += [f"{where}: {p}" for p in _twice([la.name for la in rotation.layers], "the layer")]
        policies = {}
        for priority, policy in rotation.policies.items():
            place = f"{where}.policies.{priority}"
            steps = [s.model_copy(update={"person": self._person(f"{place}.steps[{i}].person", s.person)})
                     if s.person else s for i, s in enumerate(policy.steps)]
            policies[priority] = policy.model_copy(update={"steps": steps})
            try:
                policy_of(policies[priority])
            except UserError as exc:
                self.problems.append(f"{place}: {exc}")
        return rotation.model_copy(update={"roster": roster, "layers": layers, "policies": policies})

    def _holidays(self, where: str, holidays: model.Holidays) -> model.Holidays:
        if not holidays.slack_id and not holidays.email:
            self.problems.append(f"{where}: say whose holidays these are (slack_id or email)")
            return holidays
        person = self._person(where, holidays.person())
        try:
            code = calendar_code(holidays.calendar)
        except UserError as exc:
            self.problems.append(f"{where}.calendar: {exc}")
            code = holidays.calendar
        return holidays.model_copy(update={"slack_id": person.slack_id, "calendar": code})

    def _route(self, where: str, route: model.Route, named: set[str]) -> None:
        try:
            parse_matchers(route.key())
        except UserError as exc:
            self.problems.append(f"{where}.match: {exc}")
        if route.rotation not in named:
            self.problems.append(f"{where}: there is no rotation `{route.rotation}` in the file or the database")


def _people(config: model.ConfigFile) -> list[model.PersonRef]:
    found = [h.person() for h in config.holidays if h.slack_id or h.email]
    for rotation in config.rotations:
        found += rotation.roster + [p for layer in rotation.layers for p in layer.roster]
        found += [s.person for policy in rotation.policies.values() for s in policy.steps if s.person]
    return found
