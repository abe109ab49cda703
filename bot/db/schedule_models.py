"""The tables of schedules beyond the seeds' shape (SPEC § Schedules and escalation policies): a rotation's
escalation policies, its changes of handoff, shift length and roles (`rotation set`), the public holidays each
person keeps (`me holidays`), time off (`pto`) and layers (`rotation layer`).

A policy is stored as the JSON of bot/domain/escalation.py (group members resolved when it was set); each page
keeps its own copy, so editing a policy never changes pages already sent.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.db.columns import timestamp


class EscalationPolicy(SQLModel, table=True):
    """`rotation escalation <name> [P0|P1] <steps>`: no row for a priority means the seeds' chain."""

    __tablename__ = "escalation_policy"

    rotation_id: int = Field(foreign_key="rotation.id", primary_key=True)
    priority: str = Field(primary_key=True, max_length=2)
    policy: str = Field(sa_type=sa.Text)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_column=timestamp(nullable=False))


class PersonHolidays(SQLModel, table=True):
    """`me holidays <code|none>`: whose public holidays are a person's days off. No row: the team's (HOLIDAYS);
    `none`: no holidays at all (a person abroad whose days off are not the team's)."""

    __tablename__ = "person_holidays"

    user_id: str = Field(primary_key=True, max_length=32)
    calendar: str = Field(max_length=24)
    set_at: datetime = Field(sa_column=timestamp(nullable=False))


class ShiftChange(SQLModel, table=True):
    """`rotation set <name> handoff|shift|roles`: from `since` (a boundary of the shifts before), shifts hand off on
    `weekday` at `at` (HH:MM) in `tz`, every `days` days from `anchor`, with `roles` roles; the shift starting at
    `since` is number `first_index`. No row: the team's weekly handoff with three roles (bot/domain/shifts.py)."""

    __tablename__ = "shift_change"
    __table_args__ = (sa.UniqueConstraint("rotation_id", "since"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    since: datetime = Field(sa_column=timestamp(nullable=False))
    weekday: int
    at: str = Field(max_length=5)
    tz: str = Field(max_length=64)
    days: int
    roles: int
    anchor: date
    first_index: int
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_column=timestamp(nullable=False))


class TimeOff(SQLModel, table=True):
    """`pto add [@person] <from> <to> [reason]`: `user_id` holds no role and is never paged from `starts_at` until
    `ends_at` (bot/domain/time_off.py). `pto remove <id>` deletes the row."""

    __tablename__ = "time_off"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, index=True)
    starts_at: datetime = Field(sa_column=timestamp(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    reason: str = Field(default="", max_length=300)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class RotationLayer(SQLModel, table=True):
    """`rotation layer add <name> <layer> <days> <HH:MM-HH:MM> [zone]`: from `start` to `end` on `days` (`0,1,2,3,4`,
    0 = Monday) in `tz`, the layer's `roster` (comma-separated user ids, in order) holds the roles; the layer with
    the highest `position` wins where windows overlap (bot/domain/layers.py)."""

    __tablename__ = "rotation_layer"
    __table_args__ = (sa.UniqueConstraint("rotation_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    name: str = Field(max_length=40)
    days: str = Field(max_length=13)
    start: str = Field(max_length=5)
    end: str = Field(max_length=5)
    tz: str = Field(max_length=64)
    roster: str = Field(default="", sa_type=sa.Text)
    position: int
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_column=timestamp(nullable=False))


class IncidentType(SQLModel, table=True):
    """`type add <name> [private] [rotation <name>] [priority P0|P1|P2]`: offered in the declare form; an incident of
    this type is private (`private`), goes to `rotation_id` and starts at `priority` when they are set. `security`
    is built in (bot/domain/incident_types.py), not a row."""

    __tablename__ = "incident_type"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    private: bool = False
    rotation_id: int | None = Field(default=None, foreign_key="rotation.id")
    priority: str | None = Field(default=None, max_length=2)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
