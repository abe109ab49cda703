"""Durable delivery under faults injected through the fake Slack: down for ten minutes, 429 bursts, dropped
connections, permanent refusals. Every message arrives once, in order within its channel."""

from __future__ import annotations

import json

from sqlmodel import col, select

from bot.db.models import Delivery
from bot.delivery.kinds import Kind
from tests.test_self_watch import details_link


def updates_in(bot, channel: str) -> list[str]:
    """Updates that reached Slack (the fake stores only messages it accepted)."""
    return [m["text"] for (c, _), m in sorted(bot.fake.messages.items(), key=lambda kv: kv[0][1])
            if c == channel and (m["text"] or "").startswith(":memo:")]


def outbox(bot) -> list[Delivery]:
    """What the bot owes Slack (not the requests stored before their ack: declarations, clicks)."""
    with bot.session() as s:
        return list(s.exec(select(Delivery).where(col(Delivery.kind).not_in((Kind.DECLARE, Kind.CLICK)))
                           .order_by(Delivery.id)))


async def test_slack_down_for_ten_minutes_delays_messages_but_loses_none(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.fail("chat.postMessage", "service_unavailable", status=503, times=100_000)
    for n in range(1, 6):
        status, body, _ = await bot.slack.command(f"update step {n}", user="U0COMMANDER", channel=incident.channel_id)
        assert status == 200 and body == "Posted your update to INC-1."  # stored and answered while Slack is down
        await bot.settle()
    assert updates_in(bot, incident.channel_id) == []
    assert [e.text for e in bot.events(incident) if e.kind == "update"] == [f"step {n}" for n in range(1, 6)]
    async with bot.slack.session.get(details_link(bot)) as response:
        assert (await response.json())["outbox"]["queued"] >= 5
    for _ in range(20):  # ten minutes of ticks while Slack stays down
        await bot.tick(seconds=30)
    assert updates_in(bot, incident.channel_id) == []
    bot.fake.recover()
    await bot.tick(minutes=5)
    await bot.tick(minutes=5)
    assert updates_in(bot, incident.channel_id) == [f":memo: *Update on INC-1* from <@U0COMMANDER>:\nstep {n}"
                                                    for n in range(1, 6)]
    assert all(m.state == "sent" for m in outbox(bot))
    await bot.tick(minutes=30)
    assert len(updates_in(bot, incident.channel_id)) == 5  # none twice


async def test_rate_limits_and_dropped_connections_are_retried(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.fail("chat.postMessage", "ratelimited", status=429, times=4, retry_after=0)
    bot.fake.fail("chat.update", status=0, times=10)  # the connection drops, every retry
    await bot.slack.command("priority P0", user="U0COMMANDER", channel=incident.channel_id)
    await bot.slack.command("update looking", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    for _ in range(6):
        await bot.tick(minutes=1)
    said = [m["text"] for (c, _), m in bot.fake.messages.items() if c == incident.channel_id]
    assert sum(t.startswith(":arrow_up:") for t in said) == 1 and sum(t.startswith(":memo:") for t in said) == 1
    assert said.index(next(t for t in said if t.startswith(":arrow_up:"))) < said.index(
        next(t for t in said if t.startswith(":memo:")))
    summary = bot.fake.messages[(incident.channel_id, incident.summary_ts)]
    assert "P0" in json.dumps(summary["blocks"])  # the summary edit got through in the end
    assert all(m.state == "sent" for m in outbox(bot))


async def test_a_permanent_refusal_gives_up_and_is_counted(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    bot.fake.channels.pop(incident.channel_id)  # someone deleted the channel
    await bot.slack.command("update INC-1 still down", user="U0COMMANDER")
    await bot.settle()
    await bot.tick(minutes=1)
    failed = [m for m in outbox(bot) if m.state == "failed"]
    assert failed and failed[0].last_error == "channel_not_found"
    async with bot.slack.session.get(details_link(bot)) as response:
        body = await response.json()
    assert body["ok"] is True and body["outbox"]["failed"] == len(failed)
    assert bot.events(incident)[-1].text == "still down"  # the update itself is kept


async def test_messages_wait_for_a_channel_still_being_set_up(bot):
    bot.fake.fail("conversations.create", "internal_error", status=500, times=100_000)
    view = await bot.open_declare(user="U0COMMANDER")
    await bot.slack.submit(view, {"title": "Checkout is down", "commander": "U0COMMANDER"}, user="U0COMMANDER")
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.channel_id is None
    await bot.slack.command("update INC-1 first", user="U0COMMANDER")
    await bot.settle()
    await bot.tick(minutes=1)
    assert [(m.kind, m.state) for m in outbox(bot)] == [  # the set-up waits for Slack; the update behind it
        ("setup", "queued"), ("say", "queued")]
    bot.fake.recover()
    await bot.tick(minutes=10)  # the set-up resumes at the next tick, and the update follows it
    incident = bot.incidents()[0]
    assert updates_in(bot, incident.channel_id) == [":memo: *Update on INC-1* from <@U0COMMANDER>:\nfirst"]


async def test_a_burst_of_requests_leaves_one_flush_waiting_for_its_acks_not_one_each():
    """Each declaration asks for a flush after the acks; one waiting flush delivers them all (it has not read what
    is due yet). A burst of 4,000 kept 4,000 tasks waiting, whose memory stayed with asyncio's task sets."""
    from bot.runtime.background import Background
    from bot.services.outbox import Outbox

    class Engine:
        runs = 0

        async def run(self) -> int:
            Engine.runs += 1
            return 0

    background = Background()
    outbox = Outbox(Engine(), background)  # type: ignore[arg-type]
    background.request_started()  # a burst is being answered: what waits for the acks waits
    for _ in range(500):
        outbox.flush_after_acks(name="declare")
    assert [t.get_name() for t in background._tasks].count("declare") == 1
    background.request_finished()
    await background.drain(timeout=5)
    assert Engine.runs == 1
    outbox.flush_after_acks(name="declare")  # asked again once that flush began: a new one goes
    await background.drain(timeout=5)
    assert Engine.runs == 2
