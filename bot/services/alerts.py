"""Incidents that open themselves: an alert goes through the same declare path as a person (channel,
announcement, pages), deduplicated by its fingerprint while an incident for it is open."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.delivery.kinds import Kind, incident_lane
from bot.domain.alert_apis import Acknowledge
from bot.domain.alerts import Alert
from bot.domain.incident import Declaration, incident_ref
from bot.services.declaring import Declaring
from bot.services.maintenance import Maintenance
from bot.services.outcomes import Effects, Outcome
from bot.services.routes import AlertRoutes
from bot.services.storms import Storms
from bot.services.working import Resolution, Working
from bot.slack.text import escape
from bot.views.incident import left_out_text

JOIN_AT_ONCE = 200  # new alerts of one body joined to a storm in one transaction, at most


@dataclass(frozen=True)
class Received:
    incident: Incident | None
    created: bool
    fingerprint: str
    storm: bool = False  # the incident is the storm this alert joined
    held: int | None = None  # the maintenance window that kept it

    def as_json(self) -> dict:
        answer = {"incident": incident_ref(self.incident.number) if self.incident else None,
                  "created": self.created, "fingerprint": self.fingerprint}
        answer = {**answer, "storm": True} if self.storm else answer
        return {**answer, "maintenance": self.held} if self.held else answer


class Alerts:
    """`declaring`: a new alert opens an incident as a person would; `working`: its resolution resolves it;
    `storms`: past the storm threshold, new alerts join the storm instead."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, declaring: Declaring,
                 working: Working, storms: Storms, routes: AlertRoutes | None = None,
                 maintenance: Maintenance | None = None) -> None:
        """`routes`: which rotation and priority an alert's labels send it to (`route add`); `maintenance`: the
        windows that keep alerts from opening (`maintenance add`)."""
        self.settings, self.db, self.clock = settings, db, clock
        self.declaring, self.working, self.storms, self.routes = declaring, working, storms, routes
        self.maintenance = maintenance

    def receive_alerts(self, alerts: list[Alert], received: list[Received]) -> list[Received]:
        """A body's alerts, in order, each received as it would be alone — except that while a storm is going on,
        the new alerts that follow one another join it in one transaction (one gate, one lock of the storm, one
        commit), and its alerts firing again are told again in one: a storm is when bodies are big and the
        database is busiest. `received` is the caller's and filled as each alert is taken: run again (the database
        connection dropped), this goes on after the last alert taken, never receiving one twice."""
        while len(received) < len(alerts):
            rest = alerts[len(received):]
            together = []
            if received and received[-1].storm and len(rest) > 1 and rest[0].firing and not self._maintenance_now():
                together = self._join_together(rest[:JOIN_AT_ONCE]) or self._repeat_together(rest[:JOIN_AT_ONCE])
            received += together or [self.receive_alert(rest[0])]
        return received

    def _repeat_together(self, alerts: list[Alert]) -> list[Received]:
        """The leading alerts that are alerts of one storm firing again, told again together (Alertmanager sends
        a group's firing alerts again whenever the group changes); none when the first is not one."""
        found, keys, storm = [], set(), None
        with self.db.session() as session:
            for alert in alerts:
                key = f"{alert.source}:{alert.fingerprint}"
                stormed = repo.storms.storm_alert_of(session=session, fingerprint=key) \
                    if alert.firing and key not in keys else None
                if stormed is None or (storm is not None and stormed[1].id != storm.id) \
                        or repo.storms.fingerprint_state(session=session, fingerprint=key)[0] is not None:
                    break
                storm = stormed[1]
                found.append((stormed[0], alert))
                keys.add(key)
        if len(found) < 2:
            return []
        incident = self.storms.repeat_firing_together(found, storm)
        return [Received(incident, False, alert.fingerprint, storm=True) for _, alert in found]

    def _join_together(self, alerts: list[Alert]) -> list[Received]:
        """The leading alerts that are new (firing, no incident of their own, in no storm) join the storm going on,
        together; none when there is no storm any more (then each is received alone). Only the transaction is
        tried again after a deadlock; what follows its commit runs once."""
        joined, incident, news = repo.database.retry_on_deadlock(self._join_in_one, alerts)
        incident = self.storms.after_joins(incident, joined)  # reopen the storm, raise its priority: as one by one
        if news:
            self.declaring.open_in_slack_later(incident)
        return [Received(incident, False, alert.fingerprint, storm=True) for alert in joined]

    def _join_in_one(self, alerts: list[Alert]) -> tuple[list[Alert], Incident | None, bool]:
        joined, keys, news = [], set(), False
        with self.db.session() as session:
            repo.storms.lock_alert_openings(session=session)
            now = self.clock.now()  # (under the gate, as for one alert alone)
            storm = self.storms.going_on(session, now)
            for alert in alerts if storm is not None else ():
                key = f"{alert.source}:{alert.fingerprint}"
                current, _ = repo.storms.fingerprint_state(session=session, fingerprint=key)
                if not alert.firing or key in keys or current is not None \
                        or repo.storms.storm_alert_of(session=session, fingerprint=key) is not None:
                    break
                news = self.storms.join(session, storm, alert, key, now) or news
                joined.append(alert)
                keys.add(key)
            if not joined:
                session.rollback()
                return [], None, False
            incident = repo.incidents.incident_by_id(session=session, incident_id=storm.incident_id)
            session.commit()
        return joined, incident, news

    def receive_alert(self, alert: Alert) -> Received:
        key = f"{alert.source}:{alert.fingerprint}"
        with self.db.session() as session:
            current, _ = repo.storms.fingerprint_state(session=session, fingerprint=key)
            stormed = repo.storms.storm_alert_of(session=session, fingerprint=key) if current is None else None
        if stormed is not None:
            return Received(self.storms.repeat(stormed, alert), False, alert.fingerprint, storm=True)
        if current is None and self.maintenance is not None:
            held = repo.database.retry_on_deadlock(self._hold, alert, key)
            if held is not None:
                return Received(None, False, alert.fingerprint, held=held)
        if current is None and not alert.firing:
            return Received(None, False, alert.fingerprint)
        if current is None:
            return repo.database.retry_on_deadlock(self._open, alert, key)
        return Received(self._repeat(current, alert), False, alert.fingerprint)

    def _open(self, alert: Alert, key: str) -> Received:
        """A new alert opens an incident — or, past the storm threshold, joins the storm — decided under the alert
        gate: one at a time across processes, so the count of incidents in the window cannot be read twice."""
        with self.db.session() as session:
            repo.storms.lock_alert_openings(session=session)
            current, earlier = repo.storms.fingerprint_state(session=session, fingerprint=key)  # again, under the gate
            stormed = repo.storms.storm_alert_of(session=session, fingerprint=key) if current is None else None
            if current is not None or stormed is not None:
                session.rollback()  # another request opened it while this one waited: this one is a repeat
                if stormed is not None:
                    return Received(self.storms.repeat(stormed, alert), False, alert.fingerprint, storm=True)
                return Received(self._repeat(current, alert), False, alert.fingerprint)
            now = self.clock.now()
            routed = self.routes.route_for(session, alert.labels) if self.routes and not alert.pinned else None
            rotation_id = routed[0] if routed else self._alert_rotation(session, alert)
            priority = (routed[1] if routed and routed[1] else alert.priority)
            storm, started = self.storms.going_on(session, now), False
            if storm is None and self.storms.over_threshold(session, now):
                storm, started = self.storms.start(session, alert, rotation_id, now), True
            if storm is not None:
                news = self.storms.join(session, storm, alert, key, now)
                incident = repo.incidents.incident_by_id(session=session, incident_id=storm.incident_id)
                session.commit()
                if not started:
                    self.storms.after_join(incident, alert)
                if started or news:  # its set-up, or the news of what joined (already owed: on its way)
                    self.declaring.open_in_slack_later(incident)
                return Received(incident, started, alert.fingerprint, storm=True)
            digest = hashlib.sha256(key.encode()).hexdigest()[:40]

            def as_sent(inner, incident: Incident) -> None:  # its firing, and what the bot could not use as sent
                incident.alert_started_at = alert.started or None
                for note in alert.notes:
                    repo.timeline.add_event(session=inner, incident_id=incident.id, at=now, actor_id=None, kind="alert",
                                            text=escape(note))

            declared = self.declaring.declare_in(session, Declaration(
                title=alert.title, reporter_id="", priority=priority, description=alert.description,
                rotation_id=rotation_id, source_url=alert.url, declare_key=f"alert:{digest}:{earlier + 1}",
                source=alert.source, alert_fingerprint=key), then=as_sent)
            session.commit()
        self.declaring.open_in_slack_later(declared.incident)
        return Received(declared.incident, True, alert.fingerprint)

    def left_out(self, incident_ids: list[int], count: int) -> None:
        """Alertmanager left `count` alerts of a group out of its body (`truncatedAlerts`, its receiver's
        `max_alerts`): every incident the group's alerts reached (a storm's included) shows it on its summary, and
        on its timeline each time the count changes (not at every re-notification)."""
        now = self.clock.now()
        changed = False
        with self.db.session() as session:
            for incident_id in sorted(set(incident_ids)):  # (locked in one order: two groups never wait in a circle)
                stored = repo.incidents.incident_for_change(session=session, incident_id=incident_id)
                if stored is None or stored.alert_left_out == count:
                    continue
                stored.alert_left_out, changed = count, True
                if count:
                    repo.timeline.add_event(session=session, incident_id=stored.id, at=now, actor_id=None, kind="alert",
                                            text=left_out_text(count))
                self.storms.outbox.queue(session, lane=incident_lane(stored.id), kind=Kind.REFRESH, now=now,
                                         incident_id=stored.id)
            session.commit()
        if changed:
            self.storms.outbox.flush_later()

    def _maintenance_now(self) -> bool:
        """A window is going on: each alert is then received alone (a window may keep it), not joined in a body."""
        if self.maintenance is None:
            return False
        with self.db.reading() as session:
            return self.maintenance.going_on(session, self.clock.now())

    def _hold(self, alert: Alert, key: str) -> int | None:
        """The maintenance window that keeps this alert (stored in it), judged by where it would go."""
        with self.db.session() as session:
            routed = self.routes.route_for(session, alert.labels) if self.routes and not alert.pinned else None
            rotation_id = routed[0] if routed else self._alert_rotation(session, alert)
            rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id) if rotation_id else None
            held = self.maintenance.hold(session, alert, key, rotation.name if rotation else None, self.clock.now())
            session.commit()
        return held

    def _alert_rotation(self, session, alert: Alert) -> int | None:
        """The rotation the alert names, else the first-created one (as for `/incident` outside any rotation)."""
        if alert.rotation and (named := repo.rotations.rotation_by_name(session=session, name=alert.rotation)):
            return named.id
        rotations = repo.rotations.all_rotations(session=session)
        return rotations[0].id if rotations else None

    def _repeat(self, incident: Incident, alert: Alert) -> Incident:
        now = self.clock.now()
        link = f" ({escape(alert.url)})" if alert.url else ""  # outside text, stored escaped (slack_text.safe)
        with self.db.session() as session:
            # repeats count up once each
            stored = repo.incidents.incident_for_change(session=session, incident_id=incident.id)
            if alert.firing and alert.started and alert.started == stored.alert_started_at:
                return stored  # Alertmanager telling the same firing again (every group_interval): nothing new
            if alert.firing:
                stored.alert_count += 1
                stored.alert_started_at = alert.started or stored.alert_started_at
                text = f"the alert fired again ({stored.alert_count} times): {escape(alert.title)}{link}"
            else:
                text = f"the alert resolved at its source: {escape(alert.title)}{link}"
            repo.timeline.add_event(session=session, incident_id=stored.id, at=now, actor_id=None, kind="alert",
                                    text=text)
            session.commit()
        if not alert.firing and self.settings.alerts_auto_resolve and stored.status.is_open:
            pipeline = f" by pipeline {escape(alert.url)}" if alert.source == "gitlab" and alert.url else ""
            summary = (f"Fixed{pipeline}: the pipeline passed again." if alert.source == "gitlab"
                       else f"The alert resolved at its source{link}.")
            return self.working.resolve(stored.number, None, Resolution(summary)).incident
        return stored


SOURCE_NAMES = {"pagerduty": "the PagerDuty Events API", "opsgenie": "the Opsgenie Alert API"}


def acknowledge_at_source(alerts: Alerts, ack: Acknowledge) -> Incident | None:
    """The alert's own tool acknowledged it: its incident's pages stop, as for the Slack button — and nobody takes
    command, since no Slack person is named. None when no open incident has that alert."""
    key = f"{ack.source}:{ack.fingerprint}"
    with alerts.db.session() as session:
        current, _ = repo.storms.fingerprint_state(session=session, fingerprint=key)
    if current is None:
        return None
    said = SOURCE_NAMES.get(ack.source, ack.source) + (f", by {escape(ack.by)}" if ack.by else "")

    def apply(session, incident: Incident, now):
        if not incident.status.is_open:
            return None
        first = incident.acknowledged_at is None
        if first:
            incident.acknowledged_at = now
        stopped = [(c, ts) for c, ts in repo.pages.stop_pages(session=session, incident_id=incident.id, now=now,
                                                               user_id=None) if c and ts]
        if not first and not stopped:
            return None
        return Outcome("acknowledged", f"acknowledged at its source ({said})", Effects(
            f":eyes: {incident_ref(incident.number)} was acknowledged at its source ({said}); its pages stop.",
            refresh=first, stopped_pages=tuple(stopped)))
    return alerts.working.change(current.number, None, apply, check_permission=False).incident
