"""`/incident rotation escalation` end to end: a rotation's own steps, minutes and repeats, user groups paged whole,
a page keeping the policy it started with, and the command's permissions, replays and refusals (SPEC § Schedules
and escalation policies)."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.db.schedule_models import EscalationPolicy
from tests.test_paging import button_value, dms_to, pages, with_rotation
from tests.test_rotations import say, sent_twice


def here_posts(bot) -> list[dict]:
    return [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY"
            and "<!here>" in json.dumps(p.get("blocks"))]


def stored_policies(bot) -> list[EscalationPolicy]:
    with bot.session() as s:
        return list(s.exec(select(EscalationPolicy).order_by(EscalationPolicy.priority)))


async def test_a_p0_policy_pages_its_steps_at_their_minutes_then_repeats(bot):
    await with_rotation(bot)
    bot.fake.add_user("U0LEAD", tz="UTC")
    answer = await say(bot, "rotation escalation payments P0 secondary 2m, <@U0LEAD|lead> 3m, channel 1m repeat 1")
    assert answer["text"] == ("The P0 escalation policy of `payments` is now: secondary 2m → <@U0LEAD> 3m → @here in "
                              "the channel 1m, then again up to 1 more time. Pages already sent keep the policy they "
                              "started with.")
    assert [p.priority for p in stored_policies(bot)] == ["P0"]
    said = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY"]
    assert any("set the P0 escalation policy of `payments`" in t for t in said)

    incident = await bot.declare("Checkout is down", priority="P0")
    assert dms_to(bot, "U0A") == [] and len(dms_to(bot, "U0B")) == 1  # the policy starts at the secondary
    assert "Acknowledge within 2 min" in json.dumps(dms_to(bot, "U0B")[0]["blocks"])
    await bot.tick(minutes=1, seconds=59)
    assert dms_to(bot, "U0LEAD") == []
    await bot.tick(seconds=1)
    assert len(dms_to(bot, "U0LEAD")) == 1
    await bot.tick(minutes=3)
    assert len(here_posts(bot)) == 1
    await bot.tick(minutes=1)  # the channel's minute is up: the policy runs once more from the top
    assert len(dms_to(bot, "U0B")) == 2
    await bot.tick(minutes=2)
    await bot.tick(minutes=3)
    await bot.tick(minutes=1)
    await bot.tick(minutes=30)
    assert [len(dms_to(bot, u)) for u in ("U0A", "U0B", "U0LEAD")] == [0, 2, 2] and len(here_posts(bot)) == 2
    events = [e.text for e in bot.events(incident) if e.kind == "escalated"]
    assert events[0] == "<@U0B> did not acknowledge within 2 min; escalating to <@U0LEAD>"
    assert events[2] == "nobody acknowledged @here in <#C0PAY> within 1 min; escalating to <@U0B> (the policy again)"


async def test_a_user_group_step_pages_every_member_and_one_answer_stops_them_all(bot):
    await with_rotation(bot)
    for user in ("U0L1", "U0L2"):
        bot.fake.add_user(user, tz="UTC")
    bot.fake.add_usergroup("S0LEADS", "leads", ("U0L1", "U0L2"))
    answer = await say(bot, "rotation escalation payments P0 primary 5m, <!subteam^S0LEADS|@leads> 5m, channel")
    assert "@leads (2 people) 5m" in answer["text"], answer
    await bot.declare("Checkout is down", priority="P0")
    await bot.tick(minutes=5)
    assert len(dms_to(bot, "U0L1")) == len(dms_to(bot, "U0L2")) == 1
    status, _, _ = await bot.slack.click("page_acknowledge", button_value(dms_to(bot, "U0L2")[0], "page_acknowledge"),
                                         user="U0L2")
    assert status == 200
    await bot.settle()
    await bot.tick(minutes=30)
    assert here_posts(bot) == [] and {p.state for p in pages(bot)} == {"done"}
    assert [p.acknowledged_by for p in pages(bot) if p.target_user_id == "U0L2"] == ["U0L2"]


async def test_a_group_that_nobody_answers_moves_on_once(bot):
    await with_rotation(bot)
    for user in ("U0L1", "U0L2"):
        bot.fake.add_user(user, tz="UTC")
    bot.fake.add_usergroup("S0LEADS", "leads", ("U0L1", "U0L2"))
    await say(bot, "rotation escalation payments P0 @leads 5m, channel")  # typed by hand: found by its handle
    incident = await bot.declare("Checkout is down", priority="P0")
    assert len(dms_to(bot, "U0L1")) == len(dms_to(bot, "U0L2")) == 1
    await bot.tick(minutes=5)
    await bot.tick()
    assert len(here_posts(bot)) == 1
    escalated = [e.text for e in bot.events(incident) if e.kind == "escalated"]
    assert len(escalated) == 1 and escalated[0].endswith("escalating to @here in <#C0PAY>"), escalated


async def test_a_page_in_flight_keeps_the_policy_it_started_with(bot):
    await with_rotation(bot)
    await say(bot, "rotation escalation payments P0 primary 10m, secondary 10m, channel")
    await bot.declare("Checkout is down", priority="P0")
    await say(bot, "rotation escalation payments P0 primary 1m, tertiary 1m, channel")
    await bot.tick(minutes=9)
    assert dms_to(bot, "U0B") == [] and dms_to(bot, "U0C") == []
    await bot.tick(minutes=1)
    assert len(dms_to(bot, "U0B")) == 1 and dms_to(bot, "U0C") == []
    second = await bot.declare("Payments are slow", priority="P0")  # a new incident takes the new policy
    await bot.tick(minutes=1)
    assert len(dms_to(bot, "U0C")) == 1
    assert second.number == 2


async def test_showing_resetting_and_each_priority_on_its_own(bot):
    await with_rotation(bot)
    shown = (await say(bot, "rotation escalation payments"))["text"]
    assert shown.splitlines()[1:3] == [
        "• P0: primary 5m → secondary 5m → tertiary 5m → @here in the channel _(default)_",
        "• P1: primary 30m → secondary 30m → tertiary 30m → @here in the channel _(default)_"]
    await say(bot, "rotation escalation payments primary 20m, channel")  # no priority: both
    assert [p.priority for p in stored_policies(bot)] == ["P0", "P1"]
    await say(bot, "rotation escalation payments p1 default")
    assert [p.priority for p in stored_policies(bot)] == ["P0"]
    shown = (await say(bot, "rotation escalation payments"))["text"]
    assert "• P0: primary 20m → @here in the channel\n• P1: primary 30m" in shown


async def test_bad_policies_and_strangers_change_nothing(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    bot.fake.add_usergroup("S0EMPTY", "empty", ())
    for text, says in [("rotation escalation payments P0 primary", "needs minutes"),
                       ("rotation escalation payments P0 channel, primary 5m", "always the last step"),
                       ("rotation escalation payments P0 @nosuch 5m", "could not find the user group"),
                       ("rotation escalation payments P0 <!subteam^S0EMPTY|@empty> 5m", "has nobody in it")]:
        assert says in (await say(bot, text))["text"]
    refused = await say(bot, "rotation escalation payments P0 primary 1m", user="U0STRANGER")
    assert refused["text"].startswith("Only the members of `payments`"), refused
    bot.fake.add_usergroup("S0LEADS", "leads", ("U0B",))
    bot.fake.fail("usergroups.users.list", "missing_scope")
    answer = await say(bot, "rotation escalation payments P0 @leads 5m")
    assert answer["text"] == ("Slack refused to tell me who is in the user group (`missing_scope`). Nothing "
                              "changed."), answer
    assert stored_policies(bot) == []


async def test_the_same_request_twice_sets_the_policy_once(bot):
    await with_rotation(bot)
    answers = await sent_twice(bot, "rotation escalation payments P0 primary 3m, channel", user="U0A")
    assert answers[0].startswith("The P0 escalation policy") and answers[1].startswith("Already done:"), answers
    said = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if "escalation policy" in p["text"]]
    assert len(said) == 1
