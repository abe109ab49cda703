"""`/incident rotation set` end to end: a rotation's own handoff, shift length and roles, applied from the next
handoff (who is on call now stays), announced with the next shifts, read by paging and the digest; permissions,
bad input and replays change nothing (SPEC § Schedules and escalation policies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.db.models import RotationSwap
from bot.db.schedule_models import ShiftChange
from tests.test_paging import dms_to, pages, with_rotation
from tests.test_rotations import on_call_at, say, sent_twice

NEXT_TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # the team's handoff after WEDNESDAY_NOON (25 Nov)


def stored(bot) -> list[ShiftChange]:
    with bot.session() as s:
        return list(s.exec(select(ShiftChange)))


def channel_says(bot, words: str) -> list[str]:
    return [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and words in p["text"]]


async def test_daily_shifts_and_one_role_from_the_next_handoff_on(bot):
    await with_rotation(bot)  # Wednesday 25 Nov, noon: U0A primary, U0B secondary, U0C tertiary since Tuesday
    now = on_call_at(bot, bot.clock.now())
    answer = (await say(bot, "rotation set payments shift 1d"))["text"]
    assert answer.startswith("Done: `payments` hands off 10:00 UTC, every day, 3 roles from "), answer
    answer = (await say(bot, "rotation set payments roles 1"))["text"]  # before it applies: folded into it
    assert "every day, 1 role from" in answer, answer
    await bot.settle()
    [change] = stored(bot)
    assert (change.since, change.days, change.roles, change.first_index) == (NEXT_TUESDAY_10, 1, 1, now.shift_index + 1)
    said = channel_says(bot, "changed how `payments` hands off")
    assert len(said) == 2 and "(who is on call until then stays on call)" in said[-1]
    assert said[-1].count("\n•") == 4 and "primary <@U0B>\n" in said[-1], said[-1]

    assert on_call_at(bot, bot.clock.now()) == now  # this week is as it was
    assert on_call_at(bot, NEXT_TUESDAY_10 - timedelta(minutes=1)).primary == "U0A"
    tuesday = on_call_at(bot, NEXT_TUESDAY_10)
    assert (tuesday.primary, tuesday.secondary, tuesday.tertiary) == ("U0B", None, None)
    assert tuesday.shift_end == NEXT_TUESDAY_10 + timedelta(days=1)
    assert on_call_at(bot, NEXT_TUESDAY_10 + timedelta(days=1, hours=3)).primary == "U0C"

    bot.clock.set(NEXT_TUESDAY_10 + timedelta(hours=2))
    incident = await bot.declare("Checkout is down", priority="P0")
    assert len(dms_to(bot, "U0B")) == 1
    await bot.tick(minutes=5)  # one role: after the primary, the channel
    assert [p.target_role for p in pages(bot) if p.incident_id == incident.id] == ["primary", "channel"]
    refused = (await say(bot, "rotation override payments <@U0C|c> now tomorrow as secondary"))["text"]
    assert refused == "`payments` has 1 role now, so there is no secondary to take; nothing changed.", refused
    shown = (await say(bot, "rotation set payments"))["text"]
    assert shown.startswith("`payments` hands off 10:00 UTC, every day, 1 role."), shown


async def test_a_new_handoff_time_and_zone_and_the_digest_on_the_new_boundary(bot):
    await with_rotation(bot)
    answer = (await say(bot, "rotation set payments handoff fri 17:00 America/New_York"))["text"]
    assert "Friday 17:00 America/New_York, every week, 3 roles from " in answer, answer
    friday_17_ny = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
    first = on_call_at(bot, NEXT_TUESDAY_10)
    assert (first.shift_start, first.shift_end) == (NEXT_TUESDAY_10, friday_17_ny)  # Tuesday to Friday
    second = on_call_at(bot, friday_17_ny)
    assert second.shift_index == first.shift_index + 1 and second.shift_end == friday_17_ny + timedelta(days=7)
    bot.clock.set(friday_17_ny - timedelta(minutes=1))
    await bot.tick(seconds=1)
    before = channel_says(bot, "Handoff for payments")
    bot.clock.set(friday_17_ny + timedelta(minutes=1))
    await bot.tick(seconds=1)
    after = channel_says(bot, "Handoff for payments")
    assert len(after) == len(before) + 1, (before, after)  # the digest of the new boundary, once


async def test_bad_settings_and_strangers_change_nothing_and_a_replay_is_applied_once(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    for text, says in [("rotation set payments shift 40d", "1 to 28 days"),
                       ("rotation set payments handoff mon 25:00", "is not a time"),
                       ("rotation set payments handoff mon 09:00 Nowhere/Else", "is not a timezone"),
                       ("rotation set payments roles 0", "1, 2 or 3"),
                       ("rotation set payments colour blue", "Use `/incident rotation set")]:
        assert says in (await say(bot, text))["text"]
    refused = await say(bot, "rotation set payments shift 1d", user="U0STRANGER")
    assert refused["text"].startswith("Only the members of `payments`"), refused
    assert stored(bot) == []
    answers = await sent_twice(bot, "rotation set payments shift 14d", user="U0A")
    assert answers[0].startswith("Done:") and answers[1].startswith("Already done:"), answers
    assert len(stored(bot)) == 1 and len(channel_says(bot, "changed how")) == 1


async def test_a_swap_still_to_come_keeps_its_days_when_the_cycle_changes(bot):
    await with_rotation(bot)  # this week U0A, U0B, U0C; the next (from 1 Dec) U0B, U0C, U0A
    second_week = NEXT_TUESDAY_10 + timedelta(days=7, hours=1)
    assert (await say(bot, "rotation swap payments <@U0A|a> <@U0C|c> 2026-12-09"))["text"]
    swapped = on_call_at(bot, second_week)
    assert (swapped.primary, swapped.secondary, swapped.tertiary) == ("U0A", "U0C", "U0B")  # U0C and U0A swapped
    answer = (await say(bot, "rotation set payments shift 1d"))["text"]
    assert answer.startswith("Done:"), answer
    with bot.session() as s:
        assert list(s.exec(select(RotationSwap))) == []
    held = on_call_at(bot, second_week)  # the same people on the days the swap was agreed for, now as overrides
    assert (held.primary, held.secondary) == ("U0A", "U0C"), held
