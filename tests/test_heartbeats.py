"""Heartbeats (SPEC §2 "Heartbeats"): `/incident heartbeat …`, `POST /heartbeats/<name>`, a silence opening an
incident through the declare path (once), the next beat resolving it — across restarts too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from bot.config import parse_duration
from bot.db.edge_models import Heartbeat
from bot.db.models import Incident, TimelineEvent
from bot.domain.errors import UserError
from bot.domain.heartbeats import HeartbeatSpec, parse_create, silent_after
from bot.domain.incident import Declaration, Priority
from tests.test_alerts import TOKEN
from tests.test_paging import dms_to, with_rotation

# -- the rules ----------------------------------------------------------------------------------------------


def test_create_reads_name_interval_rotation_and_priority_in_either_order():
    assert parse_create("nightly-backup 25h payments P0", parse_duration) == HeartbeatSpec(
        "nightly-backup", timedelta(hours=25), "payments", Priority.P0)
    assert parse_create("Cron.Sync 15m p0 #payments", parse_duration) == HeartbeatSpec(
        "cron.sync", timedelta(minutes=15), "payments", Priority.P0)
    assert parse_create("etl 1h", parse_duration) == HeartbeatSpec("etl", timedelta(hours=1))


@pytest.mark.parametrize("text, says", [
    ("", "heartbeat create <name> <interval>"),
    ("etl", "heartbeat create <name> <interval>"),
    ("etl/x 1h", "is not a heartbeat name"),
    ("etl soon", "is not an interval"),
    ("etl 30s", "between 1 minute and 35 days"),
    ("etl 40d", "between 1 minute and 35 days"),
    ("etl 1h P2", "give it P0 or P1"),
    ("etl 1h payments web", "heartbeat create <name> <interval>"),
])
def test_bad_create_lines_are_refused_with_what_to_type(text, says):
    with pytest.raises(UserError) as refused:
        parse_create(text, parse_duration)
    assert says in str(refused.value)


def test_a_heartbeat_is_silent_one_interval_after_its_last_beat():
    beat = datetime(2026, 11, 25, 3, tzinfo=UTC)
    assert silent_after(beat, timedelta(hours=25)) == datetime(2026, 11, 26, 4, tzinfo=UTC)


# -- end to end ---------------------------------------------------------------------------------------------

async def beat(bot, name: str, token: str | None = TOKEN, method: str = "POST") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with bot.slack.session.request(method, f"{bot.url}/heartbeats/{name}", headers=headers,
                                         data=b"{}") as response:
        return response.status, await response.json()


def heartbeat_rows(bot) -> list[Heartbeat]:
    with bot.session() as s:
        return list(s.exec(select(Heartbeat).order_by(Heartbeat.id)))


def silence_incidents(bot) -> list[Incident]:
    return [i for i in bot.incidents() if i.source == "heartbeat"]


@pytest.fixture
async def beating(make_bot):
    bot = await make_bot(alerts_token=TOKEN, scheduler_tick="30s")
    await with_rotation(bot)
    return bot


async def test_create_list_beat_silence_and_the_next_beat_resolves(beating):
    bot = beating
    _, body, _ = await bot.slack.command("heartbeat create nightly-backup 1h payments P1", user="U0A")
    assert body.startswith("Heartbeat `nightly-backup` created") and "/heartbeats/nightly-backup" in body, body
    _, body, _ = await bot.slack.command("heartbeat list", user="U0OTHER")
    assert "`nightly-backup` every 1h · P1 · `payments`" in body and "waiting for its first beat" in body, body

    status, answer = await beat(bot, "nightly-backup")
    assert status == 202 and answer["heartbeat"] == "nightly-backup" and answer["resolved"] is None
    assert heartbeat_rows(bot)[0].beats == 1

    # On time (within the interval plus a tick of grace): nothing happens.
    await bot.tick(minutes=60)
    await bot.tick(seconds=20)
    assert silence_incidents(bot) == []
    # Past it: one incident through the declare path — its channel, the primary paged — and only one.
    await bot.tick(seconds=20)
    await bot.tick(minutes=5)
    (incident,) = silence_incidents(bot)
    assert incident.title == "Heartbeat nightly-backup went silent" and incident.priority == "P1"
    assert incident.channel_id and len(dms_to(bot, "U0A")) == 1
    _, body, _ = await bot.slack.command("heartbeat list", user="U0OTHER")
    assert f"INC-{incident.number}" in body and "silent since" in body

    # The next beat resolves it, saying how long it was silent.
    bot.clock.advance(minutes=30)
    status, answer = await beat(bot, "nightly-backup")
    assert status == 202 and answer["resolved"] == f"INC-{incident.number}"
    await bot.settle()
    with bot.session() as s:
        stored = s.get(Incident, incident.id)
        resolved = s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                      TimelineEvent.kind == "resolved")).one()
    assert stored.status == "resolved"
    assert resolved.text == "The heartbeat `nightly-backup` beat again after 1h 35m of silence."
    assert heartbeat_rows(bot)[0].incident_id is None

    # A second silence is a second incident.
    await bot.tick(minutes=61)
    await bot.tick(minutes=1)
    assert len(silence_incidents(bot)) == 2


async def test_beats_are_refused_without_the_token_or_the_name_and_store_nothing(make_bot):
    bot = await make_bot()
    status, answer = await beat(bot, "etl")
    assert status == 404 and "ALERTS_TOKEN" in answer["error"]
    bot = await make_bot(alerts_token=TOKEN)
    _, body, _ = await bot.slack.command("heartbeat create etl 1h", user="U0OTHER")
    assert body.startswith("Heartbeat `etl` created"), body
    for token, name, expected in (("wrong", "etl", 401), (None, "etl", 401), (TOKEN, "nope", 404),
                                  (TOKEN, "..%2Fx", 404), ("wrong", "nope", 401)):
        status, answer = await beat(bot, name, token)
        assert status == expected, (token, name, answer)
    assert heartbeat_rows(bot)[0].beats == 0 and heartbeat_rows(bot)[0].last_beat_at is None
    status, _ = await beat(bot, "etl", method="GET")  # for senders that can only GET
    assert status == 202 and heartbeat_rows(bot)[0].beats == 1


async def test_bad_commands_change_nothing_and_say_why(beating):
    bot = beating
    for text, says in (("heartbeat create etl", "heartbeat create <name> <interval>"),
                       ("heartbeat create etl 1h nowhere", "There is no rotation called `nowhere`"),
                       ("heartbeat create etl 10s", "between 1 minute and 35 days"),
                       ("heartbeat remove ghost", "There is no heartbeat called `ghost`"),
                       ("heartbeat frobnicate", "heartbeat create <name> <interval>")):
        _, body, _ = await bot.slack.command(text, user="U0A")
        assert says in body, (text, body)
    assert heartbeat_rows(bot) == []
    _, body, _ = await bot.slack.command("heartbeat create etl 1h", user="U0A")
    _, body, _ = await bot.slack.command("heartbeat create etl 2h", user="U0B")
    assert "There is a heartbeat called `etl` already" in body
    assert [h.interval_seconds for h in heartbeat_rows(bot)] == [3600]


async def test_only_admins_the_rotation_and_the_creator_manage_heartbeats(make_bot):
    bot = await make_bot(alerts_token=TOKEN, admins="U0ADMIN")
    await with_rotation(bot)
    _, body, _ = await bot.slack.command("heartbeat create etl 1h payments", user="U0OTHER")
    assert "Only the members of `payments`" in body and heartbeat_rows(bot) == []
    _, body, _ = await bot.slack.command("heartbeat create etl 1h payments", user="U0B")
    assert body.startswith("Heartbeat `etl` created")
    _, body, _ = await bot.slack.command("heartbeat remove etl", user="U0OTHER")
    assert "Only the members of `payments`" in body and len(heartbeat_rows(bot)) == 1
    _, body, _ = await bot.slack.command("heartbeat remove etl", user="U0B")
    assert body.startswith("Heartbeat `etl` removed") and heartbeat_rows(bot) == []
    status, _ = await beat(bot, "etl")
    assert status == 404


async def test_silence_and_its_end_are_seen_across_restarts(make_bot):
    first = await make_bot(alerts_token=TOKEN)
    await with_rotation(first)
    await first.slack.command("heartbeat create backup 2h payments P0", user="U0A")
    assert (await beat(first, "backup"))[0] == 202
    # The process stops; a new one starts three hours later and its first tick sees the silence.
    second = await make_bot(alerts_token=TOKEN)
    second.clock.set(first.clock.now() + timedelta(hours=3))
    await second.tick()
    (incident,) = silence_incidents(second)
    assert incident.priority == "P0" and incident.channel_id
    # Another restart: the beat goes to the third process, which resolves what the second declared.
    third = await make_bot(alerts_token=TOKEN)
    third.clock.set(second.clock.now() + timedelta(minutes=10))
    await third.tick()
    assert len(silence_incidents(third)) == 1
    status, answer = await beat(third, "backup")
    assert status == 202 and answer["resolved"] == f"INC-{incident.number}"
    with third.session() as s:
        assert s.get(Incident, incident.id).status == "resolved"


async def test_a_silence_declared_before_a_crash_is_not_declared_twice(beating):
    """The declare key names the heartbeat and the silence: a process that died after declaring (before noting
    the incident on the heartbeat) leaves the next tick to find the same incident, not to open another."""
    bot = beating
    await bot.slack.command("heartbeat create etl 1h", user="U0A")
    (heartbeat,) = heartbeat_rows(bot)
    bot.runtime.services.declaring.declare(Declaration(
        title="Heartbeat etl went silent", reporter_id="", source="heartbeat", rotation_id=heartbeat.rotation_id,
        declare_key=f"heartbeat:{heartbeat.id}:{int(heartbeat.silent_after.timestamp())}"))
    await bot.tick(minutes=62)
    await bot.tick(minutes=1)
    (incident,) = silence_incidents(bot)
    assert heartbeat_rows(bot)[0].incident_id == incident.id


async def test_a_beat_racing_the_declaration_resolves_what_was_declared(beating):
    bot = beating
    await bot.slack.command("heartbeat create etl 1h", user="U0A")
    bot.clock.advance(minutes=62)
    (seen_silent,) = heartbeat_rows(bot)  # the tick read it silent …
    assert (await beat(bot, "etl"))[0] == 202  # … a beat arrives …
    heartbeats = bot.runtime.services.heartbeats
    await bot.runtime.db.run(heartbeats._declare_silence, seen_silent, bot.clock.now())  # … then it declared
    await bot.settle()
    (incident,) = silence_incidents(bot)
    with bot.session() as s:
        assert s.get(Incident, incident.id).status == "resolved"
        assert s.exec(select(func.count()).select_from(Heartbeat).where(Heartbeat.incident_id.is_not(None))).one() \
            == 0
