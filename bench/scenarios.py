"""What SPEC §7 asks, as runs against processes: ack latency in alternating rounds against the bare Bolt app, time
from `/incident` to its form, declarations sustained end to end, Slack calls per declaration and memory."""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import history, load, schedules
from bench.databases import Database
from bench.processes import Fake, Process, quiet, start_baseline, start_bot
from bot.db.models import Incident
from bot.listeners.commands import answered_after_ack

log = logging.getLogger("bench")
CONCURRENCY = 200
WARM_UP = 50  # requests of each kind, before the rounds
KINDS = ("/incident", "declare form", "Acknowledge button", "/incident list", "/incident oncall")


async def _fake_people(fake: Fake, open_numbers: list[int] = ()) -> None:
    """Everyone and every channel the seeded history and the requests name exist in the fake Slack."""
    await fake.setup(channels=[(history.channel_of(n), f"inc-{n}") for n in open_numbers]
                     + [(history.ROTATION_CHANNEL, "payments"), (load.CHANNEL, "general")]
                     + [(f"C0T{n:05d}", f"team-{n:03d}") for n in range(schedules.ROTATIONS)],
                     users=[*history.PEOPLE, *schedules.PEOPLE, load.USER])


def _declared(engine: sa.Engine, title_prefix: str) -> list[Incident]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(Incident.__table__).where(Incident.title.like(f"{title_prefix}%")))
        return [Incident(**row._mapping) for row in rows]


# -- ack latency, in alternating rounds ------------------------------------------------------------------------


@dataclass
class Burst:
    p99: float
    failures: int
    form_delays: list[float] = field(default_factory=list)  # `/incident` only: sent → views.open at the fake
    forms_missing: int = 0
    quiet_after: bool = True


@dataclass
class AckRounds:
    database: str
    rss_at_rest_mb: float = float("nan")
    # (side, kind, size) -> one burst per round
    bursts: dict[tuple[str, str, int], list[Burst]] = field(default_factory=lambda: defaultdict(list))


async def ack_rounds(database: Database, fake: Fake, workdir: str, *, stored: int, open_count: int,
                     sizes: tuple[int, ...], rounds: int, quiet_limit: float) -> AckRounds:
    engine = database.engine()
    # nothing due: the bot's reminders would otherwise be sent in the middle of the rounds, to one side only
    open_numbers = history.seed(engine, stored, open_count, datetime.now(UTC), nothing_due=True)
    schedules.seed(engine, datetime.now(UTC))  # SPEC § 7: 200 rotations of three layers, 50 overrides, 20 away
    await _fake_people(fake, open_numbers)
    out = AckRounds(database.label)
    bot = await start_bot(fake, database.url, workdir)
    baseline = await start_baseline(fake)
    try:
        await quiet(bot, fake, limit=quiet_limit)  # the reminders a fresh history owes go out first
        out.rss_at_rest_mb = bot.memory_mb()
        for side in (baseline, bot):  # warm-up: each kind once, small
            await _round(side, fake, engine, f"warm-{database.label}-{side.name}", (WARM_UP,), quiet_limit)
        for number in range(rounds):
            for side in (baseline, bot):
                tag = f"{database.label}-{number}-{side.name}"
                for key, burst in (await _round(side, fake, engine, tag, sizes, quiet_limit)).items():
                    out.bursts[(side.name, *key)].append(burst)
    finally:
        await bot.stop()
        await baseline.stop()
        engine.dispose()
    return out


async def _round(app: Process, fake: Fake, engine: sa.Engine, tag: str, sizes: tuple[int, ...],
                 quiet_limit: float) -> dict[tuple[str, int], Burst]:
    """Every kind of request at every size, each burst meeting a quiet app."""
    found: dict[tuple[str, int], Burst] = {}
    for size in sizes:
        for kind in KINDS:
            await fake.read_calls()
            seen, answered = len(fake.calls), (await fake.state())["responses"]
            result = await load.burst(app.url, _requests(kind, app, fake, engine, f"{tag} {size}", size),
                                     CONCURRENCY)
            burst = Burst(load.percentile(result.latencies, 99), result.failures)
            waited = time.monotonic()
            burst.quiet_after = await quiet(app, fake, limit=quiet_limit)
            if app.name == "bot" and answered_after_ack(kind.removeprefix("/incident")):
                # acked at once, answered through response_url: an answer that never came is a failure
                answered = (await fake.state())["responses"] - answered
                burst.failures += max(0, size - answered)
            log.info("%s %s × %d: %.1f s, p99 %.0f ms, %d failed; quiet after %s", app.name, kind, size,
                     result.seconds, burst.p99 * 1000, burst.failures, elapsed(waited))
            if kind == "/incident":
                opened = {c["trigger_id"]: c["at"] for c in fake.calls[seen:] if c["method"] == "views.open"}
                burst.form_delays = [opened[k] - sent for k, sent in result.sent_at.items() if k in opened]
                burst.forms_missing = len(result.sent_at) - len(burst.form_delays)
            found[(kind, size)] = burst
    return found


def _requests(kind: str, app: Process, fake: Fake, engine: sa.Engine, tag: str, size: int) -> list[load.Request]:
    """`size` requests of one kind; the declare form's titles start with `Bench <tag> ` (the buttons find them)."""
    answer = fake.response_url
    if kind == "declare form":
        return [load.declaration(f"V{tag}-{i}", f"Bench {tag} {i:05d}") for i in range(size)]
    if kind == "Acknowledge button":  # on each incident this round declared (the bare app acks any number)
        declared = sorted(_declared(engine, f"Bench {tag} "), key=lambda i: i.number) if app.name == "bot" else []
        targets = [(i.number, i.channel_id or load.CHANNEL) for i in declared]
        targets = targets or [(n, load.CHANNEL) for n in range(1, size + 1)]
        firefighter = history.MEMBERS[0]  # on the roster: allowed to acknowledge
        return [load.acknowledge(n, channel, f"{tag}.a.{i}", answer, firefighter)
                for i, (n, channel) in enumerate(targets)]
    text = kind.removeprefix("/incident").strip()
    return [load.command(text, f"{tag}.{text}.{i}", answer) for i in range(size)]


# -- end to end ----------------------------------------------------------------------------------------------


@dataclass
class EndToEnd:
    database: str
    offered: float
    seconds: float
    declared: int
    delivered_rate: float  # declarations completed per second over the second half of the window
    lag_p99: float  # declaration sent → the last of channel, summary and announcement at the fake
    unfinished: int
    ack_failures: int
    drain: float  # how long the bot had to finish after the last declaration


async def end_to_end(database: Database, fake: Fake, workdir: str, *, rate: float, seconds: float,
                     drain_limit: float) -> EndToEnd:
    """Declarations at a steady `rate` for `seconds`; each counts when its channel, its summary in it and its
    announcement all exist at the fake Slack (the bot's database says which messages they are)."""
    engine = database.engine()
    history.seed(engine, 0, 0, datetime.now(UTC))  # the rotation alone
    await _fake_people(fake)
    bot = await start_bot(fake, database.url, workdir)
    try:
        await quiet(bot, fake, limit=drain_limit)
        prefix = f"E2E {database.label} "
        titles = {f"{prefix}{i:05d}": f"VE2E-{database.label}-{i}" for i in range(int(rate * seconds))}
        requests = [load.declaration(view_id, title) for title, view_id in titles.items()]
        seen = len(fake.calls)
        result = await load.steady(bot.url, requests, rate)
        await quiet(bot, fake, limit=drain_limit)
        declared = _declared(engine, prefix)
        state = await fake.state()
    finally:
        await bot.stop()
        engine.dispose()
    messages = {(c, ts) for c, ts, _text in state["messages"]}
    created = {}
    posts: dict[str, list[dict]] = defaultdict(list)
    for call in fake.calls[seen:]:
        if call["method"] == "conversations.create":
            created.setdefault(call["name"], call["at"])
        elif call["method"] == "chat.postMessage":
            posts[call["channel"]].append(call)
    start = min(result.sent_at.values())
    finished, lags = [], []
    for incident in declared:
        if not (incident.channel_id in state["channels"] and (incident.channel_id, incident.summary_ts) in messages
                and (incident.announcement_channel, incident.announcement_ts) in messages):
            continue
        summary = next((c["at"] for c in posts[incident.channel_id]
                        if c["event_type"] == "firefighter_incident_summary"), None)
        announced = next((c["at"] for c in posts[incident.announcement_channel] if incident.title in c["text"]), None)
        moments = [created.get(incident.channel_name), summary, announced]
        if None in moments:
            continue
        done = max(moments)
        finished.append(done - start)
        lags.append(done - result.sent_at[titles[incident.title]])
    steady = [t for t in finished if seconds / 2 <= t <= seconds]
    return EndToEnd(database.label, rate, seconds, len(requests), len(steady) / (seconds / 2),
                    load.percentile(lags, 99), len(requests) - len(finished), result.failures, drain_limit)


# -- Slack calls per declaration and memory -----------------------------------------------------------------


@dataclass
class Memory:
    at_rest_mb: float
    first_burst_peak_mb: float
    after_bursts_mb: list[float]
    declarations: int
    calls_per_declaration: float
    calls_per_paged_declaration: float
    unquiet: int  # bursts after which the bot did not go quiet within the limit


async def memory_and_calls(database: Database, fake: Fake, workdir: str, *, bursts: int, size: int,
                           paged: int, quiet_limit: float) -> Memory:
    """`bursts` bursts of `size` declarations (P2 on a rotation: no page), resident memory after each once the
    bot is quiet; then `paged` P1s, which page the rotation's primary."""
    engine = database.engine()
    history.seed(engine, 0, 0, datetime.now(UTC))
    await _fake_people(fake)
    bot = await start_bot(fake, database.url, workdir)
    after, unquiet, calls = [], 0, float("nan")
    try:
        await quiet(bot, fake, limit=quiet_limit)
        at_rest = bot.memory_mb()
        for number in range(bursts):
            seen = len(fake.calls)
            requests = [load.declaration(f"VMEM-{number}-{i}", f"Memory {number} {i:05d}") for i in range(size)]
            await load.burst(bot.url, requests, CONCURRENCY)
            unquiet += not await quiet(bot, fake, limit=quiet_limit)
            after.append(bot.memory_mb())
            if number == 0:
                peak = bot.memory_mb("VmHWM")
                calls = (len(fake.calls) - seen) / size
        seen = len(fake.calls)
        requests = [load.declaration(f"VPAGE-{i}", f"Paged {i:05d}", priority="P1") for i in range(paged)]
        await load.burst(bot.url, requests, CONCURRENCY)
        unquiet += not await quiet(bot, fake, limit=quiet_limit)
        paged_calls = (len(fake.calls) - seen) / paged
        paged_ok = sum(1 for c in fake.calls[seen:] if c["method"] == "chat.postMessage"
                       and c["channel"] in history.MEMBERS)
    finally:
        await bot.stop()
        engine.dispose()
    if paged_ok < paged:  # the page must actually have gone to the primary for the figure to mean anything
        paged_calls = float("nan")
    return Memory(at_rest, peak, after, bursts * size, calls, paged_calls, unquiet)


def median_and_range(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.0f} s"
