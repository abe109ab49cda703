"""An incident's set-up in Slack is owed as deliveries: it survives Slack misbehaving the way the real one does,
resumes at the next tick without a restart, is done once however many replicas tick, adopts a channel Slack
created without telling us, and finds somewhere to announce the incident."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.test_paging import with_rotation

SETUP = {"home", "reply", "invite", "topic", "summary", "pin", "announce", "done"}


def summaries(bot, incident) -> list[dict]:
    return [m for (c, _), m in bot.fake.messages.items() if c == incident.channel_id and m.get("metadata")]


def announcements(bot, channel: str) -> list[dict]:
    return [m for (c, _), m in bot.fake.messages.items() if c == channel and ":rotating_light:" in json.dumps(
        m.get("blocks"))]


@pytest.mark.parametrize(("method", "error", "status"), [
    ("conversations.create", "service_unavailable", 503),  # Slack down while the channel is being made
    ("chat.postMessage", "ratelimited", 429),  # a 429 storm on the summary and announcement
    ("conversations.create", "invalid_auth", 200),  # the token refused for a while
])
async def test_the_set_up_waits_out_a_bad_spell_and_resumes_at_the_next_tick(make_bot, method, error, status):
    bot = await make_bot(scheduler_tick="30s")
    bot.fake.fail(method, error, status=status, times=100_000, retry_after=0)
    incident = await bot.declare("Checkout is down")
    assert "done" not in incident.steps_done
    for _ in range(4):  # two minutes of ticks while it lasts
        await bot.tick(seconds=30)
    assert "done" not in bot.incidents()[0].steps_done
    bot.fake.recover()
    await bot.tick(seconds=30)  # one tick after Slack answers again
    await bot.tick(seconds=1)
    incident = bot.incidents()[0]
    assert incident.steps_done >= SETUP and incident.thread_ts is None, incident.steps_done
    assert len([c for c in bot.fake.calls_to("conversations.create") if c]) >= 1
    assert len(summaries(bot, incident)) == 1 and len(announcements(bot, "C0INCIDENTS")) == 1
    assert not any("thread" in e.text for e in bot.events(incident))  # it never pretended to be in a thread


async def test_two_replicas_ticking_at_once_set_an_incident_up_once(make_bot):
    first = await make_bot()
    second = await make_bot()  # the same database, another process
    first.fake.fail("conversations.create", "internal_error", status=500, times=8)  # past the in-call retries
    await first.declare("Checkout is down")
    for _ in range(3):
        first.clock.advance(seconds=30)
        second.clock.advance(seconds=30)
        await asyncio.gather(first.runtime.tick(), second.runtime.tick())
        await asyncio.gather(first.settle(), second.settle())
    incident = first.incidents()[0]
    assert incident.steps_done >= SETUP
    created = [c for c in first.fake.calls if c.method == "conversations.create"]
    assert len({c.args["name"] for c in created}) == 1 and len(first.fake.channels) == 3  # + general, incidents
    assert len(summaries(first, incident)) == 1 and len(first.fake.pins) == 1
    assert len(announcements(first, "C0INCIDENTS")) == 1
    assert len(first.fake.calls_to("chat.postEphemeral")) == 1


async def test_a_channel_slack_created_without_telling_us_is_adopted(bot):
    bot.fake.fail("conversations.create", status=-1)  # created, and the answer lost on the way back
    incident = await bot.declare("Checkout is down")
    assert incident.channel_name == "inc-1-checkout-is-down"
    assert [c["name"] for c in bot.fake.channels.values() if c["name"].startswith("inc-")] == [incident.channel_name]
    assert incident.steps_done >= SETUP and len(summaries(bot, incident)) == 1


async def test_a_channel_of_that_name_made_by_someone_else_is_never_taken(bot):
    bot.fake.add_channel("C0THEIRS", "inc-1-checkout-is-down", creator="U0OTHER")
    incident = await bot.declare("Checkout is down")
    assert incident.channel_name == "inc-1-checkout-is-down-2" and incident.channel_id != "C0THEIRS"


async def test_a_rotation_channel_the_bot_is_not_in_is_joined(bot):
    await with_rotation(bot)
    rotation = bot.runtime.services.rotations.named_rotation("payments")
    bot.fake.channels[rotation.channel_id]["joined"] = False
    incident = await bot.declare("Checkout is down", channel=rotation.channel_id)
    assert bot.fake.calls_to("conversations.join") == [{"channel": rotation.channel_id}]
    assert len(announcements(bot, rotation.channel_id)) == 1 and incident.announcement_channel == rotation.channel_id
    assert not any(e.kind == "note" for e in bot.events(incident))


async def test_an_announcement_goes_elsewhere_and_says_so(bot):
    await with_rotation(bot)
    rotation = bot.runtime.services.rotations.named_rotation("payments")
    bot.fake.channels[rotation.channel_id]["archived"] = True
    incident = await bot.declare("Checkout is down", channel=rotation.channel_id, priority="P2")
    assert incident.announcement_channel == "C0INCIDENTS" and len(announcements(bot, "C0INCIDENTS")) == 1
    [note] = [e.text for e in bot.events(incident) if e.kind == "note"]
    assert note == (f"The announcement could not go to <#{rotation.channel_id}> (is_archived); it went to "
                    "<#C0INCIDENTS>.")
    # (the reply to the reporter is a DM too: Slack takes no ephemeral in an archived channel)
    told = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0REPORTER"
            and "announcement" in p["text"]]
    assert len(told) == 1 and note in told[0]["text"]

    # Neither the rotation's channel nor INCIDENTS_CHANNEL: the reporter's DM.
    bot.fake.channels["C0INCIDENTS"].update(joined=False, private=True)
    second = await bot.declare("Search is slow", channel=rotation.channel_id, priority="P2")
    assert second.announcement_channel == "DU0REPORTER"
    [note] = [e.text for e in bot.events(second) if e.kind == "note"]
    assert note.startswith(f"The announcement could not go to <#{rotation.channel_id}> (is_archived), <#C0INCIDENTS> "
                           "(channel_not_found)") and note.endswith("it went to <@U0REPORTER> by DM.")
    assert second.steps_done >= SETUP


async def test_a_summary_already_posted_is_found_not_posted_again(bot):
    """As when Slack posted the summary but the answer never came back (or the process died before recording it):
    the step is tried again and finds the message by its metadata instead of posting a second one."""
    bot.fake.fail("chat.postMessage", "internal_error", status=500, times=100_000)
    incident = await bot.declare("Checkout is down")
    assert "summary" not in incident.steps_done
    text, blocks = bot.runtime.services.reading.summary(incident)
    ts = "1799999999.000001"
    bot.fake.messages[(incident.channel_id, ts)] = {  # Slack had posted it after all
        "ts": ts, "text": text, "blocks": blocks, "thread_ts": None,
        "metadata": {"event_type": "firefighter_incident_summary", "event_payload": {"incident": incident.number}}}
    bot.fake.recover()
    await bot.tick(minutes=1)
    incident = bot.incidents()[0]
    assert incident.summary_ts == ts and len(summaries(bot, incident)) == 1
    assert (incident.channel_id, ts) in bot.fake.pins and incident.steps_done >= SETUP


async def test_an_announcement_that_became_the_incidents_home_is_posted_once(bot):
    """No channel allowed: the incident lives in its announcement's thread. That post is written before the next
    call to Slack, so a failure right after it (the reporter's reply) does not bring a second announcement."""
    bot.fake.fail("conversations.create", "restricted_action", times=100)
    bot.fake.fail("chat.postEphemeral", "internal_error", status=500, times=100_000)
    incident = await bot.declare("Checkout is down")
    assert "home" in incident.steps_done and "reply" not in incident.steps_done
    bot.fake.recover()
    await bot.tick(minutes=1)
    incident = bot.incidents()[0]
    assert incident.thread_ts and incident.steps_done >= SETUP
    assert len(announcements(bot, "C0INCIDENTS")) == 1


async def test_a_responder_added_while_the_set_up_runs_shows_in_the_pinned_summary(bot):
    """Without a page, the summary is read with the set-up's other reads, before the incident's channel exists: a
    person added in the meantime still shows in it (their change refreshes the summary once it is posted)."""
    bot.fake.slow(0.5, "conversations.invite")  # the set-up is held between its channel and its summary
    view = await bot.open_declare()
    status, body, _ = await bot.slack.submit(view, {"title": "Checkout is down", "priority": "P2"})
    assert (status, body) == (200, "")
    for _ in range(250):  # until the channel exists (the reporter may use it from then on)
        incidents = bot.incidents()
        if incidents and incidents[-1].channel_id:
            break
        await asyncio.sleep(0.02)
    incident = bot.incidents()[-1]
    assert incident.channel_id and "summary" not in incident.steps_done
    status, body, _ = await bot.slack.command(f"responders INC-{incident.number} add <@U0HELPER|helper>",
                                              channel=incident.channel_id)
    assert status == 200, body
    await bot.settle()
    [summary] = summaries(bot, bot.incidents()[-1])
    assert "<@U0HELPER>" in json.dumps(summary), summary
