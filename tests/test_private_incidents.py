"""Incident types and private incidents, made (SPEC § Incident types, private incidents and roles): `security`
exists from the start as a private type; `type add|list|remove` by ADMINS; a type's rotation and priority apply.
A private incident gets a private channel whose name says nothing of it, only its reporter and commander invited
at first and each firefighter when paged; its announcement names no title, nor do the rotation's channel's other
notices (a raise to P0, the handoff digest); it never reaches the issue trackers. On SQLite and PostgreSQL."""

from __future__ import annotations

from bot.db import repo
from tests.test_paging import with_rotation
from tests.test_private_doors import said
from tests.test_reminders import said as posted

SECRET_TITLE = "Leaked credentials in the payments repo"


def channel_texts(bot, channel: str) -> str:
    return " ".join(m.get("text") or "" for (c, _), m in bot.fake.messages.items() if c == channel) + " ".join(
        str(m.get("blocks") or "") for (c, _), m in bot.fake.messages.items() if c == channel)


async def test_types_are_listed_added_by_admins_and_removed(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    assert "• `security` — private" in await said(bot, "type list", "U0A")
    assert "Only ADMINS change the incident types" in await said(bot, "type add db rotation payments", "U0A")
    answer = await said(bot, "type add db rotation payments priority P0", "U0ADMIN")
    assert answer == "Added the incident type `db` (rotation `payments`, P0): the declare form offers it."
    assert "There is no rotation called `nope`" in await said(bot, "type add x rotation nope", "U0ADMIN")
    assert "There is a type called `db` already" in await said(bot, "type add db", "U0ADMIN")
    view = await bot.open_declare()
    [select] = [b for b in view["blocks"] if b["block_id"] == "incident_type"]
    assert [o["text"]["text"] for o in select["element"]["options"]] == ["db", "security (private)"]
    incident = await bot.declare("Replica lag", priority="P2", incident_type="db")
    assert (incident.type_name, incident.priority, incident.private) == ("db", "P0", False)  # the type's P0
    assert "Removed the incident type `db`" in await said(bot, "type remove db", "U0ADMIN")
    assert "There is no type called `db`" in await said(bot, "type remove db", "U0ADMIN")
    assert "`security` is built in" in await said(bot, "type remove security", "U0ADMIN")
    assert "`security` is built in" in await said(bot, "type add security rotation payments", "U0ADMIN")


async def test_a_security_incident_is_private_from_the_start(bot):
    await with_rotation(bot)
    incident = await bot.declare(SECRET_TITLE, priority="P2", commander="U0COMMANDER", incident_type="security")
    assert incident.private and incident.type_name == "security"
    channel = bot.fake.channels[incident.channel_id]
    assert channel["private"] and channel["name"] == f"inc-{incident.number}-private"
    assert channel["members"] == {"U0REPORTER", "U0COMMANDER"}  # not the firefighters on call: none was paged
    with bot.session() as session:
        assert set(repo.incidents.member_ids(session=session, incident_id=incident.id)) == {"U0REPORTER",
                                                                                          "U0COMMANDER"}
    rotation_channel = channel_texts(bot, "C0PAY")
    assert f"A private incident *INC-{incident.number}* (P2) was declared; commander <@U0COMMANDER>." in \
        rotation_channel and SECRET_TITLE not in rotation_channel
    assert SECRET_TITLE not in await said(bot, "list", "U0A")  # a firefighter of its rotation, not in it
    await bot.slack.command("priority P0", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    raised = posted(bot, "is now *P0*", "C0PAY")
    assert raised and SECRET_TITLE not in raised[-1]["text"] and "a private incident" in raised[-1]["text"]
    await bot.slack.command("handoff payments", user="U0A", channel="C0PAY")
    await bot.settle()
    digest = posted(bot, "Handoff for", "C0PAY")[-1]
    assert SECRET_TITLE not in str(digest) and f"*INC-{incident.number}* a private incident" in str(digest)


async def test_the_paged_firefighter_is_invited_and_may_see_it(bot):
    await with_rotation(bot)
    incident = await bot.declare(SECRET_TITLE, priority="P0", incident_type="security")  # pages the primary
    await bot.settle()
    primary = next(c.args["channel"] for c in bot.fake.calls if c.method == "chat.postMessage"
                   and "paged" in (c.args.get("text") or "") and c.args["channel"].startswith("U0"))
    assert primary in bot.fake.channels[incident.channel_id]["members"]
    assert SECRET_TITLE in await said(bot, "list", primary)
    others = {"U0A", "U0B", "U0C"} - {primary}
    assert not others & bot.fake.channels[incident.channel_id]["members"]
    for other in others:
        assert SECRET_TITLE not in await said(bot, "list", other)


async def test_a_private_incident_never_reaches_the_trackers(tracked, side):
    from tests.test_tracker_bridge import deliver
    bot = tracked
    incident = await bot.declare(SECRET_TITLE, priority="P1", commander="U0COMMANDER", incident_type="security")
    await bot.slack.command("update rotated the keys", user="U0COMMANDER", channel=incident.channel_id)
    await bot.slack.command("followup add revoke the old keys", user="U0COMMANDER", channel=incident.channel_id)
    await deliver(bot)
    assert side.fake.issues == {}
    public = await bot.declare("Checkout is slow", priority="P1", user="U0A")  # the same bot opens a public one's
    await deliver(bot)
    assert [i["title"] for i in side.fake.issues.values()] == [f"INC-{public.number}: Checkout is slow"]


async def test_making_a_public_incident_private_moves_it_with_its_timeline(bot):
    await with_rotation(bot)
    incident = await bot.declare(SECRET_TITLE, priority="P2", commander="U0COMMANDER")
    old = incident.channel_id
    await bot.slack.command("responders add <@U0HELPER>", user="U0COMMANDER", channel=old)
    await bot.slack.command("update found the leaked key in a public gist", user="U0COMMANDER", channel=old)
    await bot.settle()
    assert SECRET_TITLE in await said(bot, "list", "U0B")  # public so far: a firefighter sees it
    answer = await said(bot, f"private INC-{incident.number}", "U0COMMANDER")
    assert answer == f"INC-{incident.number} is private now: it moves to a private channel with its timeline."
    await bot.tick()
    with bot.session() as session:
        moved = session.get(type(incident), incident.id)
        members = set(repo.incidents.member_ids(session=session, incident_id=incident.id))
    assert moved.private and moved.channel_id != old
    channel = bot.fake.channels[moved.channel_id]
    assert channel["private"] and channel["name"] == f"inc-{incident.number}-private"
    assert {"U0REPORTER", "U0COMMANDER", "U0HELPER"} <= channel["members"] and members == {
        "U0REPORTER", "U0COMMANDER", "U0HELPER"}
    there = channel_texts(bot, moved.channel_id)
    assert "made INC-1 private and moved it here" in there and "found the leaked key in a public gist" in there
    assert moved.summary_ts and (moved.channel_id, moved.summary_ts) in bot.fake.pins  # its summary, pinned
    assert "made INC-1 private: it goes on in a private channel" in channel_texts(bot, old)
    announced = [c for c in bot.fake.calls if c.method == "chat.postMessage" and c.args["channel"] == "C0PAY"
                 and "INC-1" in (c.args.get("text") or "")]
    assert len(announced) == 1  # announced once, when declared: the move says nothing in the rotation's channel
    assert len([c for c in bot.fake.calls if "is declared. Follow it in" in (c.args.get("text") or "")]) == 1
    assert SECRET_TITLE not in await said(bot, "list", "U0B")
    assert await said(bot, f"show INC-{incident.number}", "U0B") == f"There is no INC-{incident.number}."
    await bot.slack.command("update rotated it", user="U0COMMANDER", channel=old)  # the old channel: no longer its
    await bot.slack.command("update rotated it", user="U0COMMANDER", channel=moved.channel_id)
    await bot.settle()
    assert [e.text for e in bot.events(incident) if e.kind == "update"][-1] == "rotated it"
    assert "rotated it" not in channel_texts(bot, old)
    assert f"INC-{incident.number} is private already." in await said(bot, f"private INC-{incident.number}",
                                                                        "U0COMMANDER")
