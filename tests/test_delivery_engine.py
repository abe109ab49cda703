"""The delivery engine on its own, against a real database and a moved clock: fenced claims, lanes that do not
hold each other, attempts cut off inside their lease, the backlog /healthz shows. Handlers here are plain
coroutines; the Slack side is tested through the fake Slack everywhere else."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.db import repo
from bot.db.engine import make_engine
from bot.db.models import Delivery, Rotation
from bot.db.schema import upgrade_to_head
from bot.delivery.engine import LANES_AT_ONCE, Sent
from bot.delivery.engine import DeliveryEngine as Engine
from bot.delivery.kinds import Drop, Later

LEASE = timedelta(seconds=0.4)


@pytest.fixture
def db(database_url) -> repo.database.Database:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield repo.database.Database(engine)
    engine.dispose()


def queue(db: repo.database.Database, clock: FakeClock, *items: tuple[str, str]) -> None:
    engine = Engine(db, clock, LEASE)
    with db.session() as session:
        for lane, kind in items:
            engine.queue(session, lane=lane, kind=kind, now=clock.now(), n=len(kind))
        session.commit()


def stored(db: repo.database.Database) -> list[Delivery]:
    with db.session() as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)))


def slack_said(error: str, status: int = 200) -> SlackApiError:
    response = AsyncSlackResponse(client=None, http_verb="POST", api_url="x", req_args={},
                                  data={"ok": False, "error": error}, headers={}, status_code=status)
    return SlackApiError(error, response)


async def test_a_process_whose_claim_was_taken_over_cannot_record_its_outcome(db):
    clock = FakeClock()
    first, second = Engine(db, clock, LEASE), Engine(db, clock, LEASE)
    queue(db, clock, ("incident:1", "post"))
    recorded: list[str] = []

    def record(who: str):
        def write(session: Session) -> None:
            recorded.append(who)
            session.add(Rotation(name=who, channel_id="C1", created_by="U1", created_at=clock.now()))
        return Sent(write)

    async def slow(delivery, payload):  # the first process stalls past its lease; the second takes over
        clock.advance(seconds=1)
        assert await second.run() == 1
        return record("first")

    first.register("post", slow)
    second.register("post", lambda delivery, payload: _done(record("second")))
    await first.run()
    assert recorded == ["second"]  # the first's answer is not recorded over the second's
    [delivery] = stored(db)
    assert delivery.state == "sent" and delivery.claim_token is None
    with db.session() as session:
        assert [r.name for r in session.exec(select(Rotation))] == ["second"]


async def _done(value):
    return value


async def test_one_lane_waiting_on_slack_does_not_hold_the_others(db):
    clock = FakeClock()
    engine = Engine(db, clock, LEASE)
    sent: list[str] = []

    async def handler(delivery, payload):
        if delivery.lane == "user:U0DOWN":
            raise slack_said("service_unavailable", status=503)
        sent.append(delivery.lane)

    engine.register("post", handler)
    queue(db, clock, ("user:U0DOWN", "post"), ("user:U0DOWN", "post"), ("user:U0UP", "post"),
          ("channel:C1", "post"))
    assert await engine.run() == 2
    assert sorted(sent) == ["channel:C1", "user:U0UP"]
    down = [d for d in stored(db) if d.lane == "user:U0DOWN"]
    assert [d.state for d in down] == ["queued", "queued"] and down[0].attempts == 1 and down[1].attempts == 0
    assert down[0].last_error == "service_unavailable"
    assert await engine.run() == 0  # backing off: nothing is tried before its time
    clock.advance(seconds=5)
    engine.register("post", lambda delivery, payload: _done(None))
    assert await engine.run() == 2  # then in order


async def test_an_attempt_is_cut_off_inside_its_lease_and_retried(db):
    clock = FakeClock()
    engine = Engine(db, clock, LEASE)
    never = asyncio.Event()

    async def hangs(delivery, payload):
        await never.wait()

    engine.register("post", hangs)
    queue(db, clock, ("incident:1", "post"))
    assert await asyncio.wait_for(engine.run(), LEASE.total_seconds()) == 0  # gave up at half the lease
    [delivery] = stored(db)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("queued", 1, "TimeoutError")
    assert delivery.claim_token is None


async def test_outcomes_refused_dropped_later_and_the_backlog(db):
    clock = FakeClock()
    engine = Engine(db, clock, LEASE)
    verdicts = {"refused": slack_said("channel_not_found"), "gone": Drop("not due any more"), "later": Later()}

    async def handler(delivery, payload):
        raise verdicts[delivery.kind]

    for kind in verdicts:
        engine.register(kind, handler)
    queue(db, clock, ("a", "refused"), ("b", "gone"), ("c", "later"), ("c", "refused"))
    clock.advance(seconds=90)
    await engine.run()
    states = [(d.kind, d.state, d.last_error) for d in stored(db)]
    assert states == [("refused", "failed", "channel_not_found"), ("gone", "dropped", "not due any more"),
                      ("later", "queued", ""), ("refused", "queued", "")]  # lane c waits behind "later"
    backlog = engine.backlog()
    assert backlog["counts"] == {"failed": {"refused": 1}, "dropped": {"gone": 1}, "queued": {"later": 1,
                                                                                              "refused": 1}}
    assert backlog["oldest_queued_seconds"] == 90.0


async def test_a_handler_that_breaks_is_retried_and_holds_only_its_lane(db, caplog):
    clock = FakeClock()
    engine = Engine(db, clock, LEASE)
    sent: list[str] = []

    async def handler(delivery, payload):
        if delivery.lane == "incident:1":
            raise LookupError("incident id 1 vanished")
        sent.append(delivery.lane)

    engine.register("post", handler)
    queue(db, clock, ("incident:1", "post"), ("incident:2", "post"))
    assert await engine.run() == 1 and sent == ["incident:2"]
    broken = stored(db)[0]
    assert (broken.state, broken.attempts, broken.claim_token) == ("queued", 1, None)
    assert broken.last_error == "LookupError: incident id 1 vanished"
    assert "delivery 1 (post) failed unexpectedly" in caplog.text


async def test_page_lanes_start_first_when_more_lanes_wait_than_run_at_once(db):
    clock = FakeClock()
    engine = Engine(db, clock, LEASE)
    started: list[str] = []

    async def handler(delivery, payload):
        started.append(delivery.kind)
        await asyncio.sleep(0)

    engine.register("post", handler)
    engine.register("page", handler)
    queue(db, clock, *((f"incident:{n}", "post") for n in range(LANES_AT_ONCE + 10)), ("user:U0A", "page"))
    assert await engine.run() == LANES_AT_ONCE + 11
    # Among the lanes let through at once, not behind them (queued last, it would be the 75th). Which of those
    # reaches its handler first is up to the database's threads (eight on PostgreSQL).
    assert started.index("page") < LANES_AT_ONCE


async def test_a_run_that_sent_and_left_nothing_hands_over_to_the_idle_hook(db):
    clock = FakeClock()
    idle: list[int] = []
    engine = Engine(db, clock, LEASE, on_idle=lambda: idle.append(1))
    engine.register("post", lambda delivery, payload: _done(None))
    assert await engine.run() == 0 and idle == []  # nothing sent: nothing to give back
    queue(db, clock, ("channel:C1", "post"), ("channel:C2", "post"))
    assert await engine.run() == 2 and idle == [1]
