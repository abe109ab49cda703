"""Scheduled duties end to end, by moving the clock and ticking: P0 nags, P1 targets, triage, heading home, the
Tuesday handoff — each sent once across restarts and replicas, never to a resolved incident."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.db import repo
from bot.db.models import Incident, Notice
from bot.slack.ids import ActionId, BlockId, CallbackId
from tests.test_paging import with_rotation

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def said(bot, marker: str, channel: str | None = None) -> list[dict]:
    return [p for p in bot.fake.calls_to("chat.postMessage")
            if marker in p["text"] and (channel is None or p["channel"] == channel)]


async def working_p0(bot, **kwargs):
    """A P0 someone is on (so paging and triage are out of the way): only the update nags remain."""
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER", **kwargs)
    await bot.slack.command("status in_progress", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    return incident


async def test_p0_nags_at_60_90_120_then_the_primary_and_secondary_hear_of_it(bot):
    incident = await working_p0(bot)
    await bot.tick(minutes=59)
    assert said(bot, ":alarm_clock:") == []
    await bot.tick(minutes=1)
    nag = said(bot, ":alarm_clock:", incident.channel_id)
    assert len(nag) == 1 and nag[0]["text"].startswith(
        ":alarm_clock: <@U0COMMANDER>: *INC-1* (P0) Checkout is down has had no update for 1h.")
    dm = said(bot, ":alarm_clock:", "U0COMMANDER")
    assert len(dm) == 1 and dm[0]["blocks"][0]["accessory"]["action_id"] == ActionId.POST_UPDATE
    await bot.tick(minutes=29)
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 1
    await bot.tick(minutes=1)  # 90 minutes
    assert "(reminder 2)" in said(bot, ":alarm_clock:", incident.channel_id)[-1]["text"]
    assert said(bot, ":rotating_light: *INC-1*") == []
    await bot.tick(minutes=30)  # 120 minutes: two reminders went unanswered
    alarms = said(bot, "has not answered 2 reminders")
    assert {a["channel"] for a in alarms} == {"U0A", "U0B"}
    await bot.tick()
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 3 and len(said(bot, "has not answered")) == 2


async def test_an_update_resets_the_nags_and_resolving_stops_them(bot):
    incident = await working_p0(bot)
    await bot.tick(minutes=60)
    bot.clock.advance(minutes=40)
    await bot.slack.command("update Rolled back; watching", user="U0OTHER", channel=incident.channel_id)
    await bot.settle()  # (U0OTHER may not post: the nag clock is untouched by a refused update)
    await bot.slack.command("update Rolled back; watching", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(minutes=59)
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 1
    await bot.tick(minutes=1)
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 2
    assert "(reminder" not in said(bot, ":alarm_clock:", incident.channel_id)[-1]["text"]
    await bot.slack.command("status resolved Fixed", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(hours=5)
    assert len(said(bot, ":alarm_clock:")) == 4  # two nags, each in the channel and by DM: none after resolving


async def test_lowering_to_p1_stops_the_nags(bot):
    incident = await working_p0(bot)
    await bot.tick(minutes=50)
    await bot.slack.command("priority P1", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(minutes=60)
    assert said(bot, ":alarm_clock:") == []


async def test_p1_target_warning_and_miss_across_a_weekend(bot):
    await with_rotation(bot, at=datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday 15:00
    incident = await bot.declare("Search is slow", priority="P1", commander="U0COMMANDER")
    await bot.slack.command("status in_progress", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    bot.clock.set(datetime(2026, 11, 30, 12, 59, tzinfo=UTC))  # Monday: 5h59m of business time
    await bot.tick()
    assert said(bot, ":hourglass_flowing_sand:") == []
    await bot.tick(minutes=1)
    warning = said(bot, ":hourglass_flowing_sand:", incident.channel_id)
    due = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp())
    assert len(warning) == 1 and f"used 75% of its resolution target (due <!date^{due}^" in warning[0]["text"]
    assert len(said(bot, ":hourglass_flowing_sand:", "U0COMMANDER")) == 1
    await bot.tick(hours=2)
    assert len(said(bot, ":warning:", incident.channel_id)) == 1 and len(said(bot, ":hourglass_flowing_sand:")) == 2
    await bot.tick(hours=3)
    assert len(said(bot, ":warning:", incident.channel_id)) == 1


async def test_triage_reminds_the_primary_then_the_secondary(bot):
    await with_rotation(bot)
    incident = await bot.declare("Search is slow", priority="P1")
    await bot.slack.click(ActionId.PAGE_ESCALATE, "1", user="U0A", channel="DU0A", block_id="page_actions")
    await bot.settle()  # (the page moved on; the incident is still `new`)
    await bot.tick(hours=3, minutes=59)
    assert said(bot, ":mag:") == []
    await bot.tick(minutes=1)
    assert sorted(m["channel"] for m in said(bot, ":mag:")) == [incident.channel_id, "U0A"]  # each in its lane
    bot.clock.set(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))  # 8 business hours after declaring
    await bot.tick()
    assert sorted(m["channel"] for m in said(bot, ":mag:")[2:]) == [incident.channel_id, "U0B"]
    assert all("The primary was reminded already." in m["text"] for m in said(bot, ":mag:")[2:])
    await bot.slack.command("status triaged", user="U0A", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(days=2)
    assert len(said(bot, ":mag:")) == 4


async def test_heading_home_in_each_commanders_timezone(bot):
    bot.fake.add_user("U0TOKYO", tz="Asia/Tokyo")
    bot.fake.add_user("U0NY", tz="America/New_York")
    await with_rotation(bot, at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # Wednesday 10:00 in Tokyo
    first = await bot.declare("Tokyo builds fail", priority="P1", commander="U0TOKYO")
    second = await bot.declare("NY dashboards slow", priority="P0", commander="U0NY")
    await bot.tick()  # learns both commanders' timezones
    bot.clock.set(datetime(2026, 11, 25, 7, 30, tzinfo=UTC))  # 16:30 in Tokyo, 02:30 in New York
    await bot.tick()
    homes = said(bot, ":house:")
    assert [(m["channel"], "INC-1" in m["text"]) for m in homes] == [("U0TOKYO", True)]
    bot.clock.set(datetime(2026, 11, 25, 21, 30, tzinfo=UTC))  # 16:30 in New York
    await bot.tick()
    assert [m["channel"] for m in said(bot, ":house:")] == ["U0TOKYO", "U0NY"]
    await bot.tick(minutes=20)
    assert len(said(bot, ":house:")) == 2
    assert first.number == 1 and second.number == 2


async def test_the_tuesday_handoff(bot):
    await with_rotation(bot)  # Wednesday: U0A is primary until next Tuesday 10:00
    bot.fake.add_user("U0D")
    for title, priority in (("Checkout is down", "P0"), ("Search is slow", "P1"), ("Docs typo", "P2")):
        incident = await bot.declare(title, priority=priority, commander="U0A")
        await bot.slack.command("status in_progress", user="U0A", channel=incident.channel_id)
        await bot.slack.command(f"update Looking at {title.lower()}", user="U0A", channel=incident.channel_id)
        await bot.settle()
    bot.clock.set(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))
    await bot.tick()
    assert said(bot, ":fire_engine: You") == [] and said(bot, ":fire_engine: Your") == []
    bot.clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # Monday 16:00: the heads-up
    await bot.tick()
    assert [m["channel"] for m in said(bot, "Your shift as primary")] == ["U0A"]
    assert [m["channel"] for m in said(bot, "You become primary")] == ["U0B"]
    bot.clock.set(datetime(2026, 12, 1, 9, 59, tzinfo=UTC))
    await bot.tick()
    assert said(bot, "Handoff for payments") == []
    bot.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))  # Tuesday 10:00
    await bot.tick()
    await bot.tick(minutes=30)
    digest = said(bot, "Handoff for payments", "C0PAY")
    assert len(digest) == 1 and digest[0]["text"] == "Handoff for payments: <@U0A> → <@U0B>, 3 open incidents"
    text = json.dumps(digest[0]["blocks"], ensure_ascii=False)
    assert "<@U0A> → <@U0B>" in text and "Secondary <@U0C> · tertiary <@U0A>" in text
    assert "*Last shift:* 3 declared · 0 resolved" in text
    for ref, priority, title in (("INC-1", "P0", "Checkout is down"), ("INC-2", "P1", "Search is slow"),
                                 ("INC-3", "P2", "Docs typo")):
        assert f"*{ref}* {title}" in text and f"{priority} · In progress · commander <@U0A>" in text
    assert "> Looking at search is slow" in text and "last update 5d 22h ago" in text

    # "Add handoff note" opens a form; the note becomes a timeline event.
    note_button = next(b["accessory"] for b in digest[0]["blocks"] if b.get("accessory", {}).get("value") == "2")
    await bot.slack.click(note_button["action_id"], "2", user="U0A", channel="C0PAY")
    view = (await bot.fake.wait_for("views.open", 4))[-1]["view"]
    assert view["callback_id"] == CallbackId.HANDOFF_NOTE_MODAL
    status, body, _ = await bot.slack.submit(view, {BlockId.HANDOFF_NOTE: "Index rebuild runs overnight"},
                                             user="U0A")
    assert status == 200 and body == ""
    await bot.settle()
    events = bot.events(bot.incidents()[1])
    assert (events[-1].kind, events[-1].text) == ("handoff note", "Index rebuild runs overnight")

    # "Hand over my incidents" moves command to the incoming primary.
    hand_over = next(b for b in digest[0]["blocks"] if b["type"] == "actions")["elements"][0]
    await bot.slack.click(hand_over["action_id"], hand_over["value"], user="U0D", channel="C0PAY",
                          block_id="handoff_actions")
    await bot.settle()
    assert "Only <@U0A>" in (await bot.fake.wait_for_response())[-1]["text"]
    await bot.slack.click(hand_over["action_id"], hand_over["value"], user="U0A", channel="C0PAY",
                          block_id="handoff_actions")
    await bot.settle()
    assert [i.commander_id for i in bot.incidents()] == ["U0B", "U0B", "U0B"]
    assert (await bot.fake.wait_for_response(2))[-1]["text"] == "Handed over to <@U0B>: INC-1, INC-2, INC-3."

    # On demand, any time.
    _, body, _ = await bot.slack.command("handoff payments", user="U0OTHER")
    assert body == "Posting the handoff digest of `payments` in <#C0PAY>."
    await bot.settle()
    assert len(said(bot, "Handoff for payments", "C0PAY")) == 2


async def test_a_restart_between_ticks_sends_each_due_reminder_once(make_bot, tmp_path):
    first = await make_bot()
    incident = await working_p0(first)
    await first.tick(minutes=50)
    # The process stops; a new one starts on the same database 25 minutes later.
    second = await make_bot()
    second.clock.set(first.clock.now())
    await second.tick(minutes=25)
    assert len(said(second, ":alarm_clock:", incident.channel_id)) == 1
    third = await make_bot()
    third.clock.set(second.clock.now())
    await third.tick()
    await third.tick(minutes=4)
    assert len(said(third, ":alarm_clock:", incident.channel_id)) == 1


async def test_two_instances_ticking_the_same_database_at_once_send_each_reminder_once(make_bot):
    first = await make_bot()
    second = await make_bot()
    incident = await working_p0(first)
    for minutes in (60, 30, 30):
        first.clock.advance(minutes=minutes)
        second.clock.set(first.clock.now())
        await asyncio.gather(first.runtime.tick(), second.runtime.tick())
        await first.settle()
        await second.settle()
    assert len(said(first, ":alarm_clock:", incident.channel_id)) == 3
    assert len(said(first, "has not answered 2 reminders")) == 2
    with first.session() as s:
        keys = [n.key for n in s.exec(select(Notice))]
    assert len(keys) == len(set(keys))


def received(bot, marker: str) -> list[str]:
    """Where the messages carrying `marker` arrived (channel ids; DMs as D + user id), as Slack stored them."""
    return sorted(channel for (channel, _), m in bot.fake.messages.items() if marker in (m["text"] or ""))


async def test_each_recipient_of_a_reminder_is_delivered_on_its_own(bot):
    """One DM failing for a while delays that DM alone: the channel message and the other DMs go out once."""
    incident = await working_p0(bot)
    await bot.tick(minutes=60)
    await bot.tick(minutes=30)
    bot.fake.fail("chat.postMessage", "service_unavailable", status=503, times=20, channel="U0A")
    await bot.tick(minutes=30)  # third nag: channel, commander, and the alarm to the primary and the secondary
    assert received(bot, "(reminder 3)") == sorted([incident.channel_id, "DU0COMMANDER"])
    assert received(bot, "has not answered 2 reminders") == ["DU0B"]
    bot.fake.recover()
    await bot.tick(seconds=40)  # past the backoff (capped at SCHEDULER_TICK)
    assert received(bot, "(reminder 3)") == sorted([incident.channel_id, "DU0COMMANDER"])
    assert received(bot, "has not answered 2 reminders") == ["DU0A", "DU0B"]


async def test_a_dm_refused_for_good_does_not_hold_back_the_others(bot):
    incident = await working_p0(bot)
    await bot.tick(minutes=60)
    await bot.tick(minutes=30)
    bot.fake.fail("chat.postMessage", "user_not_found", times=5, channel="U0COMMANDER")
    await bot.tick(minutes=30)
    assert received(bot, "(reminder 3)") == [incident.channel_id]
    assert received(bot, "has not answered 2 reminders") == ["DU0A", "DU0B"]
    await bot.tick(seconds=40)
    assert received(bot, "(reminder 3)") == [incident.channel_id]  # given up, and said so on /healthz
    assert bot.runtime.services.outbox.backlog()["counts"]["failed"] == {"reminder": 1}


async def test_a_reminder_no_longer_due_is_not_sent_late(bot):
    """Slack down when the nag is decided; an update arrives before Slack is back: the nag is dropped."""
    incident = await working_p0(bot)
    bot.fake.fail("chat.postMessage", "service_unavailable", status=503, times=50)
    await bot.tick(minutes=60)
    bot.fake.recover()
    await bot.slack.command("update Rolled back", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(seconds=40)
    assert received(bot, ":alarm_clock:") == []
    assert bot.runtime.services.outbox.backlog()["counts"]["dropped"] == {"reminder": 2}


async def test_a_tick_reads_only_incidents_with_something_due_and_any_change_brings_one_back(bot):
    """Each open incident's next due moment is stored: between two nags the tick reads nothing, and any UPDATE of
    the row (whatever code made it) puts it back in front of the next tick."""
    incident = await working_p0(bot)
    await bot.tick()  # learns the commander's timezone: their incidents are worked out again at the next tick
    await bot.tick()

    def due_now() -> list[int]:
        with bot.runtime.db.session() as session:
            return [row.id for row in repo.reminders.facts_due(session=session, now=bot.clock.now())]

    assert due_now() == []
    with bot.runtime.db.session() as session:
        stored = session.get(Incident, incident.id).next_due_at
    assert bot.clock.now() < stored <= bot.clock.now() + timedelta(minutes=60)
    await bot.tick(minutes=30)
    assert due_now() == [] and said(bot, ":alarm_clock:") == []
    with bot.runtime.db.session() as session:
        repo.incidents.update_incident(session=session, incident_id=incident.id, title="Checkout is down (EU)")
        session.commit()
    assert due_now() == [incident.id]
    await bot.tick()
    assert due_now() == []
    await bot.tick(minutes=30)  # the hour since the last update still counts from the same moment
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 1
    with bot.runtime.engine.begin() as connection:  # as a replica from before the column writes it
        connection.execute(sa.text("UPDATE incident SET next_due_at = NULL WHERE id = :id"), {"id": incident.id})
    assert due_now() == [incident.id]
    await bot.tick()
    assert due_now() == []


async def test_what_a_ticks_steps_queue_goes_out_after_its_last_step_not_between_them(bot):
    """Sends interleaved with the steps took the database thread and the interpreter between each step's reads (a
    tick at 1,000 open with reminders due: 42 ms instead of 22): the steps queue, the tick flushes once at the end.
    Only the tick's own flushes wait: a declaration answered meanwhile goes out at once."""
    incident = await working_p0(bot)
    tick = bot.runtime.tick
    last = tick.steps[-1]
    seen_by_the_last_step: list[int] = []
    declaring: list[str] = []

    async def last_step():
        for title in declaring:  # a request during the tick, answered in a task of its own
            await bot.declare(title, settle=False)
        await asyncio.sleep(0.3)  # ample time for a flush asked for earlier (the reminders step, the request)
        seen_by_the_last_step.append(len(said(bot, declaring[0] if declaring else ":alarm_clock:")))
        return await last.run()

    tick.steps[-1] = type(last)(last.name, last_step)
    try:
        await bot.tick(minutes=60)
        assert seen_by_the_last_step == [0]
        assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 1  # sent right after the steps, in this tick
        declaring.append("Search is slow")
        await bot.tick(seconds=30)
        assert seen_by_the_last_step[1] > 0
    finally:
        tick.steps[-1] = last
