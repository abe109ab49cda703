"""The read-only web pages and calendar feeds: `/board`, `/incidents/<n>`, `/rotations/<name>[.ics]`,
`/people/<id>.ics`. Server-rendered (Jinja2, autoescaped), guarded by signed links. People appear by their Slack
names; stored Slack text is rendered as text (bot/http/web_text.py). Nothing here writes anything."""

from __future__ import annotations

import functools
import threading
import zoneinfo
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from aiohttp import web
from icalendar import Calendar, Event
from markupsafe import Markup

from bot.config import Settings
from bot.db.models import Person, Rotation
from bot.db.repo import Database
from bot.domain import reminders as rules
from bot.domain import targets
from bot.domain.errors import UserError
from bot.domain.fairness import DEFAULT_WEEKS, Load
from bot.domain.incident import Priority, Status, incident_ref
from bot.domain.rotation import ROLES
from bot.domain.stats import humanize
from bot.http import web_text
from bot.http.charts import stats_charts
from bot.http.session import Viewer
from bot.http.tokens import page_allowed, verify
from bot.services import Reading, Rotations
from bot.slack.text import as_int, is_user_id
from bot.views import fairness as fairness_views

COLUMNS = (("new", "New"), ("triaged", "Triaged"), ("in_progress", "In progress"), ("blocked", "Blocked"),
           ("resolved", "Resolved (last 7 days)"))
FEED_SHIFTS = 12
PAGE_SHIFTS = 8
STATS_WEEKS = 8
_rendering = threading.local()  # the people a page (rendering in this database thread) could not name


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def add_board_routes(app: web.Application, settings: Settings, reading: Reading, rotations: Rotations,
                     policy: rules.Policy, db: Database,
                     group_of: Callable[[int], dict | None] = lambda _rotation_id: None,
                     loads_of: Callable[[Rotation], list[Load]] = lambda _rotation: [],
                     viewer_of: Callable[[web.Request], Viewer | None] = lambda _request: None,
                     want_names: Callable[[set[str]], None] = lambda _users: None,
                     names_now: Callable[[set[str]], Awaitable[int]] | None = None) -> None:
    """`group_of(rotation id)`: the rotation's @oncall user group as /healthz shows it, if it keeps one;
    `loads_of(rotation)`: its fairness figures over the last 12 weeks; `viewer_of(request)`: who signed in;
    `want_names(users)`: people shown whom Slack never told us about, to be asked about; `names_now(users)`: ask
    Slack about them now, within a time budget (how many it named)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("bot.http", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    secret = settings.web_secret or ""
    if names_now is None:
        async def names_now(_users: set[str]) -> int:
            return 0

    def viewer_tz(request: web.Request) -> tzinfo:
        name = request.query.get("tz", "")
        if name not in _zone_names():  # never a path handed to the filesystem
            return settings.team_timezone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return settings.team_timezone

    def when(moment: datetime, tz: tzinfo) -> str:
        return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")

    def people_of(users: set) -> dict[str, Person]:
        """People as Slack told us about them; those it never named are noted for `in_threads` to ask about
        before the page is answered, and asked about in the background too (named from then on)."""
        wanted = {u for u in users if is_user_id(u)}  # (a forged feed token may name anything)
        found = reading.people(wanted)
        unnamed = {u for u in wanted if u not in found or not found[u].name}
        if unnamed:
            noted = getattr(_rendering, "unnamed", None)
            if noted is not None:
                noted.update(unnamed - found.keys())  # (one Slack could not name is not asked again per look)
            want_names(wanted - found.keys())
        return found

    def guard(request: web.Request) -> Viewer | None:
        """Who signed in (None for a signed link); neither: 403."""
        who = viewer_of(request)
        if who is None and not page_allowed(secret, request.query.get("token"), reading.clock.now()):
            hint = " — or sign in with Slack at /auth/slack/login" if settings.sign_in else ""
            raise web.HTTPForbidden(text="This link is missing, wrong or expired: ask the bot for a new one "
                                         f"(`/incident board`){hint}.")
        return who

    def render(template: str, request: web.Request, who: Viewer | None, **context) -> web.Response:
        return web.Response(text=env.get_template(template).render(
            viewer=who, sign_in=settings.sign_in, path=request.path_qs, **context), content_type="text/html")

    def board(request: web.Request) -> web.Response:
        who = guard(request)
        tz, now = viewer_tz(request), reading.clock.now()
        rotation_name = request.query.get("rotation", "")
        priority = request.query.get("priority", "")
        priority = priority if priority in Priority._value2member_map_ else ""
        only_missing = request.query.get("missing", "") == "1"
        found = reading.board(rotation_name or None, priority or None)
        people = people_of({i.commander_id for i in found if i.commander_id})
        columns = []
        for key, title in COLUMNS:
            cards = []
            for incident in (i for i in found if i.status == key):
                standing = targets.standings(rules.facts_of(incident), now, policy)
                if only_missing and not targets.missing(standing):
                    continue
                cards.append({
                    "number": incident.number, "ref": incident_ref(incident.number), "title": incident.title,
                    "priority": incident.priority, "commander": web_text.person(incident.commander_id, people),
                    "age": humanize(now - incident.created_at),
                    "quiet": humanize(now - (incident.last_update_at or incident.created_at)),
                    "targets": [{"text": s.text, "state": s.state, "due": when(s.due_at, tz)} for s in standing],
                    "overdue": targets.missing(standing)})
            columns.append({"key": key, "title": title, "cards": cards})
        return render("board.html", request, who, columns=columns, token=request.query.get("token", ""), tz=str(tz),
                      rotations=[r.name for r in rotations.all()], rotation=rotation_name, priority=priority,
                      missing=only_missing)

    def incident_page(request: web.Request) -> web.Response:
        who = guard(request)
        tz = viewer_tz(request)
        number = as_int(request.match_info["number"])
        if number is None:
            raise web.HTTPNotFound(text="No such incident.")
        try:
            detail = reading.detail(number)
        except UserError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        incident = detail.incident
        people = people_of({incident.commander_id, incident.reporter_id, *detail.responders,
                                 *(e.actor_id for e in detail.events), *(f.owner for f in detail.follow_ups),
                                 *web_text.mentioned([*(e.text for e in detail.events), incident.postmortem,
                                                      *(f.text for f in detail.follow_ups)])} - {None, ""})
        events = [{"when": when(e.at, tz), "who": web_text.person(e.actor_id, people, "Firefighter"),
                   "kind": e.kind, "text": web_text.slack_to_html(e.text, people)} for e in detail.events]
        follow_ups = [{"id": f.id, "text": web_text.slack_to_html(f.text, people),
                       "owner": web_text.person(f.owner, people),
                       "due": f.due_on.isoformat() if f.due_on else "", "done": f.done_at is not None}
                      for f in detail.follow_ups]
        standing = [{"text": s.text, "state": s.state, "due": when(s.due_at, tz)}
                    for s in targets.standings(rules.facts_of(incident), reading.clock.now(), policy)]
        storm_alerts = [{"priority": a.priority, "title": a.title, "url": a.url or "", "state": a.state,
                         "times": a.times, "first": when(a.first_at, tz)} for a in detail.storm_alerts]
        return render("incident.html", request, who, incident=incident, ref=incident_ref(incident.number),
                      events=events, follow_ups=follow_ups, storm_alerts=storm_alerts, targets=standing,
                      postmortem=web_text.slack_to_html(incident.postmortem, people),
                      responders=[web_text.person(r, people) for r in detail.responders],
                      status=Status(incident.status).label, commander=web_text.person(incident.commander_id, people),
                      reporter=web_text.person(incident.reporter_id, people, "an alert or a tracker"),
                      declared=when(incident.created_at, tz), token=request.query.get("token", ""), tz=str(tz))

    def stats_page(request: web.Request) -> web.Response:
        who = guard(request)
        tz = viewer_tz(request)
        weeks = as_int(request.query.get("weeks")) or STATS_WEEKS
        weeks = min(max(weeks, 1), 52)
        rows, pages = reading.weekly(weeks, policy)
        people = people_of({user for user, _ in pages})
        charts = stats_charts(rows, [(web_text.name_of(user, people), count) for user, count in pages])
        return render("stats.html", request, who, charts=charts, weeks=weeks, team_tz=str(settings.team_timezone),
                      token=request.query.get("token", ""),
                      tz=str(tz))

    def rotation_page(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name.endswith(".ics"):
            return rotation_feed(request, name.removesuffix(".ics"))
        who = guard(request)
        tz = viewer_tz(request)
        rotation = rotations.named_rotation(name)
        if rotation is None:
            raise web.HTTPNotFound(text="No such rotation.")
        plan = rotations.plan(rotation, shifts=PAGE_SHIFTS)
        group = group_of(rotation.id)
        loads = loads_of(rotation)
        people = people_of({*plan.roster, *(o.user_id for o in plan.overrides), *(load.user for load in loads),
                                 *(u for s in plan.shifts for u in (s.primary, s.secondary, s.tertiary) if u),
                                 *(group["members"] if group else ())})

        def named(user_id: str | None):
            return web_text.person(user_id, people)

        shifts = [{"when": ("now – " if i == 0 else "") + when(s.shift_start if i else reading.clock.now(), tz)
                   + f" → {when(s.shift_end, tz)}", "primary": named(s.primary), "secondary": named(s.secondary),
                   "tertiary": named(s.tertiary)} for i, s in enumerate(plan.shifts)]
        overrides = [Markup("{} is {} from {} to {}").format(named(o.user_id), o.role, when(o.starts_at, tz),
                                                             when(o.ends_at, tz)) for o in plan.overrides]
        if group is not None:
            group = {**group, "members": Markup(", ").join(named(u) for u in group["members"]) or "nobody yet"}
        rows = [{"who": named(load.user), "shifts": fairness_views.shifts(load),
                 "hours": round(sum(load.hours.values())), "pages": load.pages, "night": load.night_pages,
                 "ack": fairness_views.duration(load.median_acknowledge), "given": load.covers_given,
                 "taken": load.covers_taken} for load in loads]
        return render("rotation.html", request, who, name=rotation.name, shifts=shifts, overrides=overrides,
                      roster=Markup(", ").join(named(u) for u in plan.roster) or "nobody",
                      token=request.query.get("token", ""), tz=str(tz), group=group, loads=rows, weeks=DEFAULT_WEEKS)

    def calendar(name: str, events: list[tuple[str, str, datetime, datetime]]) -> web.Response:
        cal = Calendar()
        cal.add("prodid", "-//Firefighter//on-call//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", name)
        for uid, summary, start, end in events:
            event = Event()
            event.add("uid", uid)
            event.add("summary", summary)
            event.add("dtstart", start)
            event.add("dtend", end)
            event.add("dtstamp", reading.clock.now())
            cal.add_component(event)
        return web.Response(body=cal.to_ical(), content_type="text/calendar", charset="utf-8")

    def shift_events(rotation, only: str | None = None) -> list[tuple[str, str, datetime, datetime]]:
        plan = rotations.plan(rotation, shifts=FEED_SHIFTS)
        people = people_of({*plan.roster, *(o.user_id for o in plan.overrides)})
        found = []
        for shift in plan.shifts:
            for role in ROLES:
                user = shift.holder(role)
                if user and (only is None or user == only):
                    found.append((f"{rotation.name}-{shift.shift_index}-{role.value}@firefighter",
                                  f"{rotation.name} {role.value}: {web_text.name_of(user, people)}",
                                  shift.shift_start, shift.shift_end))
        for override in plan.overrides:
            if only is None or override.user_id == only:
                found.append((f"{rotation.name}-override-{override.id}@firefighter",
                              f"{rotation.name} {override.role} (override): "
                              f"{web_text.name_of(override.user_id, people)}", override.starts_at, override.ends_at))
        return found

    def rotation_feed(request: web.Request, name: str) -> web.Response:
        rotation = rotations.named_rotation(name)
        claims = verify(secret, request.query.get("token"))
        if (rotation is None or not claims or claims.get("k") != "ics" or claims.get("r") != rotation.name
                or claims.get("v") != rotation.feed_version):
            raise web.HTTPForbidden(text="This feed link is wrong or was revoked.")
        return calendar(f"On call: {rotation.name}", shift_events(rotation))

    def person_feed(request: web.Request) -> web.Response:
        user = request.match_info["file"].removesuffix(".ics")
        claims = verify(secret, request.query.get("token"))
        if not request.match_info["file"].endswith(".ics") or not claims or claims.get("k") != "ics" \
                or claims.get("p") != user or not is_user_id(user) \
                or claims.get("v", 0) != rotations.person_feed_version(user):
            raise web.HTTPForbidden(text="This feed link is wrong or was revoked.")
        events = [e for rotation in rotations.all() for e in shift_events(rotation, only=user)]
        return calendar(f"On call: {web_text.name_of(user, people_of({user}))}", events)

    def rendered(page: Callable[[web.Request], web.StreamResponse], request: web.Request):
        _rendering.unnamed = set()
        try:
            return page(request), _rendering.unnamed
        finally:
            _rendering.unnamed = None

    def in_threads(page: Callable[[web.Request], web.StreamResponse]):
        """Each page reads as it renders: all of it runs in the database's threads. A page showing people Slack
        never named asks Slack about them first (NAMES_BUDGET in all) and renders again: named, or "a teammate"
        — never a raw id."""
        async def route(request: web.Request) -> web.StreamResponse:
            response, unnamed = await db.run(rendered, page, request)
            if unnamed and await names_now(unnamed):
                response, _ = await db.run(rendered, page, request)
            return response
        return route

    app.router.add_get("/board", in_threads(board))
    app.router.add_get("/incidents/{number}", in_threads(incident_page))
    app.router.add_get("/stats", in_threads(stats_page))
    app.router.add_get("/rotations/{name}", in_threads(rotation_page))
    app.router.add_get("/people/{file}", in_threads(person_feed))
