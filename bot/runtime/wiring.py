"""Wiring: from Settings to a running set of parts. Used by `python -m bot`, the tests and the benchmark."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db import repo
from bot.db.engine import make_engine
from bot.db.models import Page
from bot.delivery.clicks import ClickAnswers
from bot.delivery.contacts import ContactSends
from bot.delivery.covers import CoverMessages
from bot.delivery.declarations import Declarations
from bot.delivery.engine import LANES_AT_ONCE, DeliveryEngine
from bot.delivery.messages import Messages, ReminderMessages
from bot.delivery.pages import Pages
from bot.delivery.providers import Providers
from bot.delivery.setup import IncidentSetup, Surroundings
from bot.delivery.status_mail import StatusMails
from bot.delivery.storms import StormNews
from bot.delivery.tracker import TrackerDeliveries, refresh_summary
from bot.delivery.usergroups import UserGroupSync
from bot.http.server import build_web_app
from bot.http.tokens import ack_token
from bot.listeners.home import home_view
from bot.runtime.background import ACKS_FIRST_PARALLEL, FORMS_AT_ONCE, Background
from bot.runtime.deliveries import Handlers, register_handlers
from bot.runtime.memory import release_now_and_then
from bot.runtime.scheduler import build_scheduler
from bot.runtime.tick import Tick, tick_steps
from bot.services import (
    AckLinks,
    AlertRoutes,
    Alerts,
    ApiTokens,
    Capture,
    Clicks,
    Contacts,
    Covers,
    Declaring,
    EngineWatch,
    EscalationPolicies,
    Fairness,
    FollowUps,
    Handoffs,
    Heartbeats,
    IncidentTypes,
    IssueEvents,
    Maintenance,
    Outbox,
    Paging,
    People,
    Reading,
    Reminders,
    RotationLayers,
    Rotations,
    Services,
    ShiftChanges,
    StatusPage,
    StatusSubscribers,
    Storms,
    TimeOffs,
    UserGroups,
    Visibility,
    Working,
)
from bot.services.tracking import TrackerOut
from bot.slack.app import build_app
from bot.slack.gateway import SlackGateway, json_text, make_client
from bot.slack.socket_mode import SocketConnection
from bot.trackers import Tracker, TrackerDown, TrackerRefused, make_trackers

log = logging.getLogger(__name__)

# Web API calls in flight at once, at most: the forms opening, the delivery lanes and the other work after acks
# (bot/runtime/background.py, bot/delivery/engine.py): with aiohttp's default pool of 100 connections, the 400 forms
# a burst of `/incident` opens at once would queue for a connection (Slack's trigger ids last 3 s).
CALLS_AT_ONCE = FORMS_AT_ONCE + ACKS_FIRST_PARALLEL + LANES_AT_ONCE


def slack_session() -> aiohttp.ClientSession:
    """The one HTTP session every Web API call goes through (made on the running loop, closed at shutdown)."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), json_serialize=json_text,
                                 connector=aiohttp.TCPConnector(limit=CALLS_AT_ONCE))


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    db: repo.database.Database
    slack: SlackGateway
    background: Background
    services: Services
    tick: Callable[[], Awaitable[None]]
    bolt: AsyncApp
    web: web.Application
    scheduler: AsyncIOScheduler | None = None
    socket: SocketConnection | None = None  # Socket Mode only
    trackers: dict[str, Tracker] = field(default_factory=dict)  # the issue trackers configured
    providers: Providers | None = None  # the providers beyond Slack (Apprise)

    async def start(self) -> None:
        """Start-up work that talks to Slack runs in the background: serving must not wait for Slack."""
        # Everything built at start-up lives as long as the process: keep it out of the cyclic collector's way, so
        # a collection during a burst of requests walks only what the requests made (shorter pauses).
        gc.collect()
        gc.freeze()
        self.background.bind(asyncio.get_running_loop())
        if self.slack.client.session is None:  # one pooled HTTP session for every Web API call, not one per call
            self.slack.client.session = slack_session()
        self.background.spawn(self._warm_up(), name="warm-up")
        if self.providers is not None and self.providers.urls:
            self.background.spawn(self.providers.warm_up(), name="providers-warm-up")
        if self.socket is not None:  # in the background: HTTP (/healthz) serves while Slack cannot be reached
            self.socket.start()
        if self.scheduler is not None:
            self.scheduler.start()

    async def _warm_up(self) -> None:
        """Learn who we are (best effort). Nothing to resume: whatever a previous process left undelivered is
        stored, and the tick delivers it."""
        try:
            await self.slack.whoami()
        except (SlackApiError, OSError) as exc:
            log.warning("auth.test failed at start-up (%s); continuing", exc)
        for name, tracker in self.trackers.items():  # who we are there: its webhooks then tell our changes apart
            try:
                login = await tracker.whoami()
            except (TrackerDown, TrackerRefused) as exc:
                log.warning("%s: could not learn who the bot is there (%s); continuing", name, exc)
                continue
            await self.db.run_background(self._note_login, name, login)

    def _note_login(self, tracker: str, login: str) -> None:
        with self.db.session() as session:
            repo.trackers.note_tracker(session=session, tracker=tracker, login=login)
            session.commit()

    async def stop(self) -> None:
        if self.socket is not None:  # no new requests over the socket while the rest winds down
            await self.socket.close()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.background.drain(timeout=10)
        for tracker in self.trackers.values():
            await tracker.close()
        await self.services.watch.close()
        if self.providers is not None:
            self.providers.close()
        if self.slack.client.session is not None:
            await self.slack.client.session.close()
        self.db.close()
        self.engine.dispose()


def ack_link(settings: Settings, clock: Clock, page: Page, method: str) -> str:
    """A page's one-click acknowledge link (bot/http/ack.py), for the person it went to by that method."""
    token = ack_token(settings.web_secret or "", page.id, page.target_user_id or "", method, clock.now())
    return f"{settings.public_url}/ack/{token}"


def wire_services(settings: Settings, db: repo.database.Database, slack: SlackGateway, clock: Clock,
                  background: Background, trackers: dict[str, Tracker] | None = None,
                  providers: Providers | None = None) -> Services:
    """Each service gets only what it uses; the delivery engine learns what each kind of delivery means."""
    delivery = DeliveryEngine(db, clock, settings.delivery_lease, settings.scheduler_tick,  # the one way out
                              on_idle=lambda: release_now_and_then(background.quiet), spawn=background.spawn)
    outbox = Outbox(delivery, background)
    providers = providers or Providers(settings.contact_urls)  # (one set of provider threads for every kind)
    people = People(db, slack, clock, settings.team_timezone)
    rotations = Rotations(settings, db, clock, outbox, people, background)
    contacts = Contacts(settings, db, clock, outbox)
    policies = EscalationPolicies(settings, db, clock, rotations)
    paging = Paging(settings, db, clock, outbox, rotations, people, contacts, policies)
    tracker_out = TrackerOut(tuple(trackers or ()), outbox)
    working = Working(settings, db, clock, outbox, rotations, paging, tracker_out)
    declaring = Declaring(db, clock, outbox, paging, tracker_out)
    follow_ups = FollowUps(settings, db, clock, outbox, working, people, rotations, tracker_out)
    handoffs = Handoffs(settings, db, clock, outbox, rotations, working, follow_ups.overdue_of)
    reminders = Reminders(settings, db, clock, outbox, rotations, people, handoffs)
    reading = Reading(settings, db, clock)
    clicks = Clicks(db, clock, working)
    covers = Covers(settings, db, clock, outbox, rotations, people)
    storms = Storms(settings, db, clock, outbox, declaring, working)
    routes = AlertRoutes(settings, db, clock)
    maintenance = Maintenance(settings, db, clock, rotations)
    usergroups = UserGroups(db, clock, outbox, rotations)
    setup = IncidentSetup(delivery, db, slack, clock, settings, lambda session, incident, fresh: Surroundings(
        rotations.on_call_now(session, incident), rotations.announcement_channel(incident, session),
        reading.summary_unless_paging(session, incident, fresh)), reading.summary)
    register_handlers(delivery, Handlers(  # what each kind of delivery means (bot/runtime/deliveries.py)
        messages=Messages(db, slack, reading.summary_from),
        reminders=ReminderMessages(db, slack, reminders.still_due),
        pages=Pages(delivery, db, slack, clock, settings, settings.escalation_timeout, paging.escalate_refused),
        setup=setup, declarations=Declarations(delivery, declaring.declare_stored, setup),
        clicks=ClickAnswers(db, slack, lambda user: home_view(rotations, reading, user, covers, contacts)),
        apply_click=clicks.apply, covers=CoverMessages(delivery, slack, clock),
        storms=StormNews(delivery, slack, clock),
        usergroups=UserGroupSync(delivery, slack, clock, usergroups.now),
        trackers=TrackerDeliveries(delivery, clock, trackers or {}, settings.queue_label, refresh_summary(delivery)),
        status_mails=StatusMails(settings, providers),
        contacts=ContactSends(delivery, db, clock, providers,
                              settings.web_secret or "", settings.escalation_timeout,
                              lambda page, method: ack_link(settings, clock, page, method), paging.escalate_refused)))
    return Services(outbox=outbox, people=people, rotations=rotations, paging=paging, working=working,
                    declaring=declaring, handoffs=handoffs, reminders=reminders,
                    alerts=Alerts(settings, db, clock, declaring, working, storms, routes, maintenance),
                    storms=storms,
                    heartbeats=Heartbeats(settings, db, clock, declaring, working, rotations),
                    reading=reading, clicks=clicks,
                    issue_events=IssueEvents(settings, db, clock, declaring, working, follow_ups),
                    covers=covers, usergroups=usergroups, fairness=Fairness(db, clock, rotations, people),
                    capture=Capture(settings, db, clock, lambda: slack.team_url), follow_ups=follow_ups,
                    watch=EngineWatch(settings, db, clock, background), contacts=contacts,
                    ack_links=AckLinks(db, working), policies=policies,
                    shift_changes=ShiftChanges(db, clock, outbox, rotations),
                    time_off=TimeOffs(settings, db, clock, outbox, rotations, people, covers),
                    layers=RotationLayers(settings, db, clock, outbox, rotations), routes=routes,
                    maintenance=maintenance, visibility=Visibility(settings, db, clock),
                    types=IncidentTypes(settings, db, clock),
                    status_page=StatusPage(settings, db, clock, working, lambda: slack.team_name),
                    status_subscribers=StatusSubscribers(settings, db, clock, outbox),
                    api_tokens=ApiTokens(settings, db, clock))


def build_runtime(settings: Settings, clock: Clock | None = None, slack_retry_backoff: float = 0.5,
                  scheduler: bool = True, migrate: bool = True) -> Runtime:
    """`scheduler=False` leaves ticking to the caller (tests move a FakeClock and call `runtime.tick()`);
    `migrate=False`: the schema is known to be the newest (`python -m bot` migrated it in a child process)."""
    engine = make_engine(settings.database_url)
    if migrate:
        from bot.db.schema import upgrade_to_head

        upgrade_to_head(engine)
    slack = SlackGateway(make_client(settings.slack_bot_token, settings.slack_api_url, slack_retry_backoff))
    background = Background()
    db = repo.database.Database(engine)
    trackers = make_trackers(settings)
    providers = Providers(settings.contact_urls)
    services = wire_services(settings, db, slack, clock or SystemClock(), background, trackers, providers)
    services.contacts.wake = scheduler  # a send due between two ticks goes at its time
    tick = Tick(tick_steps(services, db), services, background)
    bolt = build_app(settings, services, slack, background, db)
    socket = SocketConnection(bolt, settings.slack_app_token) if settings.socket_mode and settings.slack_app_token \
        else None
    runtime = Runtime(settings=settings, engine=engine, db=db, slack=slack, background=background, services=services,
                      tick=tick, bolt=bolt, web=build_web_app(bolt, db, settings, services, background,
                                                              socket.state if socket else None, slack),
                      scheduler=build_scheduler(settings, tick) if scheduler else None, socket=socket,
                      trackers=trackers, providers=providers)

    async def on_startup(_app: web.Application) -> None:
        await runtime.start()

    async def on_cleanup(_app: web.Application) -> None:
        await runtime.stop()

    runtime.web.on_startup.append(on_startup)
    runtime.web.on_cleanup.append(on_cleanup)
    return runtime
