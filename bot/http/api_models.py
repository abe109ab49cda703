"""The shapes `/api/v1` reads and writes (pydantic v2). The same classes validate requests, build answers and
write the OpenAPI document (bot/http/api_spec.py), so the document cannot drift from what the server does."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config_io.model import Labels
from bot.domain.incident import Impact, Priority, Status

PriorityName = Literal["P0", "P1", "P2"]
StatusName = Literal["new", "triaged", "in_progress", "blocked", "resolved", "duplicate", "closed"]
RoleName = Literal["primary", "secondary", "tertiary"]
assert set(PriorityName.__args__) == {p.value for p in Priority}  # type: ignore[attr-defined]
assert set(StatusName.__args__) == {s.value for s in Status}  # type: ignore[attr-defined]
Cursor = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
               description="`next_cursor` of the previous page; omit it for the first page.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemField(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) to the part of the request that is wrong.")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details: every error of `/api/v1`, as `application/problem+json`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemField] | None = None


class PersonRef(BaseModel):
    slack_id: str
    name: str | None = Field(description="Their Slack display name, when the bot has seen it.")


# -- incidents --------------------------------------------------------------------------------------------------

class IncidentOut(BaseModel):
    number: int
    ref: str = Field(examples=["INC-42"])
    title: str
    description: str
    priority: PriorityName
    status: StatusName
    private: bool
    type: str | None
    rotation: str | None
    commander: PersonRef | None
    reporter: PersonRef | None
    source: str = Field(description="`slack`, `api`, or the alert source or tracker that opened it.")
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    last_update_at: datetime | None
    updated_at: datetime
    resolution: str | None
    duplicate_of: int | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: PersonRef | None
    text: str = Field(description="What happened, as plain text (mentions as names).")


class IncidentDetail(IncidentOut):
    responders: list[PersonRef]
    timeline: list[TimelineEntry]


class IncidentQuery(Strict):
    status: Literal["open", "new", "triaged", "in_progress", "blocked", "resolved", "duplicate", "closed"] | None = \
        Field(default=None, description="`open` for every open status; omitted: all.")
    priority: PriorityName | None = None
    rotation: str | None = Field(default=None, max_length=80)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Cursor


class IncidentNumber(Strict):
    number: int = Field(ge=1, le=2**31 - 1)


class Declare(Strict):
    title: str = Field(min_length=1, max_length=150)
    priority: PriorityName = "P1"
    description: str = Field(default="", max_length=3000)
    rotation: str | None = Field(default=None, max_length=80, description="Its rotation's name: who is paged.")
    type: str | None = Field(default=None, max_length=40, description="An incident type (`type add`).")
    impacts: list[Literal["cannot_log_in", "cannot_use_service", "data_or_security", "build_or_deploy_broken"]] = \
        Field(default_factory=list, max_length=4)
    source_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")


assert {i.value for i in Impact} == set(Declare.model_fields["impacts"].annotation.__args__[0].__args__)  # type: ignore


class Update(Strict):
    text: str = Field(min_length=1, max_length=3000)


class StatusChange(Strict):
    status: Literal["triaged", "in_progress", "blocked", "closed"]
    note: str = Field(default="", max_length=3000)


class PriorityChange(Strict):
    priority: PriorityName


class Resolve(Strict):
    summary: str = Field(min_length=1, max_length=3000)
    needed_rollback: bool | None = None
    follow_ups: list[str] = Field(default_factory=list, max_length=20)


class Nothing(Strict):
    """An action that takes no body."""


# -- on call ----------------------------------------------------------------------------------------------------

RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})$"


class OnCallQuery(Strict):
    at: str | None = Field(default=None, pattern=RFC3339, json_schema_extra={"format": "date-time"},
                           description="An RFC 3339 instant with its offset (`2026-12-24T18:00:00Z`); omitted: now.")
    rotation: str | None = Field(default=None, max_length=80)


class Shift(BaseModel):
    start: datetime
    end: datetime
    primary: PersonRef | None
    secondary: PersonRef | None
    tertiary: PersonRef | None
    layer: str | None = Field(description="The layer whose roster holds the roles then (null: the base roster).")
    overridden: list[RoleName]


class RotationOnCall(BaseModel):
    rotation: str
    shift: Shift


class OnCallOut(BaseModel):
    at: datetime
    rotations: list[RotationOnCall]


class RotationName(Strict):
    name: str = Field(min_length=1, max_length=80)


class LayerOut(BaseModel):
    name: str
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    start: str = Field(examples=["18:00"])
    end: str = Field(examples=["08:00"])
    timezone: str
    roster: list[PersonRef]


class StepOut(BaseModel):
    kind: str = Field(description="primary, secondary, tertiary, person, group or channel.")
    target: str | None
    wait_seconds: int | None


class PolicyOut(BaseModel):
    priority: Literal["P0", "P1"]
    default: bool
    repeat: int
    steps: list[StepOut]


class RotationOut(BaseModel):
    name: str
    channel_id: str
    roster: list[PersonRef]


class RotationDetail(RotationOut):
    layers: list[LayerOut]
    policies: list[PolicyOut]
    shifts: list[Shift] = Field(description="Now, then the next eight shifts as they will be when they begin.")


class RotationList(BaseModel):
    items: list[RotationOut]


# -- admin ------------------------------------------------------------------------------------------------------

class ApplyQuery(Strict):
    prune: bool = Field(default=False, description="Also remove what the body does not name (`config apply --prune`).")
    dry_run: bool = Field(default=False, description="Only list what would change (`config apply --diff`).")


class ConfigApplied(BaseModel):
    changes: list[str] = Field(description="One line per change, as `python -m bot config apply` prints them.")
    applied: bool = Field(description="False for a dry run or when nothing needed changing.")


class OverrideIn(Strict):
    slack_id: str = Field(pattern=r"^[UW][A-Z0-9]{2,30}$")
    role: RoleName = "primary"
    start: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})
    end: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})


class OverrideOut(BaseModel):
    id: int
    rotation: str
    slack_id: str
    role: RoleName
    start: datetime
    end: datetime


class TimeOffIn(Strict):
    slack_id: str = Field(pattern=r"^[UW][A-Z0-9]{2,30}$")
    start: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})
    end: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})
    reason: str = Field(default="", max_length=300)


class TimeOffOut(BaseModel):
    id: int
    slack_id: str
    start: datetime
    end: datetime
    reason: str


class MaintenanceIn(Strict):
    """Exactly one of `rotation` (its alerts) or `match` (alerts carrying every label)."""

    rotation: str | None = Field(default=None, min_length=1, max_length=80)
    match: Labels | None = Field(default=None, min_length=1, max_length=10)
    start: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})
    end: str = Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})
    reason: str = Field(default="", max_length=300)


class MaintenanceOut(BaseModel):
    id: int
    rotation: str | None
    match: dict[str, str] | None
    start: datetime
    end: datetime
    reason: str
