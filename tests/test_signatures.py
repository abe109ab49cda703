"""Every request is signature-checked: forged or stale requests get 401 and change nothing."""

from __future__ import annotations

import time

from tests.slack_requests import view_submission


async def test_forged_signature_is_refused(bot):
    body = bot.slack.command_body("")
    status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert status == 401
    assert bot.fake.calls_to("views.open") == []


async def test_stale_timestamp_is_refused(bot):
    body = bot.slack.command_body("list")
    status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 600)
    assert status == 401


async def test_forged_modal_submission_stores_nothing(bot):
    view = await bot.open_declare()
    payload = view_submission(view, {"title": "Forged"})
    import json
    from urllib.parse import urlencode
    body = urlencode({"payload": json.dumps(payload)})
    status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=deadbeef")
    assert status == 401
    status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301)
    assert status == 401
    await bot.settle()
    assert bot.incidents() == []
    assert bot.fake.calls_to("conversations.create") == []


async def test_refusals_are_logged_without_the_body(bot, caplog):
    body = bot.slack.command_body("update INC-1 the secret words")
    with caplog.at_level("WARNING", logger="bot.slack_signature"):
        status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
        assert status == 401
        status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded",
                                            timestamp=int(time.time()) - 600)
        assert status == 401
        async with bot.slack.session.post(f"{bot.url}/slack/events", data=body.encode(),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
            assert resp.status == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack_signature"]
    assert len(lines) == 3, lines
    assert "wrong signature" in lines[0] and "stale" in lines[1] and "unsigned" in lines[2]
    assert not any("secret words" in line or "update" in line for line in lines)
    assert bot.incidents() == []


async def test_slack_certificate_probe_needs_no_signature(bot):
    async with bot.slack.session.post(f"{bot.url}/slack/events", data=b"ssl_check=1&token=x",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
        assert resp.status == 200


async def test_only_the_bare_certificate_probe_goes_unsigned(bot):
    """`ssl_check=1` beside a command (or a payload) is no probe: unsigned, it is refused and nothing is done."""
    from urllib.parse import urlencode
    command = bot.slack.command_body("declare Forged outage")
    payload = urlencode({"payload": '{"type": "block_actions"}'})
    for body in (f"ssl_check=1&{command}", f"{command}&ssl_check=1", f"ssl_check=1&token=x&{payload}",
                 "ssl_check=1", "ssl_check=1&token=x&token=y", "ssl_check=2&token=x", "ssl_check=1&token=x&",
                 "ssl_check=1&token=x&text=declare"):
        async with bot.slack.session.post(f"{bot.url}/slack/events", data=body.encode(),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
            assert resp.status == 401, body
    await bot.settle()
    assert bot.incidents() == [] and bot.fake.calls_to("views.open") == []
    assert bot.fake.calls_to("conversations.create") == []


async def test_signed_with_another_secret_is_refused(bot):
    from tests.slack_requests import SlackSender
    other = SlackSender(bot.url, "not-the-secret", bot.fake.response_url())
    try:
        status, _, _ = await other.command("")
    finally:
        await other.close()
    assert status == 401


async def test_url_verification_challenge(bot):
    import json
    status, body, _ = await bot.slack.post(json.dumps({"type": "url_verification", "challenge": "abc123",
                                                        "token": "x"}), "application/json")
    assert status == 200 and "abc123" in body


async def test_healthz(bot):
    """Strangers see whether each part works; the board's signed link (or a signed-in session) sees the details."""
    from bot.web_tokens import page_token
    async with bot.slack.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "database": "ok", "engine": "ok", "outbox": "ok"}
    for token in ("forged.token", page_token(bot.runtime.settings.web_secret, bot.clock.now())[:-2] + "xx"):
        async with bot.slack.session.get(f"{bot.url}/healthz", params={"token": token}) as response:
            assert (await response.json())["outbox"] == "ok"
    link = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    async with bot.slack.session.get(f"{bot.url}/healthz", params={"token": link}) as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "database": "ok", "engine": "ok", "outbox": {
            "queued": 0, "failed": 0, "oldest_queued_seconds": 0.0, "failed_by_kind": {}}}


async def test_healthz_is_503_when_the_database_does_not_answer(bot, tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.db.engine import make_engine
    from bot.db.repo import Database
    from bot.web import build_web_app

    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    app = build_web_app(bot.runtime.bolt, Database(broken), bot.runtime.settings, bot.runtime.services,
                        bot.runtime.background)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"ok": False, "database": "unreachable"}
