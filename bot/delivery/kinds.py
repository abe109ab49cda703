"""The delivery vocabulary, named once: every kind of delivery a use-case may queue and every lane it may queue it
in. Services queue with these names, delivery handlers are registered under them (bot/runtime/deliveries.py).

The values are what the outbox stores: rows queued by an older version must still match, so a value never changes
(a new name gets a new value). A lane orders deliveries: what shares one goes out one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlmodel import Session


class Kind(StrEnum):
    DECLARE = "declare"  # a declaration stored before its ack: the incident is made from it
    SETUP = "setup"  # every set-up step still to do for a new incident, in order
    POST = "post"  # a message to a channel or a person
    SAY = "say"  # a message in the incident's own channel (or thread)
    INVITE = "invite"
    POSTMORTEM = "postmortem"  # the postmortem prompt
    REFRESH = "refresh"  # the pinned summary and the topic edited in place
    PAGE = "page"
    PAGE_STOPPED = "page_stopped"  # a page's buttons taken away
    REMINDER = "reminder"
    CLICK = "click"  # a button pressed, stored before its ack and applied on delivery
    STORM_NEWS = "storm_news"  # what an alert storm's incident has not been told yet
    USERGROUP_SYNC = "usergroup_sync"  # an @oncall user group set to who is on call
    COVER_POST = "cover_post"  # a "cover me" request posted in the rotation's channel
    COVER_REFRESH = "cover_refresh"  # … and edited as it is taken, withdrawn or expires
    CONTACT_PAGE = "contact_page"  # a page by SMS, push or email (SPEC §2 "Reaching people beyond Slack")
    CONTACT_CODE = "contact_code"  # a contact method's verification code, sent through it
    CONTACT_TEST = "contact_test"  # `me contact test`
    STATUS_MAIL = "status_mail"  # the status page's mail to a subscriber: its confirmation, or a public update


class TrackerCall(StrEnum):
    """What is owed one issue tracker; the stored kind is `<tracker>_<call>` (tracker_kind)."""

    OPEN = "open"
    SYNC = "sync"
    COMMENT = "comment"
    FOLLOW_UP_OPEN = "followup-open"  # (no `_`: the kind's tracker is before it)
    FOLLOW_UP_SYNC = "followup-sync"


def setup_step_kind(step: str) -> str:
    """`setup_<step>`: one set-up step a delivery of its own, as versions before `setup` queued them (migration
    0011 too); still delivered."""
    return f"setup_{step}"


def tracker_kind(tracker: str, call: TrackerCall) -> str:
    """`github_open`, `gitlab_comment`, …: /healthz counts what is owed and refused per tracker."""
    return f"{tracker}_{call.value}"


HOME = "home"  # a message for the incident's own channel (or thread), wherever that turns out to be


def incident_lane(incident_id: int) -> str:
    """An incident's own messages, its set-up and its pages' news, in order."""
    return f"incident:{incident_id}"


def user_lane(user_id: str) -> str:
    return f"user:{user_id}"


def channel_lane(channel_id: str) -> str:
    return f"channel:{channel_id}"


def lane_to(to: str, incident_id: int | None) -> str:
    """An incident's messages keep their order in its lane; a person's and a channel's in theirs."""
    if to == HOME:
        return incident_lane(incident_id)
    return user_lane(to) if to[0] in "UW" else channel_lane(to)


def contact_lane(kind: str, user_id: str) -> str:
    """One person's sends by one provider (`sms`, `push`, `email`), in order: a provider that is down or hangs holds
    only these, never their Slack DMs or another provider's sends."""
    return f"contact:{kind}:{user_id}"


PROVIDER_LANES = 16  # a provider's lanes (and threads) at once: one that hangs holds these, not Slack's lanes


def provider_of(lane: str) -> str | None:
    """The provider a lane's deliveries go to, or None for Slack's and the trackers' lanes."""
    return lane.split(":")[1] if lane.startswith("contact:") else None


def click_lane(user_id: str) -> str:
    """One person's clicks are applied in the order they were pressed."""
    return f"click:{user_id}"


def declare_lane(key: str) -> str:
    return f"declare:{key}"


def usergroup_lane(rotation_id: int) -> str:
    return f"usergroup:{rotation_id}"


def tracker_lane(tracker: str, incident_id: int) -> str:
    """One incident's calls to one tracker go in order (the issue is opened before it is labelled or commented)."""
    return f"tracker:{tracker}:{incident_id}"


# -- how a delivery ends, other than sent: raised by a handler or by what is read for it --------------------------

Record = Callable[[Session], None]


class Later(Exception):
    """Not deliverable yet (the incident's channel is still being set up): look again shortly."""


class Drop(Exception):
    """No longer owed (the reminder stopped being due, the incident never got a place in Slack). `record`: what
    that leaves behind (a page's send marked skipped), written with the outcome under the claim."""

    def __init__(self, reason: str = "", record: Record | None = None) -> None:
        super().__init__(reason)
        self.record = record


class Refused(Exception):
    """The handler tried what it could and Slack (or the tracker) said no for good; `error` is its word for it.
    `record`: what the refusal leaves behind (a timeline note), written with the outcome under the claim."""

    def __init__(self, error: str, record: Record | None = None) -> None:
        super().__init__(error)
        self.error, self.record = error, record


class Unavailable(Exception):
    """Not Slack: another service the delivery goes to (an issue tracker) is down or asked us to slow down. Retried
    with backoff like Slack being down, after `retry_after` seconds at least when it said."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error, self.retry_after = error, retry_after


class ClaimLost(Exception):
    """Another process holds this delivery now (this one's lease lapsed): stop here, it carries on."""
