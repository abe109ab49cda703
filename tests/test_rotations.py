"""`/incident rotation …` and `/incident oncall` through signed commands: rosters, order, overrides, swaps, who may."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import select

from bot.db.models import Rotation, RotationMember, RotationOverride, RotationSwap
from tests.test_commands import reply_of

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def say(bot, text: str, *, user: str = "U0A", channel: str = "C0GENERAL") -> dict:
    status, body, _ = await bot.slack.command(text, user=user, channel=channel)
    assert status == 200
    await bot.settle()
    return reply_of(body)


async def sent_twice(bot, text: str, user: str = "U0A") -> list[str]:
    """The same command delivered twice (Slack's retry, two replicas): both answers, once both are settled."""
    body = bot.slack.command_body(text, user=user)
    answers = []
    for _ in range(2):
        status, answer, _ = await bot.slack.post(body, "application/x-www-form-urlencoded")
        assert status == 200
        answers.append(reply_of(answer)["text"])
    await bot.settle()
    return answers


def on_call_at(bot, at, rotation: str = "payments"):
    """Who the bot says is on call on `rotation` at `at`."""
    rotations = bot.runtime.services.rotations
    with bot.session() as s:
        return rotations.on_call(s, rotations.named_rotation(rotation), at)


def stored(bot) -> tuple[list, list, list, list]:
    with bot.session() as s:
        return (list(s.exec(select(Rotation))), list(s.exec(select(RotationMember))),
                list(s.exec(select(RotationOverride))), list(s.exec(select(RotationSwap))))


async def setup(bot, tz: str = "UTC"):
    bot.clock.set(WEDNESDAY_NOON)
    bot.fake.add_channel("C0PAY", "payments-oncall", members=("U0A",))  # its creator is in it
    for user in ("U0A", "U0B", "U0C", "U0D"):
        bot.fake.add_user(user, tz=tz)
    assert (await say(bot, "rotation create payments <#C0PAY|payments-oncall>"))["text"].startswith(
        "Created the rotation `payments` for <#C0PAY>.")
    assert (await say(bot, "rotation add payments <@U0A|a> <@U0B|b> <@U0C|c>"))["text"] == \
        "Added <@U0A>, <@U0B>, <@U0C> to `payments`."


async def test_create_add_and_see_who_is_on_call(bot):
    await setup(bot)
    said = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY"]
    assert said[0].startswith(":fire_engine: <@U0A> created the rotation `payments`")
    assert said[1] == ":busts_in_silhouette: <@U0A> added <@U0A>, <@U0B>, <@U0C> to the `payments` roster."
    assert {c["user"] for c in bot.fake.calls_to("users.info")} == {"U0A", "U0B", "U0C"}

    answer = await say(bot, "oncall")
    assert answer["text"] == "On call for payments: primary <@U0A>"
    text = json.dumps(answer["blocks"])
    assert "primary <@U0A> \\u00b7 secondary <@U0B> \\u00b7 tertiary <@U0C>" in text
    next_shift = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp())
    assert f"*<!date^{next_shift}^{{date_short_pretty}} {{time}}|2026-12-01 10:00 UTC>*: primary <@U0B>" in text
    assert text.count("primary <@") == 5  # now and the next 4 shifts
    assert (await say(bot, "oncall payments"))["text"] == "On call for payments: primary <@U0A>"
    assert (await say(bot, "oncall nope"))["text"] == ("There is no rotation called `nope`. `/incident rotation "
                                                       "list` shows them all.")
    assert (await say(bot, "rotation list"))["text"] == "*Rotations*\n• *payments* · <#C0PAY> · 3 people"


async def test_roster_mistakes_are_explained_and_change_nothing(bot):
    await setup(bot)
    before = stored(bot)
    for text, reason in [
        ("rotation create payments <#C0GENERAL|general>", "There is already a rotation called `payments`."),
        ("rotation create other <#C0PAY|payments-oncall>", "<#C0PAY> already belongs to the rotation `payments`."),
        ("rotation create Bad!Name <#C0GENERAL|general>", "A rotation name is lowercase letters, digits, `-` or `_` "
                                                          "(up to 80), not `bad!name`."),
        ("rotation create other #general", "Use `/incident rotation create <name> #channel` (pick the channel with "
                                           "`#` so Slack sends its id)."),
        ("rotation add <@U0A>", "<@U0A> is already on `payments`."),
        ("rotation remove <@U0D>", "<@U0D> is not on `payments`."),
        ("rotation add bob", "Use `/incident rotation add @someone @someone-else`."),
        ("rotation order <@U0C> <@U0A>", "`rotation order` takes the whole roster of `payments`: you left out <@U0B>."),
        ("rotation order <@U0C> <@U0A> <@U0B> <@U0D>", "`rotation order` takes the whole roster of `payments`: "
                                                       "<@U0D> is not on it (`rotation add` them first)."),
        ("rotation override <@U0D> tomorrow soon", "Give a start and an end, each like `2026-12-01 09:00`, "
                                                   "`today 18:00`, `tomorrow`, `tue` or `now` (team time)."),
        ("rotation override <@U0D> tomorrow today", "The end must come after the start."),
        ("rotation override <@U0D> now tomorrow as boss", "An override is `as primary`, `as secondary` or "
                                                          "`as tertiary`."),
        ("rotation swap <@U0A> <@U0D>", "<@U0D> is not on `payments`; swaps are between its members."),
        ("rotation swap <@U0A> <@U0A>", "A swap needs two different people."),
        ("rotation swap <@U0A> <@U0B> someday", "Say which week: `this`, `next`, or a day in it like `2026-12-08` "
                                                "or `tue`."),
        ("rotation frobnicate", None),
    ]:
        answer = (await say(bot, text))["text"]
        if reason is None:
            assert answer.startswith("I don't know `rotation frobnicate`.")
        else:
            assert answer == reason, text
    assert stored(bot) == before


async def test_order_keeps_the_shift_count(bot):
    await setup(bot)
    answer = await say(bot, "rotation order <@U0C> <@U0A> <@U0B>")
    assert answer["text"] == ("New order for `payments`: <@U0C>, <@U0A>, <@U0B>. Now: primary <@U0C> · "
                              "secondary <@U0A> · tertiary <@U0B>.")
    bot.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert (await say(bot, "oncall"))["text"] == "On call for payments: primary <@U0A>"


async def test_overrides_in_team_time(make_bot):
    bot = await make_bot(team_timezone="America/New_York")
    await setup(bot, tz="America/New_York")
    answer = await say(bot, "rotation override <@U0D|d> today 18:00 tomorrow 09:00")
    start = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 18:00 in New York
    assert answer["text"].startswith(f"<@U0D> is primary on `payments` from <!date^{int(start.timestamp())}^")
    assert (await say(bot, "rotation override <@U0B> 2026-11-26 2026-11-27 as tertiary"))["text"].startswith(
        "<@U0B> is tertiary on `payments`")
    bot.clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # 20:00 in New York
    answer = await say(bot, "oncall")
    assert answer["text"] == "On call for payments: primary <@U0D>"
    assert "*Overrides:* <@U0D> is primary from" in json.dumps(answer["blocks"])
    bot.clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=UTC))  # 09:00 in New York: the override is over
    answer = await say(bot, "oncall")
    assert answer["text"] == "On call for payments: primary <@U0A>"
    assert "tertiary <@U0B>" in json.dumps(answer["blocks"])  # the second override holds all of the 26th
    refused = await say(bot, "rotation override <@U0D> 2026-11-01 2026-11-02")
    assert refused["text"] == "That override would already be over; pick an end in the future."


async def test_swap_defaults_to_the_next_shift_either_is_primary(bot):
    await setup(bot)
    answer = await say(bot, "rotation swap <@U0C> <@U0D>")
    assert answer["text"] == "<@U0D> is not on `payments`; swaps are between its members."
    await say(bot, "rotation add <@U0D>")
    answer = await say(bot, "rotation swap <@U0C|c> <@U0D|d>")
    shift = int(datetime(2026, 12, 8, 10, 0, tzinfo=UTC).timestamp())
    assert answer["text"] == (f"Swapped <@U0C> and <@U0D> on `payments` for the shift from <!date^{shift}^"
                              "{date_short_pretty} {time}|2026-12-08 10:00 UTC>: primary <@U0D> · "
                              "secondary <@U0C> · tertiary <@U0A>.")
    answer = await say(bot, "rotation swap <@U0A> <@U0B> this")
    assert "primary <@U0B> · secondary <@U0A> · tertiary <@U0C>" in answer["text"]
    assert (await say(bot, "oncall"))["text"] == "On call for payments: primary <@U0B>"


async def test_only_admins_creators_and_members_change_a_roster(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await setup(bot)
    before = stored(bot)
    reason = "Only the members of `payments`, its creator <@U0A> or an admin can change its roster."
    for text in ("rotation add <@U0OTHER>", "rotation remove <@U0A>", "rotation order <@U0C> <@U0B> <@U0A>",
                 "rotation override <@U0OTHER> now tomorrow", "rotation swap <@U0A> <@U0B>"):
        assert (await say(bot, text, user="U0OTHER"))["text"] == reason
    assert stored(bot) == before
    assert (await say(bot, "oncall", user="U0OTHER"))["text"] == "On call for payments: primary <@U0A>"
    assert (await say(bot, "rotation add <@U0D>", user="U0ADMIN"))["text"] == "Added <@U0D> to `payments`."
    assert (await say(bot, "rotation remove <@U0D>", user="U0B"))["text"] == "Removed <@U0D> from `payments`."


async def test_commands_in_a_rotations_channel_default_to_it(bot):
    await setup(bot)
    bot.fake.add_channel("C0WEB", "web-oncall", members=("U0A",))
    await say(bot, "rotation create web <#C0WEB|web-oncall>")
    assert (await say(bot, "rotation add <@U0D>", channel="C0WEB"))["text"] == "Added <@U0D> to `web`."
    assert (await say(bot, "rotation add <@U0D>", channel="C0PAY"))["text"] == "Added <@U0D> to `payments`."
    assert (await say(bot, "rotation add <@U0D>"))["text"].startswith("Which rotation? Run the command in the "
                                                                      "rotation's channel or name it")
    assert (await say(bot, "oncall", channel="C0WEB"))["text"] == "On call for web: primary <@U0D>"
    assert (await say(bot, "oncall"))["text"] == "On call for 2 rotations"


async def test_a_roster_command_delivered_twice_applies_once(bot):
    """Slack's retry, or the same request reaching two replicas: the same trigger id changes the rotation once."""
    await setup(bot)

    def twice(text: str, user: str = "U0A"):
        return sent_twice(bot, text, user)

    first, again = await twice("rotation swap <@U0A> <@U0B> next")
    assert first.startswith("Swapped <@U0A> and <@U0B>") and again.startswith("Already done:"), (first, again)
    first, again = await twice("rotation override <@U0C> 2026-11-26 2026-11-27")
    assert first.startswith("<@U0C> is primary") and again.startswith("Already done:")
    first, again = await twice("rotation feed-reset")
    assert first.startswith("Every calendar-feed link") and again.startswith("Already done:")
    first, again = await twice("handoff payments")
    assert first.startswith("Posting the handoff digest") and again.startswith("Already done:")
    rotations, _, overrides, swaps = stored(bot)
    assert len(swaps) == 1 and len(overrides) == 1 and rotations[0].feed_version == 1
    digests = [p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and p.get("blocks")
               and "handoff" in json.dumps(p["blocks"]).lower()]
    assert len(digests) == 1
    assert (await say(bot, "oncall"))["text"].endswith("primary <@U0A>")  # this week is untouched


async def test_the_same_swap_or_override_by_two_people_is_stored_once(bot):
    await setup(bot)
    assert (await say(bot, "rotation swap <@U0A> <@U0B> next", user="U0A"))["text"].startswith("Swapped")
    answer = await say(bot, "rotation swap <@U0B> <@U0A> next", user="U0B")
    assert answer["text"].startswith("<@U0B> and <@U0A> are already swapped for the shift from"), answer
    assert (await say(bot, "rotation override <@U0C> 2026-11-26 2026-11-27", user="U0A"))["text"].startswith("<@U0C>")
    answer = await say(bot, "rotation override <@U0C> 2026-11-26 2026-11-27", user="U0B")
    assert answer["text"] == ("<@U0C> is already primary on `payments` for exactly that time; nothing changed.")
    _, _, overrides, swaps = stored(bot)
    assert len(swaps) == 1 and len(overrides) == 1
    plan = json.dumps((await say(bot, "oncall"))["blocks"])
    assert "|2026-12-01 10:00 UTC>*: primary <@U0A> \\u00b7 secondary <@U0C> \\u00b7 tertiary <@U0B>" in plan


async def test_a_failed_users_info_keeps_the_last_known_timezone(bot):
    from bot.db.models import Person

    await setup(bot, tz="America/New_York")

    def zone() -> str | None:
        with bot.session() as s:
            return s.get(Person, "U0A").tz

    assert zone() == "America/New_York"
    bot.clock.advance(days=2)
    bot.fake.fail("users.info", "internal_error", status=503, times=20)
    await bot.runtime.services.people.refresh(["U0A"])
    assert zone() == "America/New_York"
    bot.fake.recover("users.info")
    bot.fake.fail("users.info", "user_not_found", times=1)
    await bot.runtime.services.people.refresh(["U0A"])
    assert zone() == "America/New_York"
    bot.fake.add_user("U0A", tz="Europe/Paris")
    await bot.runtime.services.people.refresh(["U0A"])
    assert zone() == "Europe/Paris"


# -- which channel a rotation may be bound to (SPEC §5) ------------------------------------------------------

async def test_a_rotation_is_bound_only_to_a_channel_its_creator_is_in_and_never_to_general(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    bot.clock.set(WEDNESDAY_NOON)
    for user in ("U0A", "U0ADMIN"):
        bot.fake.add_user(user)
    bot.fake.add_channel("C0PAY", "payments-oncall", members=("U0B",))
    bot.fake.add_channel("C0SECRET", "secret", private=True, joined=False, members=("U0A",))
    refusals = {
        "rotation create payments <#C0PAY|payments-oncall>": "You are not a member of <#C0PAY>: a rotation is bound "
                                                             "only to a channel its creator is in.",
        "rotation create everyone <#C0GENERAL|general>": "<#C0GENERAL> is the workspace's general channel: only "
                                                         "someone in ADMINS can bind a rotation to it",
        "rotation create secret <#C0SECRET|secret>": "I cannot see <#C0SECRET>: invite me to it first",
    }
    for text, reason in refusals.items():
        assert (await say(bot, text))["text"].startswith(reason), text
    assert stored(bot) == ([], [], [], [])
    bot.fake.slow(2.0, "conversations.info")  # Slack slower than the ack allows: said, nothing stored
    assert (await say(bot, "rotation create payments <#C0PAY|payments-oncall>", user="U0B"))["text"].startswith(
        "Slack did not answer in time")
    bot.fake.slow(0, "conversations.info")
    assert stored(bot) == ([], [], [], [])
    assert (await say(bot, "rotation create payments <#C0PAY|payments-oncall>", user="U0B"))["text"].startswith(
        "Created the rotation `payments`"), "a member of the channel"
    assert (await say(bot, "rotation create everyone <#C0GENERAL|general>", user="U0ADMIN"))["text"].startswith(
        "Created the rotation `everyone`"), "an admin may bind #general"
    members = bot.fake.calls_to("conversations.members")
    assert members and all(c["channel"] != "C0GENERAL" for c in members), "everyone is in #general: not asked"
