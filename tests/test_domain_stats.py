"""Stats as pure arithmetic over incident facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status
from bot.domain.stats import IncidentFacts, humanize, parse_days, spread, summarize

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_median_and_p90_interpolate():
    minutes = [timedelta(minutes=m) for m in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    result = spread(minutes)
    assert result.count == 10 and result.median == timedelta(minutes=5.5)
    assert result.p90 == timedelta(minutes=9.1)
    assert spread([timedelta(minutes=4)]).median == spread([timedelta(minutes=4)]).p90 == timedelta(minutes=4)
    assert spread([]).median is None


def test_summary_counts_only_the_window():
    def facts(priority, status, age_h, ack_m=None, resolve_h=None, reopened=0):
        created = NOW - timedelta(hours=age_h)
        return IncidentFacts(priority, status, created,
                             created + timedelta(minutes=ack_m) if ack_m is not None else None,
                             created + timedelta(hours=resolve_h) if resolve_h is not None else None, reopened)
    history = [
        facts(Priority.P0, Status.RESOLVED, 10, ack_m=3, resolve_h=2, reopened=1),
        facts(Priority.P0, Status.IN_PROGRESS, 5, ack_m=7),
        facts(Priority.P1, Status.RESOLVED, 48, ack_m=30, resolve_h=6),
        facts(Priority.P2, Status.DUPLICATE, 20),
        facts(Priority.P1, Status.RESOLVED, 24 * 40, ack_m=1, resolve_h=1),  # outside 30 days
    ]
    stats = summarize(history, now=NOW, days=30)
    assert stats.declared == 4
    assert stats.by_priority[Priority.P0].declared == 2 and stats.by_priority[Priority.P0].still_open == 1
    assert stats.by_priority[Priority.P1].resolved == 1
    assert stats.time_to_acknowledge.count == 3 and stats.time_to_acknowledge.median == timedelta(minutes=7)
    assert stats.time_to_resolve.median == timedelta(hours=4)
    assert stats.reopened == 1 and stats.duplicates == 1
    assert summarize(history, now=NOW, days=60).declared == 5


def test_days_and_durations_in_words():
    assert parse_days("") == 30 and parse_days("7") == 7 and parse_days("90d") == 90
    for bad in ("0", "-3", "week", "99999"):
        with pytest.raises(UserError, match="number of days"):
            parse_days(bad)
    assert [humanize(timedelta(seconds=s)) for s in (42, 240, 7500, 7200, 2 * 86400 + 3600)] == \
        ["42s", "4m", "2h 5m", "2h", "2d 1h"]
