"""A private incident, door by door (SPEC § Incident types, private incidents and roles): a member of its channel,
someone who is not (a firefighter of the same rotation, who would see a public one), and someone in ADMINS ask
through every door that names a person — `list`, `show`, `timeline`, a change named from elsewhere, `followups`,
the App Home, the web board and incident page signed in and by page link — and Slack's join and leave events move
a person in and out. Nothing of it reaches the one who is not a member; a non-member is told what a stranger to an
incident number is told. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.db import repo
from bot.db.models import Incident
from tests.test_board import get, shown, token
from tests.test_commands import reply_of
from tests.test_paging import with_rotation
from tests.test_sign_in import CLIENT, signed_in

TITLE = "Leaked credentials in the payments repo"
MEMBER, OUTSIDER, ADMIN = "U0COMMANDER", "U0A", "U0ADMIN"


@pytest.fixture
async def private_bot(make_bot):
    """A P1 on the rotation `payments` (whose firefighter U0A is), then made private: its channel holds only its
    commander (as the bot invited them)."""
    bot = await make_bot(public=True, admins=ADMIN, **CLIENT)
    bot.fake.now = lambda: bot.clock.now().timestamp()
    await with_rotation(bot)
    incident = await bot.declare(TITLE, priority="P1", commander=MEMBER)
    await bot.slack.command("followup add rotate the deploy keys", user=MEMBER, channel=incident.channel_id)
    await bot.settle()
    with bot.session() as session:
        session.exec(sa.update(Incident).where(Incident.id == incident.id).values(private=True))
        repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=[MEMBER], at=bot.clock.now())
        session.commit()
    bot.private = incident
    return bot


async def said(bot, text: str, user: str, channel: str = "C0GENERAL") -> str:
    status, body, _ = await bot.slack.command(text, user=user, channel=channel)
    assert status == 200
    await bot.settle()
    if not body:
        return ""
    answer = reply_of(body)
    return answer["text"] + "".join(str(block) for block in answer.get("blocks") or [])


async def home_of(bot, user: str) -> str:
    await bot.slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home",
                           "event_ts": "1.1"})
    await bot.settle()
    view = [c for c in bot.fake.calls if c.method == "views.publish" and c.args["user_id"] == user][-1].args["view"]
    return str(view)


async def web(bot, user: str | None, path: str) -> tuple[int, str]:
    if user is None:  # a page link: signed, but naming nobody
        status, _, html = await get(bot, f"{path}{'&' if '?' in path else '?'}token={token(bot)}")
        return status, shown(html)
    browser, _ = await signed_in(bot, user)
    try:
        async with browser.get(f"{bot.url}{path}") as response:
            return response.status, shown(await response.text())
    finally:
        await browser.close()


@pytest.mark.parametrize("viewer", [MEMBER, OUTSIDER, ADMIN])
async def test_every_door_asks_who_may_see_it(private_bot, viewer):
    bot, sees = private_bot, viewer != OUTSIDER
    ref = f"INC-{bot.private.number}"
    for text in ("list", "list all", "list P1"):
        assert (TITLE in await said(bot, text, viewer)) is sees, (viewer, text)
    for text in (f"show {ref}", f"timeline {ref}"):
        answer = await said(bot, text, viewer)
        assert (TITLE in answer) is sees and (answer == f"There is no {ref}.") is not sees, (viewer, text, answer)
        assert ref in answer
    assert ("rotate the deploy keys" in await said(bot, "followups all", viewer)) is sees
    assert (TITLE in await home_of(bot, viewer)) is sees
    status, page = await web(bot, viewer, "/board")
    assert status == 200 and (TITLE in page) is sees, viewer
    status, page = await web(bot, viewer, f"/incidents/{bot.private.number}")
    assert (status, TITLE in page) == ((200, True) if sees else (404, False)), viewer
    answer = await said(bot, f"update {ref} the keys are rotated", viewer)
    events = [e.text for e in bot.events(bot.private) if e.kind == "update"]
    assert (events == ["the keys are rotated"]) is sees, (viewer, answer)
    if not sees:
        assert answer == f"There is no {ref}."


async def test_a_page_link_names_nobody_and_shows_no_private_incident(private_bot):
    bot = private_bot
    status, page = await web(bot, None, "/board")
    assert status == 200 and TITLE not in page
    status, page = await web(bot, None, f"/incidents/{bot.private.number}")
    assert status == 404 and TITLE not in page


async def test_joining_and_leaving_its_channel_moves_who_may_see_it(private_bot):
    bot, channel = private_bot, private_bot.private.channel_id
    assert TITLE not in await said(bot, "list", OUTSIDER)
    await bot.slack.event({"type": "member_joined_channel", "user": OUTSIDER, "channel": channel,
                           "channel_type": "G", "team": "T111", "inviter": MEMBER, "event_ts": "2.2"})
    await bot.settle()
    assert TITLE in await said(bot, "list", OUTSIDER)
    await bot.slack.event({"type": "member_left_channel", "user": OUTSIDER, "channel": channel,
                           "channel_type": "G", "team": "T111", "event_ts": "3.3"})
    await bot.settle()
    assert TITLE not in await said(bot, "list", OUTSIDER)
    typed_there = await said(bot, "show", OUTSIDER, channel=channel)  # Slack lets only members type there
    assert TITLE in typed_there


async def test_people_the_bot_invites_may_see_it(private_bot):
    bot = private_bot
    ref = f"INC-{bot.private.number}"
    assert TITLE not in await said(bot, "list", "U0HELPER")
    await said(bot, f"responders add {ref} <@U0HELPER>", MEMBER)
    assert TITLE in await said(bot, "list", "U0HELPER")
    with bot.session() as session:
        assert set(repo.incidents.member_ids(session=session, incident_id=bot.private.id)) == {MEMBER, "U0HELPER"}


async def test_the_counting_doors_count_it_and_name_nothing(private_bot):
    """`stats`, /stats, /metrics and the calendar feeds count incidents or show shifts: none names a title."""
    from bot.http.tokens import person_feed_token, rotation_feed_token

    bot = private_bot
    assert TITLE not in await said(bot, "stats", OUTSIDER)
    status, page = await web(bot, OUTSIDER, "/stats")
    assert status == 200 and TITLE not in page
    status, _, metrics = await get(bot, "/metrics")
    assert status == 200 and TITLE not in metrics and 'priority="P1"' in metrics
    secret = bot.runtime.settings.web_secret
    for path in (f"/rotations/payments.ics?token={rotation_feed_token(secret, 'payments', 0)}",
                 f"/people/{OUTSIDER}.ics?token={person_feed_token(secret, OUTSIDER, 0)}"):
        status, _, feed = await get(bot, path)
        assert status == 200 and TITLE not in feed, path
