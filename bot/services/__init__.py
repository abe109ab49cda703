"""Use-cases, each a small class given only what it uses (ARCHITECTURE pattern 8), wired once in `runtime/wiring.py`.

Each owns its transaction; Slack hears about a change only after it is stored, through the delivery engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.services.ack_links import AckLinks
from bot.services.alerts import Alerts, Received
from bot.services.api_tokens import ApiTokens
from bot.services.capture import Capture
from bot.services.clicks import Click, Clicks
from bot.services.contacts import Contacts
from bot.services.covers import Covers
from bot.services.declaring import Declaring
from bot.services.escalations import EscalationPolicies
from bot.services.fairness import Fairness
from bot.services.follow_ups import FollowUps
from bot.services.handoffs import Handoffs
from bot.services.heartbeats import Heartbeats
from bot.services.incident_types import IncidentTypes
from bot.services.issue_events import IssueEvents
from bot.services.layers import RotationLayers
from bot.services.maintenance import Maintenance
from bot.services.outbox import Outbox
from bot.services.outcomes import Changed, Declared
from bot.services.paging import Paging
from bot.services.people import People
from bot.services.reading import Detail, Listing, Reading
from bot.services.reminders import Reminders
from bot.services.rotations import RotationPlan, Rotations
from bot.services.routes import AlertRoutes
from bot.services.shift_changes import ShiftChanges
from bot.services.status_page import StatusPage
from bot.services.status_subscribers import StatusSubscribers
from bot.services.storms import Storms
from bot.services.time_off import TimeOffs
from bot.services.usergroups import UserGroups
from bot.services.visibility import Visibility
from bot.services.watch import EngineWatch
from bot.services.working import Resolution, Working


@dataclass(frozen=True)
class Services:
    """The use-cases as wired: listeners reach them through `wired(context).services` (bot/listeners)."""

    outbox: Outbox
    people: People
    rotations: Rotations
    paging: Paging
    working: Working
    declaring: Declaring
    handoffs: Handoffs
    reminders: Reminders
    alerts: Alerts
    storms: Storms
    heartbeats: Heartbeats
    reading: Reading
    clicks: Clicks
    issue_events: IssueEvents
    covers: Covers
    usergroups: UserGroups
    fairness: Fairness
    capture: Capture
    follow_ups: FollowUps
    watch: EngineWatch
    contacts: Contacts
    ack_links: AckLinks
    policies: EscalationPolicies
    shift_changes: ShiftChanges
    time_off: TimeOffs
    layers: RotationLayers
    routes: AlertRoutes
    maintenance: Maintenance
    visibility: Visibility
    types: IncidentTypes
    status_page: StatusPage
    status_subscribers: StatusSubscribers
    api_tokens: ApiTokens


__all__ = ["AckLinks", "AlertRoutes", "Alerts", "ApiTokens", "Capture", "Changed", "Click", "Clicks", "Contacts",
           "Covers", "Declared", "Declaring", "Detail", "EngineWatch", "EscalationPolicies", "Fairness", "FollowUps",
           "Handoffs", "Heartbeats", "IncidentTypes", "IssueEvents", "Listing", "Maintenance", "Outbox", "Paging",
           "People", "Reading", "Received", "Reminders", "Resolution", "RotationLayers", "RotationPlan", "Rotations",
           "Services", "ShiftChanges", "StatusPage", "StatusSubscribers", "Storms", "TimeOffs", "UserError",
           "UserGroups", "Visibility", "Working"]
