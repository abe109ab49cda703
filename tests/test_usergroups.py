"""An @oncall user group kept equal to who is on call, end to end: set by the command, followed across a handoff,
an override and a DST change by the tick (each change once), Slack's refusals told once and shown in /healthz. Only
the bot's own groups are changed (SPEC §5): one it created for a new handle, or an existing one bound by ADMINS."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.db.models import BotUserGroup, CoverRequest, RotationUserGroup
from bot.slack.ids import ActionId, BlockId
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


def made_by_the_bot(bot, group_id: str = "S0ONCALL", handle: str = "core-oncall", users=()) -> None:
    """A group the bot created earlier (for a rotation since gone): its own to bind, whoever asks."""
    bot.fake.add_usergroup(group_id, handle, tuple(users))
    with bot.session() as s:
        s.add(BotUserGroup(group_id=group_id, handle=handle, rotation_id=None, created_at=bot.clock.now()))
        s.commit()


async def health(bot) -> dict:
    async with bot.slack.session.get(details_link(bot)) as response:
        return await response.json()


async def test_the_group_follows_the_primary_across_a_handoff_and_an_override(bot):
    await with_rotation(bot)
    made_by_the_bot(bot, users=("U0OTHER",))
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
    made_by_the_bot(bot)
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
    made_by_the_bot(bot)
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
    made_by_the_bot(bot)
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


async def test_bad_input_is_explained_and_changes_nothing(bot):
    await with_rotation(bot)
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
    from bot.http.tokens import page_token

    await with_rotation(bot)
    made_by_the_bot(bot)
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
    made_by_the_bot(bot)
    await say(bot, f"rotation usergroup payments {GROUP}")
    await bot.settle()
    assert (await say(bot, "rotation remove payments <@U0A> <@U0B> <@U0C>")).startswith("Removed")
    await bot.tick(minutes=1)
    assert members(bot) == ["U0A"], "Slack cannot empty a group: it keeps its members"
    group = (await health(bot))["usergroups"]["payments"]
    assert group["state"] == "refused" and group["error"] == "cannot_empty"
    told = [c for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "U0A" and "cannot_empty" in c["text"]]
    assert len(told) == 1


# -- whose groups the bot changes (SPEC §5) ------------------------------------------------------------------

def group_named(bot, handle: str) -> dict | None:
    return next((g for g in bot.fake.usergroups.values() if g["handle"] == handle), None)


def bindings(bot) -> list[RotationUserGroup]:
    with bot.session() as s:
        return list(s.exec(select(RotationUserGroup)))


async def second_rotation(bot) -> None:
    bot.fake.add_channel("C0WEB", "web-oncall", members=("U0A",))
    assert (await say(bot, "rotation create web <#C0WEB|web-oncall>")).startswith("Created")
    assert (await say(bot, "rotation add web <@U0B>")).startswith("Added")


@pytest.mark.parametrize("admins", ["", "U0ADMIN"])
async def test_a_member_cannot_take_over_an_existing_group(make_bot, admins):
    bot = await make_bot(admins=admins)
    await with_rotation(bot)
    bot.fake.add_usergroup("S0SECURITY", "security-admins", ("U0BOSS",))
    for group in ("<!subteam^S0SECURITY|@security-admins>", "@security-admins"):
        answer = await say(bot, f"rotation usergroup payments {group}")
        assert answer.startswith("`@security-admins` is an existing Slack user group that I did not create, "
                                 "so I will not change its members"), answer
        assert ("someone in ADMINS" if admins else "ADMINS is empty: I only keep groups I create") in answer
    await bot.tick(minutes=1)
    assert bindings(bot) == [] and bot.fake.usergroups["S0SECURITY"]["users"] == ["U0BOSS"]
    assert not bot.fake.calls_to("usergroups.users.update") and not bot.fake.calls_to("usergroups.create")


async def test_an_admin_binds_an_existing_group_and_its_people_may_change_its_scope(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    bot.fake.add_usergroup("S0ONCALL", "core-oncall", ("U0OTHER",))
    assert (await say(bot, f"rotation usergroup payments {GROUP}", user="U0ADMIN")).startswith(
        "`@core-oncall` now follows its primary")
    await bot.settle()
    assert members(bot) == ["U0A"]
    assert (await say(bot, f"rotation usergroup payments {GROUP} all", user="U0B")).startswith(
        "`@core-oncall` now follows its primary, secondary and tertiary"), "the admin's binding is kept"
    await bot.settle()
    assert members(bot) == ["U0A", "U0B", "U0C"] and not bot.fake.calls_to("usergroups.create")


async def test_a_new_handle_is_created_by_the_bot_and_anyone_may_bind_it_again_later(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    answer = await say(bot, "rotation usergroup payments @pay-oncall")
    assert answer.startswith("`@pay-oncall` now follows its primary on `payments`: I am creating it;"), answer
    await bot.settle()
    [created] = bot.fake.calls_to("usergroups.create")
    assert (created["handle"], created["name"]) == ("pay-oncall", "pay-oncall")
    group = group_named(bot, "pay-oncall")
    assert group["users"] == ["U0A"]
    with bot.session() as s:
        assert s.get(BotUserGroup, group["id"]).handle == "pay-oncall"
    assert (await say(bot, "rotation usergroup payments off")).startswith("`payments` keeps no user group")
    # Later, a non-admin binds the group the bot created, by its mention: it is the bot's own.
    mention = f"<!subteam^{group['id']}|@pay-oncall>"
    assert (await say(bot, f"rotation usergroup payments {mention} all", user="U0B")).startswith(
        "`@pay-oncall` now follows its primary, secondary and tertiary")
    await bot.settle()
    assert group_named(bot, "pay-oncall")["users"] == ["U0A", "U0B", "U0C"]
    assert len(bot.fake.calls_to("usergroups.create")) == 1


async def test_a_group_bound_to_another_rotation_is_refused(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    await second_rotation(bot)
    await say(bot, "rotation usergroup payments @pay-oncall")
    await bot.settle()
    group = group_named(bot, "pay-oncall")
    bot.fake.add_usergroup("S0ONCALL", "core-oncall")
    await say(bot, f"rotation usergroup web {GROUP}", user="U0ADMIN")
    await bot.settle()
    for text, user in ((f"rotation usergroup web <!subteam^{group['id']}|@pay-oncall>", "U0ADMIN"),
                       ("rotation usergroup web @pay-oncall", "U0A"),
                       (f"rotation usergroup payments {GROUP}", "U0ADMIN"),
                       ("rotation usergroup payments @core-oncall", "U0A")):
        answer = await say(bot, text, user=user)
        rotation = "payments" if "web" in text else "web"
        assert answer.startswith(f"`@{'pay' if 'pay-oncall' in text else 'core'}-oncall` already follows "
                                 f"the rotation `{rotation}`: one group follows one rotation."), (text, answer)
    assert {(b.rotation_id, b.handle) for b in bindings(bot)} == {(1, "pay-oncall"), (2, "core-oncall")}


async def test_a_handle_someone_else_takes_before_the_bot_creates_it_is_left_alone(bot):
    await with_rotation(bot)
    bot.fake.fail("usergroups.create", "internal_error", status=500, times=20)  # Slack down for a while
    await say(bot, "rotation usergroup payments @pay-oncall")
    await bot.settle()
    bot.fake.recover()
    bot.fake.add_usergroup("S0THEIRS", "pay-oncall", ("U0BOSS",))  # meanwhile, someone made it by hand
    await bot.tick(minutes=5)
    assert bot.fake.usergroups["S0THEIRS"]["users"] == ["U0BOSS"] and not bot.fake.calls_to("usergroups.users.update")
    told = [c["text"] for c in bot.fake.calls_to("chat.postMessage")
            if c["channel"] == "U0A" and ":warning:" in c["text"]]
    assert len(told) == 1 and "name_already_exists" in told[0] and "I did not create it" in told[0]


async def test_a_group_created_by_an_attempt_whose_answer_was_lost_is_found_again(bot):
    await with_rotation(bot)
    bot.fake.fail("usergroups.create", status=-1)  # created, then the connection drops before the answer
    await say(bot, "rotation usergroup payments @pay-oncall")
    await bot.settle()
    await bot.tick(minutes=5)
    [group] = bot.fake.usergroups.values()
    assert group["users"] == ["U0A"] and len(bot.fake.calls_to("usergroups.create")) == 2
    with bot.session() as s:
        assert s.get(BotUserGroup, group["id"]) is not None


async def test_an_override_and_a_cover_that_start_now_move_the_group_within_a_tick_and_back_at_their_end(bot):
    """Issue 32 item 18, as it was tried: `rotation usergroup … @core-oncall primary` with no such group yet (the old
    bot looked it up, found none and never changed anything again), then an override from `now`, then a cover."""
    await with_rotation(bot)
    assert (await say(bot, "rotation usergroup payments @core-oncall primary")).startswith("`@core-oncall` now")
    await bot.settle()
    group = group_named(bot, "core-oncall")
    assert group is not None and group["users"] == ["U0A"]
    assert (await say(bot, "rotation override payments <@U0C> now today 18:00", user="U0B")).startswith("<@U0C>")
    await bot.tick(seconds=1)
    assert group["users"] == ["U0C"], "the override's start, within a tick"
    bot.clock.set(datetime(2026, 11, 25, 18, 0, 1, tzinfo=UTC))
    await bot.tick()
    assert group["users"] == ["U0A"], "the override's end"
    answer = await say(bot, "rotation cover payments now 2026-11-25 22:00 as primary")
    assert answer.startswith("Asked `payments` to cover you"), answer
    await bot.settle()
    with bot.session() as s:
        [cover] = s.exec(select(CoverRequest)).all()
    status, _, _ = await bot.slack.click(ActionId.COVER_TAKE, str(cover.id), user="U0B", channel="C0PAY",
                                         block_id=BlockId.COVER_ACTIONS)
    assert status == 200
    await bot.tick(seconds=1)
    assert group["users"] == ["U0B"], "the cover's start, within a tick"
    bot.clock.set(datetime(2026, 11, 25, 22, 0, 1, tzinfo=UTC))
    await bot.tick()
    assert group["users"] == ["U0A"], "the cover's end"
