"""SPEC § 7's contact-methods row: a page reaches each method at its rule's delay within 5 s, providers answering in
200 ms, while `pages` pages are in flight; and a provider that hangs holds only its own lane.

Each P1 is declared on a rotation of its own, so each page goes to a person of its own (one person's sends share a
lane and go one at a time, by design). Everyone's rules are `slack 0, push 0, email 0, sms <delay>`. Two phases
run in one bot: first every provider answers in 200 ms; then, for as many new pages, the mail server hangs (greets,
then never answers the recipient) and Slack, push and SMS must be on time all the same while email's sends wait,
owed and not lost. The providers are real servers the bot reaches through Apprise, run in this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlencode

import sqlalchemy as sa
from aiohttp import web
from aiosmtpd.controller import Controller

from bench import load
from bench.databases import Database
from bench.processes import Fake, Process, free_port, quiet, start_bot
from bench.report import Report
from bot.db.contact_models import ContactMethod, NotifyRule, PageSend
from bot.db.models import Incident, Page, Rotation, RotationMember
from bot.slack.ids import BlockId
from bot.views.incident import declare_modal
from tests.slack_requests import view_submission

ANSWER_IN = 0.2  # seconds: every provider's answer
LATE = 5.0  # SPEC § 7: within 5 s of the rule's delay
GRACE = 15.0  # how long past the last send's time (plus LATE) a phase waits before counting the rest missing
PHASES = ("answering", "email hangs")
METHODS = ("slack", "push", "email", "sms")


def person(phase: int, n: int) -> str:
    return f"U0C{'AB'[phase]}{n:04d}"


def addresses(user: str, n: int) -> dict[str, str]:
    return {"push": user.lower(), "email": f"{user.lower()}@example.com", "sms": f"+49151{n:08d}"}


class Receivers:
    """Push in ntfy's shape (https://docs.ntfy.sh/publish/#publish-as-json: a JSON POST to `/` with `topic`) and SMS
    as Apprise's `json://` (https://github.com/caronc/apprise/wiki/Notify_Custom_JSON: a JSON POST to the URL's
    path, here `/sms/<number>`) on one aiohttp server; email on an SMTP server (aiosmtpd, as tests/receivers.py).
    Each records the first arrival per (method, address), in `time.monotonic()` (one clock for every process on
    Linux, as the fake Slack's), and answers ANSWER_IN later; the mail server hangs instead while `hang` is set."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.hang = False
        self.hung = 0  # sends to the hanging mail server (each recipient never answered)
        self.http_port, self.smtp_port = free_port(), free_port()
        self._runner: web.AppRunner | None = None
        self._smtp: Controller | None = None

    def urls(self) -> dict[str, str]:
        base = f"127.0.0.1:{self.http_port}"
        return {"NOTIFY_PUSH_URL": f"ntfy://{base}/{{to}}?image=no", "NOTIFY_SMS_URL": f"json://{base}/sms/{{to}}",
                "NOTIFY_EMAIL_URL": f"mailto://127.0.0.1:{self.smtp_port}?from=ff@example.com&to={{to}}"}

    async def _http(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        body = json.loads(await request.text() or "{}")
        if request.path.startswith("/sms/"):
            key = ("sms", unquote(request.path.removeprefix("/sms/")))
        else:
            key = ("push", body.get("topic") or request.path.strip("/"))
        self.arrived.setdefault(key, at)
        await asyncio.sleep(ANSWER_IN)
        return web.json_response({"id": str(len(self.arrived))})

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # (aiosmtpd calls these by name)
        if self.hang:
            self.hung += 1
            await asyncio.sleep(3600)  # (Apprise gives up after its SMTP timeout, 15 s, and tries again later)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        at = time.monotonic()
        for address in envelope.rcpt_tos:
            self.arrived.setdefault(("email", address), at)
        await asyncio.sleep(ANSWER_IN)
        return "250 OK"

    async def start(self) -> Receivers:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.http_port, backlog=1024).start()
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port, ready_timeout=5)
        self._smtp.start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._smtp is not None:
            self._smtp.stop(no_assert=True)


@dataclass
class Phase:
    pages: int = 0  # pages started
    spread: float = 0.0  # seconds from the first page's start to the last's
    lateness: dict[str, list[float]] = field(default_factory=dict)  # method → arrival − (page start + delay), s
    missing: dict[str, int] = field(default_factory=dict)  # owed sends that never arrived
    early: int = 0  # arrived more than a second before their time


@dataclass
class ContactPages:
    database: str
    pages: int
    delay: int  # the SMS rule's delay, s
    phases: list[Phase]
    email_tries: int  # sends the hanging mail server took and never answered
    email_owed: int  # the hanging phase's email sends still owed at the end (neither lost nor failed)
    email_failed: int
    seconds: float


def _seed(engine: sa.Engine, pages: int, delay: int, now: datetime) -> None:
    people = [(phase, n, person(phase, n)) for phase in range(2) for n in range(pages)]
    with engine.begin() as connection:
        connection.execute(sa.insert(Rotation.__table__), [
            {"id": 1000 + i, "name": f"contacts-{user.lower()}", "channel_id": f"C0R{user}", "created_by": user,
             "created_at": now - timedelta(days=30)} for i, (_, _, user) in enumerate(people)])
        connection.execute(sa.insert(RotationMember.__table__), [
            {"rotation_id": 1000 + i, "user_id": user, "position": 0} for i, (_, _, user) in enumerate(people)])
        connection.execute(sa.insert(ContactMethod.__table__), [
            {"user_id": user, "kind": kind, "address": address, "verified_at": now, "created_at": now,
             "code_tries": 0} for phase, n, user in people
            for kind, address in addresses(user, phase * pages + n).items()])
        connection.execute(sa.insert(NotifyRule.__table__), [
            {"user_id": user, "method": method, "delay_seconds": delay if method == "sms" else 0}
            for _, _, user in people for method in METHODS])


def _declaration(rotation_id: int, name: str, view_id: str, title: str) -> load.Request:
    """The declare form, P1, on one rotation (as load.declaration, which always names the first)."""
    form = declare_modal(metadata=json.dumps({"channel": load.CHANNEL}), rotations=[(rotation_id, name)],
                         rotation_id=rotation_id)
    payload = view_submission({**form, "id": view_id}, {BlockId.TITLE: title, BlockId.PRIORITY: "P1"},
                              user=load.USER)
    return load.Request(urlencode({"payload": json.dumps(payload)}), view_id, form=True)


def _started(engine: sa.Engine, prefix: str) -> list[tuple[str, datetime]]:
    """(person, page start) of every page the phase's declarations started."""
    query = sa.select(Page.target_user_id, Page.created_at).join(Incident, Incident.id == Page.incident_id) \
        .where(Incident.title.like(f"{prefix}%"))
    with engine.connect() as connection:
        return [(user, at) for user, at in connection.execute(query)]


async def _phase(engine: sa.Engine, bot: Process, fake: Fake, receivers: Receivers, index: int, pages: int,
                 delay: int) -> Phase:
    prefix = f"Contact bench {PHASES[index]} "
    requests = [_declaration(1000 + index * pages + n, f"contacts-{person(index, n).lower()}", f"VCP{index}-{n}",
                             f"{prefix}{n:04d}") for n in range(pages)]
    await fake.read_calls()  # (what came before: from here on, read_calls gives this phase's calls)
    await load.burst(bot.url, requests, 200)
    delays = {"slack": 0.0, "push": 0.0, "email": 0.0, "sms": delay}
    owed = [m for m in METHODS if not (index == 1 and m == "email")]  # (the hanging provider's sends wait)
    wall = time.time() - time.monotonic()  # a stored instant → time.monotonic()
    deadline = time.monotonic() + 60 + pages * 0.3  # for the pages to start
    while len(started := _started(engine, prefix)) < pages and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    starts = {user: at.replace(tzinfo=at.tzinfo or UTC).timestamp() - wall for user, at in started}
    due = {(user, m): at + delays[m] for user, at in starts.items() for m in owed}
    address = {user: addresses(user, index * pages + int(user[-4:])) for user in starts}
    last = max(due.values(), default=time.monotonic())
    arrived: dict[tuple[str, str], float] = {}
    while True:
        for call in await fake.read_calls():
            if call["method"] == "chat.postMessage" and call["channel"] in starts:
                arrived.setdefault((call["channel"], "slack"), call["at"])
        for (user, m) in due:
            if m != "slack" and (m, address[user][m]) in receivers.arrived:
                arrived.setdefault((user, m), receivers.arrived[(m, address[user][m])])
        if len(arrived) >= len(due) or time.monotonic() > last + LATE + GRACE:
            break
        await asyncio.sleep(0.5)
    out = Phase(len(starts), max(starts.values()) - min(starts.values()) if starts else 0.0)
    for m in owed:
        late = [arrived[(u, m)] - due[(u, m)] for u in starts if (u, m) in arrived]
        out.lateness[m] = late
        out.missing[m] = pages - len(late)  # (a page never started counts as missing by each method)
        out.early += sum(x < -1.0 for x in late)
    return out


def _email_states(engine: sa.Engine, prefix: str) -> dict[str, int]:
    query = sa.select(PageSend.state, sa.func.count()).join(Incident, Incident.id == PageSend.incident_id) \
        .where(Incident.title.like(f"{prefix}%"), PageSend.method == "email").group_by(PageSend.state)
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


async def measure(database: Database, fake: Fake, workdir: str, *, pages: int = 200,
                  delay: int = 60) -> ContactPages:
    started = time.monotonic()
    engine = database.engine()
    _seed(engine, pages, delay, datetime.now(UTC))
    users = [person(p, n) for p in range(2) for n in range(pages)]
    await fake.setup(channels=[(f"C0R{u}", f"contacts-{u.lower()}") for u in users] + [(load.CHANNEL, "general")],
                     users=[*users, load.USER])
    receivers = await Receivers().start()
    bot = await start_bot(fake, database.url, workdir, **receivers.urls())
    phases = []
    try:
        await quiet(bot, fake, limit=120)
        phases.append(await _phase(engine, bot, fake, receivers, 0, pages, delay))
        receivers.hang = True
        phases.append(await _phase(engine, bot, fake, receivers, 1, pages, delay))
        states = _email_states(engine, f"Contact bench {PHASES[1]} ")
    finally:
        await bot.stop()
        await receivers.stop()
        engine.dispose()
    owed = states.get("queued", 0) + states.get("pending", 0)
    return ContactPages(database.label, pages, delay, phases, receivers.hung, owed, states.get("failed", 0),
                        time.monotonic() - started)


def _figure(phase: Phase) -> tuple[str, float, int]:
    """A send not there GRACE s past LATE counts as that late (so worst and p99 say "over 20 s" when any is)."""
    every = [x for late in phase.lateness.values() for x in late]
    missing = sum(phase.missing.values())
    counted = every + [float("inf")] * missing
    worst, over = max(counted, default=float("inf")), sum(x > LATE for x in every)

    def s(x: float) -> str:
        return f"over {LATE + GRACE:.0f} s" if x == float("inf") else f"{x:.1f} s"
    each = ", ".join(f"{m} {len(v)}/{len(v) + phase.missing[m]} worst {s(max(v + [float('inf')] * phase.missing[m]))}"
                     for m, v in phase.lateness.items())
    figure = (f"worst {s(worst)}, p99 {s(load.percentile(counted, 99))} late ({each}); of "
              f"{len(counted)} sends {over} later than {LATE:.0f} s, {missing} not there {LATE + GRACE:.0f} s after "
              f"their time, {phase.early} early")
    return figure, worst, over + missing + phase.early


def rows(report: Report, result: ContactPages) -> None:
    answering, hanging = result.phases
    rules = f"`slack 0, push 0, email 0, sms {result.delay}s`"
    figure, worst, bad = _figure(answering)
    report.add(f"a page by each contact method at its rule's delay, {result.pages} P1 pages in flight (one person "
               f"each, rules {rules}), providers answering in 200 ms, {result.database}",
               f"each method within {LATE:.0f} s of its delay, 0 missing", figure,
               f"pages started over {answering.spread:.1f} s",
               answering.pages == result.pages and worst <= LATE and not bad)
    figure, worst, bad = _figure(hanging)
    lost = result.pages - result.email_owed
    report.add(f"… while the email provider hangs ({result.pages} more pages): Slack, push, SMS",
               f"each within {LATE:.0f} s of its delay; email's sends held in their lanes, none lost",
               f"{figure}; email: {result.email_tries} tries hung, {result.email_owed} of {result.pages} sends "
               f"still owed, {result.email_failed} failed", f"pages started over {hanging.spread:.1f} s",
               hanging.pages == result.pages and worst <= LATE and not bad and not lost and not result.email_failed)
