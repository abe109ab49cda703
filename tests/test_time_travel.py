"""A week of incidents in half a minute, under faults: a time-travel harness in the spirit of GoAlert's smoke tests.

Why: each reliability promise (SPEC §5) has a test of its own, but what people receive is decided by all of them
together — the delivery engine's lanes, leases and backoffs, the tick, two replicas, a crash. This runs one scripted
week (declarations of every priority, acknowledgements, an unanswered P0 escalating to `@here`, hourly nags that reach
the firefighters, a P1's warning and missed target, triage and heading-home reminders, the Monday heads-up and the
Tuesday handoff digest, alerts opening and resolving incidents) against real `python -m bot` processes whose "now"
is a file the test moves (FIREFIGHTER_CLOCK_FILE).

What it proves: the week runs twice — once with one process and Slack answering everything (the baseline), then with
two processes on one database, requests going to either, and faults at random steps: a 5xx outage (of everything,
or of one person's DMs), a 429 storm with Retry-After, an `invalid_auth` spell, calls slower than the lease, and a
kill -9 (right after the process answered a request, or the moment Slack has acted on its n-th call, before it hears
the answer) followed by a restart. The messages people are left with — each in its final state, where it is — must be
the same multiset: nothing missing, nothing extra. Ephemeral replies, response_url answers, pins, channel topics and
members, and the HTTP answer to every request are compared too; the baseline is also held to absolute facts.
One allowance (docs/reliability.md): a message Slack accepted from a process that was killed before it could
record it may be sent again (at most once). Only that: a message counts as unrecorded when, at the moment the process
was dead, its ts was stored nowhere in the database and a delivery that could have sent it there (its lane: that
person, that channel, that incident) was still claimed and not marked sent. A second copy of anything already recorded
is a failure, however close to a kill. Those extras are printed, not failed.

How time is kept honest: both runs decide everything at the same clock instants (whole minutes; a step that waits for
a decision comes a minute after it is due). A fault lasts under a minute of clock time within one step and is over,
with everything owed delivered, before the next step: a delivery it delays is seconds late, so no figure people read
("no update for 1h 1m", "escalates 09:15") changes. The clock never moves while a Slack call is in flight, so a lease
(clock time) lapses only for a process that is really gone.

`FIREFIGHTER_TIME_TRAVEL_SEEDS=5` runs five seeds per database instead of one. The fault plan differs from run to run
(CI included): it is drawn from FIREFIGHTER_FAULT_SEED, random unless set, and printed with every run and failure so
that the same plan can be replayed. `FIREFIGHTER_TIME_TRAVEL_PLAN` replays chosen faults, e.g.
'{"31": ["kill", {"victim": "served", "calls": 0}, [20]]}' (step → kind, detail, clock offsets).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import difflib
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from bot.db.contact_models import PageSend
from bot.db.engine import make_engine, normalize_url
from bot.db.models import Delivery, Incident, Notice, Page
from bot.db.schema import upgrade_to_head
from bot.slack.ids import ActionId
from bot.views.incident import declare_modal
from tests.conftest import SECRET
from tests.fake_slack import FakeSlack
from tests.receivers import MailServer
from tests.slack_requests import SlackSender, view_submission
from tests.test_process import bot_env, free_port, wait_healthy

SEEDS = list(range(1, int(os.environ.get("FIREFIGHTER_TIME_TRAVEL_SEEDS") or 1) + 1))
# Where the fault plans come from: another one each run unless set (see the module docstring).
FAULT_SEED = os.environ.get("FIREFIGHTER_FAULT_SEED") or str(random.SystemRandom().randrange(1, 1_000_000))

TEAM = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 23, tzinfo=TEAM)
ALERTS_TOKEN = "time-travel-alerts"
TICK = 0.1  # SCHEDULER_TICK, seconds (real time between ticks)
LEASE = 3.0  # DELIVERY_LEASE, seconds of clock time; an attempt is cut off after LEASE / 2 real seconds
SETTINGS = {"SCHEDULER_TICK": f"{TICK}s", "DELIVERY_LEASE": f"{LEASE}s", "TEAM_TIMEZONE": TEAM.key,
            "INCIDENTS_CHANNEL": "C0INCIDENTS", "ALERTS_TOKEN": ALERTS_TOKEN, "ESCALATION_TIMEOUT_P0": "5m",
            "ESCALATION_TIMEOUT_P1": "30m", "P0_UPDATE_INTERVAL": "60m", "P0_RENAG_INTERVAL": "30m"}
TIMEOUTS = {"P0": timedelta(minutes=5), "P1": timedelta(minutes=30)}

QUIET = 0.2  # real seconds without a Slack call (and none in flight), or since a request was answered
AFTER_MOVE = 0.3  # real seconds after moving the clock before anything counts as quiet: two ticks at least
SETTLE_LIMIT = 60.0
KILL_WINDOW = 1.0  # real seconds: what a killed process had posted this close to its death may be posted again
# (if it was still unrecorded then: see Death)

FIREFIGHTERS = ("U0A", "U0B", "U0C", "U0D")
PEOPLE = (*FIREFIGHTERS, "U0REPORTER", "U0COMMANDER", "U0OTHER")
# What a Slack outage takes down: everything the bot calls to tell people something. Left alone: views.* (the
# script submits its forms directly), auth.test, and users.info — timezones only matter where people's differ
# (here all are the team's), and the tick's timezone refresh retries each person for seconds of real time.
SLACK_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "chat.getPermalink", "conversations.create",
                 "conversations.invite", "conversations.setTopic", "conversations.join", "conversations.history",
                 "conversations.list", "conversations.replies", "pins.add")


# -- the fake Slack, also telling when it is busy and who posted what ----------------------------------------------

_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="?")


@dataclass
class Posted:
    caller: str  # the process incarnation (its token tells them apart)
    channel: str
    message: dict  # as posted, before any edit (an ephemeral: its arguments)
    at: float  # time.monotonic()
    ephemeral: bool = False


@dataclass
class RecordingSlack(FakeSlack):
    in_flight: int = 0
    last_activity: float = 0.0
    quiet_from: float = 0.0  # after an answer the client retries by itself, it is not quiet before this
    posted: list[Posted] = field(default_factory=list)  # messages and ephemerals, as Slack accepted them
    crash: list | None = None  # [caller, calls left, kill]: kill the caller once Slack has acted on its n-th call

    async def _handle(self, request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        _caller.set(token.removeprefix("xoxb-ff-") or "?")
        self.in_flight += 1
        self.last_activity = time.monotonic()
        try:
            response = await super()._handle(request)
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()
        if self.crash and self.crash[0] == _caller.get():
            self.crash[1] -= 1
            if self.crash[1] <= 0:  # Slack has acted; the process dies before it hears the answer
                kill, self.crash = self.crash[2], None
                kill()
        # slack-sdk retries 500/503 and dropped connections itself (backoff up to 3 s) and 429 after Retry-After.
        if response.status in (500, 503):
            self.quiet_from = max(self.quiet_from, time.monotonic() + 3.3)
        elif response.status == 429:
            wait = int(str(response.headers.get("Retry-After", "1"))[0])  # (slack-sdk reads the first digit)
            self.quiet_from = max(self.quiet_from, time.monotonic() + wait + 1.2)
        return response

    async def _handle_response_url(self, request):
        self.last_activity = time.monotonic()
        return await super()._handle_response_url(request)

    def _api_chat_postMessage(self, args: dict) -> dict:
        result = super()._api_chat_postMessage(args)
        message = json.loads(json.dumps(result["message"]))
        self.posted.append(Posted(_caller.get(), result["channel"], message, time.monotonic()))
        return result

    def _api_chat_postEphemeral(self, args: dict) -> dict:
        result = super()._api_chat_postEphemeral(args)
        self.posted.append(Posted(_caller.get(), result["channel"], {"user": args.get("user"), "text": args.get(
            "text")}, time.monotonic(), ephemeral=True))
        return result

    def idle_for(self) -> float:
        now = time.monotonic()
        if self.in_flight or now < self.quiet_from:
            return 0.0
        return now - self.last_activity


_migrating = threading.Lock()  # Alembic keeps global state: one upgrade at a time in this process


def migrate(database_url: str) -> None:
    with _migrating:
        engine = make_engine(database_url)
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()


def new_slack() -> RecordingSlack:
    fake = RecordingSlack()
    for user in PEOPLE:
        fake.add_user(user, tz=TEAM.key)
    fake.add_channel("C0INCIDENTS", "incidents")
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0PAY", "payments-oncall", members=("U0A",))
    return fake


# -- one bot process ---------------------------------------------------------------------------------------------


class Bot:
    """`python -m bot` with the clock file; `tag` names this incarnation (its token, its log file)."""

    def __init__(self, world: World, tag: str) -> None:
        self.world, self.tag = world, tag
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.killed = False
        self.sender = SlackSender(self.url, SECRET, world.fake.response_url())
        self.sender.trigger = 10_000 * world.incarnations  # trigger ids (request keys) never repeat across bots

    async def start(self) -> None:
        w = self.world
        env = bot_env(SLACK_BOT_TOKEN=f"xoxb-ff-{self.tag}", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=w.fake.api_url,
                      DATABASE_URL=w.database_url, HOST="127.0.0.1", PORT=str(self.port), LOG_LEVEL="INFO",
                      FIREFIGHTER_CLOCK_FILE=str(w.clock_file), NOTIFY_EMAIL_URL=w.mail.url(), **SETTINGS)
        with open(w.dir / f"bot-{self.tag}.log", "wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=w.dir, env=env, stdout=log, stderr=log)
        await wait_healthy(self.url, self.process)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and not self.killed

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        await self.sender.close()
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# -- faults ------------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """Injected before a step's action and over before the step ends. `offsets`: how far the clock moves within the
    step (seconds after its instant) while the fault holds; the last move comes once Slack is back."""

    kind: str
    detail: dict
    offsets: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.kind} {json.dumps(self.detail, sort_keys=True)}"

    def begin(self, world: World) -> None:
        fake, d = world.fake, self.detail
        if self.kind == "outage" and d.get("only_dms_to"):  # a partial outage: one person's DMs fail
            fake.fail("chat.postMessage", d["error"], status=d["status"], times=100_000, channel=d["only_dms_to"])
        elif self.kind == "outage":
            for method in SLACK_METHODS:
                fake.fail(method, d["error"], status=d["status"], times=100_000)
        elif self.kind == "storm":
            for method in d["methods"]:
                fake.fail(method, "ratelimited", status=429, times=100_000, retry_after=d["retry_after"])
        elif self.kind == "invalid_auth":
            for method in SLACK_METHODS:
                fake.fail(method, "invalid_auth", status=200, times=100_000)
        elif self.kind == "slow":
            fake.slow(d["seconds"], d["method"])

    def end(self, world: World) -> None:
        world.fake.recover()
        if self.kind == "slow":
            world.fake.slow(0, self.detail["method"])


def fault_plan(rng: random.Random) -> dict[int, Fault]:
    """One fault of each kind at distinct random steps (never the first two, which build the rotation)."""
    steps = rng.sample(range(2, len(SCRIPT) - 1), 5)
    outage = {"status": rng.choice([500, 502, 503, 504]),
              "error": rng.choice(["internal_error", "service_unavailable", "fatal_error"])}
    if scope := rng.choice([None, None, "U0A", "U0B", "U0C", "U0OTHER"]):
        outage["only_dms_to"] = scope
    plan = {
        # (slack-sdk retries 500 and 503 itself for seconds of real time: one round of those is enough)
        steps[0]: Fault("outage", outage, (30,) if outage["status"] in (500, 503) else (20, 40)),
        steps[1]: Fault("storm", {"retry_after": rng.choice([1, 2]),
                                  "methods": rng.choice([["chat.postMessage"], ["chat.postMessage", "chat.update"],
                                                         list(SLACK_METHODS)])}, (30,)),
        steps[2]: Fault("invalid_auth", {}, (20, 40)),
        steps[3]: Fault("slow", {"method": rng.choice(["chat.postMessage", "pins.add", "conversations.create"]
                                                      if SCRIPT[steps[3]].opens else ["chat.postMessage"]),
                                 "seconds": LEASE + 0.5}, (20,)),
        # kill -9 of a process the moment Slack has acted on its n-th call of the step (before it hears the answer),
        # or right after it answered the step's request (n = 0), or once all is quiet if it never makes n calls.
        # "served": the process that answered the step's request. Then a new process takes its place and the clock
        # moves past the lease, so that whatever the dead one held is taken over.
        steps[4]: Fault("kill", {"victim": rng.choice(["served", 0, 1]), "calls": rng.choice([0, 1, 1, 2, 3, 5])},
                        (20,)),
    }
    return plan


# -- the world one run of the script happens in ------------------------------------------------------------------


@dataclass(frozen=True)
class Death:
    """What the database held the moment a killed process was gone: the ts of every message recorded anywhere, and
    where deliveries still claimed (taken, not marked sent) were going — what the dead process may have posted
    without recording it."""

    recorded: frozenset[str]
    lanes: frozenset[str]  # `user:U…`, `channel:C…`, `incident:<id>`, … of the claimed deliveries
    incidents: dict[int, tuple[int, str | None]]  # id -> (number, channel id)

    def may_repeat(self, place: str, message: dict | None, text: str) -> bool:
        """Could a message posted in `place` (a channel id, `D<user>` for a DM) still be unrecorded?"""
        if message is not None and message.get("ts") in self.recorded:
            return False
        for lane in self.lanes:
            kind, _, target = lane.partition(":")
            if kind in ("user", "click") and place in (target, "D" + target):  # a DM (a click's answer: by DM)
                return True
            if kind == "channel" and place == target:
                return True
            if kind == "incident" and target.isdigit() and int(target) in self.incidents:
                number, channel = self.incidents[int(target)]
                if place == channel or re.search(rf"\bINC-{number}\b", text):
                    return True
        return False


@dataclass
class Result:
    messages: Counter  # what people were left with: each message in its final state, where it is
    posted: list[tuple[str, float, tuple, bool]]  # (caller, at, message or ephemeral as posted, may repeat)
    ephemerals: Counter
    responses: Counter  # (step, text) posted to a response_url
    answers: list[tuple[int, int, str]]  # (step, HTTP status, body) of every request, in order
    channels: dict[str, tuple[str, tuple[str, ...]]]  # name -> (topic, members)
    pins: Counter
    kills: list[tuple[str, float]] = field(default_factory=list)  # (incarnation, when)
    deaths: dict[str, Death] = field(default_factory=dict)  # incarnation -> the database as it left it
    unanswered: set[str] = field(default_factory=set)  # steps whose process died right after acknowledging them
    escalations: list[datetime] = field(default_factory=list)
    sent_again: set[int] = field(default_factory=set)  # steps whose request got no answer at all and went again
    mails: Counter = field(default_factory=Counter)  # (to, subject, body) of the pages and codes sent by email
    mailed: list[tuple[float, tuple]] = field(default_factory=list)  # (when, mail) as it arrived


class World:
    def __init__(self, directory: Path, database_url: str, fake: RecordingSlack, *, replicas: int,
                 rng: random.Random | None = None, plan: dict[int, Fault] | None = None) -> None:
        self.dir, self.database_url, self.fake = directory, database_url, fake
        self.dir.mkdir(parents=True, exist_ok=True)
        self.replicas, self.rng, self.plan = replicas, rng, plan or {}
        self.clock_file = self.dir / "clock"
        self.bots: list[Bot] = []
        self.incarnations = 0
        self.restarting: asyncio.Task | None = None
        self.engine = sa.create_engine(normalize_url(database_url), poolclass=sa.pool.NullPool)
        self.now = MONDAY.replace(hour=9).astimezone(UTC)
        self.moved_at = 0.0
        self.step = -1
        self.served = 0  # the slot of the process that answered the step's last request
        self.answers: list[tuple[int, int, str]] = []
        self.kills: list[tuple[str, float]] = []
        self.deaths: dict[str, Death] = {}
        self.unanswered: set[str] = set()
        self.sent_again: set[int] = set()
        self.log: list[str] = []
        self.mail = MailServer()  # the provider of the contact method beyond Slack (one firefighter's email)

    # -- processes and the clock -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.mail.start()
        self._write_clock()
        # The schema first, as a deploy would, so that the replicas can start side by side.
        await asyncio.to_thread(migrate, self.database_url)
        self.bots = [self._incarnation(slot) for slot in range(self.replicas)]
        await asyncio.gather(*(bot.start() for bot in self.bots))

    def _incarnation(self, slot: int) -> Bot:
        self.incarnations += 1
        return Bot(self, "ab"[slot] + str(self.incarnations))

    async def stop(self) -> None:
        if self.restarting:
            await asyncio.gather(self.restarting, return_exceptions=True)
        for bot in self.bots:
            await bot.stop()
        self.mail.stop()
        self.engine.dispose()

    def _write_clock(self) -> None:
        """A whole new file each time, put in place atomically: the processes see a new inode."""
        staging = self.clock_file.with_suffix(".new")
        staging.write_text(self.now.isoformat())
        os.replace(staging, self.clock_file)
        self.moved_at = time.monotonic()

    async def move(self, moment: datetime) -> None:
        assert moment >= self.now, (moment, self.now)
        if moment != self.now:
            self.now = moment
            self._write_clock()

    def bot(self) -> Bot:
        """Where the next request goes: a random live process in the faulty run, the only one otherwise."""
        live = [b for b in self.bots if b.alive]
        chosen = self.rng.choice(live) if self.rng and len(live) > 1 else live[0]
        self.served = self.bots.index(chosen)
        return chosen

    def arm_crash(self, slot: int, calls: int) -> None:
        victim = self.bots[slot]
        if calls == 0:
            self.unanswered.add(f"step{self.step}")
            self.kill_and_restart(slot, "right after the step's request was answered (or the clock moved)")
        else:
            self.fake.crash = [victim.tag, calls, lambda: self.kill_and_restart(slot, f"at its Slack call #{calls}")]

    def kill_and_restart(self, slot: int, when: str) -> None:
        """kill -9, and a new process in its place (starting while the other one carries on)."""
        victim = self.bots[slot]
        if victim.killed:
            return
        victim.kill()
        self.kills.append((victim.tag, time.monotonic()))
        self.log.append(f"  killed {victim.tag} {when}")

        async def restart() -> None:
            await victim.process.wait()
            self.deaths[victim.tag] = await asyncio.to_thread(self.death)
            await victim.sender.close()
            bot = self._incarnation(slot)
            try:
                await bot.start()
            finally:
                self.bots[slot] = bot
        self.restarting = asyncio.create_task(restart())

    def death(self) -> Death:
        """The database as a process just killed left it (before any other process can take over its claims: the
        clock has not moved past their lease)."""
        recorded: set[str] = set()
        with self.engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                for column in table.columns:
                    if column.name == "ts" or column.name.endswith("_ts"):
                        recorded.update(connection.execute(sa.select(column).where(column.is_not(None))).scalars())
        with Session(self.engine) as session:
            lanes = session.exec(select(Delivery.lane).where(Delivery.state == "queued",
                                                             Delivery.claimed_at.is_not(None))).all()
            incidents = {i.id: (i.number, i.channel_id) for i in session.exec(select(Incident))}
        return Death(frozenset(recorded), frozenset(lanes), incidents)

    async def restarted(self) -> None:
        if self.restarting:
            await self.restarting
            self.restarting = None

    # -- waiting until nothing is left to do -----------------------------------------------------------------

    def owed(self, strict: bool) -> list[str]:
        """What the processes still have to do at `now`, read from the database as an operator would. Loose (while
        a fault holds): nothing due right now and no reminder up for grabs. Strict: nothing owed at all."""
        now, lapsed = self.now, self.now - timedelta(seconds=LEASE)
        reasons = []
        with Session(self.engine) as session:
            heads: set[str] = set()  # a lane goes in order: only its first queued delivery can be due
            for d in session.exec(select(Delivery).where(Delivery.state == "queued").order_by(Delivery.id)):
                free = d.claimed_at is None or d.claimed_at < lapsed
                if strict or (d.lane not in heads and free and d.next_attempt_at <= now):
                    reasons.append(f"delivery {d.id} {d.kind} {d.lane} attempts={d.attempts} {d.last_error}")
                heads.add(d.lane)
            for n in session.exec(select(Notice).where(Notice.state == "queued")):
                if strict or n.claimed_at is None or n.claimed_at < lapsed:
                    reasons.append(f"notice {n.key}")
            for send in session.exec(select(PageSend).where(PageSend.state == "pending", PageSend.due_at <= now)):
                reasons.append(f"page {send.page_id} by {send.method} to queue")
            for page, incident in session.exec(select(Page, Incident).join(Incident, Incident.id == Page.incident_id)
                                               .where(Page.state == "waiting")):
                if incident.priority in TIMEOUTS and page.sent_at + TIMEOUTS[incident.priority] <= now:
                    reasons.append(f"page {page.id} of INC-{incident.number} to escalate")
        return reasons

    async def settle(self, *, strict: bool = True) -> None:
        """Bounded wait until Slack has been quiet for a while (no call in flight, none for QUIET seconds, none
        expected from a client's own retry), a couple of ticks have run since the clock moved, and the database
        says nothing is owed."""
        started = time.monotonic()
        reasons: list[str] = ["(not looked yet)"]
        while time.monotonic() - started < SETTLE_LIMIT:
            if self.fake.idle_for() >= QUIET and time.monotonic() - self.moved_at >= AFTER_MOVE:
                reasons = await asyncio.to_thread(self.owed, strict)
                if not reasons and self.fake.idle_for() >= QUIET:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"step {self.step} ({SCRIPT[self.step].what}) at {self.now}: not quiet after "
                             f"{SETTLE_LIMIT:.0f}s; still owed: {reasons[:10]}\n" + "\n".join(self.log[-10:]))

    # -- running the script ----------------------------------------------------------------------------------

    async def run(self) -> Result:
        for index, step in enumerate(SCRIPT):
            self.step, self.served = index, self.rng.randrange(2) if self.rng else 0
            started, fault = time.monotonic(), self.plan.get(index)
            line = len(self.log)
            self.log.append(f"step {index} {step.at.astimezone(TEAM):%a %H:%M} {step.what}"
                            + (f"  [{fault.describe()}]" if fault else ""))
            await self.restarted()
            await self.move(step.at.astimezone(UTC))
            if fault:
                await self.under(fault, step)
            elif step.act:
                await step.act(self)
            await self.settle()
            self.log[line] += f"  ({time.monotonic() - started:.1f}s)"
        # The end: a little more clock (past any backoff) and a few more ticks — nothing else may go out.
        await self.restarted()
        await self.move(self.now + timedelta(seconds=2))
        await self.settle()
        await asyncio.sleep(4 * TICK)
        await self.settle()
        return self.result()

    async def under(self, fault: Fault, step: Step) -> None:
        """The step with the fault injected; when this returns the fault is over and the clock a little further on
        (less than a minute: see the module docstring)."""
        kill = fault.kind == "kill"
        victim, calls = fault.detail.get("victim"), fault.detail.get("calls")
        if kill and victim != "served" and calls:
            self.arm_crash(victim, calls)  # (counting the calls the step's request makes too)
        elif not kill:
            fault.begin(self)
        if step.act:
            await step.act(self)
        if kill and (victim == "served" or not calls):
            self.arm_crash(self.served if victim == "served" else victim, calls)
        await self.settle(strict=False)
        if kill and self.fake.crash:  # it never made that many calls: killed once all is quiet
            self.fake.crash = None
            self.kill_and_restart(self.served if victim == "served" else victim, "when all was quiet")
            await self.settle(strict=False)
        at = step.at.astimezone(UTC)
        for offset in fault.offsets[:-1]:  # Slack still down: the clock moves on, deliveries are retried
            await self.move(at + timedelta(seconds=offset))
            await self.settle(strict=False)
        fault.end(self)
        await self.move(at + timedelta(seconds=fault.offsets[-1]))

    # -- what a step can do, the way Slack and monitoring would -------------------------------------------------

    def _answered(self, status: int, body: str) -> None:
        self.fake.last_activity = time.monotonic()  # what the request started (after its ack) is not done yet
        assert status in (200, 202), f"step {self.step} ({SCRIPT[self.step].what}): HTTP {status}: {body}"
        self.answers.append((self.step, status, self.normal(body)))

    def _sender(self) -> SlackSender:
        bot = self.bot()
        self.log.append(f"  request to {bot.tag}")
        bot.sender.response_url = self.fake.response_url(f"step{self.step}")
        return bot.sender

    async def _send(self, build: Callable[[SlackSender], str]) -> tuple[int, str]:
        """One request, as Slack sends it. Its process may be killed while the request is in flight (a kill
        counts Slack calls, and background work makes them while a request waits on the database): then there is
        no answer at all, and the same request goes again to a live process — Slack's retry, or the person trying
        again; the same trigger id makes whatever the first attempt stored count once. Its answer is forgiven."""
        sender = self._sender()
        body = build(sender)
        try:
            status, text, _ = await sender.post(body, "application/x-www-form-urlencoded")
        except aiohttp.ClientConnectionError:
            self.log.append("  no answer (its process died mid-request); sent again")
            self.sent_again.add(self.step)
            self.unanswered.add(f"step{self.step}")
            await asyncio.sleep(0.2)
            status, text, _ = await self._sender().post(body, "application/x-www-form-urlencoded")
        return status, text

    async def command(self, text: str, user: str, channel: str = "C0GENERAL") -> None:
        self._answered(*await self._send(lambda sender: sender.command_body(text, user=user, channel=channel)))

    async def declare(self, view_id: str, title: str, priority: str, user: str = "U0REPORTER",
                      commander: str | None = None) -> None:
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")],
                             rotation_id=1)
        answers = {"title": title, "priority": priority} | ({"commander": commander} if commander else {})
        payload = view_submission({**view, "id": view_id}, answers, user=user)
        self._answered(*await self._send(lambda _sender: urlencode({"payload": json.dumps(payload)})))

    async def click(self, action_id: str, value: str, *, user: str, channel: str,
                    block_id: str = "incident_actions") -> None:
        self._answered(*await self._send(lambda sender: sender.click_body(action_id, value, user=user,
                                                                           channel=channel, block_id=block_id)))

    def button(self, channel: str, contains: str, action_id: str) -> str:
        """The value of a button on a message people received (a page, a digest), read from Slack as they see it."""
        values = [e["value"] for (c, _), m in sorted(self.fake.messages.items()) if c == channel
                  and contains in json.dumps(m, ensure_ascii=False)
                  for b in m.get("blocks") or [] if b.get("type") == "actions"
                  for e in b["elements"] if e.get("action_id") == action_id]
        assert values, f"step {self.step}: no {action_id} button in {channel} on a message about {contains!r}"
        return values[-1]

    async def click_page(self, number: int, *, user: str, place: str, action_id: str = ActionId.PAGE_ACKNOWLEDGE):
        value = self.button(place, f"INC-{number}", action_id)
        await self.click(action_id, value, user=user, channel=place, block_id="page_actions")

    async def alert(self, **body) -> None:
        for attempt in (1, 2):  # the sender tries again when its request got no answer (see `_send`)
            bot = self.bot()
            self.log.append(f"  alert to {bot.tag}")
            try:
                async with bot.sender.session.post(f"{bot.url}/alerts/generic", json=body,
                                                   headers={"Authorization": f"Bearer {ALERTS_TOKEN}"}) as response:
                    self._answered(response.status, await response.text())
                    return
            except aiohttp.ClientConnectionError:
                if attempt == 2:
                    raise
                self.log.append("  no answer (its process died mid-request); sent again")
                self.sent_again.add(self.step)
                await asyncio.sleep(0.2)

    # -- what people were left with ------------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        return {cid: ("@" + c["name"] if cid.startswith("D") else "#" + c["name"]) for cid, c in
                self.fake.channels.items()}

    def normal(self, text: str) -> str:
        # Incident channels get ids in the order Slack creates them, which differs between runs: use names.
        for cid, channel in self.fake.channels.items():
            if cid.startswith("C"):
                text = text.replace(cid, channel["name"])
        # The first page of an incident races the creation of its channel (two lanes, side by side): it says
        # either where to join or that the channel is being set up, whichever came first.
        text = re.sub(r"Its channel is being set up\.|Join <#inc-[a-z0-9-]+>\.(?= Acknowledge within)",
                      "(where to join)", text)
        # A `<!date^…>` token carries the instant to the second; a delivery a fault delayed by seconds may render a
        # time from its send time ("escalates 09:15"). The fallback keeps the minute, which must not change.
        return re.sub(r"<!date\^\d+\^([^|>]*)\|([^>]*)>", r"<!date^\1|\2>", text)

    def message(self, channel: str, message: dict) -> tuple:
        names = self.names()
        parent = None
        if message.get("thread_ts"):
            first = self.fake.messages.get((channel, message["thread_ts"])) or {}
            parent = self.normal(first.get("text") or "")
        blocks = json.loads(json.dumps(message.get("blocks") or []))
        for block in blocks:
            for element in block.get("elements") or []:
                # Page ids are row ids: a replica's rolled-back insert can use one up (PostgreSQL sequences).
                if element.get("action_id") in (ActionId.PAGE_ACKNOWLEDGE, ActionId.PAGE_ESCALATE):
                    element["value"] = "<page>"
        metadata = (message.get("metadata") or {}).get("event_type")
        return (names.get(channel, channel), parent, self.normal(message.get("text") or ""),
                self.normal(json.dumps(blocks, ensure_ascii=False, sort_keys=True)), metadata)

    def result(self) -> Result:
        fake = self.fake
        messages = Counter(self.message(c, m) for (c, _), m in fake.messages.items())
        names = self.names()

        def ephemeral(p: Posted) -> tuple:
            return (names.get(p.channel, p.channel), p.message["user"], self.normal(p.message["text"] or ""))

        def may_repeat(p: Posted) -> bool:
            death = self.deaths.get(p.caller)
            return death is not None and death.may_repeat(p.channel, None if p.ephemeral else p.message,
                                                          p.message.get("text") or "")

        posted = [(p.caller, p.at, ephemeral(p) if p.ephemeral else self.message(p.channel, p.message),
                   may_repeat(p)) for p in fake.posted]  # see compare()
        channels = {names[cid]: (self.normal(c["topic"]), tuple(sorted(c["members"])))
                    for cid, c in fake.channels.items() if not cid.startswith("D")}
        return Result(
            messages=messages, posted=posted,
            ephemerals=Counter(ephemeral(p) for p in fake.posted if p.ephemeral),
            # (each request has a response_url of its own, `step<n>-<request>`: compared by step)
            responses=Counter((r["key"].split("-")[0], self.normal(r.get("text") or "")) for r in fake.responses),
            answers=list(self.answers), channels=channels,
            pins=Counter(self.message(c, fake.messages[(c, ts)])[:3] for c, ts in fake.pins),
            kills=list(self.kills), deaths=dict(self.deaths), unanswered=set(self.unanswered),
            escalations=self.escalations(),
            sent_again=set(self.sent_again),
            mails=Counter(self.mailed(m) for m in self.mail.mails),
            mailed=[(m.at, self.mailed(m)) for m in self.mail.mails])

    @staticmethod
    def mailed(mail) -> tuple:
        """A mail as compared: its ack link (each process's own address, a page's id in the token) and a code (a
        nonce) differ from run to run."""
        body = re.sub(r"http://\S+/ack/\S+", "<ack link>", mail.body)
        return tuple(mail.to), mail.subject, re.sub(r"\b\d{6}\b", "<code>", body)

    def escalations(self) -> list[datetime]:
        """When the pages nobody answered in time became due to escalate (for the check of the script's margins)."""
        with Session(self.engine) as session:
            pages = session.exec(select(Page, Incident).join(Incident, Incident.id == Page.incident_id)
                                 .where(Page.sent_at.is_not(None), Page.escalated_at.is_not(None)))
            due = [(page.sent_at + TIMEOUTS[incident.priority], page.escalated_at) for page, incident in pages
                   if incident.priority in TIMEOUTS]
        return [at for at, escalated in due if escalated >= at]  # (not those passed on by a click)


# -- the week ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: datetime  # team time
    what: str
    act: Callable[[World], Awaitable[None]] | None = None  # None: only the clock moves (something is due)

    @property
    def opens(self) -> bool:
        """An incident is declared (its channel is created, its summary pinned)."""
        return self.what.startswith(("declare", "alert opens"))


def day(n: int, hh: int, mm: int) -> datetime:
    return (MONDAY + timedelta(days=n)).replace(hour=hh, minute=mm)


def cmd(text: str, user: str, channel: str = "C0GENERAL") -> Callable[[World], Awaitable[None]]:
    return lambda w: w.command(text, user, channel)


def declare(view_id: str, title: str, priority: str, **kwargs) -> Callable[[World], Awaitable[None]]:
    return lambda w: w.declare(view_id, title, priority, **kwargs)


def page_click(number: int, user: str, place: str, action_id: str = ActionId.PAGE_ACKNOWLEDGE):
    return lambda w: w.click_page(number, user=user, place=place, action_id=action_id)


def alert(**body) -> Callable[[World], Awaitable[None]]:
    return lambda w: w.alert(**body)


async def _email_for_tertiary(w: World) -> None:
    """U0C is reached by email too (SPEC §2 "Reaching people beyond Slack"): the code comes by mail and goes back
    by command; every page to U0C then goes by email at once as well, so the comparison covers that kind."""
    before = len(w.mail.mails)
    await w.command("me contact add email carol@example.com", "U0C")
    for _ in range(400):
        if len(w.mail.mails) > before:
            break
        await asyncio.sleep(0.025)
    code = re.search(r"\b(\d{6})\b", w.mail.mails[-1].body)[1]
    await w.command(f"me contact verify {code}", "U0C")
    await w.command("me rules slack 0, email 0", "U0C")


async def _hand_over(w: World) -> None:
    value = w.button("C0PAY", "Handoff for payments", ActionId.HAND_OVER)
    await w.click(ActionId.HAND_OVER, value, user="U0A", channel="C0PAY", block_id="handoff_actions")


# Steps that wait for a decision come one minute after it is due (see the module docstring). The rotation is
# created on Monday: U0A is primary (U0B secondary, U0C tertiary) until the handoff on Tuesday 10:00, then U0B.
SCRIPT: list[Step] = [
    Step(day(0, 9, 0), "rotation create", cmd("rotation create payments <#C0PAY|payments-oncall>", "U0A")),
    Step(day(0, 9, 0), "rotation add", cmd("rotation add payments <@U0A> <@U0B> <@U0C> <@U0D>", "U0A")),
    Step(day(0, 9, 0), "U0C adds an email for pages", lambda w: _email_for_tertiary(w)),
    # INC-1, a P0 nobody answers: primary → secondary → tertiary → @here, then the hourly nags.
    Step(day(0, 9, 10), "declare INC-1 P0", declare("V0INC1", "Checkout is down", "P0")),
    Step(day(0, 9, 16), "INC-1 escalates to the secondary"),
    Step(day(0, 9, 22), "INC-1 escalates to the tertiary"),
    Step(day(0, 9, 28), "INC-1 escalates to @here"),
    Step(day(0, 9, 31), "U0OTHER acknowledges the @here page", page_click(1, "U0OTHER", "C0PAY")),
    Step(day(0, 9, 41), "INC-1 triage reminder (still new after 30 min)"),
    Step(day(0, 9, 45), "INC-1 in progress", cmd("status INC-1 in_progress", "U0OTHER")),
    Step(day(0, 10, 11), "INC-1 first nag"),
    Step(day(0, 10, 41), "INC-1 second nag"),
    Step(day(0, 11, 11), "INC-1 third nag, to the firefighters too"),
    Step(day(0, 11, 20), "INC-1 update", cmd("update INC-1 Rolled back the deploy; watching errors", "U0OTHER")),
    # INC-2, a P1 with a commander: triage reminder, heading home, 75% warning, missed target.
    Step(day(0, 11, 30), "declare INC-2 P1", declare("V0INC2", "Search is slow", "P1", commander="U0COMMANDER")),
    Step(day(0, 11, 40), "U0A acknowledges INC-2's page", page_click(2, "U0A", "DU0A")),
    # INC-3 from monitoring: opens, escalates after 30 min, resolves itself.
    Step(day(0, 12, 0), "alert opens INC-3", alert(title="Disk almost full on db-1", priority="P1",
                                                   fingerprint="disk-db-1", status="firing")),
    Step(day(0, 12, 10), "INC-1 resolved", cmd("status INC-1 resolved Rolled back; error rate normal", "U0OTHER")),
    Step(day(0, 12, 31), "INC-3 escalates to the secondary"),
    Step(day(0, 12, 40), "alert resolves INC-3", alert(title="Disk almost full on db-1", fingerprint="disk-db-1",
                                                       status="resolved")),
    Step(day(0, 14, 0), "declare INC-4 P2", declare("V0INC4", "Docs typo on the status page", "P2",
                                                    commander="U0A")),
    Step(day(0, 15, 31), "INC-2 triage reminder (4 business hours)"),
    Step(day(0, 15, 35), "INC-2 triaged", cmd("status INC-2 triaged", "U0COMMANDER")),
    Step(day(0, 16, 1), "Monday 16:00 handoff heads-up"),
    Step(day(0, 16, 31), "heading home? (INC-2's commander)"),
    Step(day(1, 9, 31), "INC-2 used 75% of its target"),
    Step(day(1, 10, 1), "Tuesday handoff digest"),
    Step(day(1, 10, 5), "U0A hands INC-4 over to U0B", _hand_over),
    Step(day(1, 11, 31), "INC-2 missed its target"),
    Step(day(1, 11, 40), "INC-2 update", cmd("update INC-2 Reindexing, two more hours", "U0COMMANDER")),
    # INC-5, a P1 that becomes a P0.
    Step(day(1, 12, 0), "declare INC-5 P1", declare("V0INC5", "Login errors for EU users", "P1")),
    Step(day(1, 12, 31), "INC-5 escalates to the secondary"),
    Step(day(1, 12, 35), "U0C acknowledges INC-5 on its summary",
         lambda w: w.click(ActionId.ACKNOWLEDGE, "5", user="U0C", channel="C0GENERAL")),
    Step(day(1, 12, 40), "INC-5 responders", cmd("responders add INC-5 <@U0D>", "U0C")),
    Step(day(1, 12, 50), "INC-5 in progress", cmd("status INC-5 in_progress", "U0C")),
    Step(day(1, 13, 0), "INC-5 raised to P0", cmd("priority INC-5 P0", "U0C")),
    Step(day(1, 14, 1), "INC-5 first nag"),
    Step(day(1, 14, 10), "INC-5 update", cmd("update INC-5 Config rolled back in eu-west", "U0C")),
    Step(day(1, 14, 30), "INC-2 resolved", cmd("status INC-2 resolved Reindexed", "U0COMMANDER")),
    Step(day(1, 15, 0), "INC-5 resolved", cmd("status INC-5 resolved Config fixed", "U0C")),
    # INC-6, a P0 from monitoring: the primary escalates at once, the secondary acknowledges, the alert resolves.
    Step(day(2, 10, 0), "alert opens INC-6 P0", alert(title="Payments API 5xx above 5%", priority="P0",
                                                      fingerprint="payments-5xx", status="firing")),
    Step(day(2, 10, 3), "U0B presses Escalate", page_click(6, "U0B", "DU0B", ActionId.PAGE_ESCALATE)),
    Step(day(2, 10, 6), "U0C acknowledges INC-6's page", page_click(6, "U0C", "DU0C")),
    Step(day(2, 10, 20), "alert resolves INC-6", alert(title="Payments API 5xx above 5%", fingerprint="payments-5xx",
                                                       status="resolved")),
    Step(day(3, 9, 0), "INC-4 closed", cmd("close INC-4 moved to the backlog", "U0B")),
    Step(day(4, 17, 0), "end of the week"),
]


# -- comparing -----------------------------------------------------------------------------------------------------

_baseline: Result | None = None


async def run_world(directory: Path, database_url: str, *, replicas: int, rng: random.Random | None = None,
                    plan: dict[int, Fault] | None = None) -> tuple[Result, list[str]]:
    fake = await new_slack().start()
    world = World(directory, database_url, fake, replicas=replicas, rng=rng, plan=plan)
    try:
        await world.start()
        try:
            return await world.run(), world.log
        except AssertionError as exc:  # the script could not go on: say where, and what happened before
            raise AssertionError(f"{exc}\nlogs in {directory}\nsteps:\n" + "\n".join(world.log)) from None
    finally:
        await world.stop()
        await fake.stop()


async def baseline(tmp_path: Path) -> Result:
    """One process, Slack answering everything; computed once per session (it does not depend on the database)."""
    global _baseline
    if _baseline is None:
        directory = tmp_path / "baseline"
        directory.mkdir()
        result, _ = await run_world(directory, f"sqlite:///{directory / 'ff.db'}", replicas=1)
        check_baseline(result)
        _baseline = result
    return _baseline


def texts(result: Result, place: str | None = None) -> list[str]:
    return [m[2] for m, n in result.messages.items() for _ in range(n) if place is None or m[0] == place]


def check_baseline(result: Result) -> None:
    """Absolute facts, so that a bug present in both runs is still caught."""
    # The script's margins (module docstring): a page that went out late would escalate seconds late, so no step
    # may fall on the very instant a page escalates.
    instants = {step.at.astimezone(UTC) for step in SCRIPT}
    assert not instants & set(result.escalations), sorted(instants & set(result.escalations))
    summaries = sorted(m[0] for m in result.messages.elements() if m[4] == "firefighter_incident_summary")
    assert len(summaries) == 6 and len(set(summaries)) == 6, summaries  # one summary per incident, each pinned
    assert sorted(p[0] for p in result.pins) == summaries
    for n, priority in ((1, "P0"), (2, "P1"), (3, "P1"), (4, "P2"), (5, "P1"), (6, "P0")):
        announced = [t for t in texts(result, "#payments-oncall") if t.startswith(f"INC-{n} ({priority})")]
        assert len(announced) == 1, (n, announced)
    # U0C's pages went by email too, once each (INC-1 as tertiary, INC-5 and INC-6 as secondary), after the code.
    assert Counter(re.search(r"INC-\d+|code", m[1])[0] for m in result.mails.elements()) == Counter(
        {"code": 1, "INC-1": 1, "INC-5": 1, "INC-6": 1}), result.mails
    # Nothing said twice in one place (the script asks nothing twice).
    repeated = [m for m, n in result.messages.items() if n > 1]
    assert not repeated, repeated
    posted = [m for _, _, m, _ in result.posted]
    pages = Counter((m[0], re.search(r"INC-\d", m[2])[0]) for m in posted if m[2].startswith("You are paged"))
    assert pages == Counter({("@U0A", "INC-1"): 1, ("@U0B", "INC-1"): 1, ("@U0C", "INC-1"): 1,
                             ("@U0A", "INC-2"): 1, ("@U0A", "INC-3"): 1, ("@U0B", "INC-3"): 1,
                             ("@U0B", "INC-5"): 1, ("@U0C", "INC-5"): 1, ("@U0B", "INC-6"): 1,
                             ("@U0C", "INC-6"): 1}), pages
    assert [m for m in posted if m[:3] == ("#payments-oncall", None, "INC-1 needs a firefighter")]
    # A page answered (acknowledged, or its incident resolved while it waited) loses its buttons.
    answered = {(m[0], m[2]) for m in result.messages if "page_acknowledge" not in m[3]}
    for place, text in (("#payments-oncall", "INC-1 was acknowledged. <@U0OTHER> commands it."),
                        ("@U0A", "INC-2 was acknowledged. <@U0COMMANDER> commands it."),
                        ("@U0B", "INC-3 is resolved: no need to respond."),
                        ("@U0C", "INC-6 was acknowledged. <@U0C> commands it.")):
        assert (place, ":white_check_mark: " + text) in answered, (place, text)
    # By the week's end every chain was answered: no page, escalated past or not, still asks for an answer.
    asking = [m[:3] for m in result.messages if "page_acknowledge" in m[3]]
    assert asking == [], asking
    nags = sorted(t.split(" has had")[0] for t in texts(result) if t.startswith(":alarm_clock:"))
    assert len(nags) == 8, nags  # INC-1: 3 nags, INC-5: 1, each in the channel and to the commander
    alarms = sorted(m[0] for m in result.messages.elements() if "has not answered 2 reminders" in m[2])
    assert alarms == ["@U0A", "@U0B"], alarms
    assert sorted(m[0] for m in result.messages.elements() if m[2].startswith(":fire_engine: You")) == [
        "@U0A", "@U0B"]  # the heads-up, to the outgoing and the incoming primary
    digest = [t for t in texts(result, "#payments-oncall") if t.startswith("Handoff for payments")]
    assert digest == ["Handoff for payments: <@U0A> → <@U0B>, 2 open incidents"], digest
    assert sum(t.startswith(":hourglass_flowing_sand:") for t in texts(result)) == 2  # INC-2 at 75%
    assert sum(t.startswith(":warning:") for t in texts(result)) == 2  # INC-2 missed
    assert sum(t.startswith(":house:") for t in texts(result)) == 1
    assert sum(t.startswith(":mag:") for t in texts(result)) == 4  # INC-1 and INC-2, channel and primary
    postmortems = sorted(m[0] for m in result.messages.elements() if m[2].startswith(":page_facing_up:"))
    assert [p.split("-")[1] for p in postmortems] == ["1", "5", "6"], postmortems  # the P0s
    assert all(status in (200, 202) for _, status, _ in result.answers)


def difference(expected: Counter, got: Counter) -> tuple[Counter, Counter]:
    return expected - got, got - expected


def show(items: Counter) -> str:
    lines = []
    for item, n in sorted(items.items(), key=str):
        shown = " | ".join(str(part)[:300] for part in (item if isinstance(item, tuple) else (item,)) if part)
        lines.append(f"    {n}× {shown}")
    return "\n".join(lines) or "    (none)"


def changes(missing: Counter, extra: Counter) -> str:
    """Missing and extra messages that begin alike are one message said differently: show how, line by line."""
    def lines(item: tuple) -> list[str]:
        text = str(item[2]).splitlines()
        blocks = json.dumps(json.loads(item[3]), indent=1, ensure_ascii=False).splitlines() if len(item) > 3 else []
        return text + blocks

    told = []
    for gone in missing:
        for came in extra:
            if gone[0] == came[0] and str(gone[2])[:30] == str(came[2])[:30]:
                diff = [line for line in difflib.ndiff(lines(gone), lines(came)) if line[:1] in "-+"]
                told.append(f"    {gone[0]} | {str(gone[2])[:80]}\n" + "\n".join(f"      {line}" for line in diff))
    return ("\n  said differently (- baseline, + here):\n" + "\n".join(told)) if told else ""


def compare(expected: Result, got: Result) -> tuple[list[str], Counter]:
    """Every difference, readable; and what a kill -9 may cost: the extras allowed by the one window docs/reliability.md
    documents (a message Slack accepted from a process in the moment before it was killed may be sent again once
    its lease lapses), and the private answer to a request whose process died right after acknowledging it (the
    change itself was stored before the acknowledgement, so everything else must be there)."""
    problems = []
    allowed: Counter = Counter()
    for tag, killed_at in got.kills:  # only what was still unrecorded when the process was gone (see Death)
        allowed += Counter(m for caller, at, m, unrecorded in got.posted
                           if caller == tag and abs(at - killed_at) <= KILL_WINDOW and unrecorded)
    forgiven: Counter = Counter()
    for what in ("messages", "ephemerals", "responses", "pins"):
        missing, extra = difference(getattr(expected, what), getattr(got, what))
        if what in ("messages", "ephemerals"):
            forgiven += extra & allowed
            extra -= allowed
        if what == "responses":
            lost = Counter({item: n for item, n in missing.items() if item[0] in got.unanswered})
            forgiven += lost
            missing -= lost
        changed = changes(missing, extra)
        if missing or extra:
            problems.append(f"{what} missing (in the baseline, not here):\n{show(missing)}\n"
                            f"  {what} extra (here, not in the baseline):\n{show(extra)}" + changed)
    # A mail the provider took from a process killed before it could record it is sent again (at most once).
    mail_killed = [at for tag, at in got.kills if any(lane.startswith("contact:")
                                                      for lane in getattr(got.deaths.get(tag), "lanes", ()))]
    may_repeat = Counter(m for at, m in got.mailed if any(abs(at - killed) <= KILL_WINDOW for killed in mail_killed))
    missing, extra = difference(expected.mails, got.mails)
    forgiven += extra & may_repeat
    extra -= may_repeat
    if missing or extra:
        problems.append(f"mails missing (in the baseline, not here):\n{show(missing)}\n"
                        f"  mails extra (here, not in the baseline):\n{show(extra)}")
    for name in sorted(expected.channels.keys() | got.channels.keys()):
        if expected.channels.get(name) != got.channels.get(name):
            problems.append(f"channel {name} differs (topic, members):\n    baseline {expected.channels.get(name)}\n"
                            f"    here     {got.channels.get(name)}")
    if expected.answers != got.answers:
        diff = [(a, b) for a, b in zip(expected.answers, got.answers, strict=False)
                if a != b and b[0] not in got.sent_again]
        if diff or len(expected.answers) != len(got.answers):
            problems.append(f"answers to requests differ: {diff[:5]}")
    return problems, forgiven


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_week_under_faults_delivers_exactly_what_a_quiet_week_does(tmp_path, database_url, seed):
    # The first test runs the baseline alongside its own run (the two are independent worlds); later ones reuse it.
    quiet_week = None if _baseline else asyncio.create_task(baseline(tmp_path))
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    rng = random.Random(f"{backend}:{FAULT_SEED}:{seed}")
    replay = f"FIREFIGHTER_FAULT_SEED={FAULT_SEED} (seed {seed} on {backend})"
    print(f"fault plan from {replay}")
    plan = fault_plan(rng)
    if os.environ.get("FIREFIGHTER_TIME_TRAVEL_PLAN"):  # replay chosen faults: {"31": ["kill", {...}, [20]], …}
        plan = {int(step): Fault(kind, detail, tuple(offsets)) for step, (kind, detail, offsets)
                in json.loads(os.environ["FIREFIGHTER_TIME_TRAVEL_PLAN"]).items()}
    try:
        got, log = await run_world(tmp_path / "faulty", database_url, replicas=2, rng=rng, plan=plan)
    finally:
        expected = await quiet_week if quiet_week else _baseline
    problems, forgiven = compare(expected, got)
    if forgiven:
        print(f"what a kill -9 was allowed to cost (extras it posted, answers it never gave):\n{show(forgiven)}")
    assert not problems, (f"{replay}; logs in {tmp_path / 'faulty'}\n" + "\n\n".join(problems)
                          + "\n\nsteps:\n" + "\n".join(log))


async def test_a_click_survives_its_process_dying_right_after_the_ack(tmp_path):
    """Slack never resends a click it was answered for: the acknowledgement on a summary (step 31), the Escalate
    button (step 40) and the digest's Hand over (step 26) must be stored before that answer. Each process is killed
    the moment it has answered; only the private answer to the click may be lost."""
    quiet_week = None if _baseline else asyncio.create_task(baseline(tmp_path))
    plan = {step: Fault("kill", {"victim": "served", "calls": 0}, (20,)) for step in (26, 31, 40)}
    try:
        got, log = await run_world(tmp_path / "faulty", f"sqlite:///{tmp_path / 'clicks.db'}", replicas=2,
                                   rng=random.Random("clicks"), plan=plan)
    finally:
        expected = await quiet_week if quiet_week else _baseline
    problems, _ = compare(expected, got)
    assert not problems, "\n\n".join(problems) + "\n\nsteps:\n" + "\n".join(log)


# -- the harness's own rules (no processes) --------------------------------------------------------------------------


def _result(messages: Counter, posted: list, kills: list) -> Result:
    return Result(messages=messages, posted=posted, ephemerals=Counter(), responses=Counter(), answers=[],
                  channels={}, pins=Counter(), kills=kills)


def test_a_kill_forgives_a_second_copy_only_of_what_was_still_unrecorded():
    page = ("@U0A", None, "You are paged for INC-1 (P0)", "[]", None)
    quiet = _result(Counter({page: 1}), [], [])

    def faulty(unrecorded: bool, at: float) -> Result:
        return _result(Counter({page: 2}), [("a1", at, page, unrecorded), ("b2", 12.0, page, False)], [("a1", 10.0)])

    problems, forgiven = compare(quiet, faulty(unrecorded=True, at=9.5))
    assert problems == [] and forgiven == Counter({page: 1})
    # Recorded before the kill (its delivery marked sent, its ts stored): a second copy is a duplicate, kill or not.
    problems, forgiven = compare(quiet, faulty(unrecorded=False, at=9.5))
    assert forgiven == Counter() and len(problems) == 1 and "messages extra" in problems[0]
    # Unrecorded, but posted long before the kill: not the window either.
    problems, _ = compare(quiet, faulty(unrecorded=True, at=5.0))
    assert len(problems) == 1


def test_what_a_dead_process_may_have_left_unrecorded():
    death = Death(recorded=frozenset({"1790000001.000001"}), lanes=frozenset({"user:U0A", "incident:3"}),
                  incidents={3: (2, "C0INC2"), 4: (3, "C0INC3")})
    assert death.may_repeat("DU0A", {"ts": "1790000009.000009"}, "You are paged")
    assert not death.may_repeat("DU0A", {"ts": "1790000001.000001"}, "You are paged")  # its ts is stored: recorded
    assert not death.may_repeat("DU0B", {"ts": "1790000009.000009"}, "You are paged")  # nothing claimed for U0B
    assert death.may_repeat("C0INC2", {"ts": "1790000009.000010"}, "summary")  # INC-2's own channel
    assert death.may_repeat("C0PAY", {"ts": "1790000009.000011"}, "INC-2 (P1) declared")  # about INC-2 elsewhere
    assert not death.may_repeat("C0PAY", {"ts": "1790000009.000012"}, "INC-3 (P1) declared")  # INC-3: no claim
    assert not death.may_repeat("C0PAY", {"ts": "1790000009.000013"}, "INC-22 (P1) declared")
    assert death.may_repeat("C0GENERAL", None, "Incident *INC-2* is declared")  # an ephemeral: no ts to look up


def test_the_fault_plan_comes_from_a_seed_that_is_shown_and_can_be_set():
    if os.environ.get("FIREFIGHTER_FAULT_SEED"):
        assert os.environ["FIREFIGHTER_FAULT_SEED"] == FAULT_SEED
    else:  # drawn for this run
        assert FAULT_SEED.isdigit()
    same = [fault_plan(random.Random(f"sqlite:{FAULT_SEED}:1")) for _ in range(2)]
    assert same[0] == same[1]
    plans = {json.dumps({k: v.describe() for k, v in fault_plan(random.Random(f"sqlite:{s}:1")).items()})
             for s in range(20)}
    assert len(plans) > 10  # another seed, another plan
