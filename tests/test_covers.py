""""Cover me" end to end through signed requests: the request in the rotation's channel with its buttons, the
roster asked by DM inside business hours, the first press taking it (one override however many press at once),
withdrawing, expiring at the tick, overlaps refused by name, and the App Home's shifts with Ask for cover."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from bot.db.models import CoverRequest, RotationOverride
from bot.slack.ids import ActionId, BlockId
from tests.fake_slack import validate_blocks
from tests.test_paging import WEDNESDAY_NOON, with_rotation

THURSDAY_9 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
THURSDAY_17 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
ASK = "rotation cover payments 2026-11-26 09:00 2026-11-26 17:00 dentist, back by five"


async def say(bot, text: str, user: str = "U0A") -> str:
    status, body, _ = await bot.slack.command(text, user=user, channel="C0PAY")
    assert status == 200, body
    return body


def request_messages(bot) -> list[tuple[str, dict]]:
    """The cover requests as they stand in the fake Slack: (ts, message)."""
    return [(ts, m) for (channel, ts), m in bot.fake.messages.items()
            if channel == "C0PAY" and "cover" in (m.get("text") or "")]


def buttons(message: dict) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message.get("blocks") or [] if b["type"] == "actions"
            for e in b["elements"]}


def count(bot, model) -> int:
    with bot.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


async def press(bot, action: str, value: str, user: str, ts: str) -> str:
    before = len(bot.fake.responses)
    status, body, _ = await bot.slack.click(action, value, user=user, channel="C0PAY", block_id=BlockId.COVER_ACTIONS)
    assert status == 200, body
    await bot.fake.wait_for_response(before + 1)
    return bot.fake.responses[-1]["text"]


async def asked(bot) -> tuple[str, dict]:
    await with_rotation(bot)  # U0A primary, U0B secondary, U0C tertiary this week
    answer = await say(bot, ASK)
    assert answer.startswith("Asked `payments` to cover you as primary from <!date^"), answer
    await bot.settle()
    [(ts, message)] = request_messages(bot)
    return ts, message


async def test_the_first_roster_member_to_press_gets_the_override_and_the_message_says_so(bot):
    ts, message = await asked(bot)
    validate_blocks(message["blocks"], 50)
    assert "<@U0A> asks for someone to cover *primary* on `payments`" in message["text"]
    assert "dentist, back by five" in json.dumps(message["blocks"])
    value = buttons(message)[ActionId.COVER_TAKE]
    dms = {c["channel"] for c in bot.fake.calls_to("chat.postMessage") if ":sos:" in c["text"]}
    assert dms == {"C0PAY", "U0B", "U0C"}, "the others are asked once, in their working hours"

    assert (await press(bot, ActionId.COVER_TAKE, value, "U0B", ts)).startswith("Thanks! You are primary")
    await bot.settle()
    [(_, message)] = request_messages(bot)
    assert message["text"].startswith(":white_check_mark: <@U0B> covers <@U0A> as *primary*")
    assert buttons(message) == {}, "the buttons go once it is taken"
    assert any(c["channel"] == "U0A" and "<@U0B> covers you" in c["text"]
               for c in bot.fake.calls_to("chat.postMessage"))
    assert "already took this one" in await press(bot, ActionId.COVER_TAKE, value, "U0C", ts)
    with bot.session() as s:
        [override] = s.exec(select(RotationOverride)).all()
    assert (override.user_id, override.role, override.starts_at, override.ends_at) == \
        ("U0B", "primary", THURSDAY_9, THURSDAY_17)
    oncall = bot.runtime.services.rotations
    with bot.session() as s:
        rotation = oncall.named_rotation("payments")
        assert oncall.on_call(s, rotation, THURSDAY_9 + timedelta(hours=1)).primary == "U0B"
        assert oncall.on_call(s, rotation, THURSDAY_17 + timedelta(hours=1)).primary == "U0A"


async def test_presses_at_the_same_moment_make_one_override(bot):
    _, message = await asked(bot)
    value = buttons(message)[ActionId.COVER_TAKE]
    before = len(bot.fake.responses)
    answers = await asyncio.gather(*(bot.slack.click(ActionId.COVER_TAKE, value, user=user, channel="C0PAY",
                                                     block_id=BlockId.COVER_ACTIONS)
                                     for user in ("U0B", "U0C") * 3))
    assert all(status == 200 for status, _, _ in answers)
    await bot.fake.wait_for_response(before + 6)
    texts = [r["text"] for r in bot.fake.responses[before:]]
    assert sum(t.startswith("Thanks!") for t in texts) == 1, texts
    assert count(bot, RotationOverride) == 1


async def test_two_presses_at_once_each_presser_hears_back_on_their_own_response_url(bot):
    """Issue 32 item 17: the one who is too late is told it is taken, on the response_url of their own press (each
    press has its own, as in Slack), while the other is thanked."""
    _, message = await asked(bot)
    value = buttons(message)[ActionId.COVER_TAKE]
    urls = {user: bot.fake.response_url(f"press-{user}") for user in ("U0B", "U0C")}
    bodies = [bot.slack.click_body(ActionId.COVER_TAKE, value, user=user, channel="C0PAY",
                                   block_id=BlockId.COVER_ACTIONS, response_url=url) for user, url in urls.items()]
    answers = await asyncio.gather(*(bot.slack.post(body, "application/x-www-form-urlencoded") for body in bodies))
    assert all(status == 200 for status, _, _ in answers)
    await bot.settle()
    heard = {r["key"]: r for r in bot.fake.responses if r["key"].startswith("press-")}
    assert set(heard) == {"press-U0B", "press-U0C"}, heard
    with bot.session() as s:
        [override] = s.exec(select(RotationOverride)).all()
    winner, loser = override.user_id, ({"U0B", "U0C"} - {override.user_id}).pop()
    assert heard[f"press-{winner}"]["text"].startswith("Thanks! You are primary")
    assert heard[f"press-{loser}"]["text"] == f"<@{winner}> already took this one. Thanks all the same!"
    assert heard[f"press-{loser}"]["response_type"] == "ephemeral" and not heard[f"press-{loser}"]["replace_original"]


async def test_the_requester_may_withdraw_until_it_is_taken_and_nobody_else_may(bot):
    ts, message = await asked(bot)
    controls = buttons(message)
    assert "Only <@U0A>, who asked" in await press(bot, ActionId.COVER_WITHDRAW, controls[ActionId.COVER_WITHDRAW],
                                                   "U0B", ts)
    assert "your own request" in await press(bot, ActionId.COVER_TAKE, controls[ActionId.COVER_TAKE], "U0A", ts)
    assert (await press(bot, ActionId.COVER_WITHDRAW, controls[ActionId.COVER_WITHDRAW], "U0A", ts)).startswith(
        "Withdrawn")
    await bot.settle()
    [(_, message)] = request_messages(bot)
    assert "withdrew their request" in message["text"] and buttons(message) == {}
    assert "withdrew this request" in await press(bot, ActionId.COVER_TAKE, controls[ActionId.COVER_TAKE], "U0B", ts)
    assert count(bot, RotationOverride) == 0


async def test_a_request_whose_start_passes_untaken_expires_once_and_the_requester_is_told(bot):
    await asked(bot)
    await bot.tick(hours=20)  # Thursday 08:00: not yet
    with bot.session() as s:
        assert s.exec(select(CoverRequest)).one().state == "open"
    await bot.tick(hours=2)
    await bot.tick(minutes=1)
    [(_, message)] = request_messages(bot)
    assert "Nobody covered <@U0A>" in message["text"] and buttons(message) == {}
    told = [c for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "U0A" and ":hourglass:" in c["text"]]
    assert len(told) == 1
    with bot.session() as s:
        assert s.exec(select(CoverRequest)).one().state == "expired"


async def test_overlaps_are_refused_by_name_and_change_nothing(bot):
    await asked(bot)  # U0A asks for cover as primary on Thursday 09:00-17:00
    refused = await say(bot, "rotation cover payments 2026-11-26 12:00 2026-11-26 20:00", user="U0A")
    assert refused.startswith("<@U0A> already asks for cover as primary on `payments` from <!date^"), refused
    refused = await say(bot, "rotation override <@U0C> 2026-11-26 2026-11-27", user="U0A")
    assert refused.startswith("<@U0A> asks for cover as primary on `payments` from") and "overlaps" in refused
    assert (await say(bot, "rotation override <@U0B> 2026-11-26 10:00 2026-11-26 11:00 as tertiary",
                      user="U0A")).startswith("<@U0B> is tertiary"), "another role may overlap"
    assert (await say(bot, "rotation override <@U0B> 2026-11-27 09:00 2026-11-27 17:00")).startswith("<@U0B> is")
    again = await say(bot, "rotation override <@U0C> 2026-11-27 12:00 2026-11-27 13:00")
    assert again.startswith("<@U0B> is already primary on `payments` from") and "(an override), which overlaps" in again
    # U0B holds Friday's primary by that override: asking for cover of it names the override to change instead.
    mine = await say(bot, "rotation cover payments 2026-11-27 10:00 2026-11-27 12:00", user="U0B")
    assert mine.startswith("<@U0B> is already primary on `payments`") and "overlaps" in mine
    with bot.session() as s:
        assert s.exec(select(CoverRequest)).one().state == "open"
        assert count(bot, RotationOverride) == 2


async def test_a_reason_may_say_as_and_a_role_must_be_yours(bot):
    await with_rotation(bot)
    answer = await say(bot, "rotation cover payments 2026-11-26 09:00 2026-11-26 17:00 same as last week")
    assert answer.startswith("Asked `payments` to cover you as primary"), answer
    with bot.session() as s:
        assert s.exec(select(CoverRequest)).one().reason == "same as last week"
    refused = await say(bot, "rotation cover payments 2026-11-28 2026-11-29 as tertiary", user="U0A")
    assert refused.startswith("You are not tertiary on `payments`"), refused


async def test_bad_requests_say_why_and_store_nothing(bot):
    await with_rotation(bot)
    bot.fake.add_user("U0STRANGER")
    bot.fake.add_user("U0D")
    assert (await say(bot, "rotation add payments <@U0D>")).startswith("Added")  # off call this week
    cases = {
        ("rotation cover payments tomorrow", "U0A"): "Use `/incident rotation cover <from> <to>",
        ("rotation cover payments 2026-11-20 2026-11-21", "U0A"): "That time is already over",
        ("rotation cover payments tomorrow 2026-11-28 as boss", "U0A"): "Cover is `as primary`",
        ("rotation cover payments tomorrow 2026-11-28", "U0STRANGER"): "Only people on the `payments` roster",
        ("rotation cover payments 2026-11-26 2026-11-27", "U0D"): "You are not on call on `payments`",
        ("rotation cover payments tomorrow 2027-06-01", "U0A"): "Ask for cover for 90 days at most",
    }
    for (text, user), expected in cases.items():
        answer = await say(bot, text, user=user)
        assert answer.startswith(expected), (text, answer)
    assert count(bot, CoverRequest) == 0


async def test_the_app_home_shows_your_shifts_and_asks_for_cover_for_one(bot):
    await with_rotation(bot)
    status, _, _ = await bot.slack.event({"type": "app_home_opened", "user": "U0B", "channel": "D1", "tab": "home",
                                          "event_ts": "1.1"})
    assert status == 200
    await bot.settle()
    view = bot.fake.calls_to("views.publish")[-1]["view"]
    shifts = [b for b in view["blocks"] if (b.get("accessory") or {}).get("action_id") == ActionId.COVER_ASK]
    assert shifts and shifts[0]["text"]["text"].startswith("*secondary* on `payments` from <!date^")
    assert shifts[1]["text"]["text"].startswith("*primary* on `payments`"), "next week U0B is primary"
    published = len(bot.fake.calls_to("views.publish"))
    await bot.slack.click(ActionId.COVER_ASK, shifts[1]["accessory"]["value"], user="U0B",
                          view={"id": "VHOME", "type": "home"})
    await bot.settle()
    with bot.session() as s:
        cover = s.exec(select(CoverRequest)).one()
    assert (cover.requester, cover.role, cover.starts_at) == ("U0B", "primary", datetime(2026, 12, 1, 10, tzinfo=UTC))
    assert len(bot.fake.calls_to("views.publish")) == published + 1
    again = json.dumps(bot.fake.calls_to("views.publish")[-1]["view"]["blocks"])
    assert "Your requests for cover" in again and "waiting for someone to take it" in again
    assert cover.created_at + timedelta(seconds=1) > WEDNESDAY_NOON


async def test_a_request_that_cannot_be_posted_is_told_to_the_requester(bot):
    await with_rotation(bot)
    bot.fake.fail("chat.postMessage", "channel_not_found", channel="C0PAY", times=3)
    await say(bot, ASK)
    await bot.settle()
    told = [c["text"] for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "U0A"]
    assert any("could not post your request for cover" in t and "channel_not_found" in t for t in told), told


async def test_a_press_the_bot_cannot_handle_is_still_answered(bot, monkeypatch):
    """Whoever presses I'll cover hears back, even when taking it fails in a way no rule foresaw (a database that
    refuses for a moment): told to press again, and nothing changed."""
    from sqlalchemy.exc import OperationalError

    from bot.services.covers import Covers

    _, message = await asked(bot)

    def locked(*_args, **_kwargs):
        raise OperationalError("UPDATE rotation", {}, Exception("database is locked"))

    monkeypatch.setattr(Covers, "take", locked)
    url = bot.fake.response_url("press-late")
    body = bot.slack.click_body(ActionId.COVER_TAKE, buttons(message)[ActionId.COVER_TAKE], user="U0B",
                                channel="C0PAY", block_id=BlockId.COVER_ACTIONS, response_url=url)
    status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded")
    await bot.settle()
    assert status == 200
    [heard] = [r for r in bot.fake.responses if r["key"] == "press-late"]
    assert "did not go through" in heard["text"] and heard["response_type"] == "ephemeral"
    assert count(bot, RotationOverride) == 0
