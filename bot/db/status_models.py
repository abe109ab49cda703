"""The public status page's rows (SPEC § Status page): components, the incidents published on it with the components
they affect, and their public updates. Only what someone chose to publish is here: the page reads nothing else."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.db.columns import timestamp


class StatusComponent(SQLModel, table=True):
    """`status component add <name> [group <group>]`."""

    __tablename__ = "status_component"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, sa_column_kwargs={"unique": True})
    group_name: str | None = Field(default=None, max_length=60)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class StatusIncident(SQLModel, table=True):
    """An incident published on the page (`status publish`): its public title, how bad (`state` of the components
    it names), open until `resolved_at` (its public resolution message is an update)."""

    __tablename__ = "status_incident"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", sa_column_kwargs={"unique": True})
    title: str = Field(max_length=150)
    state: str = Field(max_length=24)  # degraded_performance | partial_outage | major_outage
    published_at: datetime = Field(sa_column=timestamp(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True, index=True))


class StatusIncidentComponent(SQLModel, table=True):
    __tablename__ = "status_incident_component"
    __table_args__ = (sa.UniqueConstraint("status_incident_id", "component_id"),)

    id: int | None = Field(default=None, primary_key=True)
    status_incident_id: int = Field(foreign_key="status_incident.id", index=True)
    component_id: int = Field(foreign_key="status_component.id", index=True)


class StatusUpdate(SQLModel, table=True):
    """A public update: what customers read, written for them (internal updates never become one by themselves)."""

    __tablename__ = "status_update"

    id: int | None = Field(default=None, primary_key=True)
    status_incident_id: int = Field(foreign_key="status_incident.id", index=True)
    status: str = Field(max_length=16)  # investigating | identified | monitoring | resolved (Statuspage's words)
    body: str = Field(sa_type=sa.Text)
    by: str = Field(max_length=32)
    at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    request_key: str | None = Field(default=None, max_length=200, sa_column_kwargs={"unique": True})


class StatusSubscriber(SQLModel, table=True):
    """Someone who asked for the status page's news by mail (its subscribe form): nothing but the confirmation goes
    to `email` until `confirmed_at` (double opt-in); `token` confirms and unsubscribes; `components` (ids, comma-
    separated; empty: all) what they follow; `asked_at` the last confirmation sent (one pending per address)."""

    __tablename__ = "status_subscriber"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})
    components: str = Field(default="", max_length=2000)
    token: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    confirmed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    asked_at: datetime = Field(sa_column=timestamp(nullable=False))
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
