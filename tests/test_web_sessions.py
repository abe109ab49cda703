"""Sign-in sessions live server-side (issue 32 item 9): the cookie carries only a session id, so signing out ends
it for whoever copied the cookie, and a person deactivated in Slack loses the board at their next request (the
`user_change` event at once, or Slack's `users.info` asked again after a minute when no event came)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.db.edge_models import WebSession
from bot.http.session import SESSION_COOKIE
from tests.test_sign_in import CLIENT, act, signed_in


@pytest.fixture
async def sessions_bot(make_bot):
    bot = await make_bot(public=True, **CLIENT)
    bot.fake.now = lambda: bot.clock.now().timestamp()
    return bot


async def still_signed_in(bot, cookie: str) -> bool:
    """Whether a browser holding only `cookie` (a copy of the session cookie) is signed in."""
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as browser, \
            browser.get(f"{bot.url}/board") as response:
        return response.status == 200 and "Signed in as" in await response.text()


def session_rows(bot) -> list[WebSession]:
    with bot.session() as s:
        return list(s.exec(WebSession.__table__.select()).all())


async def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(sessions_bot):
    bot = sessions_bot
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER")
    browser, csrf = await signed_in(bot)
    try:
        cookie = next(c for c in browser.cookie_jar if c.key == SESSION_COOKIE).value
        assert len(cookie) == 43 and "." not in cookie, "the cookie is an id, not a signed token"
        assert await still_signed_in(bot, cookie)
        async with browser.post(f"{bot.url}/auth/logout", data={"csrf": csrf}, allow_redirects=False) as response:
            assert response.status == 302
        assert not await still_signed_in(bot, cookie), "a copied cookie is worth nothing after signing out"
        async with aiohttp.ClientSession(cookies={SESSION_COOKIE: cookie}) as copy:
            status, _ = await act(bot, copy, csrf, incident=incident.number, action="command")
        assert status == 401
        assert session_rows(bot) == []
    finally:
        await browser.close()


async def test_a_person_deactivated_in_slack_loses_the_board_at_the_next_request(sessions_bot):
    bot = sessions_bot
    first, _ = await signed_in(bot, "U0COMMANDER")
    second, _ = await signed_in(bot, "U0OTHER")
    try:
        mine = next(c for c in first.cookie_jar if c.key == SESSION_COOKIE).value
        theirs = next(c for c in second.cookie_jar if c.key == SESSION_COOKIE).value
        status, _, _ = await bot.slack.event({"type": "user_change", "user": {
            "id": "U0COMMANDER", "deleted": True, "name": "commander"}})
        assert status == 200
        # Bolt runs an event's listener after its ack, outside the bot's background work: waited for by its effect
        # (this person's sessions gone), as the capture tests wait for theirs.
        for _ in range(200):
            if not any(row.user_id == "U0COMMANDER" for row in session_rows(bot)):
                break
            await asyncio.sleep(0.02)
        await bot.settle()
        assert not await still_signed_in(bot, mine)
        assert await still_signed_in(bot, theirs), "only the deactivated person's sessions end"
        status, _, _ = await bot.slack.event({"type": "user_change", "user": {"id": "U0OTHER", "deleted": False}})
        await bot.settle()
        assert await still_signed_in(bot, theirs), "a profile change is not a deactivation"
    finally:
        await first.close()
        await second.close()


async def test_without_the_event_slack_is_asked_again_after_a_minute(sessions_bot):
    bot = sessions_bot
    browser, _ = await signed_in(bot, "U0COMMANDER")
    try:
        cookie = next(c for c in browser.cookie_jar if c.key == SESSION_COOKIE).value
        bot.fake.add_user("U0COMMANDER")
        bot.fake.users["U0COMMANDER"]["deleted"] = True  # deactivated; the event was lost
        assert await still_signed_in(bot, cookie), "within a minute of the last answer Slack is not asked"
        asked = len(bot.fake.calls_to("users.info"))
        bot.fake.fail("users.info", "internal_error", status=500, times=50)
        bot.clock.advance(minutes=1)
        assert await still_signed_in(bot, cookie), "Slack not answering keeps the session until it answers"
        assert len(bot.fake.calls_to("users.info")) > asked
        bot.fake.recover("users.info")
        assert not await still_signed_in(bot, cookie)
        assert session_rows(bot) == []
    finally:
        await browser.close()


async def test_a_session_ends_after_12_hours_and_a_made_up_id_finds_nothing(sessions_bot):
    bot = sessions_bot
    browser, _ = await signed_in(bot, "U0COMMANDER")
    try:
        cookie = next(c for c in browser.cookie_jar if c.key == SESSION_COOKIE).value
        bot.clock.advance(hours=11, minutes=59)
        assert await still_signed_in(bot, cookie)
        bot.clock.advance(minutes=1)
        assert not await still_signed_in(bot, cookie)
        for made_up in ("A" * 43, cookie[:-1] + ("B" if cookie[-1] != "B" else "C"), "x", json.dumps({"u": 1})):
            assert not await still_signed_in(bot, made_up)
    finally:
        await browser.close()
