"""The custom column types: timestamps written as UTC and read back timezone-aware, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Writes UTC, reads aware datetimes — SQLite forgets the zone, PostgreSQL keeps it in timestamptz."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def timestamp(**kwargs) -> sa.Column:
    return sa.Column(UTCDateTime(), **kwargs)


class StrEnumText(TypeDecorator):
    """A StrEnum stored as its value, as plain text (the strings already stored are read as they are: no migration),
    and read back as the member, so no caller converts: `incident.status.is_open`."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class EnumColumns:
    """For a model with StrEnumText columns: what is assigned to them, a member or its value, is held as the member
    before it is ever stored, so a row made in this process reads the same as one read from the database. (SQLModel
    writes what was assigned over what an SQLAlchemy validator returns, hence __setattr__.)"""

    def __setattr__(self, name: str, value: Any) -> None:
        enum = _enum_columns(type(self)).get(name)
        super().__setattr__(name, enum(value) if enum is not None and value is not None else value)


@functools.cache
def _enum_columns(model: type) -> dict[str, type[StrEnum]]:
    """The model's StrEnumText columns and their enums, read once from its table."""
    return {column.name: column.type.enum for column in model.__table__.columns
            if isinstance(column.type, StrEnumText)}
