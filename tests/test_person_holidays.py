"""`me holidays`: a person's own public holidays are their days off (SPEC § Schedules: "a holiday is not a business
day for that person") — shown and set through signed commands, then read by P1 paging and heading home."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.db.schedule_models import PersonHolidays
from bot.domain.business_hours import WorkingTime
from bot.domain.holidays import HolidayCalendar
from bot.domain.incident import Priority, Status
from bot.domain.reminders import IncidentFacts, Policy, heading_home_due, next_due
from tests.test_paging import dms_to, with_rotation

EPIPHANY_NOON_BERLIN = datetime(2026, 1, 6, 11, 0, tzinfo=UTC)  # a Tuesday; a holiday in Bavaria, not in Berlin
BERLIN = (("U0A", "Europe/Berlin"), ("U0B", "Europe/Berlin"), ("U0C", "Europe/Berlin"))


def stored(bot) -> dict[str, str]:
    with bot.session() as session:
        return {row.user_id: row.calendar for row in session.exec(select(PersonHolidays)).all()}


async def test_me_holidays_shows_sets_and_refuses_what_the_library_does_not_know(make_bot):
    bot = await make_bot(holidays="GB-ENG")
    bot.clock.set(datetime(2026, 12, 20, 12, 0, tzinfo=UTC))
    _, body, _ = await bot.slack.command("me holidays", user="U0A")
    assert body.startswith("Your public holidays are the team's (`GB-ENG`).") and "Fri 2026-12-25" in body, body

    _, body, _ = await bot.slack.command("me holidays de-by", user="U0A")
    assert body.startswith("Done: your public holidays are `DE-BY`.") and "Fri 2026-12-25" in body, body
    assert "Wed 2027-01-06" in body  # Epiphany: Bavaria's, not England's
    assert stored(bot) == {"U0A": "DE-BY"}

    for bad, said in (("XX", "is not a country the holidays library knows"), ("DE-ZZ", "DE has no subdivision `ZZ`"),
                      ("DE BY", "Use `/incident me")):
        _, body, _ = await bot.slack.command(f"me holidays {bad}", user="U0A")
        assert said in body, body
        assert stored(bot) == {"U0A": "DE-BY"}  # nothing changed

    _, body, _ = await bot.slack.command("me holidays none", user="U0A")
    assert body.startswith("Done: your public holidays are none.") and "Next:" not in body, body
    _, body, _ = await bot.slack.command("me holidays none", user="U0A")  # a replay: the same answer
    assert body.startswith("Done: your public holidays are none."), body
    _, body, _ = await bot.slack.command("me holidays team", user="U0A")
    assert body.startswith("Done: your public holidays are the team's (`GB-ENG`).")
    assert stored(bot) == {}


async def test_a_p1_on_the_primarys_own_holiday_pages_the_next_at_work(make_bot):
    """The team keeps no holidays; the primary keeps Bavaria's. On Epiphany a P1 skips them, and a P0 does not."""
    bot = await make_bot(team_timezone="Europe/Berlin")
    await with_rotation(bot, people=BERLIN, at=EPIPHANY_NOON_BERLIN)
    await bot.slack.command("me holidays DE-BY", user="U0A")
    incident = await bot.declare("Search is slow", priority="P1")
    assert dms_to(bot, "U0A") == [] and len(dms_to(bot, "U0B")) == 1
    assert "paged <@U0B> (secondary); skipped <@U0A> (outside business hours)" in [
        e.text for e in bot.events(incident)]
    await bot.declare("Login is down", priority="P0")
    assert len(dms_to(bot, "U0A")) == 1


async def test_someone_who_keeps_no_holidays_is_at_work_on_the_teams(make_bot):
    bot = await make_bot(holidays="DE-BY", team_timezone="Europe/Berlin")
    await with_rotation(bot, people=BERLIN, at=EPIPHANY_NOON_BERLIN)
    await bot.slack.command("me holidays none", user="U0B")
    incident = await bot.declare("Search is slow", priority="P1")
    assert dms_to(bot, "U0A") == [] and len(dms_to(bot, "U0B")) == 1
    assert "paged <@U0B> (secondary); skipped <@U0A> (outside business hours)" in [
        e.text for e in bot.events(incident)]


TEAM_HOURS = WorkingTime(time(9), time(17), frozenset(range(5)))
POLICY = Policy(timedelta(minutes=60), timedelta(minutes=30), timedelta(hours=8), timedelta(hours=4), TEAM_HOURS,
                ZoneInfo("Europe/Berlin"))


def test_heading_home_waits_for_the_commanders_next_working_day_not_the_teams():
    berlin = ZoneInfo("Europe/Berlin")
    facts = IncidentFacts(7, Priority.P1, Status.IN_PROGRESS, EPIPHANY_NOON_BERLIN - timedelta(days=1), None, None,
                          "UC", berlin)
    bavarian = replace(facts, commander_hours=replace(TEAM_HOURS, holidays=HolidayCalendar("DE", "BY")))
    half_past_four = datetime(2026, 1, 6, 15, 30, tzinfo=UTC)  # 16:30 in Berlin on Epiphany
    assert heading_home_due(facts, half_past_four, POLICY).key == "home:7:UC:2026-01-06"
    assert heading_home_due(bavarian, half_past_four, POLICY) is None
    assert heading_home_due(bavarian, half_past_four + timedelta(days=1), POLICY).key == "home:7:UC:2026-01-07"
    assert next_due(facts, EPIPHANY_NOON_BERLIN, POLICY) <= half_past_four


def test_a_p1s_targets_count_the_commanders_holidays():
    from bot.domain.reminders import p1_target_at, triage_target_at
    monday_noon = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)  # the day before Epiphany, 12:00 in Berlin
    facts = IncidentFacts(7, Priority.P1, Status.NEW, monday_noon, None, None, "UC", ZoneInfo("Europe/Berlin"))
    bavarian = replace(facts, commander_hours=replace(TEAM_HOURS, holidays=HolidayCalendar("DE", "BY")))
    team = p1_target_at(facts, POLICY)  # 8 business hours: Monday 12-17 and Tuesday 9-12
    assert team == datetime(2026, 1, 6, 11, 0, tzinfo=UTC)
    assert p1_target_at(bavarian, POLICY) == team + timedelta(days=1)  # Tuesday is the commander's holiday
    assert triage_target_at(bavarian, POLICY) == datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 4 h: still Monday
