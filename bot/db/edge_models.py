"""The tables of what comes through the HTTP edge: alert storms, heartbeats and routes, the issue trackers' issues
and state, the web board's sessions and feed versions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.db.columns import EnumColumns, StrEnumText, timestamp
from bot.domain.incident import Priority


class TrackerIssue(SQLModel, table=True):
    """An incident's issue in an issue tracker (`github`, `gitlab`): one issue per incident per tracker, and one
    incident per issue (both unique), whichever side opened it. `issue_id` is the tracker's own id of the issue
    (stable across renames and transfers); `number` the one people see (#12, GitLab's iid)."""

    __tablename__ = "tracker_issue"
    __table_args__ = (sa.UniqueConstraint("tracker", "issue_id"), sa.UniqueConstraint("incident_id", "tracker"))

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    tracker: str = Field(max_length=16)
    issue_id: str = Field(max_length=64)
    number: int
    url: str = Field(default="", max_length=500)
    opened_there: bool = False  # the issue came first (the incident was declared from it)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    # The issue's own time in the newest webhook event applied: an older one arriving late changes nothing.
    seen_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class TrackerState(SQLModel, table=True):
    """What the bot knows of a tracker: the account it acts as there (webhook events that account caused are the
    bot's own changes coming back, not news), and the last refusal for good until a call succeeds again."""

    __tablename__ = "tracker_state"

    tracker: str = Field(primary_key=True, max_length=16)
    login: str | None = Field(default=None, max_length=255)
    error: str = Field(default="", max_length=300)
    error_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    ok_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class AlertStorm(SQLModel, table=True):
    """More alert incidents than ALERT_STORM_THRESHOLD within ALERT_STORM_WINDOW: the alerts after that join this
    one incident. It goes on while alerts keep joining within the window (`last_alert_at`); `ended_at` is set by
    the tick that saw the window pass quietly. `news_owed`: a message listing what joined or resolved is queued."""

    __tablename__ = "alert_storm"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True)
    started_at: datetime = Field(sa_column=timestamp(nullable=False))
    last_alert_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True, index=True))
    news_owed: bool = False


class StormAlert(EnumColumns, SQLModel, table=True):
    """One alert of a storm, by fingerprint: every alert is kept, however many. `told` is the state the storm's
    channel last heard of it ('' before it was listed), so each alert is listed once and its resolution once."""

    __tablename__ = "storm_alert"
    __table_args__ = (sa.UniqueConstraint("storm_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    storm_id: int = Field(foreign_key="alert_storm.id", index=True)
    fingerprint: str = Field(max_length=220, index=True)
    title: str = Field(max_length=200)
    priority: Priority = Field(sa_type=StrEnumText(Priority, 2))
    url: str | None = Field(default=None, max_length=2000)
    state: str = Field(default="firing", max_length=8)  # firing, resolved
    told: str = Field(default="", max_length=8)
    times: int = 1
    started_at: str | None = Field(default=None, max_length=40)  # the `startsAt` of the firing last counted
    first_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    last_at: datetime = Field(sa_column=timestamp(nullable=False))


class Heartbeat(EnumColumns, SQLModel, table=True):
    """Something that should say it is alive every `interval_seconds` (a cron job, a backup, a pipeline). Silent
    past `silent_after` plus one tick, it opens an incident (`incident_id`, one per silence: `silence_of` is the
    `silent_after` it was declared for); the next beat moves `silent_after` on, and the incident is resolved."""

    __tablename__ = "heartbeat"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    interval_seconds: int
    rotation_id: int | None = Field(default=None, foreign_key="rotation.id")
    priority: Priority = Field(default=Priority.P1, sa_type=StrEnumText(Priority, 2))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    last_beat_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    silent_after: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    beats: int = 0
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    silence_of: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))  # its `silent_after`


class FollowUpIssue(SQLModel, table=True):
    """A follow-up's issue in an issue tracker: one per follow-up per tracker, one follow-up per issue. Closing
    either closes both (SPEC §2 "Follow-ups"); `seen_at` orders the tracker's events as for incidents' issues."""

    __tablename__ = "follow_up_issue"
    __table_args__ = (sa.UniqueConstraint("tracker", "issue_id"), sa.UniqueConstraint("follow_up_id", "tracker"))

    id: int | None = Field(default=None, primary_key=True)
    follow_up_id: int = Field(foreign_key="follow_up.id", index=True)
    tracker: str = Field(max_length=16)
    issue_id: str = Field(max_length=64)
    number: int
    url: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    seen_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class PersonFeed(SQLModel, table=True):
    """A person's calendar-feed version (`/incident me feed-reset` bumps it): their feed links carry it, so a reset
    revokes every link handed out before. No row: version 0."""

    __tablename__ = "person_feed"

    user_id: str = Field(primary_key=True, max_length=32)
    version: int = 0
    reset_at: datetime = Field(sa_column=timestamp(nullable=False))


class WebSession(SQLModel, table=True):
    """A sign-in on the web board, kept server-side so it can be taken back: logging out deletes it, and so does
    the person's deactivation in Slack (checked at most every SESSION_RECHECK). The cookie carries only its id."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=32, index=True)
    name: str = Field(max_length=80)
    team_id: str = Field(default="", max_length=32)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    expires_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    checked_at: datetime = Field(sa_column=timestamp(nullable=False))


class AlertRoute(SQLModel, table=True):
    """`route add <label>=<value>,… <rotation> [P0|P1|P2]`: alerts carrying every pair go to the rotation (at the
    priority, when given); routes are tried by `position`, lowest first (bot/domain/routes.py)."""

    __tablename__ = "alert_route"

    id: int | None = Field(default=None, primary_key=True)
    position: int = Field(index=True)
    matchers: str = Field(sa_type=sa.Text)  # `env=prod,team=db`, sorted
    rotation_id: int = Field(foreign_key="rotation.id")
    priority: str | None = Field(default=None, max_length=2)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class RotationKey(SQLModel, table=True):
    """`rotation key <name>`: the rotation's own PagerDuty routing key, kept only as its SHA-256 (shown once)."""

    __tablename__ = "rotation_key"

    rotation_id: int = Field(foreign_key="rotation.id", primary_key=True)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class MaintenanceWindow(SQLModel, table=True):
    """`maintenance add`: alerts for `rotation_id`, or carrying every pair of `matchers`, are held from `starts_at`
    to `ends_at`. `closed_at`: when the tick let the still-firing ones open (once, by a conditional update)."""

    __tablename__ = "maintenance_window"

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int | None = Field(default=None, foreign_key="rotation.id")
    matchers: str = Field(default="", sa_type=sa.Text)
    starts_at: datetime = Field(sa_column=timestamp(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    reason: str = Field(default="", max_length=300)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class HeldAlert(SQLModel, table=True):
    """An alert a maintenance window kept from opening: the latest of what its source sent (as JSON), whether it
    still fires, how many times it came."""

    __tablename__ = "held_alert"
    __table_args__ = (sa.UniqueConstraint("window_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    window_id: int = Field(foreign_key="maintenance_window.id", index=True)
    fingerprint: str = Field(max_length=300)  # `<source>:<fingerprint>`, as incidents keep it
    title: str = Field(max_length=300)
    alert: str = Field(sa_type=sa.Text)
    firing: bool = True
    count: int = 1
    received_at: datetime = Field(sa_column=timestamp(nullable=False))
    opened_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))  # let through at the end


class ImportedObject(SQLModel, table=True):
    """`python -m bot import … --apply`: what a source's object (`source` opsgenie|pagerduty, `kind` schedule,
    override, policy, heartbeat; its id there) became here (`local_id`: the rotation, override or heartbeat), so a
    second run changes nothing. Stored in the transaction that made the object: a unique key settles two runs."""

    __tablename__ = "imported_object"
    __table_args__ = (sa.UniqueConstraint("source", "kind", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    source_id: str = Field(max_length=200)
    local_id: int
    imported_at: datetime = Field(sa_column=timestamp(nullable=False))


class ApiToken(SQLModel, table=True):
    """`api token create <name> <scope>`: a token for `/api/v1`, kept only as its SHA-256 (shown once). Its name is
    who it is on the timeline; revoking it deletes the row (the timeline keeps the name)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    scope: str = Field(max_length=8)  # read | write | admin
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
