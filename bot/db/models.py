"""The tables of incidents, rotations, pages, people, notices, the outbox, follow-ups and what channels said
(`edge_models` holds the rest). Timestamps are stored through `UTCDateTime` (`columns`) so they always
come back timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.db.columns import EnumColumns, StrEnumText, timestamp
from bot.domain.incident import Priority, Status
from bot.domain.rotation import Role

# `Incident.next_due_at`: "read me at the next tick" (any change to the row sets it) and "nothing will come due".
RECHECK = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


class Rotation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    channel_id: str = Field(max_length=32, index=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    feed_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # bumped to revoke .ics links


class RotationMember(SQLModel, table=True):
    """One firefighter on a rotation's roster; `position` orders the roster."""

    __tablename__ = "rotation_member"
    __table_args__ = (sa.UniqueConstraint("rotation_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    user_id: str = Field(max_length=32)
    position: int = 0


class Incident(EnumColumns, SQLModel, table=True):
    # Open work is found by status and priority together: with single-column indexes alone, SQLite picks the
    # priority one and reads half the history on every tick.
    # Lists read open incidents most urgent first, newest first: (status, priority, number) gives that order.
    __table_args__ = (sa.Index("ix_incident_status_priority", "status", "priority"),
                      sa.Index("ix_incident_status_priority_number", "status", "priority", "number"))

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(sa_column_kwargs={"unique": True})
    title: str = Field(max_length=150)
    description: str = Field(default="", sa_type=sa.Text)
    priority: Priority = Field(sa_type=StrEnumText(Priority, 2), index=True)
    status: Status = Field(default=Status.NEW, sa_type=StrEnumText(Status, 16), index=True)
    impacts: str = Field(default="", max_length=200)
    reporter_id: str = Field(max_length=32)
    commander_id: str | None = Field(default=None, max_length=32, index=True)
    rotation_id: int | None = Field(default=None, foreign_key="rotation.id")
    declared_in_channel: str | None = Field(default=None, max_length=32)
    source_url: str | None = Field(default=None, max_length=2000)
    declare_key: str | None = Field(default=None, max_length=200, sa_column_kwargs={"unique": True})
    channel_id: str | None = Field(default=None, max_length=32, index=True)
    channel_name: str | None = Field(default=None, max_length=80)
    thread_ts: str | None = Field(default=None, max_length=32)
    announcement_channel: str | None = Field(default=None, max_length=100)
    announcement_ts: str | None = Field(default=None, max_length=32)
    summary_ts: str | None = Field(default=None, max_length=32)
    slack_steps_done: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    updated_at: datetime = Field(sa_column=timestamp(nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    last_update_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    duplicate_of: int | None = None
    reopen_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    resolution: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    needed_rollback: bool | None = None
    follow_ups: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    postmortem: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    postmortem_ts: str | None = Field(default=None, max_length=32)
    # Shown only to its channel's members (IncidentMember) and ADMINS: bot/domain/visibility.py decides, every door
    # asks it.
    private: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    type_name: str | None = Field(default=None, max_length=40)  # its incident type's, as declared
    comms_id: str | None = Field(default=None, max_length=32)  # `role comms @x`: owes the P0 updates
    scribe_id: str | None = Field(default=None, max_length=32)  # `role scribe @x`: pins the key messages
    p0_since: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    source: str = Field(default="slack", max_length=16, sa_column_kwargs={"server_default": "slack"})
    alert_fingerprint: str | None = Field(default=None, max_length=220, index=True)
    alert_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    alert_started_at: str | None = Field(default=None, max_length=40)  # the `startsAt` of the firing last counted
    alert_left_out: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # truncatedAlerts last heard
    # When the tick must look at this incident again (bot/domain/reminders.next_due). Every UPDATE that does not
    # set it puts it back to RECHECK, whatever code path made the change, so no change can leave a stale moment.
    next_due_at: datetime | None = Field(default=RECHECK, sa_column=timestamp(
        nullable=True, index=True, default=RECHECK, onupdate=RECHECK))

    @property
    def steps_done(self) -> frozenset[str]:
        return frozenset(s for s in self.slack_steps_done.split(",") if s)


class TimelineEvent(SQLModel, table=True):
    __tablename__ = "timeline_event"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = Field(sa_column=timestamp(nullable=False))
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    text: str = Field(default="", sa_type=sa.Text)
    request_key: str | None = Field(default=None, max_length=200, unique=True, index=True)


class IncidentMember(SQLModel, table=True):
    """Who is in a private incident's channel, as last read: those the bot invited, then Slack's
    member_joined_channel / member_left_channel events. Who may see a private incident (bot/domain/visibility.py)."""

    __tablename__ = "incident_member"
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    user_id: str = Field(max_length=32, index=True)
    since: datetime = Field(sa_column=timestamp(nullable=False))


class IncidentResponder(SQLModel, table=True):
    __tablename__ = "incident_responder"
    __table_args__ = (sa.UniqueConstraint("incident_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    user_id: str = Field(max_length=32, index=True)
    added_at: datetime = Field(sa_column=timestamp(nullable=False))


class RosterVersion(SQLModel, table=True):
    """The roster of a rotation as it was from `since` on (members in order, comma-separated): who held the pager
    in a past week is worked out from the roster of that week, not today's (`rotation stats`)."""

    __tablename__ = "roster_version"

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    since: datetime = Field(sa_column=timestamp(nullable=False))
    members: str = Field(default="", sa_type=sa.Text)


class RotationOverride(EnumColumns, SQLModel, table=True):
    """`user_id` holds `role` on the rotation from `starts_at` until `ends_at`."""

    __tablename__ = "rotation_override"

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    user_id: str = Field(max_length=32)
    role: Role = Field(sa_type=StrEnumText(Role, 16))
    starts_at: datetime = Field(sa_column=timestamp(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class RotationSwap(SQLModel, table=True):
    """`user_a` and `user_b` exchange their roles for one shift (counted from the rotation's start)."""

    __tablename__ = "rotation_swap"

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    user_a: str = Field(max_length=32)
    user_b: str = Field(max_length=32)
    shift_index: int
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class RotationUserGroup(SQLModel, table=True):
    """A Slack user group kept equal to who is on call on the rotation (`scope`: the primary, or all three).

    `wanted` is the membership last queued to Slack (the tick claims each change by a conditional update of it);
    `synced` what Slack last took. `error` is Slack's last refusal for good; `told` the one the person who set the
    group was last told of (each told once)."""

    __tablename__ = "rotation_usergroup"

    rotation_id: int = Field(foreign_key="rotation.id", primary_key=True)
    handle: str = Field(max_length=100)
    group_id: str | None = Field(default=None, max_length=32)
    scope: str = Field(default="primary", max_length=16)
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(sa_column=timestamp(nullable=False))
    wanted: str = Field(default="", max_length=200)
    synced: str = Field(default="", max_length=200)
    synced_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    error: str = Field(default="", max_length=200)
    error_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    told: str = Field(default="", max_length=200)
    # How the group is the bot's to change (SPEC §5): `create` (a new handle: the delivery creates the group, its
    # description carrying `create_ref` so an unclear first answer is found again), `ours` (a group the bot created)
    # or `admin` (an existing group someone in ADMINS bound); "" for a binding made before these rules.
    origin: str = Field(default="", max_length=16)
    create_ref: str = Field(default="", max_length=40)


class BotUserGroup(SQLModel, table=True):
    """A Slack user group the bot created (usergroups.create): its own to change, whoever binds it later."""

    __tablename__ = "bot_usergroup"

    group_id: str = Field(primary_key=True, max_length=32)
    handle: str = Field(max_length=100)
    rotation_id: int | None = Field(default=None)  # the rotation it was created for
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class CoverRequest(EnumColumns, SQLModel, table=True):
    """"Cover me": `requester` asks someone on the roster to hold `role` from `starts_at` until `ends_at`.

    state: `open` (the request's message has an I'll cover button) → `taken` (by `taken_by`, who got the override
    `override_id`), `withdrawn` (by the requester) or `expired` (its start passed untaken; the requester was told).
    """

    __tablename__ = "cover_request"

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    requester: str = Field(max_length=32, index=True)
    role: Role = Field(sa_type=StrEnumText(Role, 16))
    starts_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    ends_at: datetime = Field(sa_column=timestamp(nullable=False))
    reason: str = Field(default="", max_length=300)
    state: str = Field(default="open", max_length=16, index=True)
    taken_by: str | None = Field(default=None, max_length=32, index=True)
    override_id: int | None = Field(default=None, foreign_key="rotation_override.id")
    channel_id: str | None = Field(default=None, max_length=32)  # where the request was posted, once it was
    time_off_id: int | None = Field(default=None)  # opened by `pto add`: withdrawn by `pto remove`
    message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class Page(SQLModel, table=True):
    """One step of an escalation chain. The unique (incident, chain, step) makes each step happen once.

    state: `queued` (to be delivered) → `waiting` (delivered, nobody acknowledged yet) → `done`
    (acknowledged, escalated to the next step, or the chain ran out).
    """

    __table_args__ = (sa.UniqueConstraint("incident_id", "chain", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    chain: int
    step: int
    start: str = Field(max_length=32)  # where the chain began: a role, or the user paged by hand
    target_role: str = Field(max_length=16)  # primary, secondary, tertiary, person or channel
    target_user_id: str | None = Field(default=None, max_length=32)
    target_channel: str | None = Field(default=None, max_length=100)
    note: str = Field(default="", max_length=500)
    paged_by: str | None = Field(default=None, max_length=32)
    state: str = Field(default="queued", max_length=16, index=True)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    dm_channel: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_via: str | None = Field(default=None, max_length=16)  # `sms`, `push`, `email`: by its link
    escalated_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # The policy the chain started with (bot/domain/escalation.py's JSON; None: a page from before policies, which
    # follows the seeds' chain), the round and step of it this page is, and how long it waits for an answer.
    policy: str | None = Field(default=None, sa_type=sa.Text)
    policy_round: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    policy_step: int | None = None
    wait_seconds: int | None = None


class Person(SQLModel, table=True):
    """What Slack says about someone (users.info, refreshed daily): their timezone for the rules, their name and
    picture for the web pages and feeds."""

    user_id: str = Field(primary_key=True, max_length=32)
    tz: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=80)
    avatar: str | None = Field(default=None, max_length=500)
    fetched_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))


class Notice(SQLModel, table=True):
    """A reminder or handoff item found due. Its key is unique, so it is decided once; its messages are stored
    with it as deliveries, one per recipient (each dropped if by then the item is no longer due).

    state: `sent` (its messages owed to the delivery engine); `queued` only in rows stored by an older version,
    which the next tick settles. `claimed_at` is no longer used.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=32, index=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    rotation_id: int | None = Field(default=None, foreign_key="rotation.id", index=True)
    step: int = 1
    state: str = Field(default="queued", max_length=16, index=True)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True, index=True))


class Delivery(SQLModel, table=True):
    """Something owed to Slack because of a stored change, written in the same transaction as the change (the
    outbox). Delivered in id order within its lane (one incident's home, one channel, one person), retried with
    backoff while Slack is down or slow, given up only when Slack says no for good (`failed`, with the error) or
    when it is no longer owed (`dropped`). `claim_token` fences a claim: only its holder records the outcome.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    lane: str = Field(max_length=120, index=True)
    kind: str = Field(max_length=32)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    payload: str = Field(default="{}", sa_type=sa.Text)
    state: str = Field(default="queued", max_length=16, index=True)
    attempts: int = 0
    created_at: datetime = Field(sa_column=timestamp(nullable=False))
    next_attempt_at: datetime = Field(sa_column=timestamp(nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    claim_token: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    last_error: str = Field(default="", max_length=200)


class FollowUp(SQLModel, table=True):
    """A follow-up of an incident: what must still be done, whose it is, by when. `due_on` is a day on the owner's
    calendar: past it (in their timezone) the follow-up is overdue until it is done."""

    __tablename__ = "follow_up"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    text: str = Field(max_length=500)
    owner: str = Field(max_length=32, index=True)
    due_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date(), nullable=True, index=True))
    done_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True, index=True))
    done_by: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class ChannelMessage(SQLModel, table=True):
    """What was said in an incident's channel (or thread), learnt from Slack's message events, kept a while so a
    message reacted to with TIMELINE_EMOJI can go on the timeline with its text (never read back from history)."""

    __tablename__ = "channel_message"
    __table_args__ = (sa.UniqueConstraint("channel_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    user_id: str | None = Field(default=None, max_length=32)
    text: str = Field(default="", sa_type=sa.Text)
    deleted: bool = False
    seen_at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
    # Who marks it for the timeline, as JSON {person (or "pin"): [marks it?, the event's ts]}: the newest event per
    # person wins, so a removal that overtook its reaction, or a retried reaction, cannot undo a later change.
    marks: str = Field(default="{}", sa_type=sa.Text, sa_column_kwargs={"server_default": "{}"})


class HandledRequest(SQLModel, table=True):
    """A Slack request (a command's or button's trigger id) that changed something, kept so that the same request
    delivered again — Slack's retry, a second replica, a double click — changes nothing the second time."""

    __tablename__ = "handled_request"

    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_column=timestamp(nullable=False, index=True))
