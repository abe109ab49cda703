"""Wiring: from Settings to a running set of parts. Used by `python -m bot`, the tests and the benchmark."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.app import build_app
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import make_engine, upgrade_to_head
from bot.db.repo import Database
from bot.notify import Background, SlackGateway, make_client
from bot.scheduler import build_scheduler
from bot.services import IncidentService
from bot.web import build_web_app

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    slack: SlackGateway
    background: Background
    incidents: IncidentService
    bolt: AsyncApp
    web: web.Application
    scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        """Start-up work that talks to Slack runs in the background: serving must not wait for Slack."""
        # Everything built at start-up lives as long as the process: keep it out of the cyclic collector's way, so
        # a collection during a burst of requests walks only what the requests made (shorter pauses).
        gc.collect()
        gc.freeze()
        if self.slack.client.session is None:  # one pooled HTTP session for every Web API call, not one per call
            self.slack.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.background.spawn(self._warm_up(), name="warm-up")
        if self.scheduler is not None:
            self.scheduler.start()

    async def _warm_up(self) -> None:
        """Learn who we are (best effort). Nothing to resume: whatever a previous process left undelivered is
        stored, and the tick delivers it."""
        try:
            await self.slack.whoami()
        except (SlackApiError, OSError) as exc:
            log.warning("auth.test failed at start-up (%s); continuing", exc)

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.background.drain(timeout=10)
        if self.slack.client.session is not None:
            await self.slack.client.session.close()
        self.engine.dispose()


def build_runtime(settings: Settings, clock: Clock | None = None, slack_retry_backoff: float = 0.5,
                  scheduler: bool = True) -> Runtime:
    """`scheduler=False` leaves ticking to the caller (tests move a FakeClock and call `incidents.tick()`)."""
    engine = make_engine(settings.database_url)
    upgrade_to_head(engine)
    slack = SlackGateway(make_client(settings.slack_bot_token, settings.slack_api_url, slack_retry_backoff))
    background = Background()
    incidents = IncidentService(settings=settings, db=Database(engine), slack=slack, clock=clock or SystemClock(),
                                background=background)
    bolt = build_app(settings, incidents)
    runtime = Runtime(settings=settings, engine=engine, slack=slack, background=background, incidents=incidents,
                      bolt=bolt, web=build_web_app(bolt, engine, settings, incidents),
                      scheduler=build_scheduler(settings, incidents.tick) if scheduler else None)

    async def on_startup(_app: web.Application) -> None:
        await runtime.start()

    async def on_cleanup(_app: web.Application) -> None:
        await runtime.stop()

    runtime.web.on_startup.append(on_startup)
    runtime.web.on_cleanup.append(on_cleanup)
    return runtime
