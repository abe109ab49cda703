"""What every use-case shares: settings, the database, the way out to Slack, the clock, background work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Rotation
from bot.delivery.engine import DeliveryEngine
from bot.notify import Background, SlackGateway
from bot.views import incident as incident_views
from bot.views.paging import paging_line


@dataclass(frozen=True)
class Declared:
    incident: Incident
    created: bool


@dataclass(frozen=True)
class Changed:
    """`changed` is False when the change was already in place; `replayed` when this very request was seen before."""

    incident: Incident
    changed: bool
    replayed: bool = False


@dataclass(frozen=True)
class Effects:
    """What Slack hears after a change is stored."""

    say: str  # in the incident's channel (or thread)
    refresh: bool = True  # edit the pinned summary and the topic in place
    invite: tuple[str, ...] = ()
    elsewhere: tuple[tuple[str, str | None, str], ...] = ()  # (channel, thread_ts, text)
    postmortem: bool = False
    stopped_pages: tuple[tuple[str, str], ...] = ()  # (channel, ts) of page messages whose buttons go


@dataclass(frozen=True)
class Outcome:
    kind: str
    text: str
    effects: Effects
    finish: Callable[[Session, Incident], None] | None = field(default=None, compare=False)


class ServiceBase:
    def __init__(self, *, settings: Settings, db: repo.Database, slack: SlackGateway, clock: Clock,
                 background: Background) -> None:
        self.settings = settings
        self.db = db
        self.slack = slack
        self.clock = clock
        self.background = background
        self.delivery = DeliveryEngine(db, clock, settings.delivery_lease, settings.scheduler_tick)  # the way out

    @staticmethod
    def _rotation(session: Session, incident: Incident) -> Rotation | None:
        if incident.rotation_id is None:
            return None
        return repo.rotation_by_id(session=session, rotation_id=incident.rotation_id)

    def escalation_timeout(self, priority: str) -> timedelta:
        if priority == "P0":
            return self.settings.escalation_timeout_p0
        return self.settings.escalation_timeout_p1

    def _announcement_channel(self, incident: Incident, session: Session | None = None) -> str | None:
        """The rotation's channel, else INCIDENTS_CHANNEL: where incidents are announced."""
        if session is None:
            with self.db.session() as own:
                return self._announcement_channel(incident, own)
        rotation = self._rotation(session, incident)
        return rotation.channel_id if rotation else self.settings.incidents_channel

    def _summary(self, incident: Incident) -> tuple[str, list[dict]]:
        with self.db.session() as session:
            rotation = self._rotation(session, incident)
            responders = repo.responder_ids(session=session, incident_id=incident.id)
            pages = repo.pages_of(session=session, incident_id=incident.id)
        return incident_views.summary(incident, rotation.name if rotation else None, responders,
                                      paging_line(pages, self.escalation_timeout(incident.priority)))
