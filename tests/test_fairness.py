"""Fairness you can see: `rotation stats` and the rotation page's table, from stored roster versions, overrides,
covers and pages — the rule alone first, then end to end through signed requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.business_hours import WorkingTime
from bot.domain.errors import UserError
from bot.domain.fairness import CoverFact, PageFact, RosterVersion, fairness, parse_weeks
from bot.domain.rotation import Handoff, Override, Role
from bot.slack.ids import ActionId, BlockId
from tests.test_paging import button_value, dms_to, with_rotation

UTC_TUESDAY_10 = Handoff(1, time(10, 0), UTC)
ORIGIN = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)  # a Tuesday handoff
WORKING = WorkingTime(time(9), time(17), frozenset(range(5)))


def figures(**facts):
    defaults = {"since": ORIGIN, "until": ORIGIN + timedelta(weeks=3), "handoff": UTC_TUESDAY_10,
                "origin": ORIGIN, "rosters": [RosterVersion(ORIGIN, ("A", "B", "C"))], "overrides": [],
                "swaps": [], "pages": [], "covers": [], "working": lambda _user, moment: WORKING.is_open(moment, UTC)}
    return {load.user: load for load in fairness(**{**defaults, **facts})}


def test_three_people_over_three_weeks_hold_each_role_once():
    loads = figures()
    for user in "ABC":
        assert loads[user].shifts == {Role.PRIMARY: 1, Role.SECONDARY: 1, Role.TERTIARY: 1}
        assert sum(loads[user].hours.values()) == 3 * 7 * 24


def test_the_roster_of_the_week_counts_not_todays():
    loads = figures(rosters=[RosterVersion(ORIGIN, ("A", "B", "C")),
                             RosterVersion(ORIGIN + timedelta(weeks=1, hours=1), ("D", "B", "C"))])
    assert loads["A"].shifts[Role.PRIMARY] == 1 and loads["D"].shifts[Role.TERTIARY] == 1
    assert "D" in loads and loads["A"].shifts[Role.TERTIARY] == 0


def test_every_roster_member_gets_a_line_even_with_nothing_to_show():
    loads = figures(until=ORIGIN + timedelta(weeks=1), rosters=[RosterVersion(ORIGIN, ("A", "B", "C", "D"))])
    assert set(loads) == {"A", "B", "C", "D"}, "D held no role and got no page: still a line, of zeros"
    quiet = loads["D"]
    assert (sum(quiet.hours.values()), sum(quiet.shifts.values()), quiet.pages, quiet.covers_given) == (0, 0, 0, 0)


def test_a_cover_moves_hours_and_a_whole_week_moves_the_shift():
    day = Override("B", Role.PRIMARY, ORIGIN + timedelta(days=1), ORIGIN + timedelta(days=2), created=1)
    week = Override("C", Role.PRIMARY, ORIGIN + timedelta(weeks=1), ORIGIN + timedelta(weeks=2), created=2)
    loads = figures(overrides=[day, week], covers=[CoverFact("A", "B", day.starts_at)])
    assert loads["A"].hours[Role.PRIMARY] == 7 * 24 - 24 and loads["B"].hours[Role.PRIMARY] == 24  # week 2: C
    assert loads["A"].shifts[Role.PRIMARY] == 1, "six days of seven: still A's shift"
    assert loads["C"].shifts[Role.PRIMARY] == 2 and loads["B"].shifts[Role.PRIMARY] == 0
    assert (loads["A"].covers_taken, loads["B"].covers_given) == (1, 1)


def test_pages_at_night_in_the_paged_persons_own_timezone_and_the_median_to_acknowledge():
    monday_8_utc = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, 08:00 in UTC
    pages = [PageFact("A", monday_8_utc, monday_8_utc + timedelta(minutes=2), "A"),
             PageFact("A", monday_8_utc + timedelta(hours=1), monday_8_utc + timedelta(hours=1, minutes=10), "A"),
             PageFact("A", monday_8_utc + timedelta(hours=2), None, None),
             PageFact("B", monday_8_utc, monday_8_utc + timedelta(minutes=3), "C")]
    berlin = figures(pages=pages, working=lambda user, moment: WORKING.is_open(
        moment, ZoneInfo("Europe/Berlin") if user == "A" else UTC))
    assert (berlin["A"].pages, berlin["A"].night_pages) == (3, 0)
    assert berlin["A"].median_acknowledge == timedelta(minutes=6)
    assert (berlin["B"].pages, berlin["B"].night_pages, berlin["B"].median_acknowledge) == (1, 1, None)


def test_weeks_are_read_with_care():
    assert parse_weeks("") == 12 and parse_weeks("4") == 4 and parse_weeks("8w") == 8
    for bad in ("0", "200", "many"):
        with pytest.raises(UserError):
            parse_weeks(bad)


async def two_pages_and_a_cover(bot) -> None:
    """Two pages to the primary U0A (acknowledged in 4 minutes, then one at 02:00 on Thursday), U0C covering U0A
    on Friday 09:00–17:00; then the clock on 2026-12-16 noon."""
    await bot.declare("Checkout is down", priority="P0", user="U0B")
    [dm] = dms_to(bot, "U0A")
    bot.clock.advance(minutes=4)
    status, _, _ = await bot.slack.click(ActionId.PAGE_ACKNOWLEDGE, button_value(dm, ActionId.PAGE_ACKNOWLEDGE),
                                         user="U0A", channel="DU0A", block_id="page_actions")
    assert status == 200
    await bot.settle()
    bot.clock.set(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))  # the small hours of Thursday
    await bot.declare("Search is down", priority="P0", user="U0B")
    assert len(dms_to(bot, "U0A")) == 2
    await bot.slack.command("rotation cover payments 2026-11-27 09:00 2026-11-27 17:00", user="U0A", channel="C0PAY")
    await bot.settle()
    request = next(m for (channel, _), m in bot.fake.messages.items() if channel == "C0PAY" and ":sos:" in m["text"])
    await bot.slack.click(ActionId.COVER_TAKE, button_value(request, ActionId.COVER_TAKE), user="U0C",
                          channel="C0PAY", block_id=BlockId.COVER_ACTIONS)
    await bot.settle()
    bot.clock.set(datetime(2026, 12, 16, 12, 0, tzinfo=UTC))


async def test_rotation_stats_end_to_end_and_on_the_rotation_page(bot):
    from bot.http.tokens import page_token

    await with_rotation(bot)  # Wednesday 2026-11-25 noon: U0A primary, U0B secondary, U0C tertiary
    await two_pages_and_a_cover(bot)

    status, body, _ = await bot.slack.command("rotation stats payments 4", user="U0C", channel="C0GENERAL")
    answer = json.loads(body)
    assert status == 200 and answer["text"] == "Load on payments over the last 4 weeks", body
    text = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    # Four shifts touch the window: A primary, B primary, C primary, then A primary again (its first day).
    assert "<@U0A> — shifts primary/secondary/tertiary *2/1/1*" in text
    assert "pages 2 (1 outside business hours) · median to acknowledge 4m" in text
    assert "covers given 0, taken 1" in text and "covers given 1, taken 0" in text
    assert "<@U0C> — shifts primary/secondary/tertiary *1/1/2*" in text
    _, body, _ = await bot.slack.command("rotation add payments <@U0D>", user="U0A", channel="C0PAY")
    assert body.startswith("Added"), body
    _, body, _ = await bot.slack.command("rotation stats payments 1", user="U0C", channel="C0GENERAL")
    text = "\n".join(b["text"]["text"] for b in json.loads(body)["blocks"] if b["type"] == "section")
    assert "<@U0D> — shifts primary/secondary/tertiary *0/0/0*" in text, "a member with nothing to show"
    status, body, _ = await bot.slack.command("rotation stats payments forever", user="U0C")
    assert body.startswith("Say how many weeks back")

    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    async with bot.slack.session.get(f"{bot.url}/rotations/payments?token={token}") as response:
        page = await response.text()
    assert "Load over the last 12 weeks" in page and "<td>2/1/1</td>" in page


def test_time_off_and_layers_count_for_whoever_stood_in():
    from bot.domain.layers import Layer
    from bot.domain.time_off import Away
    until = ORIGIN + timedelta(weeks=1)
    rosters = [RosterVersion(ORIGIN, ("A", "B", "C", "D"))]
    loads = figures(until=until, rosters=rosters, away=[Away("A", ORIGIN, until)])
    assert sum(loads["A"].hours.values()) == 0 and loads["B"].hours[Role.PRIMARY] == 7 * 24
    nights = Layer("nights", frozenset(range(7)), time(0), time(0), UTC, ("N",))  # a whole-day layer of one
    assert figures(until=until, rosters=rosters, layers=[nights])["N"].hours[Role.PRIMARY] == 7 * 24
