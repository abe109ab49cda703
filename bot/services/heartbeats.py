"""Heartbeats: something that should say it is alive every so often; silence opens an incident through the declare
path, the next beat resolves it (SPEC §2 "Heartbeats").

All timing comes from stored state (`Heartbeat.silent_after`): the tick finds the silent ones, whatever process
or restart it runs in. A silence is declared once — its declare key names the heartbeat and the silence — and a
beat that races the declaration still resolves what was declared.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Settings, parse_duration
from bot.db import repo
from bot.db.edge_models import Heartbeat
from bot.db.models import Incident
from bot.domain.errors import UserError
from bot.domain.heartbeats import check_name, declared_silent_before, parse_create, silent_after
from bot.domain.incident import Declaration, incident_ref
from bot.domain.stats import humanize
from bot.services.declaring import Declaring
from bot.services.rotations import Rotations
from bot.services.working import Resolution, Working
from bot.slack.text import date_token, echo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    name: str
    at: datetime
    resolved: int | None  # the incident of the silence this beat ended

    def as_json(self) -> dict:
        return {"heartbeat": self.name, "beat_at": self.at.isoformat(),
                "resolved": incident_ref(self.resolved) if self.resolved else None}


class Heartbeats:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, declaring: Declaring,
                 working: Working, rotations: Rotations) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self.declaring, self.working, self.rotations = declaring, working, rotations

    def url(self, name: str) -> str:
        return f"{self.settings.public_url}/heartbeats/{name}"

    # -- the commands -----------------------------------------------------------------------------------

    def create(self, actor: str, text: str, request_key: str | None = None) -> str:
        spec = parse_create(text, parse_duration)
        now = self.clock.now()
        with self.db.session() as session:
            if request_key and repo.requests.request_handled(session=session, key=request_key):
                return f"Already done: the heartbeat `{spec.name}` was created by this request before."
            rotation = repo.rotations.rotation_by_name(session=session, name=spec.rotation) if spec.rotation else None
            if spec.rotation and rotation is None:
                raise UserError(f"There is no rotation called `{echo(spec.rotation)}`. "
                                "`/incident rotation list` shows them all.")
            if rotation is None and (rotations := repo.rotations.all_rotations(session=session)):
                rotation = rotations[0]  # as an alert naming none: the first-created rotation
            self._require_permission(session, actor, rotation.id if rotation else None, None)
            if repo.heartbeats.heartbeat_by_name(session=session, name=spec.name):
                raise UserError(f"There is a heartbeat called `{spec.name}` already (`/incident heartbeat list`).")
            seconds = int(spec.interval.total_seconds())
            session.add(Heartbeat(name=spec.name, interval_seconds=seconds,
                                  rotation_id=rotation.id if rotation else None, priority=spec.priority,
                                  created_by=actor, created_at=now,
                                  silent_after=silent_after(now, timedelta(seconds=seconds))))
            if request_key:
                repo.requests.record_request(session=session, key=request_key, kind="heartbeat", at=now)
            try:
                session.commit()
            except IntegrityError:  # the same name created at the same moment elsewhere
                raise UserError(f"There is a heartbeat called `{spec.name}` already.") from None
        pages = f"pages `{rotation.name}` as a {spec.priority.value}" if rotation else \
            f"opens a {spec.priority.value} incident (no rotation to page yet)"
        return (f"Heartbeat `{spec.name}` created: if nothing calls it for {humanize(spec.interval)}, it "
                f"{pages}. Have the job send `POST {self.url(spec.name)}` with `Authorization: Bearer "
                f"<ALERTS_TOKEN>` each time it runs.")

    def remove(self, actor: str, text: str) -> str:
        name = check_name(text.split()[0]) if text.split() else ""
        if not name:
            raise UserError("Which heartbeat? `/incident heartbeat remove <name>`.")
        with self.db.session() as session:
            heartbeat = repo.heartbeats.heartbeat_for_change(session=session, name=name)
            if heartbeat is None:
                raise UserError(f"There is no heartbeat called `{name}` (`/incident heartbeat list`).")
            self._require_permission(session, actor, heartbeat.rotation_id, heartbeat.created_by)
            open_incident = heartbeat.incident_id
            session.delete(heartbeat)
            session.commit()
        left = " Its incident stays open until someone resolves it." if open_incident and self._is_open(
            open_incident) else ""
        return f"Heartbeat `{name}` removed: calls to it now answer 404.{left}"

    def listing(self) -> str:
        now = self.clock.now()
        with self.db.session() as session:
            found = repo.heartbeats.heartbeats(session=session)
            rotations = {r.id: r.name for r in repo.rotations.all_rotations(session=session)}
            numbers = {i.id: i.number
                       for i in (repo.incidents.incident_by_id(session=session, incident_id=h.incident_id)
                                 for h in found if h.incident_id) if i}
        if not found:
            return "No heartbeats yet. `/incident heartbeat create <name> <interval> [rotation] [P0|P1]` makes one."
        lines = []
        for h in found[:40]:
            interval = humanize(timedelta(seconds=h.interval_seconds))
            if h.incident_id:
                state = f":red_circle: silent since {date_token(h.silence_of or h.silent_after)} → " \
                        f"{incident_ref(numbers.get(h.incident_id, 0))}"
            elif h.silent_after < now:
                state = f":warning: late since {date_token(h.silent_after)}"
            elif h.last_beat_at is None:
                state = f":hourglass: waiting for its first beat (silent after {date_token(h.silent_after)})"
            else:
                state = f":large_green_circle: last beat {date_token(h.last_beat_at)}"
            where = f" · `{rotations[h.rotation_id]}`" if h.rotation_id in rotations else ""
            lines.append(f"• `{h.name}` every {interval} · {h.priority}{where} — {state}")
        more = f"\n…and {len(found) - 40} more." if len(found) > 40 else ""
        return f"*Heartbeats* ({len(found)}) — each job calls `POST {self.url('<name>')}`\n" + "\n".join(lines) + more

    def _require_permission(self, session, actor: str, rotation_id: int | None, creator: str | None) -> None:
        """Like a roster change: ADMINS, and the people of the rotation it pages (anyone when ADMINS is empty);
        its creator may remove it."""
        admins = self.settings.admins
        if not admins or actor in admins or actor == creator:
            return
        rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id) if rotation_id else None
        if rotation is None:
            raise UserError("Only an admin can manage heartbeats that page no rotation.")
        self.rotations.require_roster_permission(session, rotation, actor)

    def _is_open(self, incident_id: int) -> bool:
        with self.db.session() as session:
            incident = repo.incidents.incident_by_id(session=session, incident_id=incident_id)
        return incident is not None and incident.status.is_open

    # -- a beat -------------------------------------------------------------------------------------------

    def beat(self, name: str) -> Beat | None:
        """Recorded; None for a name that is not a heartbeat (nothing stored). A silence it ends is resolved."""
        now = self.clock.now()
        with self.db.session() as session:
            heartbeat = repo.heartbeats.heartbeat_for_change(session=session, name=name)
            if heartbeat is None:
                return None
            heartbeat.last_beat_at = now
            heartbeat.silent_after = silent_after(now, timedelta(seconds=heartbeat.interval_seconds))
            heartbeat.beats += 1
            session.commit()
        resolved = self._end_silence(heartbeat, now) if heartbeat.incident_id else None
        return Beat(name, now, resolved)

    def _end_silence(self, heartbeat: Heartbeat, now: datetime) -> int | None:
        """The silence's incident resolved with how long it lasted, then let go of (once resolved: a process that
        dies in between leaves it to the tick, `beating_again`)."""
        with self.db.session() as session:
            incident = repo.incidents.incident_by_id(session=session, incident_id=heartbeat.incident_id)
        number = None
        if incident is not None and incident.status.is_open:
            since = heartbeat.silence_of or incident.created_at
            silent = humanize(max(now - since, timedelta(0)) + timedelta(seconds=heartbeat.interval_seconds))
            with contextlib.suppress(UserError):  # resolved by someone at the same moment
                number = self.working.resolve(incident.number, None, Resolution(
                    f"The heartbeat `{heartbeat.name}` beat again after {silent} of silence.")).incident.number
        with self.db.session() as session:
            repo.heartbeats.silence_over(session=session, heartbeat_id=heartbeat.id, incident_id=heartbeat.incident_id)
            session.commit()
        return number

    # -- the tick -----------------------------------------------------------------------------------------

    def check_due(self) -> int:
        """Silent heartbeats open their incident; beats whose silence's incident is still owed its resolution
        resolve it. Returns the incidents declared."""
        now = self.clock.now()
        with self.db.session() as session:
            silent = repo.heartbeats.silent_heartbeats(session=session,
                                                       before=declared_silent_before(now, self.settings.scheduler_tick))
            beaten = repo.heartbeats.beating_again(session=session)
        for heartbeat in beaten:
            self._end_silence(heartbeat, now)
        declared = 0
        for heartbeat in silent:
            declared += self._declare_silence(heartbeat, now)
        return declared

    def _declare_silence(self, heartbeat: Heartbeat, now: datetime) -> int:
        interval = timedelta(seconds=heartbeat.interval_seconds)
        last = heartbeat.last_beat_at
        seen = f"since {date_token(last)}" if last else f"since it was created {date_token(heartbeat.created_at)}"
        declared = self.declaring.declare(Declaration(
            title=f"Heartbeat {heartbeat.name} went silent", reporter_id="",
            priority=heartbeat.priority, rotation_id=heartbeat.rotation_id, source="heartbeat",
            description=(f"No beat from `{heartbeat.name}` {seen}; it should beat every {humanize(interval)}. "
                         f"Whatever calls {self.url(heartbeat.name)} stopped (or cannot reach the bot). The next "
                         "beat resolves this incident."),
            declare_key=f"heartbeat:{heartbeat.id}:{int(heartbeat.silent_after.timestamp())}"))
        with self.db.session() as session:
            attached = repo.heartbeats.attach_silence(session=session, heartbeat_id=heartbeat.id,
                                                      silent_after=heartbeat.silent_after,
                                                      incident_id=declared.incident.id)
            session.commit()
        if declared.created:
            self.declaring.open_in_slack_later(declared.incident)
            log.warning("heartbeat %s silent since %s: %s", heartbeat.name, heartbeat.silent_after,
                        incident_ref(declared.incident.number))
        if not attached:  # a beat came while it was declared: the silence is over already
            self._resolve_raced(heartbeat, declared.incident)
        return int(declared.created)

    def _resolve_raced(self, heartbeat: Heartbeat, incident: Incident) -> None:
        with self.db.session() as session:
            current = repo.heartbeats.heartbeat_by_name(session=session, name=heartbeat.name)
        if current is None or current.id != heartbeat.id or current.incident_id is not None:
            return
        with contextlib.suppress(UserError):
            self.working.resolve(incident.number, None, Resolution(
                f"The heartbeat `{heartbeat.name}` beat again while this incident was being opened."))
