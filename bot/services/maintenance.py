"""`/incident maintenance add|list|remove` (SPEC § Moving in): windows in which matching alerts are kept — stored,
counted, listed — instead of opening incidents and paging; a window that ends lets its still-firing alerts open
then (the tick, once per window across replicas). A window for a rotation follows the roster commands'
permission; one by labels, the routes' (ADMINS)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import MaintenanceWindow
from bot.domain.alerts import Alert
from bot.domain.errors import UserError
from bot.domain.incident import Priority
from bot.domain.maintenance import USAGE, Window, check_window, parse_target
from bot.domain.time_off import REASON_MAX
from bot.domain.when import parse_range
from bot.services.once import commit_once, record_once
from bot.services.rotations import Rotations
from bot.slack.text import clean_text, date_token, echo, escape


def alert_json(alert: Alert) -> str:
    return json.dumps({**dataclasses.asdict(alert), "priority": alert.priority.value})


def alert_of(text: str) -> Alert:
    data = json.loads(text)
    return Alert(**{**data, "priority": Priority(data["priority"]), "notes": tuple(data.get("notes") or ())})


def _window(row: MaintenanceWindow, rotation: str | None) -> Window:
    matchers = tuple(tuple(p.split("=", 1)) for p in row.matchers.split(",") if p)
    return Window(row.starts_at, row.ends_at, rotation, matchers)  # type: ignore[arg-type]


class Maintenance:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, rotations: Rotations) -> None:
        self.settings, self.db, self.clock, self.rotations = settings, db, clock, rotations

    # -- the alert path ---------------------------------------------------------------------------------------

    def hold(self, session: Session, alert: Alert, key: str, rotation: str | None, now: datetime) -> int | None:
        """The window that keeps this alert (firing, or resolving one it keeps), stored in it; None: it goes on."""
        if not alert.firing:
            kept = repo.maintenance.held_in(session=session, fingerprint=key)
            for row in kept:
                repo.maintenance.hold(session=session, window_id=row.window_id, fingerprint=key, title=row.title,
                                      alert=alert_json(alert), firing=False, now=now)
            return kept[0].window_id if kept else None
        for row, name in repo.maintenance.windows(session=session, ending_after=now):
            if _window(row, name).holds(now, rotation, alert.labels):
                repo.maintenance.hold(session=session, window_id=row.id, fingerprint=key, title=alert.title[:300],
                                      alert=alert_json(alert), firing=True, now=now)
                return row.id
        return None

    @staticmethod
    def going_on(session: Session, now: datetime) -> bool:
        return any(row.starts_at <= now for row, _ in repo.maintenance.windows(session=session, ending_after=now))

    def close_due(self, receive) -> int:
        """From the tick: each window that ended lets its still-firing alerts open (`receive`: the alert path).
        Each is marked let through only after it went the alert path, so a crash in between sends it again at the
        next tick — a repeat of its incident at worst, never a lost alert."""
        now, opened = self.clock.now(), 0
        with self.db.session() as session:
            for window_id in repo.maintenance.windows_to_close(session=session, now=now):
                repo.maintenance.close_window(session=session, window_id=window_id, now=now)
            due = [(row.id, alert_of(row.alert)) for row in repo.maintenance.due_to_open(session=session, now=now)]
            session.commit()
        for held_id, alert in due:
            receive(alert)
            with self.db.session() as session:
                if repo.maintenance.mark_opened(session=session, held_id=held_id, now=now):
                    opened += 1
                session.commit()
        return opened

    # -- the commands -----------------------------------------------------------------------------------------

    def act(self, actor: str, text: str, request_key: str | None = None) -> str:
        verb, _, rest = text.strip().partition(" ")
        verb = verb.lower()
        if verb in ("list", ""):
            return self.listing()
        if verb == "add":
            return self._add(actor, rest, request_key)
        if verb == "remove" and rest.strip().lstrip("#").isdigit():
            return self._remove(actor, int(rest.strip().lstrip("#")))
        raise UserError(USAGE)

    def _may(self, session: Session, actor: str, rotation) -> None:
        if rotation is not None:
            self.rotations.require_roster_permission(session, rotation, actor)
        elif self.settings.admins and actor not in self.settings.admins:
            raise UserError("Only ADMINS keep alerts by their labels (`maintenance add <rotation> …` is for a "
                            "rotation's people). Nothing changed.")

    def _add(self, actor: str, text: str, request_key: str | None) -> str:
        words = text.split()
        if len(words) < 3:
            raise UserError(USAGE)
        name, matchers = parse_target(words[0])
        now = self.clock.now()
        start, end, reason = None, None, ""
        for size in range(min(len(words) - 1, 4), 1, -1):
            try:
                start, end = parse_range(words[1:1 + size], now=now, tz=self.settings.team_timezone)
            except UserError:
                continue
            reason = " ".join(clean_text(" ".join(words[1 + size:])).split())
            break
        if start is None or end is None:
            raise UserError(USAGE)
        return self.open_window(actor, name, matchers, start, end, reason, request_key)[1]

    def open_window(self, actor: str, name: str | None, matchers: tuple[tuple[str, str], ...], start: datetime,
                    end: datetime, reason: str, request_key: str | None = None) -> tuple[MaintenanceWindow, str]:
        """A window, from `maintenance add` or the API: the row and what to answer."""
        now = self.clock.now()
        check_window(start, end, now)
        if len(reason) > REASON_MAX:
            raise UserError(f"Keep the reason to {REASON_MAX} characters.")
        with self.db.session() as session:
            rotation = repo.rotations.rotation_by_name(session=session, name=name) if name else None
            if name and rotation is None:
                raise UserError(f"There is no rotation `{echo(name)}`; `/incident rotation list` shows them.")
            self._may(session, actor, rotation)
            record_once(session, request_key, "maintenance add", now)
            row = MaintenanceWindow(rotation_id=rotation.id if rotation else None,
                                    matchers=",".join(f"{k}={v}" for k, v in matchers), starts_at=max(start, now),
                                    ends_at=end, reason=reason, created_by=actor, created_at=now)
            session.add(row)
            session.flush()
            window_id = row.id
            commit_once(session, request_key)
        target = Window(start, end, name, matchers).target()
        return row, (f"Maintenance #{window_id}: alerts for {target} from {date_token(max(start, now))} to "
                     f"{date_token(end)} are kept — no incident, no page; those still firing at its end open then.")

    def _remove(self, actor: str, window_id: int) -> str:
        now = self.clock.now()
        with self.db.session() as session:
            row = session.get(MaintenanceWindow, window_id) if window_id < 2**31 else None
            if row is None or row.closed_at is not None:
                raise UserError(f"There is no maintenance window #{window_id} still to come or going on.")
            rotation = repo.rotations.rotation_by_id(session=session, rotation_id=row.rotation_id) \
                if row.rotation_id else None
            self._may(session, actor, rotation)
            row.ends_at = min(row.ends_at, now)  # ended now: the tick lets its still-firing alerts open
            row.starts_at = min(row.starts_at, row.ends_at)
            session.add(row)
            session.commit()
        return f"Maintenance #{window_id} ended now; the alerts it kept that still fire open at the next tick."

    def page(self) -> list[dict]:
        """The web page's windows — going on, to come, and those ended in the last week — each with the alerts it
        kept: what each was, how many times it came, and whether it still fires, resolved, or was let through."""
        now = self.clock.now()
        with self.db.reading() as session:
            rows = repo.maintenance.windows(session=session, ending_after=now - timedelta(days=7))
            kept = repo.maintenance.held_of(session=session, window_ids=[r.id for r, _ in rows])
        found = []
        for row, name in rows[:50]:
            alerts = [{"title": h.title, "count": h.count, "at": h.received_at,
                       "state": "let through" if h.opened_at else "firing" if h.firing else "resolved"}
                      for h in kept if h.window_id == row.id][:200]
            found.append({"id": row.id, "target": _window(row, name).target().strip("`"), "starts": row.starts_at,
                          "ends": row.ends_at, "reason": row.reason, "alerts": alerts,
                          "state": "ended" if row.ends_at <= now else "going on" if row.starts_at <= now
                          else "to come"})
        return found

    def listing(self) -> str:
        now = self.clock.now()
        with self.db.reading() as session:
            rows = repo.maintenance.windows(session=session, ending_after=now)
            counts = repo.maintenance.held_counts(session=session, window_ids=[r.id for r, _ in rows])
        if not rows:
            return f"No maintenance window now or to come.\n{USAGE}"
        lines = ["*Maintenance windows*"]
        for row, name in rows[:30]:
            held, firing = counts.get(row.id, (0, 0))
            lines.append(f"• #{row.id} {_window(row, name).target()} from {date_token(row.starts_at)} to "
                         f"{date_token(row.ends_at)}" + (" _(going on)_" if row.starts_at <= now else "")
                         + (f" — {escape(row.reason)}" if row.reason else "")
                         + (f" · {held} alert{'s' if held != 1 else ''} kept, {firing} still firing" if held else ""))
        return "\n".join(lines)
