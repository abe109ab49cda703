"""Reading: find incidents, list them, their timeline and the team's numbers. Never changes anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import StormAlert
from bot.db.models import FollowUp, Incident, Person, TimelineEvent
from bot.domain.errors import UserError
from bot.domain.incident import Priority, incident_ref
from bot.domain.incident_types import BUILT_IN
from bot.domain.reminders import Policy
from bot.domain.stats import IncidentFacts, Stats, summarize
from bot.domain.weekly import WeekFacts, WeekRow, first_week_start, pages_per_person, weekly
from bot.services.outcomes import Declared
from bot.services.visibility import hidden, list_filter
from bot.slack.text import echo
from bot.views import incident as incident_views
from bot.views import storms as storm_views
from bot.views.paging import paging_line

LIST_SCOPES = ("open", "all", "mine", "P0", "P1", "P2")
Rendering = Callable[[Incident], tuple[str, list[dict]]]  # the pinned summary, for the incident as it is then
LIST_LINE = ("id", "number", "priority", "status", "title", "commander_id", "channel_id", "thread_ts")  # views._line


@dataclass(frozen=True)
class Listing:
    incidents: list[Incident]
    total: int
    what: str


@dataclass(frozen=True)
class Detail:
    incident: Incident
    rotation_name: str | None
    responders: list[str]
    events: list[TimelineEvent]
    follow_ups: list[FollowUp]
    storm_alerts: list[StormAlert] = field(default_factory=list)  # when it is an alert storm: every alert in it


class Reading:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self._choices_read: asyncio.Future | None = None  # the declare form's choices being read now

    async def declare_form_defaults(self, channel_id: str | None) -> tuple[tuple[tuple[int, str], ...], int | None,
                                                                            list[tuple[str, bool]]]:
        """All rotations for the modal, and the default: the one bound to this channel, else the first created; and
        the incident types, (name, private). Forms asked for together share one read, whoever's channel: in a
        burst of `/incident` each read held SQLite's one database thread, and forms opened seconds late (Slack's
        trigger ids last 3 s). A form never gets choices read before the read it joined began."""
        reading = self._choices_read
        if reading is None:
            reading = self._choices_read = asyncio.ensure_future(self.db.run(self._declare_form_choices))
            reading.add_done_callback(lambda _: setattr(self, "_choices_read", None))
        rotations, choices, types = await asyncio.shield(reading)
        bound = next((i for i, _, channel in rotations if channel_id and channel == channel_id), None)
        default = bound if bound is not None else (rotations[0][0] if rotations else None)
        return choices, default, types

    def _declare_form_choices(self) -> tuple[list[tuple[int, str, str]], tuple[tuple[int, str], ...],
                                             list[tuple[str, bool]]]:
        """(rotations with their channels, the same as the form's (id, name) choices, types): the choices are one
        tuple for every form sharing this read, so the options built from them are built once too."""
        with self.db.reading() as session:
            rotations = repo.rotations.rotation_choices(session=session)
            types = sorted([(BUILT_IN, True), *repo.types.type_choices(session=session)])
        return rotations, tuple((i, name) for i, name, _ in rotations), types

    def seen_by(self, viewer: str | None) -> str | bool | None:
        """The incident lists' filter for a person (bot/domain/visibility.py): none for ADMINS."""
        return list_filter(viewer, self.settings.admins)

    def get(self, number: int, viewer: str | bool | None = False) -> Incident:
        """`viewer` (a person, or None for nobody in particular, as a page link): a private incident they may not
        see is answered as one that does not exist — not even that it is private."""
        with self.db.session() as session:
            incident = repo.incidents.incident_by_number(session=session, number=number)
            unseen = incident is not None and viewer is not False and hidden(
                session, incident, viewer if isinstance(viewer, str) else None, self.settings.admins)
        if incident is None or unseen:
            raise UserError(f"There is no {incident_ref(number)}.")
        return incident

    def number_for_channel(self, channel_id: str | None) -> int | None:
        """The incident whose own channel this is, so commands typed there need no `INC-<n>`."""
        if not channel_id:
            return None
        with self.db.session() as session:
            incident = repo.incidents.incident_by_channel(session=session, channel_id=channel_id)
        return incident.number if incident and incident.thread_ts is None else None

    def commanded_by(self, user_id: str, *, limit: int = 40) -> list[Incident]:
        """Open incidents this person commands (the App Home's first list)."""
        with self.db.session() as session:
            return repo.incidents.list_incidents(session=session, open_only=True, limit=limit, commander_id=user_id,
                                                 viewer=self.seen_by(user_id))

    def list(self, *, open_only: bool, viewer: str | None, limit: int = 40) -> tuple[list[Incident], int]:
        """What `viewer` may see (the App Home's list of open incidents)."""
        seen = self.seen_by(viewer)
        with self.db.session() as session:
            return (repo.incidents.list_incidents(session=session, open_only=open_only, limit=limit, viewer=seen),
                    repo.incidents.count_incidents(session=session, open_only=open_only, viewer=seen))

    def listing(self, scope: str, user_id: str, *, limit: int = 40) -> Listing:
        """`list [all|mine|P0|P1|P2]`: open incidents unless `all`; `mine` = those you command or respond to."""
        word = scope.strip().lower() or "open"
        chosen = next((s for s in LIST_SCOPES if s.lower() == word), None)
        if chosen is None:
            raise UserError(f"`list` takes {', '.join(f'`{s}`' for s in LIST_SCOPES[1:])} or nothing, "
                            f"not `{echo(scope)}`.")
        filters: dict = {"open_only": chosen != "all", "viewer": self.seen_by(user_id)}
        what = {"open": "open incidents", "all": "incidents", "mine": "open incidents you command or respond to"}
        if chosen == "mine":
            filters["involving"] = user_id
        elif chosen in Priority._value2member_map_:
            filters["priority"] = chosen
        with self.db.session() as session:
            found = repo.incidents.list_incidents(session=session, limit=limit, columns=LIST_LINE, **filters)
            total = repo.incidents.count_incidents(session=session, **filters)
        return Listing(found, total, what.get(chosen, f"open {chosen} incidents"))

    def board(self, rotation_name: str | None, priority: str | None, viewer: str | None) -> list[Incident]:
        """Open incidents and those resolved in the last 7 days that `viewer` may see, for the web board."""
        with self.db.session() as session:
            rotation = repo.rotations.rotation_by_name(session=session, name=rotation_name) if rotation_name else None
            if rotation_name and rotation is None:
                return []
            return repo.metrics.board_incidents(session=session, rotation_id=rotation.id if rotation else None,
                                                priority=priority, resolved_since=self.clock.now() - timedelta(days=7),
                                                viewer=self.seen_by(viewer))

    def detail(self, number: int, viewer: str | bool | None = False) -> Detail:
        incident = self.get(number, viewer)
        with self.db.session() as session:
            rotation = repo.rotations.rotation_of(session=session, incident=incident)
            responders = repo.incidents.responder_ids(session=session, incident_id=incident.id)
            events = repo.timeline.events_for(session=session, incident_id=incident.id)
            follow_ups = repo.follow_ups.follow_ups_of(session=session, incident_id=incident.id)
            storm = repo.storms.storm_of_incident(session=session, incident_id=incident.id) \
                if incident.source == "storm" else None
            alerts = repo.storms.storm_alerts(session=session, storm_id=storm.id) if storm else []
        return Detail(incident, rotation.name if rotation else None, responders, events, follow_ups, alerts)

    def weekly(self, weeks: int, policy: Policy) -> tuple[list[WeekRow], list[tuple[str, int]]]:
        """The last weeks for /stats: a row per week (team time), and pages per person over those weeks."""
        now = self.clock.now()
        since = first_week_start(now, self.settings.team_timezone, weeks)
        with self.db.reading() as session:
            rows = repo.incidents.incidents_declared_since(session=session, since=since)
            triaged = repo.timeline.triaged_times(session=session, declared_since=since)
            pages = repo.pages.pages_per_person(session=session, since=since)
        facts = [WeekFacts(priority=i.priority, status=i.status, created_at=i.created_at,
                           acknowledged_at=i.acknowledged_at, triaged_at=triaged.get(i.id),
                           resolved_at=i.resolved_at) for i in rows]
        return weekly(facts, now=now, policy=policy, weeks=weeks, tz=self.settings.team_timezone), \
            pages_per_person(pages)

    def people(self, user_ids: set[str]) -> dict[str, Person]:
        """People as Slack told us about them (names, pictures), for the web pages and feeds."""
        with self.db.reading() as session:
            return repo.people.people(session=session, user_ids=sorted(u for u in user_ids if u))

    def summary(self, incident: Incident) -> tuple[str, list[dict]]:
        """The pinned summary as it stands (the delivery engine keeps the message in Slack current)."""
        with self.db.reading() as session:
            return self.summary_from(session, incident)(incident)

    def summary_from(self, session: Session, incident: Incident) -> Rendering:
        """Reads what the summary shows besides the incident now; renders it later, with the incident as it is
        then (the set-up fills in its channel between the two)."""
        return self._summary_from(session, incident, repo.pages.pages_of(session=session, incident_id=incident.id))

    def summary_unless_paging(self, session: Session, incident: Incident,
                              fresh: Declared | None = None) -> Rendering | None:
        """`summary_from`, or None when the incident has pages (one about to go out changes what it says).
        `fresh`: declared in this transaction — paged or not as it says, and nobody has joined it yet (nothing to
        read: two statements fewer per declaration, SPEC § 7's end to end)."""
        if fresh is not None:
            return None if fresh.paged else self._summary_from(session, incident, [], responders=[])
        pages = repo.pages.pages_of(session=session, incident_id=incident.id)
        return None if pages else self._summary_from(session, incident, pages)

    def _summary_from(self, session: Session, incident: Incident, pages: list,
                      responders: list[str] | None = None) -> Rendering:
        rotation = repo.rotations.rotation_of(session=session, incident=incident)
        if responders is None:
            responders = repo.incidents.responder_ids(session=session, incident_id=incident.id)
        paging = paging_line(pages, self.settings.escalation_timeout(incident.priority))
        linked = repo.trackers.tracker_issues_of(session=session, incident_id=incident.id) \
            if self.settings.trackers else []
        issues = [(i.tracker, i.number, i.url) for i in linked]
        storm = repo.storms.storm_of_incident(session=session, incident_id=incident.id) if incident.source == "storm" \
            else None
        storm_line = storm_views.summary_line(repo.storms.storm_counts(session=session, storm_id=storm.id),
                                              storm.ended_at is not None) if storm else None
        return lambda then: incident_views.summary(then, rotation.name if rotation else None, responders, paging,
                                                   issues, storm_line)

    def stats(self, days: int) -> Stats:
        now = self.clock.now()
        with self.db.session() as session:
            rows = repo.incidents.incidents_declared_since(session=session, since=now - timedelta(days=days))
        facts = [IncidentFacts(priority=i.priority, status=i.status, created_at=i.created_at,
                               acknowledged_at=i.acknowledged_at, resolved_at=i.resolved_at,
                               reopen_count=i.reopen_count) for i in rows]
        return summarize(facts, now=now, days=days)
