"""The configuration file's shape: YAML read with `yaml.safe_load` into these models (unknown keys refused), written
with `yaml.safe_dump(sort_keys=False)` in a fixed order so an export is stable.

YAML 1.1 reads `10:00` as the number 600 and `no` as false: times, days and label values are strings here, so such
a value is refused with a hint to quote it rather than silently misread."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NAME = r"^[a-z0-9][a-z0-9_-]{0,79}$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
HOURS = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
WAIT = r"^[0-9]{1,5}[ms]$"
USER_ID = r"^[UW][A-Z0-9]{2,30}$"
CHANNEL_ID = r"^[CG][A-Z0-9]{2,30}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
LABEL = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
LABEL_VALUE = r"^[^,\s]+$"  # (stored as `label=value,…`: no comma, no space; at most 200, said beside it)
_TIME_FIELDS = {"time", "hours", "days", "wait", "calendar"}

Priority = Literal["P0", "P1", "P2"]
Labels = dict[Annotated[str, Field(pattern=LABEL)], Annotated[str, Field(pattern=LABEL_VALUE, max_length=200)]]
Name = Annotated[str, Field(pattern=NAME)]


PATTERN_HINTS = {"time": "a time: HH:MM on the 24-hour clock, like '09:00'",
                 "hours": "hours: HH:MM-HH:MM, like '08:00-16:00' ('22:00-06:00' runs past midnight)",
                 "wait": "a wait: minutes or seconds, like 5m or 90s",
                 "name": "a name: lowercase letters, digits, - or _",
                 "rotation": "a rotation's name: lowercase letters, digits, - or _",
                 "channel": "a Slack channel id, like C0123ABCD", "slack_id": "a Slack user id, like U0123ABCD",
                 "members": "a Slack user id, like U0123ABCD", "email": "an email address", "id": "a user group id",
                 "group": "a group name: up to 60 letters, digits, spaces and .&/+-"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRef(Strict):
    """Someone by Slack id and, when known, email; on apply the Slack id wins, else the email is looked up."""

    slack_id: str | None = Field(default=None, pattern=USER_ID)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)

    @model_validator(mode="after")
    def _someone(self) -> PersonRef:
        if not self.slack_id and not self.email:
            raise ValueError("a person needs slack_id or email")
        return self

    def label(self) -> str:
        return self.slack_id or self.email or "?"


class Handoff(Strict):
    """Shifts change on `weekday` at `time` in `timezone`, every `shift_days` days; `first_shift`: the day (on the
    handoff weekday) the roster's first person began a shift, which fixes whose turn each shift is. Left out on a
    new rotation: the first person is on call from now; on an existing one: the turns go on as they are."""

    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    time: str = Field(pattern=HHMM)
    timezone: str = Field(min_length=1, max_length=64)
    shift_days: int = Field(default=7, ge=1, le=28)
    roles: int = Field(default=3, ge=1, le=3)
    first_shift: date | None = None

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in _FULL_DAYS:
            return WEEKDAYS[_FULL_DAYS.index(value.strip().lower())]
        return value.strip().lower() if isinstance(value, str) else value


class Layer(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    days: str = Field(min_length=1, max_length=60)  # mon-fri, sat,sun, daily
    hours: str = Field(pattern=HOURS)  # 08:00-16:00; an end at or before the start runs past midnight
    timezone: str = Field(min_length=1, max_length=64)
    roster: list[PersonRef] = Field(default_factory=list, max_length=50)


class Group(Strict):
    id: str = Field(pattern=r"^S[A-Z0-9]{2,30}$")
    handle: str = Field(min_length=1, max_length=80)
    members: list[Annotated[str, Field(pattern=USER_ID)]] = Field(min_length=1, max_length=50)


class Step(Strict):
    """One of `page` (a role or the channel), `person` or `group`, and how long it waits (`5m`, `90s`)."""

    page: Literal["primary", "secondary", "tertiary", "channel"] | None = None
    person: PersonRef | None = None
    group: Group | None = None
    wait: str | None = Field(default=None, pattern=WAIT)

    @model_validator(mode="after")
    def _one_target(self) -> Step:
        if sum(x is not None for x in (self.page, self.person, self.group)) != 1:
            raise ValueError("a step names exactly one of page, person or group")
        if self.wait is None and self.page != "channel":
            raise ValueError("a step needs `wait` (like 5m), except `page: channel`")
        return self


class Policy(Strict):
    steps: list[Step] = Field(min_length=1, max_length=10)
    repeat: int = Field(default=0, ge=0, le=9)


class Rotation(Strict):
    name: Name
    channel: str = Field(pattern=CHANNEL_ID)
    handoff: Handoff
    roster: list[PersonRef] = Field(default_factory=list, max_length=200)
    layers: list[Layer] = Field(default_factory=list, max_length=8)
    policies: dict[Literal["P0", "P1"], Policy] = Field(default_factory=dict)


class Holidays(Strict):
    """Whose public holidays are this person's days off (`me holidays`): a country code (`DE-BY`) or `none`."""

    slack_id: str | None = Field(default=None, pattern=USER_ID)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    calendar: str = Field(min_length=2, max_length=24)

    def person(self) -> PersonRef:
        return PersonRef(slack_id=self.slack_id, email=self.email)


class Route(Strict):
    match: Labels = Field(min_length=1, max_length=10)
    rotation: Name
    priority: Priority | None = None

    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.match.items()))


class IncidentType(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    private: bool = False
    rotation: Name | None = None
    priority: Priority | None = None


class Component(Strict):
    # (`+` with a length, not `{1,60}`: a bounded repeat of a Unicode class compiles to megabytes in pydantic-core)
    name: str = Field(pattern=r"^[\w .&/+-]+$", max_length=60)
    group: str | None = Field(default=None, pattern=r"^[\w .&/+-]+$", max_length=60)


class ConfigFile(Strict):
    version: Literal[1] = 1
    rotations: list[Rotation] = Field(default_factory=list)
    holidays: list[Holidays] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    types: list[IncidentType] = Field(default_factory=list)
    components: list[Component] = Field(default_factory=list)


class FileProblems(Exception):
    """The file cannot be used: one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse(text: str) -> ConfigFile:
    """The file's text as a ConfigFile; FileProblems naming each problem by its place (and the object's name)."""
    import yaml  # (only the CLI reads and writes YAML: the bot at rest does without it)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FileProblems([f"not YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FileProblems(["the file is a mapping with rotations, holidays, routes, types and components"])
    try:
        return ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise FileProblems([_problem(data, error) for error in exc.errors()]) from None


def _problem(data: Any, error: dict) -> str:
    place, node = [], data
    for part in error["loc"]:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            place[-1:] = [f"{place[-1] if place else ''}[{part}]" + (f" ({name})" if isinstance(name, str) else "")]
            continue
        place.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    where = ".".join(place) or "the file"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    if error["type"] in ("string_type", "literal_error") and place and place[-1] in _TIME_FIELDS | {"weekday"} \
            and isinstance(given, int | bool):
        message += f" (YAML read {given!r}: put the value in quotes, like '10:00' or 'mon-fri')"
    elif error["type"] == "string_pattern_mismatch" and place and place[-1].split("[")[0] in PATTERN_HINTS:
        message = f"{given!r} is not {PATTERN_HINTS[place[-1].split('[')[0]]}"
    elif error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "string_type" and isinstance(given, bool):
        message += f" (YAML read {str(given).lower()} as a truth value: put it in quotes)"
    return f"{where}: {message}"


def dump(config: ConfigFile) -> str:
    """The file as YAML, keys in the models' order, unset and empty values left out."""
    import yaml

    return HEADER + yaml.safe_dump(_plain(config.model_dump(mode="json", exclude_none=True), top=True),
                                   sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


HEADER = ("# Firefighter's configuration (`python -m bot config export`). Change it and run\n"
          "# `python -m bot config apply FILE --diff` to see what would change, then without --diff to change it.\n")


def _plain(value: Any, top: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()
                if top or not (v in ([], {}) or (k == "private" and v is False) or (k == "repeat" and v == 0))}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
