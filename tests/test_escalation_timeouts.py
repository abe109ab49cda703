"""Each priority's escalation timeout, alone: a P0 page moves on after ESCALATION_TIMEOUT_P0 (5 min), a P1 page after
ESCALATION_TIMEOUT_P1 (30 min), neither a second before (SPEC §3 "Paging"). Swapping them was caught only by the
long time-travel run; these fail at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import load_settings
from tests.test_paging import dms_to, with_rotation


def settings(**values):
    return load_settings(_env_file=None, slack_bot_token="xoxb-t", slack_signing_secret="s",
                         database_url="sqlite://", **values)


def test_each_priority_has_its_own_timeout():
    default = settings()
    assert default.escalation_timeout("P0") == timedelta(minutes=5)
    assert default.escalation_timeout("P1") == timedelta(minutes=30)
    configured = settings(escalation_timeout_p0="2m", escalation_timeout_p1="45m")
    assert configured.escalation_timeout("P0") == timedelta(minutes=2)
    assert configured.escalation_timeout("P1") == timedelta(minutes=45)


@pytest.mark.parametrize(("priority", "timeout"), [("P0", timedelta(minutes=5)), ("P1", timedelta(minutes=30))])
async def test_an_unanswered_page_escalates_at_its_priority_s_timeout_and_not_before(bot, priority, timeout):
    await with_rotation(bot)  # Wednesday noon UTC: everyone is inside business hours, so P1 pages the primary too
    incident = await bot.declare("Checkout is down", priority=priority)
    assert len(dms_to(bot, "U0A")) == 1 and dms_to(bot, "U0B") == []
    await bot.tick(minutes=5)
    if priority == "P1":  # the P0 timeout is no P1 timeout
        assert dms_to(bot, "U0B") == []
        await bot.tick(minutes=24, seconds=59)
        assert dms_to(bot, "U0B") == []
    else:
        assert len(dms_to(bot, "U0B")) == 1
    await bot.tick(seconds=1)
    assert len(dms_to(bot, "U0B")) == 1
    minutes = int(timeout.total_seconds() // 60)
    assert f"<@U0A> did not acknowledge within {minutes} min; escalating to <@U0B>" in [
        e.text for e in bot.events(incident)]


async def test_the_p0_page_waits_out_its_configured_timeout(make_bot):
    bot = await make_bot(escalation_timeout_p0="2m", escalation_timeout_p1="3m")
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0")
    await bot.tick(minutes=1, seconds=59)
    assert dms_to(bot, "U0B") == []
    await bot.tick(seconds=1)
    assert len(dms_to(bot, "U0B")) == 1
    await bot.tick(minutes=1, seconds=59)
    assert dms_to(bot, "U0C") == []
    await bot.tick(seconds=1)  # 2 min after U0B's page: the P0 timeout, not the P1 one (3 min)
    assert len(dms_to(bot, "U0C")) == 1
