"""Fixtures: a fake Slack, and the bot itself running on a real loopback port with its own SQLite file."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.db.engine import make_engine
from bot.db.models import Incident, Rotation, TimelineEvent
from bot.db.schema import upgrade_to_head
from bot.runtime.background import ACKS_FIRST_BUSY
from bot.runtime.wiring import Runtime, build_runtime
from tests.fake_slack import FakeSlack
from tests.fake_sources import FakePagerDuty
from tests.postgres import Postgres
from tests.slack_requests import SlackSender

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def cannot_run(why: str) -> NoReturn:
    """A prerequisite of a test is missing here (PostgreSQL, Chromium, ...): on a developer's machine the test is
    skipped; in CI (`CI` set, as `.ci/run` does) it fails, so CI never passes with part of the suite unrun."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test, but {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings must come from the test alone, never from the machine's environment."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    for user in ("U0REPORTER", "U0COMMANDER", "U0OTHER"):
        fake.add_user(user)
    fake.add_channel("C0INCIDENTS", "incidents")
    fake.add_channel("C0GENERAL", "general", general=True)
    yield fake
    await fake.stop()


@dataclass
class Bot:
    runtime: Runtime
    slack: SlackSender
    fake: FakeSlack
    clock: FakeClock
    url: str

    async def settle(self) -> None:
        """Wait until the background work started by the last requests is finished: the bot's own, and the
        listeners Bolt runs after an event's ack (tasks of its own, which the bot's background does not hold)."""
        while True:
            await self.runtime.background.drain()
            after_ack = [task for task in asyncio.all_tasks() if not task.done() and getattr(
                task.get_coro(), "__qualname__", "").endswith(".run_ack_function_asynchronously")]
            if not after_ack:
                return
            await asyncio.wait(after_ack)

    async def ack_then_die(self, request: Awaitable) -> tuple[int, str, float]:
        """Send `request` while a burst holds work after acks back, then cancel that work, as a process that died
        right after acking would leave it: what the request stored before its ack is all there is."""
        background = self.runtime.background
        for _ in range(ACKS_FIRST_BUSY + 1):  # a burst of requests in flight: work after the ack waits
            background.request_started()
        try:
            answer = await request
            for task in list(background._tasks):  # the process dies here
                task.cancel()
            await background.drain()
        finally:
            for _ in range(ACKS_FIRST_BUSY + 1):
                background.request_finished()
        return answer

    async def tick(self, **advance: float) -> None:
        """Move the clock (e.g. `minutes=5`), then run one scheduler tick and wait for what it started."""
        if advance:
            self.clock.advance(**advance)
        await self.runtime.tick()
        await self.settle()

    def session(self) -> Session:
        return Session(self.runtime.engine, expire_on_commit=False)

    def incidents(self) -> list[Incident]:
        with self.session() as s:
            return list(s.exec(select(Incident).order_by(Incident.number)))

    def events(self, incident: Incident) -> list[TimelineEvent]:
        with self.session() as s:
            return list(s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
                               .order_by(TimelineEvent.id)))

    async def open_declare(self, text: str = "", **kwargs) -> dict:
        """Type `/incident <text>` and return the modal the bot opened (as the fake stored it)."""
        before = len(self.fake.calls_to("views.open"))
        status, body, _ = await self.slack.command(text, **kwargs)
        assert status == 200, body
        await self.fake.wait_for("views.open", before + 1)
        return list(self.fake.views.values())[-1]

    async def declare(self, title: str = "Checkout is down", *, priority: str = "P1", user: str = "U0REPORTER",
                      channel: str = "C0GENERAL", settle: bool = True, **answers) -> Incident:
        """Open the modal, submit it, wait for the Slack set-up; return the stored incident."""
        view = await self.open_declare(user=user, channel=channel)
        status, body, _ = await self.slack.submit(view, {"title": title, "priority": priority, **answers}, user=user)
        assert status == 200 and body == "", body
        if settle:
            await self.settle()
        return self.incidents()[-1]

    def add_rotation(self, name: str, channel_id: str) -> Rotation:
        with self.session() as s:
            rotation = Rotation(name=name, channel_id=channel_id, created_by="U0ADMIN", created_at=self.clock.now())
            s.add(rotation)
            s.commit()
            return rotation


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once (each test copies it, as PostgreSQL's tests copy a template database): running
    every migration again for each test cost more than most tests. The migrations are tested from an empty
    database in test_migrations.py."""
    path = tmp_path_factory.mktemp("sqlite-template") / "firefighter.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()  # (the last connection closed: its write-ahead log is folded into the file)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that runs the bot runs twice: on SQLite, and on a real PostgreSQL."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "firefighter.db")
        yield f"sqlite:///{tmp_path / 'firefighter.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    if not server.url:
        cannot_run(f"PostgreSQL is not available: {server.why_not}")
    url = server.lend_database()
    yield url
    server.take_back(url)  # (after the bot's own fixtures: this one was set up before them)


@pytest.fixture
async def make_bot(database_url: str, fake_slack: FakeSlack) -> AsyncIterator[Callable]:
    started: list[tuple[TestServer, SlackSender]] = []
    runtimes: list[Runtime] = []

    async def start(*, public: bool = False, **overrides) -> Bot:
        """`public`: the bot knows its own address (PUBLIC_URL), as Sign in with Slack's redirects need."""
        port = 0
        if public:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            overrides.setdefault("public_url", f"http://127.0.0.1:{port}")
        values = {"slack_bot_token": TOKEN, "slack_signing_secret": SECRET, "slack_api_url": fake_slack.api_url,
                  "database_url": database_url, "incidents_channel": "C0INCIDENTS",
                  **overrides}
        settings = load_settings(_env_file=None, **values)
        clock = FakeClock()
        runtime = build_runtime(settings, clock=clock, slack_retry_backoff=0.01, scheduler=False)
        runtimes.append(runtime)
        server = TestServer(runtime.web, host="127.0.0.1", port=port or None)
        await server.start_server()
        url = str(server.make_url(""))
        sender = SlackSender(url, SECRET, fake_slack.response_url())
        started.append((server, sender))
        await runtime.background.drain()  # start-up's auth.test
        return Bot(runtime=runtime, slack=sender, fake=fake_slack, clock=clock, url=url)

    yield start
    for server, sender in started:
        await sender.close()
        await server.close()
    for runtime in runtimes:
        runtime.db.close()  # its database threads finish what they were given: nothing lands in the next test's rows
        runtime.engine.dispose()


@pytest.fixture
async def bot(make_bot) -> Bot:
    return await make_bot()


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    """A fake PagerDuty REST API (tests/fake_sources.py) for `python -m bot import pagerduty`."""
    fake = await FakePagerDuty().start()
    yield fake
    await fake.stop()


@pytest.fixture(params=["github", "gitlab"])
async def side(request: pytest.FixtureRequest):
    """An issue tracker beside the bot: a fake GitHub, then a fake GitLab (tests/trackers.py)."""
    from tests.trackers import start_side

    started = await start_side(request.param)
    yield started
    await started.fake.stop()


@pytest.fixture
async def tracked(make_bot, side):
    """The bot with that tracker configured and the rotation `payments` (U0A, U0B, U0C) in place."""
    from tests.test_paging import with_rotation

    bot = await make_bot(**side.settings())
    await with_rotation(bot)
    return bot


# The files whose tests take longest (`pytest --durations`: killed and restarted processes, a simulated week,
# thousand-alert bodies, CLI subprocesses), collected first: under pytest-xdist (`make test`) they then run beside
# the many short tests instead of alone at the end. Order only; every test runs.
LONGEST_FIRST = ("test_crash.py", "test_time_travel.py", "test_alerts.py", "test_storms.py", "test_cli.py",
                 "test_replicas.py", "test_authorization.py", "test_startup.py", "test_board_browser.py",
                 "test_setup_delivery.py", "test_concurrency.py", "test_alertmanager_real.py", "test_fuzz_http.py",
                 "test_tracker_replicas.py", "test_demo.py", "test_contact_processes.py", "test_schedule_upgrade.py",
                 "test_import_pagerduty.py", "test_status_subscribers.py", "test_status_browser.py",
                 "test_api_document.py", "test_config_io_property.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # (stable: each file keeps its order)
