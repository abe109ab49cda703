"""`/incident route add|list|remove|test` (SPEC § Moving in): alerts to rotations by their labels, whatever sent
them. Changing the routes is for ADMINS (anyone while ADMINS is empty, as for roster changes): a route moves every
matching alert's pages to another team."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import AlertRoute
from bot.domain.errors import UserError
from bot.domain.incident import Priority
from bot.domain.routes import MAX_ROUTES, USAGE, Route, first_match, parse_matchers
from bot.services.once import commit_once, record_once
from bot.slack.text import echo


class AlertRoutes:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock

    @staticmethod
    def _stored(session: Session) -> list[tuple[AlertRoute, Route, int]]:
        return [(row, Route(tuple(tuple(p.split("=", 1)) for p in row.matchers.split(",")), name,
                            Priority(row.priority) if row.priority else None), row.rotation_id)
                for row, name in repo.routes.routes(session=session)]

    def route_for(self, session: Session, labels: dict[str, str]) -> tuple[int, Priority | None] | None:
        """The first matching route's rotation id and priority, or None (the alert's own rules hold)."""
        if not labels:
            return None
        stored = self._stored(session)
        found = first_match([route for _, route, _ in stored], labels)
        return (stored[found[0] - 1][2], found[1].priority) if found else None

    def _allowed(self, actor: str) -> None:
        if self.settings.admins and actor not in self.settings.admins:
            raise UserError("Only ADMINS change the alert routes (they move pages between teams). Nothing changed.")

    def act(self, actor: str, text: str, request_key: str | None = None) -> str:
        verb, _, rest = text.strip().partition(" ")
        verb = verb.lower()
        if verb in ("list", ""):
            return self.listing()
        if verb == "test" and rest.strip():
            labels = dict(parse_matchers(rest))
            with self.db.reading() as session:
                found = first_match([route for _, route, _ in self._stored(session)], labels)
            if found is None:
                return ("No route matches: such an alert goes by its own rules (its `rotation` label or field, "
                        "else the first rotation), at its own priority.")
            return f"Route {found[0]} matches: {found[1].describe()}."
        if verb == "add":
            return self._add(actor, rest, request_key)
        if verb == "remove" and rest.strip().lstrip("#").isdigit():
            return self._remove(actor, int(rest.strip().lstrip("#")), request_key)
        raise UserError(USAGE)

    def listing(self) -> str:
        with self.db.reading() as session:
            stored = self._stored(session)
        if not stored:
            return f"No alert routes yet: alerts go by their own rules.\n{USAGE}"
        return "*Alert routes* (the first that matches wins):\n" + "\n".join(
            f"{n}. {route.describe()}" for n, (_, route, _) in enumerate(stored, 1))

    def _add(self, actor: str, text: str, request_key: str | None) -> str:
        words = text.split()
        priority = Priority(words.pop().upper()) if words and words[-1].upper() in ("P0", "P1", "P2") else None
        if len(words) < 2:
            raise UserError(USAGE)
        name, matchers = words.pop().lower(), parse_matchers(" ".join(words))
        self._allowed(actor)
        now = self.clock.now()
        with self.db.session() as session:
            rotation = repo.rotations.rotation_by_name(session=session, name=name)
            if rotation is None:
                raise UserError(f"There is no rotation `{echo(name)}`; `/incident rotation list` shows them.")
            record_once(session, request_key, "route add", now)
            stored = self._stored(session)
            if len(stored) >= MAX_ROUTES:
                raise UserError(f"There are {MAX_ROUTES} routes already; remove one first.")
            position = max((row.position for row, _, _ in stored), default=0) + 1
            session.add(AlertRoute(position=position, matchers=",".join(f"{k}={v}" for k, v in matchers),
                                   rotation_id=rotation.id, priority=priority.value if priority else None,
                                   created_by=actor, created_at=now))
            commit_once(session, request_key)
        return f"Route {len(stored) + 1} added: {Route(matchers, name, priority).describe()}."

    def _remove(self, actor: str, number: int, request_key: str | None) -> str:
        self._allowed(actor)
        with self.db.session() as session:
            record_once(session, request_key, "route remove", self.clock.now())
            stored = self._stored(session)
            if not 1 <= number <= len(stored):
                raise UserError(f"There is no route {number}; `/incident route list` shows them.")
            row, route, _ = stored[number - 1]
            session.delete(row)
            commit_once(session, request_key)
        return f"Route {number} removed ({route.describe()}); the routes after it move up one."


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_rotation_key(rotations, rotation, actor: str, request_key: str | None = None) -> str:
    """`rotation key <name>`: a new PagerDuty routing key for the rotation, shown once (only its hash is kept);
    the old one stops working. As for roster changes: the rotation locked, the person allowed, applied once."""
    key = secrets.token_hex(16)  # 32 characters, as PagerDuty's integration keys
    with rotations.roster_change(rotation, actor, request_key, "rotation key") as session:
        repo.routes.set_rotation_key(session=session, rotation_id=rotation.id, key_hash=key_hash(key),
                                     user_id=actor, now=rotations.clock.now())
    return (f"The routing key of `{rotation.name}` is `{key}` — shown this once; the previous one no longer works. "
            "Use it as `routing_key` for the PagerDuty Events API (`POST /v2/enqueue`, e.g. Alertmanager's "
            "`pagerduty_configs`): its alerts go to this rotation.")
