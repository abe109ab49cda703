"""Paging and escalation end to end: declare → DM page → clock moved past the timeout → the next person → `@here`.

Time only moves when the test moves the FakeClock; each `bot.tick()` is one scheduler tick.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlmodel import select

from bot.db.models import Page
from bot.slack.ids import ActionId
from tests.fake_slack import validate_view
from tests.test_commands import reply_of

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def with_rotation(bot, *, people=(("U0A", "UTC"), ("U0B", "UTC"), ("U0C", "UTC")), at=WEDNESDAY_NOON):
    bot.clock.set(at)
    bot.fake.add_channel("C0PAY", "payments-oncall", members=("U0A",))  # its creator is in it
    for user, tz in people:
        bot.fake.add_user(user, tz=tz)
    status, body, _ = await bot.slack.command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
    assert status == 200 and body.startswith("Created the rotation `payments`"), body
    mentions = " ".join(f"<@{u}|{u.lower()}>" for u, _ in people)
    _, body, _ = await bot.slack.command(f"rotation add payments {mentions}", user="U0A")
    assert body.startswith("Added"), body
    await bot.settle()


def dms_to(bot, user: str) -> list[dict]:
    """The pages DMed to someone (reminders they may also get are not pages)."""
    return [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == user and "paged" in p["text"]]


def pages(bot) -> list[Page]:
    with bot.session() as s:
        return list(s.exec(select(Page).order_by(Page.chain, Page.step)))


def button_value(message: dict, action_id: str) -> str:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return next(e["value"] for e in actions["elements"] if e["action_id"] == action_id)


async def test_an_unanswered_p0_page_escalates_to_secondary_tertiary_then_here(bot):
    await with_rotation(bot)
    before = len(bot.fake.calls)
    incident = await bot.declare("Checkout is down", priority="P0")
    declaring = [c.method for c in bot.fake.calls[before:] if c.method != "views.open"]
    assert len(declaring) <= 8, declaring  # SPEC §7, with the page DM included
    dm = dms_to(bot, "U0A")
    assert len(dm) == 1 and "You are paged for INC-1 (P0)" in dm[0]["text"]
    assert {e["action_id"] for e in dm[0]["blocks"][-1]["elements"]} == {ActionId.PAGE_ACKNOWLEDGE,
                                                                         ActionId.PAGE_ESCALATE}
    summary = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id)
    assert ":pager: Paging <@U0A> as primary — escalates <!date^" in json.dumps(summary["blocks"], ensure_ascii=False)
    assert summary["text"].startswith("INC-1: Checkout is down (P0, New) :pager: Paging <@U0A> as primary")
    invite = bot.fake.calls_to("conversations.invite")[0]
    assert {"U0A", "U0B", "U0C", "U0REPORTER"} <= set(invite["users"].split(","))

    await bot.tick(minutes=4, seconds=59)
    assert dms_to(bot, "U0B") == []
    await bot.tick(seconds=1)
    assert len(dms_to(bot, "U0B")) == 1 and "as *secondary*" in json.dumps(dms_to(bot, "U0B")[0]["blocks"])
    mention = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id][-1]
    assert mention == ":pager: <@U0B>, you are paged as *secondary* for INC-1."
    await bot.tick()  # the same instant again: nothing is sent twice
    assert len(dms_to(bot, "U0B")) == 1

    await bot.tick(minutes=5)
    assert len(dms_to(bot, "U0C")) == 1
    await bot.tick(minutes=5)
    here = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and "<!here>" in
            json.dumps(p.get("blocks"))]
    assert len(here) == 1 and "INC-1" in here[0]["text"]
    await bot.tick(minutes=30)
    assert [len(dms_to(bot, u)) for u in ("U0A", "U0B", "U0C")] == [1, 1, 1]
    assert len([p for p in pages(bot)]) == 4

    events = [(e.kind, e.text) for e in bot.events(incident) if e.kind in ("paged", "escalated")]
    assert events == [
        ("paged", "paged <@U0A> (primary)"),
        ("escalated", "<@U0A> did not acknowledge within 5 min; escalating to <@U0B>"),
        ("paged", "paged <@U0B> (secondary)"),
        ("escalated", "<@U0B> did not acknowledge within 5 min; escalating to <@U0C>"),
        ("paged", "paged <@U0C> (tertiary)"),
        ("escalated", "<@U0C> did not acknowledge within 5 min; escalating to @here in <#C0PAY>"),
        ("paged", "paged @here in <#C0PAY>; nobody acknowledged"),
    ]


async def test_acknowledging_the_page_stops_the_chain_and_makes_the_acknowledger_commander(bot):
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority="P0")
    await bot.tick(minutes=5)
    dm = dms_to(bot, "U0B")[0]
    bot.clock.advance(minutes=1)
    status, _, _ = await bot.slack.click(ActionId.PAGE_ACKNOWLEDGE, button_value(dm, ActionId.PAGE_ACKNOWLEDGE),
                                         user="U0B", channel="DU0B", block_id="page_actions")
    assert status == 200
    await bot.settle()
    stored = bot.incidents()[0]
    assert stored.commander_id == "U0B" and stored.acknowledged_at == bot.clock.now()
    assert all(p.state == "done" for p in pages(bot))
    assert [p.acknowledged_by for p in pages(bot)] == [None, "U0B"]  # the primary's page had escalated already
    updated = [u for u in bot.fake.calls_to("chat.update") if u["channel"] == "DU0B"]
    assert updated and "was acknowledged" in updated[-1]["text"]
    # The primary's page, escalated past, stops asking for an answer too.
    primary = [m for (channel, _), m in bot.fake.messages.items() if channel == "DU0A"]
    assert len(primary) == 1 and "was acknowledged" in primary[0]["text"]
    assert "actions" not in json.dumps(primary[0]["blocks"])
    await bot.tick(minutes=60)
    assert dms_to(bot, "U0C") == [] and len(pages(bot)) == 2
    assert (stored.acknowledged_at - stored.created_at).total_seconds() == 360
    assert ":eyes: <@U0B> acknowledged INC-1. They are the commander." in [
        p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id]


async def test_the_summary_acknowledge_button_also_stops_paging(bot):
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority="P1")
    await bot.slack.click(ActionId.ACKNOWLEDGE, "1", user="U0C", channel=incident.channel_id)
    await bot.settle()
    await bot.tick(minutes=120)
    assert dms_to(bot, "U0B") == [] and bot.incidents()[0].commander_id == "U0C"


async def test_escalate_button_moves_on_at_once(bot):
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P1")
    dm = dms_to(bot, "U0A")[0]
    await bot.slack.click(ActionId.PAGE_ESCALATE, button_value(dm, ActionId.PAGE_ESCALATE), user="U0A",
                          channel="DU0A", block_id="page_actions")
    await bot.settle()
    assert len(dms_to(bot, "U0B")) == 1
    assert (await bot.fake.wait_for_response())[-1]["text"] == "Escalated: paging <@U0B> instead."
    await bot.slack.click(ActionId.PAGE_ESCALATE, button_value(dm, ActionId.PAGE_ESCALATE), user="U0A",
                          channel="DU0A", block_id="page_actions")
    await bot.settle()
    assert (await bot.fake.wait_for_response(2))[-1]["text"] == "This page was escalated already; nothing to do."
    assert len(dms_to(bot, "U0B")) == 1 and dms_to(bot, "U0C") == []


async def test_p1_pages_skip_people_outside_business_hours(bot):
    # Wednesday 12:00 UTC: 21:00 in Tokyo (outside), noon in London (inside).
    await with_rotation(bot, people=(("U0A", "Asia/Tokyo"), ("U0B", "Europe/London"), ("U0C", "UTC")))
    incident = await bot.declare("Search is slow", priority="P1")
    assert dms_to(bot, "U0A") == [] and len(dms_to(bot, "U0B")) == 1
    assert "paged <@U0B> (secondary); skipped <@U0A> (outside business hours)" in [
        e.text for e in bot.events(incident)]
    await bot.tick(minutes=30)
    assert len(dms_to(bot, "U0C")) == 1 and dms_to(bot, "U0A") == []

    # A P0 ignores business hours.
    await bot.declare("Login is down", priority="P0")
    assert len(dms_to(bot, "U0A")) == 1


async def test_p1_with_everyone_outside_business_hours_pages_the_primary_with_a_note(bot):
    await with_rotation(bot, at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # a Saturday
    incident = await bot.declare("Search is slow", priority="P1")
    assert len(dms_to(bot, "U0A")) == 1
    assert "everyone is outside business hours; paging all the same" in json.dumps(dms_to(bot, "U0A")[0]["blocks"])
    assert "paged <@U0A> (primary); everyone is outside business hours; paging all the same" in [
        e.text for e in bot.events(incident)]


async def test_p2_and_incidents_without_a_rotation_page_nobody(bot):
    await bot.declare("No rotation yet", priority="P0")
    await with_rotation(bot)
    await bot.declare("Docs typo", priority="P2")
    await bot.tick(minutes=60)
    assert pages(bot) == [] and all(dms_to(bot, u) == [] for u in ("U0A", "U0B", "U0C"))


async def test_paging_by_hand(bot):
    await with_rotation(bot)
    incident = await bot.declare("Docs typo", priority="P2", commander="U0COMMANDER")
    _, body, _ = await bot.slack.command("page secondary", user="U0COMMANDER", channel=incident.channel_id)
    assert reply_of(body)["text"] == "Paging the secondary for INC-1."
    await bot.settle()
    assert len(dms_to(bot, "U0B")) == 1 and "<@U0COMMANDER> paged you." in json.dumps(dms_to(bot, "U0B")[0])
    _, body, _ = await bot.slack.command("page INC-1 <@U0OTHER|other>", user="U0COMMANDER")
    assert reply_of(body)["text"] == "Paging <@U0OTHER> for INC-1."
    await bot.settle()
    other = dms_to(bot, "U0OTHER")
    assert len(other) == 1
    # Someone paged by hand may acknowledge, although they hold no other role.
    await bot.slack.click(ActionId.PAGE_ACKNOWLEDGE, button_value(other[0], ActionId.PAGE_ACKNOWLEDGE),
                          user="U0OTHER", channel="DU0OTHER", block_id="page_actions")
    await bot.settle()
    assert bot.incidents()[0].acknowledged_at is not None
    assert all(p.state == "done" for p in pages(bot))
    for text, reason in (("page nobody", "Page whom? `/incident page <primary|secondary|tertiary|@someone>`."),
                         ("page", "Page whom? `/incident page <primary|secondary|tertiary|@someone>`.")):
        _, body, _ = await bot.slack.command(text, user="U0COMMANDER", channel=incident.channel_id)
        assert reply_of(body)["text"] == reason
    _, body, _ = await bot.slack.command("page tertiary", user="U0REPORTER", channel=incident.channel_id)
    assert reply_of(body)["text"].startswith("Only its commander <@U0COMMANDER>")


async def test_two_replicas_ticking_together_send_each_step_once(make_bot):
    first = await make_bot()
    second = await make_bot()
    await with_rotation(first)
    second.clock.set(first.clock.now())
    await first.declare("Checkout is down", priority="P0")
    for _ in range(3):
        first.clock.advance(minutes=5)
        second.clock.set(first.clock.now())
        await asyncio.gather(first.runtime.tick(), second.runtime.tick(),
                             first.runtime.tick())
        await first.settle()
        await second.settle()
    assert [len(dms_to(first, u)) for u in ("U0A", "U0B", "U0C")] == [1, 1, 1]
    here = [p for p in first.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and "<!here>" in
            json.dumps(p.get("blocks"))]
    assert len(here) == 1 and len(pages(first)) == 4


async def test_app_home_shows_who_is_on_call_and_the_next_handoff(bot):
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0", commander="U0B")
    await bot.declare("Search is slow", priority="P1")
    status, _, _ = await bot.slack.event({"type": "app_home_opened", "user": "U0B", "channel": "D1", "tab": "home",
                                          "event_ts": "1.1"})
    assert status == 200
    await bot.settle()
    view = bot.fake.calls_to("views.publish")[-1]["view"]
    validate_view(view)
    text = json.dumps(view["blocks"])
    handoff = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp())
    assert "*payments* (you are on it): primary <@U0A> \\u00b7 secondary <@U0B> \\u00b7 tertiary <@U0C>" in text
    assert f"Next handoff <!date^{handoff}^" in text
    assert "Incidents you command* (1)" in text and "Open incidents* (2)" in text
    buttons = [b["accessory"] for b in view["blocks"] if b.get("accessory")
               and b["accessory"]["action_id"] != ActionId.COVER_ASK]  # (the shifts' buttons: tests/test_covers.py)
    assert [b["action_id"] for b in buttons] == [ActionId.ACKNOWLEDGE] * 3  # nobody has acknowledged yet

    # Acknowledging from the Home tab works (no response_url there) and the tab is published again.
    published = len(bot.fake.calls_to("views.publish"))
    await bot.slack.click(ActionId.ACKNOWLEDGE, "2", user="U0C", view={"id": "VHOME", "type": "home"})
    await bot.settle()
    assert bot.incidents()[1].commander_id == "U0C"
    assert len(bot.fake.calls_to("views.publish")) == published + 1
    again = json.dumps(bot.fake.calls_to("views.publish")[-1]["view"]["blocks"])
    assert ActionId.POST_UPDATE in again  # U0C now commands INC-2


async def test_slack_down_for_the_page_delays_it_but_not_the_channel(bot):
    def delivered(user: str) -> int:
        return sum(1 for channel, _ in bot.fake.messages if channel == f"D{user}")

    await with_rotation(bot)
    bot.fake.fail("chat.postMessage", "internal_error", status=500, times=4, channel="U0A")  # all 4 tries of the DM
    incident = await bot.declare("Checkout is down", priority="P0")
    assert incident.channel_id and incident.summary_ts and "done" in incident.steps_done
    assert delivered("U0A") == 0 and pages(bot)[0].state == "queued"
    await bot.tick(seconds=4)
    assert delivered("U0A") == 0  # backing off after the failed attempt
    await bot.tick(seconds=2)
    assert delivered("U0A") == 1 and pages(bot)[0].state == "waiting"
    await bot.tick(minutes=5)
    assert delivered("U0B") == 1


async def test_priority_changes_start_and_stop_paging(bot):
    await with_rotation(bot)
    incident = await bot.declare("Search is slow", priority="P1")
    dm = dms_to(bot, "U0A")[0]
    await bot.slack.command("priority P2", user="U0A", channel=incident.channel_id)
    await bot.settle()
    assert all(p.state == "done" for p in pages(bot))
    stopped = [u for u in bot.fake.calls_to("chat.update") if u["channel"] == "DU0A"][-1]
    assert stopped["text"] == ":arrow_down: INC-1 is now P2: it no longer pages anyone."
    assert not any(b["type"] == "actions" for b in stopped["blocks"])
    await bot.tick(minutes=120)
    assert dms_to(bot, "U0B") == [] and "<!here>" not in json.dumps(bot.fake.calls_to("chat.postMessage"))
    assert dm  # (the original page)

    quiet = await bot.declare("Docs typo", priority="P2")
    assert len(pages(bot)) == 1
    await bot.slack.command("priority P0", user="U0A", channel=quiet.channel_id)
    await bot.settle()
    assert len(dms_to(bot, "U0A")) == 2 and "INC-2" in dms_to(bot, "U0A")[-1]["text"]


async def test_anyone_in_the_rotation_channel_may_acknowledge_the_here_page(bot):
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER")
    await bot.tick(minutes=5)
    await bot.tick(minutes=5)
    await bot.tick(minutes=5)
    here = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and "<!here>" in
            json.dumps(p.get("blocks")))
    await bot.slack.click(ActionId.PAGE_ACKNOWLEDGE, button_value(here, ActionId.PAGE_ACKNOWLEDGE), user="U0OTHER",
                          channel="C0PAY", block_id="page_actions")
    await bot.settle()
    stored = bot.incidents()[0]
    assert stored.acknowledged_at == bot.clock.now() and stored.commander_id == "U0COMMANDER"
    assert all(p.state == "done" for p in pages(bot))
    assert [e.actor_id for e in bot.events(incident) if e.kind == "acknowledged"] == ["U0OTHER"]


async def test_resolving_takes_the_buttons_off_pages(bot):
    await with_rotation(bot)
    incident = await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER")
    await bot.slack.command("status resolved false alarm", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    stopped = [u for u in bot.fake.calls_to("chat.update") if u["channel"] == "DU0A"][-1]
    assert stopped["text"] == ":white_check_mark: INC-1 is resolved: no need to respond."
    await bot.tick(minutes=60)
    assert dms_to(bot, "U0B") == []


async def test_a_page_slack_refuses_for_good_escalates_at_once_and_says_why(bot):
    await with_rotation(bot)
    bot.fake.fail("chat.postMessage", "user_not_found", channel="U0A")  # the primary's account is gone
    incident = await bot.declare("Checkout is down", priority="P0")
    first, second = pages(bot)[:2]
    assert (first.target_user_id, first.state, first.sent_at) == ("U0A", "done", None)
    assert (second.target_user_id, second.state) == ("U0B", "waiting") and second.sent_at == bot.clock.now()
    assert len(dms_to(bot, "U0B")) == 1 and not any(channel == "DU0A" for channel, _ in bot.fake.messages)
    texts = [e.text for e in bot.events(incident) if e.kind in ("escalated", "paged")]
    assert texts == ["Slack refused the page to <@U0A> (user_not_found); escalating to <@U0B>",
                     "paged <@U0B> (secondary)"]


async def test_the_last_step_falls_back_when_the_rotation_channel_refuses_it(bot):
    await with_rotation(bot, people=(("U0A", "UTC"),))
    incident = await bot.declare("Checkout is down", priority="P0")
    bot.fake.channels["C0PAY"]["archived"] = True
    await bot.tick(minutes=5)  # U0A did not answer: the whole channel is asked, and it is archived
    here = [p for p in bot.fake.calls_to("chat.postMessage") if "<!here>" in json.dumps(p)]
    assert [p["channel"] for p in here] == ["C0PAY", "C0INCIDENTS"]  # refused, then INCIDENTS_CHANNEL
    last = pages(bot)[-1]
    assert (last.target_role, last.state, last.dm_channel) == ("channel", "waiting", "C0INCIDENTS")
    assert any(e.text.startswith("paged @here in <#C0INCIDENTS>") for e in bot.events(incident))


async def test_acknowledged_while_the_page_was_on_its_way_loses_its_buttons(bot):
    await with_rotation(bot)
    bot.fake.answer_late(0.5, "chat.postMessage")
    view = await bot.open_declare(user="U0REPORTER")
    await bot.slack.submit(view, {"title": "Checkout is down", "priority": "P0"}, user="U0REPORTER")
    for _ in range(200):  # the page DM is out, its answer not back yet
        if any(c["channel"] == "U0A" for c in bot.fake.calls_to("chat.postMessage")):
            break
        await asyncio.sleep(0.01)
    assert any(c["channel"] == "U0A" for c in bot.fake.calls_to("chat.postMessage"))
    await bot.slack.command("status INC-1 triaged", user="U0B")  # someone looked at it meanwhile
    bot.fake.answer_late(0, "chat.postMessage")
    await bot.settle()
    await bot.tick(seconds=1)
    page = pages(bot)[0]
    assert page.state == "done" and page.acknowledged_by == "U0B"
    [dm] = [m for (c, _), m in bot.fake.messages.items() if c == "DU0A"]
    assert "page_actions" not in json.dumps(dm["blocks"])


async def test_on_a_public_holiday_p1_pages_find_nobody_inside_business_hours(make_bot):
    """HOLIDAYS: Epiphany (6 January) is a holiday in Bavaria, so at noon on that Tuesday nobody is at work."""
    bot = await make_bot(holidays="DE-BY", team_timezone="Europe/Berlin")
    berlin = (("U0A", "Europe/Berlin"), ("U0B", "Europe/Berlin"), ("U0C", "Europe/Berlin"))
    await with_rotation(bot, people=berlin, at=datetime(2026, 1, 6, 11, 0, tzinfo=UTC))
    incident = await bot.declare("Search is slow", priority="P1")
    assert "paged <@U0A> (primary); everyone is outside business hours; paging all the same" in [
        e.text for e in bot.events(incident)]
