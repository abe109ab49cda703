"""Typed moments on the team's clock, and the scheduler's single tick job."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.domain.errors import UserError
from bot.domain.when import parse_moment, parse_range
from bot.runtime.wiring import build_runtime

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # Wednesday 12:00 in New York


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("today 18:00", ny(2026, 11, 25, 18, 0)),
    ("tomorrow", ny(2026, 11, 26, 0, 0)),
    ("tomorrow 9:30", ny(2026, 11, 26, 9, 30)),
    ("tue", ny(2026, 12, 1, 0, 0)),
    ("wed 08:00", ny(2026, 11, 25, 8, 0)),
    ("Friday 17:00", ny(2026, 11, 27, 17, 0)),
    ("2026-12-01 09:00", ny(2026, 12, 1, 9, 0)),
    ("2026-12-01T09:00", ny(2026, 12, 1, 9, 0)),
    ("2026-12-01", ny(2026, 12, 1, 0, 0)),
    ("14:15", ny(2026, 11, 25, 14, 15)),
    ("2027-03-14 02:30", ny(2027, 3, 14, 2, 30)),  # inside the spring-forward gap: still an instant
])
def test_moments(text, expected):
    assert parse_moment(text, now=NOW, tz=NY) == expected


@pytest.mark.parametrize("text", ["", "later", "25:00", "2026-13-01", "2026-02-30 10:00", "tomorrow noon",
                                  "tue 10:00 extra", "12:75"])
def test_not_moments(text):
    assert parse_moment(text, now=NOW, tz=NY) is None


def test_ranges_split_where_both_sides_read():
    assert parse_range(["2026-12-01", "09:00", "2026-12-02", "09:00"], now=NOW, tz=NY) == (ny(2026, 12, 1, 9, 0),
                                                                                         ny(2026, 12, 2, 9, 0))
    assert parse_range(["today", "18:00", "tomorrow"], now=NOW, tz=NY) == (ny(2026, 11, 25, 18, 0),
                                                                           ny(2026, 11, 26, 0, 0))
    with pytest.raises(UserError, match="after the start"):
        parse_range(["tomorrow", "today"], now=NOW, tz=NY)


async def test_the_scheduler_runs_one_tick_job_every_scheduler_tick(tmp_path):
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-x", slack_signing_secret="s",
                             database_url=f"sqlite:///{tmp_path / 'ff.db'}", scheduler_tick="45s")
    runtime = build_runtime(settings)
    runtime.scheduler.start()
    try:
        jobs = {j.id: j for j in runtime.scheduler.get_jobs()}
        assert set(jobs) == {"tick", "handoff"}
        assert jobs["tick"].trigger.interval == timedelta(seconds=45) and jobs["tick"].max_instances == 1
        assert jobs["tick"].func.__wrapped__ == jobs["handoff"].func.__wrapped__ == runtime.tick  # (steps' failures
        # already logged and counted are not logged again by APScheduler: bot/runtime/scheduler.py)
        assert jobs["handoff"].next_run_time.weekday() == 1 and jobs["handoff"].next_run_time.hour == 10
    finally:
        runtime.scheduler.shutdown(wait=False)
        runtime.engine.dispose()


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_a_skipped_tick_is_said_only_at_debug(tmp_path, caplog, level):
    """A tick still running when the next is due skips it by design (the metrics measure it): at INFO the log
    stays quiet, at DEBUG it says so at DEBUG; other APScheduler warnings still come through."""
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-x", slack_signing_secret="s",
                             database_url=f"sqlite:///{tmp_path / 'ff.db'}")
    runtime = build_runtime(settings)
    logger = logging.getLogger("apscheduler.scheduler")
    was = logger.level
    logger.setLevel(level)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.warning('Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                           "what is due now", 1)
            logger.warning("Run time of job %s was missed by %s", "handoff", "0:00:01")
    finally:
        logger.setLevel(was)
        runtime.engine.dispose()
    said = [(r.levelname, r.getMessage()[:22]) for r in caplog.records if r.name == "apscheduler.scheduler"]
    skipped = [("DEBUG", 'Execution of job "what')] if level == logging.DEBUG else []
    assert said == [*skipped, ("WARNING", "Run time of job handof")]
