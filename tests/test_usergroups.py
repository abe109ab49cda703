"""An @oncall user group kept equal to who is on call, end to end: set by the command, followed across a handoff,
an override and a DST change by the tick (each change once), Slack's refusals told once and shown in /healthz."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from bot.db.models import RotationUserGroup
from tests.test_paging import with_rotation
from tests.test_self_watch import details_link, stranger_health

GROUP = "<!subteam^S0ONCALL|@core-oncall>"
NEXT_HANDOFF = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # with_rotation: Wednesday 2026-11-25 noon, UTC team


async def say(bot, text: str, user: str = "U0A") -> str:
    status, body, _ = await bot.slack.command(text, user=user, channel="C0PAY")
    assert status == 200, body
    return body


def members(bot) -> list[str]:
    return bot.fake.usergroups["S0ONCALL"]["users"]


def updates(bot) -> int:
    return len(bot.fake.calls_to("usergroups.users.update"))


async def health(bot) -> dict:
    async with bot.slack.session.get(details_link(bot)) as response:
        return await response.json()


async def test_the_group_follows_the_primary_across_a_handoff_and_an_override(bot):
    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall", ("U0OTHER",))
    answer = await say(bot, f"rotation usergroup payments {GROUP}")
    assert answer.startswith("`@core-oncall` now follows its primary on `payments`"), answer
    await bot.settle()
    assert members(bot) == ["U0A"]
    await bot.tick(minutes=1)
    assert updates(bot) == 1, "nothing changed: nothing sent"

    assert (await say(bot, "rotation override <@U0C> 2026-11-26 09:00 2026-11-26 17:00")).startswith("<@U0C>")
    bot.clock.set(datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC))
    await bot.tick()
    assert members(bot) == ["U0C"], "the override's start"
    bot.clock.set(datetime(2026, 11, 26, 17, 0, 30, tzinfo=UTC))
    await bot.tick()
    assert members(bot) == ["U0A"], "the override's end"
    bot.clock.set(NEXT_HANDOFF - timedelta(seconds=30))
    await bot.tick()
    assert members(bot) == ["U0A"]
    bot.clock.set(NEXT_HANDOFF + timedelta(seconds=30))
    await asyncio.gather(bot.runtime.tick(), bot.runtime.tick())  # two ticks at once (as two replicas would)
    await bot.settle()
    assert members(bot) == ["U0B"], "the handoff"
    assert updates(bot) == 4, "one update per change, however many ticks"
    group = (await health(bot))["usergroups"]["payments"]
    assert group == {"handle": "@core-oncall", "follows": "primary", "members": ["U0B"], "state": "ok"}


async def test_all_three_roles_and_switching_it_off(bot):
    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    await say(bot, "rotation usergroup payments @core-oncall all")  # a plain handle: its id is looked up
    await bot.settle()
    assert members(bot) == ["U0A", "U0B", "U0C"]
    assert (await say(bot, "rotation usergroup payments off")).startswith("`payments` keeps no user group")
    bot.clock.set(NEXT_HANDOFF + timedelta(minutes=1))
    await bot.tick()
    assert updates(bot) == 1 and "usergroups" not in await health(bot)


async def test_the_handoff_moves_with_daylight_saving_time(make_bot):
    bot = await make_bot(team_timezone="Europe/Berlin")
    await with_rotation(bot, at=datetime(2027, 3, 24, 12, 0, tzinfo=UTC))  # the week before summer time begins
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    await say(bot, f"rotation usergroup payments {GROUP}")
    await bot.settle()
    assert members(bot) == ["U0A"]
    # Tuesday 2027-03-30 10:00 in Berlin is 08:00 UTC (summer time since Sunday), not 09:00 UTC as a week before.
    bot.clock.set(datetime(2027, 3, 30, 7, 59, tzinfo=UTC))
    await bot.tick()
    assert members(bot) == ["U0A"]
    bot.clock.set(datetime(2027, 3, 30, 8, 0, 30, tzinfo=UTC))
    await bot.tick()
    assert members(bot) == ["U0B"]


async def test_slack_refusing_is_told_once_shown_in_healthz_and_stops_nothing_else(bot):
    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    bot.fake.fail("usergroups.users.update", "paid_teams_only", times=2)
    await say(bot, f"rotation usergroup payments {GROUP}", user="U0B")
    await bot.settle()
    told = [c for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "U0B" and "core-oncall" in c["text"]]
    assert len(told) == 1 and "paid Slack plan" in told[0]["text"]
    group = (await health(bot))["usergroups"]["payments"]
    assert group["state"] == "refused" and group["error"] == "paid_teams_only"
    status, public, text = await stranger_health(bot)  # a stranger learns that a group is refused, nothing more
    assert status == 200 and public["usergroups"] == "refused", public
    assert not any(word in text for word in ("core-oncall", "payments", "paid_teams_only", "U0")), text
    incident = await bot.declare("Checkout is down", priority="P1", user="U0A")
    assert incident.channel_id, "everything else goes on"
    bot.clock.set(NEXT_HANDOFF + timedelta(minutes=1))
    await bot.tick()  # refused again: not told again
    assert len([c for c in bot.fake.calls_to("chat.postMessage")
                if c["channel"] == "U0B" and "core-oncall" in c["text"]]) == 1
    bot.clock.set(datetime(2026, 12, 8, 10, 1, tzinfo=UTC))
    await bot.tick()  # Slack takes it again at the next change
    assert members(bot) == ["U0C"] and (await health(bot))["usergroups"]["payments"]["state"] == "ok"


async def test_a_group_that_does_not_exist_is_refused_and_bad_input_is_explained(bot):
    await with_rotation(bot)
    await say(bot, "rotation usergroup payments @nobody-here")
    await bot.settle()
    told = [c["text"] for c in bot.fake.calls_to("chat.postMessage")
            if c["channel"] == "U0A" and ":warning:" in c["text"]]
    assert len(told) == 1 and "no_such_subteam" in told[0]
    cases = {"rotation usergroup payments": "Use `/incident rotation usergroup",
             "rotation usergroup payments @core-oncall boss": "A user group follows the `primary` or `all`",
             "rotation usergroup payments <#C0PAY|x>": "`&lt;#C0PAY|x&gt;` is not a user group"}
    for text, expected in cases.items():
        assert (await say(bot, text)).startswith(expected), text
    assert (await say(bot, "rotation usergroup payments off")).startswith("`payments` keeps no user group")
    assert (await say(bot, "rotation usergroup payments off")).startswith("`payments` keeps no user group; nothing")
    with bot.session() as s:
        assert s.get(RotationUserGroup, 1) is None


async def test_the_rotation_page_shows_the_group_and_a_refusal(bot):
    from bot.web_tokens import page_token

    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    await say(bot, f"rotation usergroup payments {GROUP}")
    await bot.settle()
    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    async with bot.slack.session.get(f"{bot.url}/rotations/payments?token={token}") as response:
        page = await response.text()
    assert "User group <strong>@core-oncall</strong> follows the primary:" in page
    assert "now U0A." in re.sub(r"<[^>]+>", "", page)  # by name (the fake's people are named as their ids)
    bot.fake.fail("usergroups.users.update", "permission_denied")
    bot.clock.set(NEXT_HANDOFF + timedelta(minutes=1))
    await bot.tick()
    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())  # (a page link lasts 12 hours)
    async with bot.slack.session.get(f"{bot.url}/rotations/payments?token={token}") as response:
        page = await response.text()
    assert "Slack refused it</strong> (permission_denied: this workspace lets only admins" in page


async def test_an_empty_roster_cannot_empty_the_group_and_that_is_told(bot):
    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    await say(bot, f"rotation usergroup payments {GROUP}")
    await bot.settle()
    assert (await say(bot, "rotation remove payments <@U0A> <@U0B> <@U0C>")).startswith("Removed")
    await bot.tick(minutes=1)
    assert members(bot) == ["U0A"], "Slack cannot empty a group: it keeps its members"
    group = (await health(bot))["usergroups"]["payments"]
    assert group["state"] == "refused" and group["error"] == "cannot_empty"
    told = [c for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "U0A" and "cannot_empty" in c["text"]]
    assert len(told) == 1
