"""Alert storms: past ALERT_STORM_THRESHOLD incidents from alerts within ALERT_STORM_WINDOW, alerts join one
storm incident instead of each opening its own (SPEC §2 "Alerts").

Whether an alert opens an incident or joins the storm is decided under the alert gate
(`repo.storms.lock_alert_openings`, taken by `Alerts`), so two replicas never both start a storm, nor open the
eleventh incident. Every alert is kept
(`StormAlert`, one row per fingerprint); the storm's channel hears of them in batches through the delivery engine
(`bot/delivery/storms.py`), its pinned summary counts them, and the tick ends the storm once the window passed
quietly.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import AlertStorm, StormAlert
from bot.db.models import Incident
from bot.delivery.kinds import Kind, incident_lane
from bot.domain.alerts import Alert
from bot.domain.errors import UserError
from bot.domain.incident import Declaration, Status
from bot.domain.storms import joins_storm, raised_to, storm_priority
from bot.services.declaring import Declaring
from bot.services.outbox import Outbox
from bot.services.working import Resolution, Working
from bot.slack.text import escape
from bot.views import storms as views

log = logging.getLogger(__name__)


class Storms:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 declaring: Declaring, working: Working) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.declaring, self.working = declaring, working

    # -- under the alert gate (the caller's session, committed by the caller) -------------------------------

    def going_on(self, session: Session, now: datetime) -> AlertStorm | None:
        """The storm a new alert joins now, locked (its incident first), if one is going on."""
        storm = repo.storms.active_storm(session=session, since=now - self.settings.alert_storm_window)
        if storm is None:
            return None
        locked = repo.storms.storm_for_change(session=session, incident_id=storm.incident_id, storm_id=storm.id)
        return locked if locked is not None and locked.ended_at is None else None  # (ended meanwhile: over)

    def over_threshold(self, session: Session, now: datetime) -> bool:
        """Whether a new alert starts a storm (there being none going on)."""
        openings = repo.storms.alert_openings_since(session=session, since=now - self.settings.alert_storm_window)
        return joins_storm(openings, self.settings.alert_storm_threshold)

    def start(self, session: Session, alert: Alert, rotation_id: int | None, now: datetime) -> AlertStorm:
        threshold, window = self.settings.alert_storm_threshold, self.settings.alert_storm_window
        holder: list[AlertStorm] = []

        def with_storm(inner: Session, incident: Incident) -> None:
            storm = AlertStorm(incident_id=incident.id, started_at=now, last_alert_at=now)
            inner.add(storm)
            inner.flush()
            holder.append(storm)

        self.declaring.declare_in(session, Declaration(
            title=views.storm_title(threshold, window), reporter_id="", priority=storm_priority(alert.priority),
            description=views.storm_description(threshold, window), rotation_id=rotation_id,
            declare_key=f"storm:{now.isoformat()}", source="storm"), then=with_storm)
        log.warning("alert storm: more than %s alerts within %s; %s starts one", threshold, window, alert.fingerprint)
        return holder[0]

    def join(self, session: Session, storm: AlertStorm, alert: Alert, key: str, now: datetime) -> bool:
        """A new alert joins the storm (locked by `going_on` or new): kept, and it keeps the storm going. True
        when this one queued the news (the others ride along on it: nothing more to send for them)."""
        session.add(StormAlert(storm_id=storm.id, fingerprint=key, title=alert.title, priority=alert.priority,
                               url=alert.url, state="firing", started_at=alert.started or None, first_at=now,
                               last_at=now))
        session.flush()
        repo.storms.storm_joined(session=session, storm_id=storm.id, now=now)
        return self._owe_news(session, storm, now)

    def _owe_news(self, session: Session, storm: AlertStorm, now: datetime) -> bool:
        if repo.storms.owe_storm_news(session=session, storm_id=storm.id):
            self.outbox.queue(session, lane=incident_lane(storm.incident_id), kind=Kind.STORM_NEWS, now=now,
                              incident_id=storm.incident_id, storm_id=storm.id)
            return True
        return False

    def after_joins(self, incident: Incident, alerts: list[Alert]) -> Incident:
        """`after_join` for alerts that joined (or fired again) together, in order, each seeing the storm incident as
        the one before left it — as it would one alert at a time. The incident as it stands after them."""
        for alert in alerts:
            if incident.status is Status.RESOLVED or raised_to(incident.priority, alert.priority) is not None:
                self.after_join(incident, alert)
                with self.db.session() as session:
                    incident = repo.incidents.incident_by_id(session=session, incident_id=incident.id)
        return incident

    def after_join(self, incident: Incident, alert: Alert) -> None:
        """Once committed: a storm incident resolved while the storm goes on is reopened by the alert; a more
        urgent alert raises its priority (a P0 joining a P1 storm pages as a P0)."""
        if incident.status is Status.RESOLVED:
            try:
                incident = self.working.reopen(incident.number, None, f"a new alert joined the storm: "
                                                                      f"{escape(alert.title)}").incident
            except UserError as exc:
                log.info("storm %s: not reopened: %s", incident.number, exc)
        target = raised_to(incident.priority, alert.priority)
        if target is not None and incident.status.is_open:
            try:
                self.working.set_priority(incident.number, None, target)
            except UserError as exc:
                log.info("storm %s: priority not raised: %s", incident.number, exc)

    # -- an alert already in a storm -----------------------------------------------------------------------

    def repeat(self, found: tuple[StormAlert, AlertStorm], alert: Alert) -> Incident:
        """The alert fired again (counted: a new `startsAt`, not the same firing told again) or resolved (marked,
        listed once). Only new alerts keep a storm going: Alertmanager sends a group's firing alerts again
        whenever the group changes."""
        return repo.database.retry_on_deadlock(self._repeat_once, found, alert)

    def _repeat_once(self, found: tuple[StormAlert, AlertStorm], alert: Alert) -> Incident:
        known, storm = found
        now, state = self.clock.now(), "firing" if alert.firing else "resolved"
        with self.db.session() as session:
            storm = repo.storms.storm_for_change(session=session, incident_id=storm.incident_id, storm_id=storm.id)
            current = repo.storms.storm_alert_for_change(session=session, storm_alert_id=known.id)
            again = alert.firing and bool(alert.started) and alert.started == current.started_at and \
                current.state == "firing"
            repo.storms.storm_alert_seen(session=session, storm_alert_id=known.id, firing=alert.firing, now=now,
                                         started=alert.started or None, counted=not again)
            owed = current.state != state and self._owe_news(session, storm, now)
            session.commit()
            incident = repo.incidents.incident_by_id(session=session, incident_id=storm.incident_id)
            # (counted only for a resolution after the storm: a count per alert made a body of n repeats n² work)
            quiet = not alert.firing and storm.ended_at is not None and \
                repo.storms.storm_counts(session=session, storm_id=storm.id).get("firing", 0) == 0
        if owed:  # (else nothing new is owed: a delivery pass per alert told again only read the outbox for nothing)
            self.outbox.flush_later()
        if alert.firing:
            self.after_join(incident, alert)
        elif quiet:
            return self._resolve_if_quiet(incident) or incident
        return incident

    def repeat_firing_together(self, found: list[tuple[StormAlert, Alert]], storm: AlertStorm) -> Incident:
        """Alerts of one storm firing again, one after the other in a body: what `repeat` does for each, in one
        transaction (the storm locked once, one commit; only it is tried again after a deadlock), then what each
        would do once committed, in order."""
        incident, owed = repo.database.retry_on_deadlock(self._repeat_firing_in_one, found, storm)
        if owed:
            self.outbox.flush_later()
        return self.after_joins(incident, [alert for _, alert in found])

    def _repeat_firing_in_one(self, found: list[tuple[StormAlert, Alert]],
                              storm: AlertStorm) -> tuple[Incident, bool]:
        now, owed = self.clock.now(), False
        with self.db.session() as session:
            storm = repo.storms.storm_for_change(session=session, incident_id=storm.incident_id, storm_id=storm.id)
            for known, alert in found:
                current = repo.storms.storm_alert_for_change(session=session, storm_alert_id=known.id)
                again = bool(alert.started) and alert.started == current.started_at and current.state == "firing"
                repo.storms.storm_alert_seen(session=session, storm_alert_id=known.id, firing=True, now=now,
                                             started=alert.started or None, counted=not again)
                owed = (current.state != "firing" and self._owe_news(session, storm, now)) or owed
            session.commit()
            return repo.incidents.incident_by_id(session=session, incident_id=storm.incident_id), owed

    def _resolve_if_quiet(self, incident: Incident) -> Incident | None:
        """A storm that is over and has no alert firing any more resolves (ALERTS_AUTO_RESOLVE)."""
        if not self.settings.alerts_auto_resolve or not incident.status.is_open:
            return None
        with contextlib.suppress(UserError):  # resolved by someone (or by the last two resolutions) at once
            return self.working.resolve(incident.number, None, Resolution(
                "Every alert of the storm resolved at its source.")).incident
        return None

    # -- the tick ------------------------------------------------------------------------------------------

    def end_quiet(self) -> int:
        """Storms whose window passed with no new alert end, each once (a conditional update claims it); one
        with no alert firing any more resolves."""
        now = self.clock.now()
        before = now - self.settings.alert_storm_window
        with self.db.session() as session:
            quiet = repo.storms.quiet_storms(session=session, before=before)
        ended = 0
        for storm in quiet:
            with self.db.session() as session:
                repo.incidents.lock_incident_first(session=session, incident_id=storm.incident_id)
                if not repo.storms.end_storm(session=session, storm_id=storm.id, before=before, now=now):
                    continue
                incident = repo.incidents.incident_by_id(session=session, incident_id=storm.incident_id)
                counts = repo.storms.storm_counts(session=session, storm_id=storm.id)
                if incident is not None and incident.status.is_open:
                    text = views.over_text(counts, self.settings.alert_storm_window)
                    repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=None,
                                            kind="alert", text=text)
                    incident.updated_at = now
                    for kind, payload in ((Kind.SAY, {"text": text}), (Kind.REFRESH, {})):
                        self.outbox.queue(session, lane=incident_lane(incident.id), kind=kind, now=now,
                                          incident_id=incident.id, **payload)
                session.commit()
            ended += 1
            if incident is not None and not counts.get("firing"):
                self._resolve_if_quiet(incident)
        if ended:
            self.outbox.flush_later()
        return ended
