"""Where a private incident meets the rest (from a review of the change): a duplicate across a private and a public
incident names no title and is refused to a non-member; a follow-up's owner, an @here answer and a follow-up given
to someone join its channel (so what they are sent is theirs to see); after `private INC-n` the old public channel
no longer writes its timeline; a type removed while the form was open declares a private incident, not a public
one. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.db import repo
from bot.db.models import ChannelMessage
from tests.test_capture import captured, edited, message, reaction, send, until
from tests.test_paging import with_rotation
from tests.test_private_doors import said
from tests.test_private_incidents import SECRET_TITLE


def members(bot, incident) -> set[str]:
    with bot.session() as session:
        return set(repo.incidents.member_ids(session=session, incident_id=incident.id))


async def test_duplicates_across_private_and_public_name_no_title(bot):
    await with_rotation(bot)
    secret = await bot.declare(SECRET_TITLE, priority="P2", commander="U0COMMANDER", incident_type="security")
    public = await bot.declare("Checkout is slow", priority="P2", commander="U0A", user="U0A")
    assert await said(bot, f"duplicate INC-{public.number} INC-{secret.number}", "U0A") == \
        f"There is no INC-{secret.number}."  # a non-member: as if it did not exist
    await said(bot, f"duplicate INC-{secret.number} INC-{public.number}", "U0COMMANDER")
    texts = [e.text for e in bot.events(public) if e.kind == "duplicate"]
    assert texts == [f"INC-{secret.number} (a private incident) is a duplicate of this incident"]
    assert SECRET_TITLE not in await said(bot, f"timeline INC-{public.number}", "U0B")


async def test_owners_and_here_answerers_join_it(bot):
    await with_rotation(bot)
    secret = await bot.declare(SECRET_TITLE, priority="P2", commander="U0COMMANDER", incident_type="security")
    await bot.slack.command("followup add revoke the key <@U0OWNER>", user="U0COMMANDER", channel=secret.channel_id)
    await bot.slack.command("followup add rotate the others", user="U0COMMANDER", channel=secret.channel_id)
    await bot.settle()
    assert "U0OWNER" in members(bot, secret) and "U0OWNER" in bot.fake.channels[secret.channel_id]["members"]
    [item] = [i for i, _ in repo.follow_ups.list_follow_ups(session=bot.session(), owner=None, open_only=True,
                                                            limit=10) if i.text == "rotate the others"]
    await bot.slack.command(f"followup {item.id} owner <@U0SECOND>", user="U0COMMANDER", channel=secret.channel_id)
    await bot.settle()
    assert "U0SECOND" in members(bot, secret)
    working = bot.runtime.services.working
    working.acknowledge(secret.number, "U0HERE", anyone=True)  # someone in the rotation's channel answered @here
    await bot.settle()
    assert "U0HERE" in members(bot, secret) and "U0HERE" in bot.fake.channels[secret.channel_id]["members"]


async def test_the_old_channel_no_longer_writes_the_timeline_after_the_move(bot):
    await with_rotation(bot)
    incident = await bot.declare(SECRET_TITLE, priority="P2", commander="U0COMMANDER")
    old = incident.channel_id
    first, second = "1795570001.000100", "1795570002.000100"
    for ts, text in ((first, "the key was in a gist"), (second, "and in the CI logs")):
        await send(bot, message(old, ts, "U0B", text))
    await until(lambda: len(bot.session().exec(select(ChannelMessage)).all()) == 2, "both kept")
    await send(bot, reaction("reaction_added", "U0B", old, first))
    await until(lambda: captured(bot), "the capture before the move")  # (the way in works)
    await said(bot, "private", "U0COMMANDER", channel=old)
    await bot.tick()
    await send(bot, reaction("reaction_added", "U0B", old, second))
    await send(bot, edited(old, first, "U0B", "nothing to see"))
    await asyncio.sleep(0.3)
    assert [e.text.split(" (https:")[0] for e in captured(bot)] == ["the key was in a gist"]


async def test_a_type_removed_meanwhile_declares_a_private_incident(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    await said(bot, "type add legal private", "U0ADMIN")
    view = await bot.open_declare()
    await said(bot, "type remove legal", "U0ADMIN")
    status, body, _ = await bot.slack.submit(view, {"title": SECRET_TITLE, "priority": "P2",
                                                    "incident_type": "legal"})
    assert status == 200 and body == "", body
    await bot.settle()
    incident = bot.incidents()[-1]
    assert incident.private and incident.type_name == "legal"


async def test_reminders_of_a_private_incident_go_only_to_its_members(bot):
    from tests.test_reminders import said as posted
    from tests.test_reminders import working_p0

    await working_p0(bot, incident_type="security")  # pages the primary U0A: invited, a member
    await bot.tick(minutes=120)  # two nags unanswered: the firefighters on call are alarmed
    alarmed = {p["channel"] for p in posted(bot, "has not answered 2 reminders")}
    assert alarmed == {"U0A"}, alarmed  # not the secondary U0B, who is not in its channel
    triaged = await bot.declare(SECRET_TITLE, priority="P1", commander="U0COMMANDER", incident_type="security")
    await bot.tick(hours=20, minutes=5)  # from 14:00: four business hours are Thursday 10:00
    reminded = {p["channel"] for p in posted(bot, f"*INC-{triaged.number}* (P1) a private incident is still *new*")}
    assert "U0COMMANDER" in reminded and not reminded & {"U0B", "U0C"}, reminded
