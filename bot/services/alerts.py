"""Incidents that open themselves: an alert goes through the same declare path as a person (channel,
announcement, pages), deduplicated by its fingerprint while an incident for it is open."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.domain.alerts import Alert
from bot.domain.incident import Declaration, Status, incident_ref
from bot.services.declaring import Declaring
from bot.services.working import Resolution, Working


@dataclass(frozen=True)
class Received:
    incident: Incident | None
    created: bool
    fingerprint: str

    def as_json(self) -> dict:
        return {"incident": incident_ref(self.incident.number) if self.incident else None, "created": self.created,
                "fingerprint": self.fingerprint}


class Alerts:
    """`declaring`: a new alert opens an incident as a person would; `working`: its resolution resolves it."""

    def __init__(self, settings: Settings, db: repo.Database, clock: Clock, declaring: Declaring,
                 working: Working) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self.declaring, self.working = declaring, working

    def receive_alert(self, alert: Alert) -> Received:
        key = f"{alert.source}:{alert.fingerprint}"
        with self.db.session() as session:
            current, earlier = repo.fingerprint_state(session=session, fingerprint=key)
            rotation_id = self._alert_rotation(session, alert)
        if current is None and not alert.firing:
            return Received(None, False, alert.fingerprint)
        if current is None:
            digest = hashlib.sha256(key.encode()).hexdigest()[:40]
            declared = self.declaring.declare(Declaration(
                title=alert.title, reporter_id="", priority=alert.priority, description=alert.description,
                rotation_id=rotation_id, source_url=alert.url, declare_key=f"alert:{digest}:{earlier + 1}",
                source=alert.source, alert_fingerprint=key))
            if declared.created:
                self.declaring.open_in_slack_later(declared.incident)
                return Received(declared.incident, True, alert.fingerprint)
            current = declared.incident  # another request declared it a moment ago: this one is a repeat
        return Received(self._repeat(current, alert), False, alert.fingerprint)

    def _alert_rotation(self, session, alert: Alert) -> int | None:
        """The rotation the alert names, else the first-created one (as for `/incident` outside any rotation)."""
        if alert.rotation and (named := repo.rotation_by_name(session=session, name=alert.rotation)):
            return named.id
        rotations = repo.all_rotations(session=session)
        return rotations[0].id if rotations else None

    def _repeat(self, incident: Incident, alert: Alert) -> Incident:
        now = self.clock.now()
        link = f" ({alert.url})" if alert.url else ""
        with self.db.session() as session:
            stored = repo.incident_for_change(session=session, incident_id=incident.id)  # repeats count up once each
            if alert.firing:
                stored.alert_count += 1
                text = f"the alert fired again ({stored.alert_count} times): {alert.title}{link}"
            else:
                text = f"the alert resolved at its source: {alert.title}{link}"
            repo.add_event(session=session, incident_id=stored.id, at=now, actor_id=None, kind="alert", text=text)
            session.commit()
        if not alert.firing and self.settings.alerts_auto_resolve and Status(stored.status).is_open:
            pipeline = f" by pipeline {alert.url}" if alert.source == "gitlab" and alert.url else ""
            summary = (f"Fixed{pipeline}: the pipeline passed again." if alert.source == "gitlab"
                       else f"The alert resolved at its source{link}.")
            return self.working.resolve(stored.number, None, Resolution(summary)).incident
        return stored
