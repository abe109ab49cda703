"""Sign in with Slack (OpenID Connect against the fake Slack's authorize page, `openid.connect.token` and
`openid.connect.userInfo`), and the board's writes for the signed-in: the same service calls, permissions, timeline
events and channel messages as the `/incident` commands."""

from __future__ import annotations

import json
import re
import uuid

import aiohttp
import pytest
from sqlmodel import select

from bot.db.models import Incident, TimelineEvent
from bot.http.session import SESSION_COOKIE

CLIENT = {"slack_client_id": "A0FAKE.CLIENT", "slack_client_secret": "fake-client-secret"}


async def signed_in(bot, user: str = "U0COMMANDER") -> tuple[aiohttp.ClientSession, str]:
    """A browser that signed in as `user`: its session, and the CSRF token its board page carries."""
    bot.fake.signs_in, bot.fake.now = user, lambda: bot.clock.now().timestamp()
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with browser.get(f"{bot.url}/auth/slack/login?next=/board") as response:
        assert response.status == 200 and str(response.url).endswith("/board"), response.url
        page = await response.text()
    assert "Signed in as" in page
    return browser, re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


async def act(bot, browser, csrf: str | None, **body) -> tuple[int, dict]:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    async with browser.post(f"{bot.url}/board/act", json={"key": uuid.uuid4().hex, **body},
                            headers=headers) as response:
        return response.status, await response.json()


@pytest.fixture
async def board_bot(make_bot):
    bot = await make_bot(public=True, **CLIENT)
    bot.fake.now = lambda: bot.clock.now().timestamp()
    return bot


async def test_sign_in_with_slack_then_work_the_queue_from_the_board(board_bot):
    bot = board_bot
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER")
    before = len(bot.fake.calls_to("chat.postMessage"))
    browser, csrf = await signed_in(bot)
    try:
        (authorize,) = bot.fake.calls_to("openid.connect.authorize")
        assert authorize["scope"] == "openid profile" and authorize["redirect_uri"] == f"{bot.url}/auth/slack/callback"
        assert authorize["nonce"] and authorize["state"] and authorize["team"] == "T111"
        cookie = next(c for c in browser.cookie_jar if c.key == SESSION_COOKIE)
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"

        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="in_progress")
        assert status == 200 and answer["status"] == "in_progress", answer
        with bot.session() as s:
            assert s.get(Incident, incident.id).status == "in_progress"
            (event,) = s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                          TimelineEvent.kind == "status")).all()
        assert event.actor_id == "U0COMMANDER" and event.text == "New → In progress"
        await bot.settle()
        said = [m for m in bot.fake.calls_to("chat.postMessage")[before:] if m["channel"] == incident.channel_id]
        assert any("<@U0COMMANDER>" in m["text"] and "In progress" in m["text"] for m in said), said

        status, answer = await act(bot, browser, csrf, incident=incident.number, action="priority", value="P0")
        assert status == 200 and answer["message"] == f"INC-{incident.number} is P0."
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="resolved")
        assert status == 409 and "how it was resolved" in answer["error"]
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="new")
        assert status == 409 and "not 'new'" in answer["error"]
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="resolved",
                                   note="Rolled back the deploy")
        assert status == 200 and answer["status"] == "resolved"
        with bot.session() as s:
            assert s.get(Incident, incident.id).resolution == "Rolled back the deploy"
    finally:
        await browser.close()


async def test_writes_need_a_session_its_csrf_token_and_the_same_permission_as_slack(make_bot):
    bot = await make_bot(public=True, admins="U0ADMIN", **CLIENT)
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER")
    anonymous = aiohttp.ClientSession()
    try:
        status, answer = await act(bot, anonymous, "x", incident=incident.number, action="command")
        assert status == 401 and "Sign in" in answer["error"]
    finally:
        await anonymous.close()
    browser, csrf = await signed_in(bot, "U0OTHER")  # not the commander, not on call, not an admin
    try:
        for token in (None, "forged", csrf[:-2]):
            status, _ = await act(bot, browser, token, incident=incident.number, action="command")
            assert status == 403
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="blocked")
        assert status == 409 and "Only" in answer["error"], answer
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="command")
        assert status == 409 and "Only" in answer["error"]  # as Take command in Slack would answer them
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="frobnicate")
        assert status == 409
        async with browser.post(f"{bot.url}/board/act", data=b"not json",
                                headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 400
        with bot.session() as s:
            stored = s.get(Incident, incident.id)
        assert stored.status == "new" and stored.commander_id == "U0COMMANDER"
    finally:
        await browser.close()
    admin, admin_csrf = await signed_in(bot, "U0ADMIN")
    try:
        status, _ = await act(bot, admin, admin_csrf, incident=incident.number, action="command")
        assert status == 200
    finally:
        await admin.close()


async def test_the_same_request_twice_changes_the_incident_once(board_bot):
    bot = board_bot
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER")
    browser, csrf = await signed_in(bot)
    try:
        body = {"incident": incident.number, "action": "move", "value": "triaged", "key": "double-click-1"}
        answers = []
        for _ in range(2):
            async with browser.post(f"{bot.url}/board/act", json=body, headers={"X-CSRF-Token": csrf}) as response:
                answers.append((response.status, await response.json()))
        assert [a[1]["replayed"] for a in answers] == [False, True]
        assert len([e for e in bot.events(incident) if e.kind == "status"]) == 1
    finally:
        await browser.close()


async def test_a_forged_or_foreign_sign_in_is_refused_and_leaves_no_session(board_bot):
    bot = board_bot
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        # A callback this browser never started (a link someone sent): refused before Slack is asked anything.
        async with browser.get(f"{bot.url}/auth/slack/callback?code=stolen&state=guess") as response:
            assert response.status == 400 and "not started here" in await response.text()
        assert not bot.fake.calls_to("openid.connect.token")
        # An ID token that does not answer this sign-in's nonce.
        bot.fake.id_token_extra = {"nonce": "someone-elses"}
        async with browser.get(f"{bot.url}/auth/slack/login") as response:
            assert response.status == 400 and "nonce" in await response.text()
        # Another workspace.
        bot.fake.id_token_extra = {}
        bot.fake.team_id = "T999"
        async with browser.get(f"{bot.url}/auth/slack/login") as response:
            assert response.status == 403 and "another Slack workspace" in await response.text()
        # The person declines at Slack.
        bot.fake.team_id, bot.fake.signs_in = "T111", None
        async with browser.get(f"{bot.url}/auth/slack/login") as response:
            assert response.status == 400 and "access_denied" in await response.text()
        assert not any(c.key == SESSION_COOKIE for c in browser.cookie_jar)
        async with browser.get(f"{bot.url}/board") as response:
            assert response.status == 403 and "/auth/slack/login" in await response.text()
        # An open redirect is not: `next` stays on this site, however it is dressed up.
        bot.fake.signs_in = "U0REPORTER"
        for bad in ("//evil.example/x", "/\t/evil.example/x", "https://evil.example/", "/\r\n/evil.example",
                    "/\\evil.example", " //evil.example"):
            async with browser.get(f"{bot.url}/auth/slack/login", params={"next": bad}) as response:
                assert response.status == 200 and str(response.url) == f"{bot.url}/board", bad
    finally:
        await browser.close()


async def test_without_client_settings_there_is_no_sign_in_and_the_board_stays_read_only(bot):
    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{bot.url}/auth/slack/login", allow_redirects=False) as response:
            assert response.status == 404 and "SLACK_CLIENT_ID" in await response.text()
        async with browser.post(f"{bot.url}/board/act", data=json.dumps({})) as response:
            assert response.status == 401


async def test_the_workspace_must_be_known_before_anyone_signs_in(board_bot):
    bot = board_bot
    bot.runtime.slack.team_id = None  # auth.test failed at start-up …
    bot.fake.fail("auth.test", "internal_error", status=500, times=10)  # … and still fails
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with browser.get(f"{bot.url}/auth/slack/login") as response:
            assert response.status == 503 and "workspace" in await response.text()
        assert not any(c.key == SESSION_COOKIE for c in browser.cookie_jar)
        bot.fake.recover("auth.test")  # Slack answers again: the workspace is learnt at the next sign-in
        async with browser.get(f"{bot.url}/auth/slack/login") as response:
            assert response.status == 200 and "Signed in as" in await response.text()
    finally:
        await browser.close()


async def test_bad_requests_to_the_board_change_nothing_and_say_why(board_bot):
    bot = board_bot
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER")
    browser, csrf = await signed_in(bot)
    try:
        for number in (1e400, True, "1", 1.5, None, 2**40):
            async with browser.post(f"{bot.url}/board/act", data=json.dumps(
                    {"incident": number, "action": "command", "key": "k" * 10}).replace("Infinity", "1e400"),
                    headers={"X-CSRF-Token": csrf}) as response:
                assert response.status == 400, number
        status, answer = await act(bot, browser, csrf, incident=incident.number, action="move", value="blocked",
                                   note="x" * 3001)
        assert status == 409 and "3000 characters" in answer["error"]
        with bot.session() as s:
            assert s.get(Incident, incident.id).status == "new"
    finally:
        await browser.close()


async def test_people_the_page_shows_without_a_name_are_named_at_the_first_look(board_bot):
    bot = board_bot
    bot.fake.add_user("U0OTHER", name="Otto")
    incident = await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER")
    await bot.slack.command("update asked <@U0OTHER|otto> to look", user="U0COMMANDER", channel=incident.channel_id)
    await bot.slack.command("status resolved rolled back", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    browser, _ = await signed_in(bot)
    try:
        async with browser.get(f"{bot.url}/incidents/{incident.number}") as response:
            page = await response.text()
        assert "@Otto" in page and "@otto" not in page  # asked before the page was answered, not at the next look
        assert "Incident analysis draft" in page and "&lt;@" not in page and "<@" not in page
    finally:
        await browser.close()
