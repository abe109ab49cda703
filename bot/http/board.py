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

from bot.config import Settings
from bot.db import repo
from bot.db.models import Person, Rotation
from bot.domain import reminders as rules
from bot.domain.burden import Report
from bot.domain.business_hours import WorkingTime
from bot.domain.errors import UserError
from bot.domain.fairness import DEFAULT_WEEKS, Load
from bot.domain.incident import Priority
from bot.http import board_views as views
from bot.http import web_text
from bot.http.charts import stats_charts
from bot.http.session import Viewer
from bot.http.tokens import page_allowed, verify
from bot.services import Reading, Rotations
from bot.slack.text import as_int, is_user_id
from bot.views import burden as burden_views

FEED_SHIFTS = 12
PAGE_SHIFTS = 8
STATS_WEEKS = 8
_rendering = threading.local()  # the people a page (rendering in this database thread) could not name


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def page_templates() -> jinja2.Environment:
    """The web pages' templates (bot/http/templates/), autoescaped: every page renders through these."""
    return jinja2.Environment(loader=jinja2.PackageLoader("bot.http", "templates"),
                              autoescape=jinja2.select_autoescape(["html"]))


def add_board_routes(app: web.Application, settings: Settings, reading: Reading, rotations: Rotations,
                     policy: rules.Policy, db: repo.database.Database,
                     group_of: Callable[[int], dict | None] = lambda _rotation_id: None,
                     loads_of: Callable[[Rotation], list[Load]] = lambda _rotation: [],
                     viewer_of: Callable[[web.Request], Viewer | None] = lambda _request: None,
                     want_names: Callable[[set[str]], None] = lambda _users: None,
                     names_now: Callable[[set[str]], Awaitable[int]] | None = None,
                     report_of: Callable[[Rotation, str], Report] | None = None,
                     maintenance_of: Callable[[], list[dict]] = lambda: []) -> None:
    """`group_of(rotation id)`: the rotation's @oncall user group as /healthz shows it, if it keeps one;
    `loads_of(rotation)`: its fairness figures over the last 12 weeks; `viewer_of(request)`: who signed in;
    `want_names(users)`: people shown whom Slack never told us about, to be asked about; `names_now(users)`: ask
    Slack about them now, within a time budget (how many it named); `report_of(rotation, month)`: its burden report
    (a UserError for a month malformed or not begun); `maintenance_of()`: the maintenance windows and the alerts
    they kept."""
    env = page_templates()
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

    def hours_of(commanders: set[str]) -> dict[str, WorkingTime]:
        """Commanders' business hours with their own holidays: their incidents' targets count on them."""
        if not commanders:
            return {}
        with db.reading() as session:
            return rotations.people.working_times(session, sorted(commanders), rotations.working_time)

    def board(request: web.Request) -> web.Response:
        who = guard(request)
        tz = viewer_tz(request)
        rotation_name = request.query.get("rotation", "")
        priority = request.query.get("priority", "")
        priority = priority if priority in Priority._value2member_map_ else ""
        only_missing = request.query.get("missing", "") == "1"
        found = reading.board(rotation_name or None, priority or None, who.user_id if who else None)
        people = people_of({i.commander_id for i in found if i.commander_id})
        columns = views.board_columns(found, people, reading.clock.now(), policy, tz, only_missing,
                                      hours_of({i.commander_id for i in found if i.commander_id}))
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
            detail = reading.detail(number, who.user_id if who else None)  # a page link names nobody
        except UserError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        people = people_of(views.incident_people(detail))
        commander = detail.incident.commander_id
        return render("incident.html", request, who, token=request.query.get("token", ""), tz=str(tz),
                      **views.incident_view(detail, people, reading.clock.now(), policy, tz,
                                            hours_of({commander} if commander else set())))

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

    def maintenance_page(request: web.Request) -> web.Response:
        who = guard(request)
        tz = viewer_tz(request)
        windows = [{**w, "starts": views.when(w["starts"], tz), "ends": views.when(w["ends"], tz),
                    "alerts": [{**a, "at": views.when(a["at"], tz)} for a in w["alerts"]]} for w in maintenance_of()]
        return render("maintenance.html", request, who, windows=windows, token=request.query.get("token", ""),
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
        people = people_of(views.rotation_people(plan, group, loads))
        return render("rotation.html", request, who, token=request.query.get("token", ""), tz=str(tz),
                      weeks=DEFAULT_WEEKS, **views.rotation_view(plan, group, loads, people, reading.clock.now(), tz))

    def report_csv(request: web.Request) -> web.Response:
        """The burden report as CSV: the same link check and visibility as the rotation's page."""
        guard(request)
        rotation = rotations.named_rotation(request.match_info["name"])
        if rotation is None or report_of is None:
            raise web.HTTPNotFound(text="No such rotation.")
        try:
            report = report_of(rotation, request.query.get("month", ""))
        except UserError:
            raise web.HTTPBadRequest(text="month must be YYYY-MM, a month that has begun.") from None
        people = people_of({person.user for person in report.people})
        names = {user: person.name for user, person in people.items() if person.name}
        return web.Response(body=("\ufeff" + burden_views.report_csv(report, names)).encode(),  # (BOM: Excel)
                            content_type="text/csv", charset="utf-8", headers={
                                "Content-Disposition": f'attachment; filename="{rotation.name}-{report.month}.csv"'})

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

    def shift_events(rotation: Rotation, only: str | None = None) -> list[views.FeedEvent]:
        plan = rotations.plan(rotation, shifts=FEED_SHIFTS)
        return views.shift_events(rotation, plan, people_of(views.plan_people(plan)), only)

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
    app.router.add_get("/maintenance", in_threads(maintenance_page))
    app.router.add_get("/rotations/{name}/report.csv", in_threads(report_csv))  # (before the page: never its name)
    app.router.add_get("/rotations/{name}", in_threads(rotation_page))
    app.router.add_get("/people/{file}", in_threads(person_feed))
