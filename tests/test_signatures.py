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
    with caplog.at_level("WARNING", logger="bot.slack.signature"):
        status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
        assert status == 401
        status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded",
                                            timestamp=int(time.time()) - 600)
        assert status == 401
        async with bot.slack.session.post(f"{bot.url}/slack/events", data=body.encode(),
                                          headers={"Content-Type": "application/x-www-form-urlencoded"}) as resp:
            assert resp.status == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack.signature"]
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
    from bot.http.tokens import page_token
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

    from bot.db import repo
    from bot.db.engine import make_engine
    from bot.http.server import build_web_app

    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    app = build_web_app(bot.runtime.bolt, repo.database.Database(broken), bot.runtime.settings, bot.runtime.services,
                        bot.runtime.background)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.json() == {"ok": False, "database": "unreachable"}


# -- The rules at the edge, one by one (a wrong change to any of them must fail a test here, not a fuzz draw) ---
# Slack: "If the difference between the request timestamp and the current time is more than five minutes, the
# request could be a replay attack" — slack_sdk's SignatureVerifier (what Bolt runs) takes abs(now - ts) > 300, so a
# timestamp five minutes ahead is refused as one five minutes behind. Bolt checks again behind our edge, so each
# end-to-end case also asserts that the refusal was our edge's (its log line): a 401 from Bolt alone would hide a
# wrong edge.

def _edge(now: float):
    from bot.slack.signature import SlackSignature

    edge = SlackSignature("s3cret")
    edge.clock.now = lambda: now  # type: ignore[method-assign]
    return edge


def _signed(body: bytes, timestamp: int, secret: str = "s3cret") -> str:
    import hashlib
    import hmac
    return "v0=" + hmac.new(secret.encode(), b"v0:%d:" % timestamp + body, hashlib.sha256).hexdigest()


def test_the_edge_takes_five_minutes_either_way_and_not_a_second_more():
    now, body = 1_800_000_000, b"command=%2Fincident&text="
    edge = _edge(now)
    for offset in (-300, -1, 0, 1, 300):
        assert edge.refusal(body, str(now + offset), _signed(body, now + offset)) is None, offset
    for offset in (-301, -600, 301, 600, 86_400):
        assert "stale" in edge.refusal(body, str(now + offset), _signed(body, now + offset)), offset


def test_the_edge_refuses_a_signature_made_over_another_body_or_time():
    now, body = 1_800_000_000, b"command=%2Fincident&text=list"
    edge = _edge(now)
    assert "wrong signature" in edge.refusal(body, str(now), _signed(b"command=%2Fincident&text=", now))
    assert "wrong signature" in edge.refusal(body, str(now), _signed(body, now - 1))  # the time is signed too
    assert "wrong signature" in edge.refusal(body + b"x", str(now), _signed(body, now))
    assert "wrong signature" in edge.refusal(body, str(now), _signed(body, now, secret="other"))


async def _refused_at_the_edge(bot, caplog, body: str, **kwargs) -> str:
    caplog.clear()
    with caplog.at_level("WARNING", logger="bot.slack.signature"):
        status, _, _ = await bot.slack.post(body, "application/x-www-form-urlencoded", **kwargs)
    assert status == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack.signature"]
    assert len(lines) == 1, lines
    return lines[0]


async def test_a_timestamp_from_the_future_is_refused_and_nothing_is_done(bot, caplog):
    body = bot.slack.command_body("")
    assert "stale" in await _refused_at_the_edge(bot, caplog, body, timestamp=int(time.time()) + 301)
    assert "stale" in await _refused_at_the_edge(bot, caplog, bot.slack.command_body(""),
                                                 timestamp=int(time.time()) + 3600)
    await bot.settle()
    assert bot.fake.calls_to("views.open") == [] and bot.fake.responses == []


async def test_a_stale_timestamp_is_refused_at_the_edge_and_nothing_is_done(bot, caplog):
    body = bot.slack.command_body("")
    assert "stale" in await _refused_at_the_edge(bot, caplog, body, timestamp=int(time.time()) - 301)
    await bot.settle()
    assert bot.fake.calls_to("views.open") == [] and bot.fake.responses == []


async def test_a_signature_over_another_body_is_refused_and_nothing_is_done(bot, caplog):
    from tests.slack_requests import sign
    signed_for = bot.slack.command_body("")
    headers = sign(bot.slack.secret, signed_for)
    other = bot.slack.command_body("")  # a new trigger id: the same request with one field changed
    line = await _refused_at_the_edge(bot, caplog, other, timestamp=int(headers["X-Slack-Request-Timestamp"]),
                                      signature=headers["X-Slack-Signature"])
    assert "wrong signature" in line
    await bot.settle()
    assert bot.fake.calls_to("views.open") == [] and bot.fake.responses == []
