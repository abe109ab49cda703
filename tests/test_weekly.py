"""`/stats` weekly rows (weeks in team time, spreads, targets met) and their SVG charts and page."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import jinja2
import pytest

from bot.domain.business_hours import WorkingTime
from bot.domain.incident import Priority, Status
from bot.domain.reminders import Policy
from bot.domain.weekly import WeekFacts, WeekRow, first_week_start, pages_per_person, targets_met, week_start, weekly
from bot.http import charts

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = WorkingTime(time(9), time(17), frozenset(range(5)))
POLICY = Policy(timedelta(minutes=60), timedelta(minutes=30), timedelta(hours=8), timedelta(hours=4), HOURS, BERLIN)
WEDNESDAY = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)  # P1 target: Thursday 10:00 (8 business hours)
SVG = "{http://www.w3.org/2000/svg}"


def facts(**changes) -> WeekFacts:
    values = dict(priority=Priority.P1, status=Status.TRIAGED, created_at=WEDNESDAY,
                  triaged_at=WEDNESDAY + timedelta(minutes=10))
    return WeekFacts(**{**values, **changes})


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- weeks -------------------------------------------------------------------------------------------------------

def test_weeks_start_monday_midnight_in_team_time_across_the_dst_switch():
    # 2026-10-25 (Sunday) Berlin goes from CEST (+2) to CET (+1): that week lasts 169 hours.
    assert week_start(utc(2026, 10, 25, 22, 30), BERLIN) == datetime(2026, 10, 19, tzinfo=BERLIN)  # Sun 23:30 CET
    assert week_start(utc(2026, 10, 25, 23, 0), BERLIN) == datetime(2026, 10, 26, tzinfo=BERLIN)  # Mon 00:00 CET
    assert week_start(utc(2026, 10, 18, 22, 0), BERLIN) == datetime(2026, 10, 19, tzinfo=BERLIN)  # Mon 00:00 CEST
    assert week_start(utc(2026, 10, 18, 21, 59), BERLIN) == datetime(2026, 10, 12, tzinfo=BERLIN)
    long_week = week_start(utc(2026, 10, 26, 12), BERLIN).astimezone(UTC) - week_start(utc(2026, 10, 19, 12), BERLIN)
    assert long_week == timedelta(hours=169)


def test_incidents_fall_in_their_team_week_not_their_utc_week():
    declared = [utc(2026, 10, 18, 21, 59), utc(2026, 10, 18, 22, 0), utc(2026, 10, 25, 22, 30),
                utc(2026, 10, 25, 23, 0), utc(2026, 10, 28, 13, 0)]  # the last one is after `now`
    rows = weekly([facts(created_at=at, triaged_at=None) for at in declared], now=utc(2026, 10, 28, 12, 0),
                  policy=POLICY, weeks=3)
    assert [r.start for r in rows] == [date(2026, 10, 12), date(2026, 10, 19), date(2026, 10, 26)]
    assert [r.declared for r in rows] == [1, 2, 1]
    assert first_week_start(utc(2026, 10, 28, 12, 0), BERLIN, 3) == datetime(2026, 10, 12, tzinfo=BERLIN)


def test_exactly_the_asked_weeks_oldest_first_empty_ones_included():
    rows = weekly([], now=WEDNESDAY, policy=POLICY)
    assert len(rows) == 8
    assert rows[-1].start == date(2026, 11, 23) and rows[0].start == date(2026, 10, 5)
    assert all(b.start - a.start == timedelta(weeks=1) for a, b in pairwise(rows))
    assert all(r.declared == 0 and r.met_percent is None and r.acknowledge.median is None for r in rows)
    with pytest.raises(ValueError):
        weekly([], now=WEDNESDAY, policy=POLICY, weeks=0)


def test_median_and_p90_per_week_and_resolve_counts_only_resolved():
    declared = [facts(acknowledged_at=WEDNESDAY + timedelta(minutes=m), priority=Priority.P2) for m in range(1, 11)]
    declared += [facts(resolved_at=WEDNESDAY + timedelta(hours=2), status=Status.RESOLVED),
                 facts(resolved_at=WEDNESDAY + timedelta(hours=4), status=Status.RESOLVED),
                 facts(resolved_at=WEDNESDAY + timedelta(hours=9), status=Status.CLOSED)]
    row = weekly(declared, now=WEDNESDAY + timedelta(days=1), policy=POLICY, weeks=1)[0]
    assert row.counts == {Priority.P0: 0, Priority.P1: 3, Priority.P2: 10}
    assert row.acknowledge.median == timedelta(minutes=5, seconds=30)
    assert row.acknowledge.p90 == timedelta(minutes=9, seconds=6)  # between 9 and 10 minutes, 10 % of the way
    assert row.resolve.count == 2 and row.resolve.median == timedelta(hours=3)


# --- targets met -------------------------------------------------------------------------------------------------

THURSDAY = WEDNESDAY + timedelta(days=1)


@pytest.mark.parametrize(("resolved", "met"), [
    (THURSDAY - timedelta(minutes=30), True),  # 23.5 hours on the clock, 7.5 business hours
    (THURSDAY - timedelta(minutes=1), True),
    (THURSDAY, False),  # the deadline itself is a miss, as for the reminder
    (THURSDAY + timedelta(hours=1), False),
])
def test_p1_resolution_target_counts_business_hours(resolved, met):
    incident = facts(status=Status.RESOLVED, resolved_at=resolved)
    assert targets_met(incident, THURSDAY + timedelta(days=7), POLICY) is met


def test_p1_undecided_until_resolved_or_past_its_target():
    open_p1 = facts()
    assert targets_met(open_p1, THURSDAY - timedelta(minutes=1), POLICY) is None
    assert targets_met(open_p1, THURSDAY, POLICY) is False
    late_triage = facts(triaged_at=WEDNESDAY + timedelta(hours=5))  # 4 business hours → 14:00
    assert targets_met(late_triage, WEDNESDAY + timedelta(hours=6), POLICY) is False  # a miss decides at once
    assert targets_met(facts(status=Status.CLOSED), THURSDAY + timedelta(days=3), POLICY) is True  # triage only


def test_p0_triage_within_thirty_minutes_of_any_time():
    saturday_night = datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN)
    later = saturday_night + timedelta(days=1)
    assert targets_met(facts(priority=Priority.P0, created_at=saturday_night,
                             triaged_at=saturday_night + timedelta(minutes=29)), later, POLICY) is True
    assert targets_met(facts(priority=Priority.P0, created_at=saturday_night,
                             triaged_at=saturday_night + timedelta(minutes=31)), later, POLICY) is False
    still_new = facts(priority=Priority.P0, created_at=saturday_night, status=Status.NEW, triaged_at=None)
    assert targets_met(still_new, saturday_night + timedelta(minutes=20), POLICY) is None
    assert targets_met(still_new, saturday_night + timedelta(minutes=30), POLICY) is False


def test_p2_triage_in_business_hours_and_an_unknown_triage_is_not_a_miss():
    friday_afternoon = datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)  # deadline Monday 12:00
    monday = datetime(2026, 11, 30, 11, 59, tzinfo=BERLIN)
    assert targets_met(facts(priority=Priority.P2, created_at=friday_afternoon, triaged_at=monday),
                       monday, POLICY) is True
    assert targets_met(facts(priority=Priority.P2, created_at=friday_afternoon, triaged_at=None,
                             status=Status.RESOLVED), monday + timedelta(days=7), POLICY) is None


def test_a_week_counts_decided_incidents_only():
    declared = [facts(status=Status.RESOLVED, resolved_at=THURSDAY - timedelta(hours=1)),  # met
                facts(priority=Priority.P0, triaged_at=WEDNESDAY + timedelta(minutes=45)),  # missed
                facts(priority=Priority.P2, triaged_at=WEDNESDAY + timedelta(hours=1)),  # met
                facts()]  # open P1 before its target: undecided
    row = weekly(declared, now=THURSDAY - timedelta(minutes=5), policy=POLICY, weeks=1)[0]
    assert (row.met, row.decided) == (2, 3)
    assert row.met_percent == pytest.approx(200 / 3)


def test_pages_per_person_most_first_top_fifteen():
    pages = [(f"U{n:02d}", n) for n in range(20)] + [("U05", 100), ("UA", 19)]
    ranked = pages_per_person(pages)
    assert len(ranked) == 15
    assert ranked[:3] == [("U05", 105), ("U19", 19), ("UA", 19)]
    assert ("U00", 0) not in pages_per_person(pages, limit=50)


# --- charts ------------------------------------------------------------------------------------------------------

def sample_rows() -> list[WeekRow]:
    declared = [facts(priority=Priority.P0, acknowledged_at=WEDNESDAY + timedelta(minutes=4)),
                facts(priority=Priority.P0),
                facts(status=Status.RESOLVED, resolved_at=THURSDAY - timedelta(hours=2)),
                facts(status=Status.RESOLVED, resolved_at=THURSDAY + timedelta(hours=2))]
    return weekly(declared, now=THURSDAY + timedelta(days=8), policy=POLICY, weeks=3)


def parse(chart: charts.Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("viewBox") and root.get("width") and root.get("height")
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    assert set(root.get("aria-labelledby").split()) <= ids
    assert root.find(f"{SVG}title").text == chart.title
    assert not [e for e in root.iter() if e.tag.endswith("script") or e.tag.endswith("foreignObject")]
    assert not [k for e in root.iter() for k in e.attrib if k.endswith("href") or k.startswith("on")]
    return root


def texts(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text")]


def test_every_chart_is_well_formed_svg_with_its_table():
    rows = sample_rows()
    made = [charts.priority_chart(rows), charts.acknowledge_chart(rows), charts.resolve_chart(rows),
            charts.targets_chart(rows), charts.pages_chart([("Ana", 3), ("Bo", 1)])]
    for chart in made:
        parse(chart)
        assert all(len(row) == len(chart.header) for row in chart.rows)
    priority, acknowledge, resolve, targets, pages = made
    assert [r[0] for r in priority.rows] == ["2026-11-16", "2026-11-23", "2026-11-30"]
    assert priority.rows[1] == ("2026-11-23", "2", "2", "0", "4")
    assert priority.rows[2] == ("2026-11-30", "0", "0", "0", "0")
    assert acknowledge.rows[1] == ("2026-11-23", "4m", "4m", "1") and acknowledge.rows[2][1] == "—"
    assert resolve.rows[1] == ("2026-11-23", "1d", "1d 1h", "2")  # 22h and 26h
    assert targets.rows[1] == ("2026-11-23", "3", "4", "75 %") and targets.rows[2][3] == "–"
    assert pages.rows == (("Ana", "3"), ("Bo", "1"))
    assert "no data" not in texts(parse(priority))


def test_bars_are_drawn_to_scale():
    rows = sample_rows()
    bars = parse(charts.priority_chart(rows)).findall(f"{SVG}rect")
    fills = [b.get("fill") for b in bars]
    assert fills == ["#b3261e", "#e07000"]  # P0 stacked under P1, two each: equal heights
    assert float(bars[0].get("height")) == pytest.approx(float(bars[1].get("height")))
    share = parse(charts.targets_chart(rows)).find(f"{SVG}rect")
    plot = charts.HEIGHT - charts.BOTTOM - charts.TOP
    assert float(share.get("height")) == pytest.approx(plot * 0.75)
    people = parse(charts.pages_chart([("Ana", 4), ("Bo", 2)])).findall(f"{SVG}rect")
    assert float(people[0].get("width")) == pytest.approx(2 * float(people[1].get("width")))


def test_timing_axis_unit_follows_the_data():
    quick = weekly([facts(acknowledged_at=WEDNESDAY + timedelta(minutes=7))], now=THURSDAY, policy=POLICY, weeks=2)
    assert "minutes" in texts(parse(charts.acknowledge_chart(quick)))
    slow = weekly([facts(status=Status.RESOLVED, resolved_at=WEDNESDAY + timedelta(hours=20))], now=THURSDAY,
                  policy=POLICY, weeks=2)
    assert "hours" in texts(parse(charts.resolve_chart(slow)))
    lines = parse(charts.resolve_chart(sample_rows())).findall(f"{SVG}circle")
    assert len(lines) == 2  # one week with resolutions: a median and a p90 point, no line through the empty weeks


def test_hostile_names_stay_text():
    hostile = '<script>alert("x")</script> & \x00\x1b Ümit'
    chart = charts.pages_chart([(hostile, 2)])
    root = parse(chart)
    assert "<script>" not in chart.svg
    assert any("<script>" in (t or "") for t in texts(root))  # shown as the characters, not run
    assert chart.rows[0][0] == hostile  # the template escapes the table


@pytest.mark.parametrize("rows", [[], weekly([], now=WEDNESDAY, policy=POLICY)])
def test_empty_data_says_so_without_dividing_by_zero(rows):
    for chart in (charts.priority_chart(rows), charts.acknowledge_chart(rows), charts.resolve_chart(rows),
                  charts.targets_chart(rows), charts.pages_chart([])):
        assert "no data" in texts(parse(chart))
        assert "nan" not in chart.svg.lower() and "inf" not in chart.svg.lower()


def test_the_page_shows_each_chart_beside_its_table():
    env = jinja2.Environment(loader=jinja2.PackageLoader("bot.http", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]))
    page = env.get_template("stats.html").render(
        charts=charts.stats_charts(sample_rows(), [("<b>Eve</b>", 1)]), weeks=3, tz="Europe/Berlin", token="t0k")
    assert page.count("<figure") == 5 and page.count("<svg") == 5 and page.count("<table") == 5
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page and "<b>Eve</b>" not in page
    assert '<a href="/board?token=t0k&amp;tz=Europe/Berlin">← board</a>' in page
    assert "<script" not in page
