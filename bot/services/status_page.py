"""The public status page (SPEC § Status page): components, publishing an incident, its public updates and its
public resolution — each a change to the incident like any other (its lock, a timeline event, once per request) —
and what the page shows, rebuilt only when something published changes (or each minute, for windows that begin)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.db.status_models import StatusComponent, StatusIncident, StatusUpdate
from bot.domain import lifecycle
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.domain.routes import parse_matchers
from bot.domain.status_page import (
    DAYS,
    LABEL,
    OUTAGES,
    Component,
    Maintenance,
    Page,
    Published,
    Update,
    component_states,
)
from bot.services.outcomes import Changed, Effects, Outcome
from bot.services.status_subscribers import notify
from bot.services.visibility import hidden
from bot.services.working import Working
from bot.slack.text import echo, escape

_NAME = re.compile(r"^[\w .&/+-]{1,60}$")
COMPONENT_USAGE = ("Use `/incident status component add <name> [group <group>]`, `status component remove <name>` or "
                   "`status components`.")
TEXT_MAX = 3000


class StatusPage:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, working: Working,
                 team_name: Callable[[], str | None] = lambda: None) -> None:
        """`team_name`: the workspace's, as Slack said at start-up: the page's name unless STATUS_PAGE_TITLE."""
        self.settings, self.db, self.clock, self.working = settings, db, clock, working
        self.team_name = team_name
        self._cache: dict[str, tuple[tuple, object]] = {}

    # -- components ---------------------------------------------------------------------------------------------

    def component(self, actor: str, text: str) -> str:
        verb, _, rest = text.strip().partition(" ")
        if verb.lower() not in ("add", "remove") or not rest.strip():
            raise UserError(COMPONENT_USAGE)
        if self.settings.admins and actor not in self.settings.admins:
            raise UserError("Only ADMINS change the status page's components. Nothing changed.")
        parts = re.split(r"\s+group\s+", rest.strip(), maxsplit=1, flags=re.IGNORECASE)
        name, group = parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""
        for word in (name, group):
            if word and not _NAME.match(word):
                raise UserError(f"`{echo(word)}` is not a component or group name: up to 60 letters, digits, "
                                "spaces and `.&/+-`.")
        with self.db.session() as session:
            found = repo.status.component_named(session=session, name=name)
            if verb.lower() == "remove":
                if found is None:
                    raise UserError(f"There is no component called `{echo(name)}` (`/incident status components`).")
                if repo.status.open_naming(session=session, component_id=found.id):
                    raise UserError(f"`{escape(found.name)}` is named by a published incident still open: resolve it "
                                    "first.")
                repo.status.remove_component(session=session, component_id=found.id)
                session.commit()
                return f"Removed the component `{escape(found.name)}` from the status page."
            if found is not None:
                raise UserError(f"There is a component called `{escape(found.name)}` already.")
            session.add(StatusComponent(name=name, group_name=group or None, created_at=self.clock.now()))
            session.commit()
        return f"Added the component `{escape(name)}`" + (f" in `{escape(group)}`" if group else "") + \
            " to the status page."

    def components_text(self) -> str:
        page = self.page()
        if not page.components:
            return f"No components on the status page yet. {COMPONENT_USAGE}"
        return "*Status page components*:\n" + "\n".join(
            f"• `{escape(c.name)}`" + (f" ({escape(c.group)})" if c.group else "") + f" — {LABEL[page.states[c.id]]}"
            for c in page.components)

    # -- publishing ---------------------------------------------------------------------------------------------

    def _may_publish(self, session, incident: Incident, actor: str) -> None:
        ref = incident_ref(incident.number)
        if incident.private:
            raise UserError(f"{ref} is private: a private incident is never published.")
        allowed = {incident.commander_id, incident.comms_id, *self.settings.admins,
                   *repo.incidents.responder_ids(session=session, incident_id=incident.id)}
        if actor not in allowed:
            raise UserError(f"Only {ref}'s commander, its communications lead, its responders or an admin publish it "
                            "on the status page.")

    def form_for(self, number: int, actor: str) -> tuple[Incident, list[str]]:
        """Before the publish form opens, in one read: the incident (as someone who may not see it hears it does not
        exist), may this person publish it (refused now rather than after they wrote it), and the components."""
        with self.db.reading() as session:
            incident = repo.incidents.incident_by_number(session=session, number=number)
            if incident is None or hidden(session, incident, actor, self.settings.admins):
                raise UserError(f"There is no {incident_ref(number)}.")
            self._may_publish(session, incident, actor)
            return incident, [c.name for c in repo.status.components(session=session)]

    def publish(self, number: int, actor: str, title: str, components: Sequence[str], state: str, message: str,
                request_key: str | None = None) -> Changed:
        title, message = " ".join(title.split())[:150], message.strip()
        if not title or not message or state not in OUTAGES:
            raise UserError("A published incident needs a public title, a state and a public message.")
        if len(message) > TEXT_MAX:
            raise UserError(f"Keep the public message to {TEXT_MAX} characters.")

        def apply(session, incident: Incident, now: datetime):
            self._may_publish(session, incident, actor)
            lifecycle.require_open(number, incident.status, "publish it", incident.duplicate_of)
            if repo.status.published_of(session=session, incident_id=incident.id) is not None:
                raise UserError(f"{incident_ref(number)} is on the status page already: `status update` adds to it.")
            found = [repo.status.component_named(session=session, name=n) for n in components]
            if any(c is None for c in found):
                raise UserError("A component it names is not on the status page any more: publish it again.")
            row = StatusIncident(incident_id=incident.id, title=title, state=state, published_at=now)
            session.add(row)
            session.flush()
            repo.status.link_components(session=session, status_incident_id=row.id, component_ids=[c.id for c in found])
            session.add(StatusUpdate(status_incident_id=row.id, status="investigating", body=message, by=actor, at=now,
                                     request_key=request_key))
            self._tell(session, row, [c.id for c in found], "investigating", message, now)
            shown = ", ".join(c.name for c in found) or "no component"
            return Outcome("published", f"on the status page: {escape(title)} ({LABEL[state]}: {escape(shown)})",
                           Effects(f":satellite_antenna: <@{actor}> published {incident_ref(number)} on the status "
                                   f"page as _{escape(title)}_ ({LABEL[state].lower()}: {escape(shown)}):\n>"
                                   f" {escape(message)}", refresh=False))
        return self._change(number, actor, apply, request_key)

    def update(self, number: int, actor: str, text: str, request_key: str | None = None, *,
               resolved: bool = False) -> Changed:
        body = text.strip()
        if not body:
            raise UserError("A public update needs its text: `/incident status update [INC-n] <text>`.")
        if len(body) > TEXT_MAX:
            raise UserError(f"Keep a public update to {TEXT_MAX} characters.")

        def apply(session, incident: Incident, now: datetime):
            self._may_publish(session, incident, actor)
            lifecycle.require_open(number, incident.status, "post a public update", incident.duplicate_of)
            row = repo.status.published_of(session=session, incident_id=incident.id)
            if row is None:
                raise UserError(f"{incident_ref(number)} is not on the status page: `status publish` first.")
            if row.resolved_at is not None:  # reopened since its public resolution: open on the page again
                row.resolved_at = None
                session.add(row)
            self.add_update(session, row, actor, body, now, request_key, resolved=resolved)
            kind = "public resolution" if resolved else "public update"
            return Outcome(kind.replace(" ", "_"), escape(body), Effects(
                f":satellite_antenna: <@{actor}> posted a {kind} of {incident_ref(number)} on the status page:\n>"
                f" {escape(body)}", refresh=False))
        return self._change(number, actor, apply, request_key)

    def add_update(self, session, row: StatusIncident, actor: str, body: str, now: datetime, request_key: str | None,
                   *, resolved: bool) -> None:
        status = "resolved" if resolved else "investigating"
        session.add(StatusUpdate(status_incident_id=row.id, status=status, body=body, by=actor, at=now,
                                 request_key=request_key))
        if resolved:
            row.resolved_at = now
            session.add(row)
        self._tell(session, row, repo.status.component_ids_of(session=session, status_incident_id=row.id), status,
                   body, now)

    def _tell(self, session, row: StatusIncident, component_ids: list[int], status: str, body: str, now) -> None:
        """The subscribers following its components hear it, in the transaction that stores it."""
        notify(session, self.working.outbox, component_ids, f"{row.title} ({status})",
               f"{body}\n\n{self.settings.public_url}/status#incident-{row.id}", now)

    def is_published_number(self, number: int) -> bool:
        with self.db.reading() as session:
            incident = repo.incidents.incident_by_number(session=session, number=number)
        return incident is not None and self.is_published(incident.id)

    def is_published(self, incident_id: int) -> bool:
        """Open on the status page (the resolve form then asks for its public resolution message); never a private
        incident."""
        with self.db.reading() as session:
            row = repo.status.published_of(session=session, incident_id=incident_id)
            incident = repo.incidents.incident_by_id(session=session, incident_id=incident_id) if row else None
        return row is not None and row.resolved_at is None and incident is not None and not incident.private

    def resolve_public(self, number: int, actor: str, text: str, request_key: str | None) -> None:
        """The resolve form's public resolution message, by whoever resolved it (they may: they just did)."""
        repo.database.retry_on_deadlock(self._resolve_public, number, actor, text, request_key)

    def _resolve_public(self, number: int, actor: str, text: str, request_key: str | None) -> None:
        key = f"{request_key}:public" if request_key else None
        with self.db.session() as session:
            incident = repo.incidents.incident_for_change(session=session, number=number)
            row = repo.status.published_of(session=session, incident_id=incident.id) if incident else None
            if row is None or row.resolved_at is not None or incident.private:
                return
            self.add_update(session, row, actor, text.strip()[:TEXT_MAX], self.clock.now(), key, resolved=True)
            try:
                session.commit()
            except IntegrityError:  # the same form twice: stored once
                session.rollback()

    def _change(self, number: int, actor: str, apply, request_key: str | None) -> Changed:
        try:
            return self.working.change(number, actor, apply, request_key, check_permission=False)
        except IntegrityError:  # the same form or command twice at once: stored once
            raise UserError("That was published already.") from None

    # -- the page -----------------------------------------------------------------------------------------------

    def page(self) -> Page:
        """What the page shows now, rebuilt when something published changed or the minute turned."""
        now = self.clock.now()
        with self.db.reading() as session:
            key = (repo.status.version(session=session), now.replace(second=0, microsecond=0))
            cached = self._cache.get("page")
            if cached and cached[0] == key:
                return cached[1]  # type: ignore[return-value]
            page = self._read(session, now, key)
        self._cache["page"] = (key, page)
        return page

    def _read(self, session, now: datetime, key: tuple) -> Page:
        rows = repo.status.components(session=session)
        components = tuple(Component(c.id, c.name, c.group_name, c.created_at) for c in rows)
        named = {c.name.lower(): c.id for c in rows}
        incidents = tuple(Published(i.id, i.title, i.state, i.published_at, i.resolved_at or ended, tuple(links),
                                    tuple(Update(u.id, u.status, u.body, u.at) for u in updates))
                          for i, ended, links, updates in repo.status.published_since(
                              session=session, since=now - timedelta(days=DAYS)))
        windows = []
        for window, _ in repo.maintenance.windows(session=session, ending_after=now):
            pairs = dict(parse_matchers(window.matchers)) if window.matchers else {}
            if (cid := named.get(pairs.get("component", "").lower())) is not None:
                windows.append(Maintenance(window.id, window.reason, window.starts_at, window.ends_at, (cid,)))
        name = self.settings.status_page_title or self.team_name() or "Status"
        return Page(name, f"{self.settings.public_url}/status", now, components, incidents, tuple(windows),
                    component_states(components, incidents, windows, now), key)
