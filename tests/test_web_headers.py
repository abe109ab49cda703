"""Every answer carries the usual security headers (issue 32 item 9): a CSP that allows no inline script or style,
no framing, no referrer (page and feed links carry signed tokens); and the pages have no inline script or style
for the CSP to block (the real browser's check is in test_board_browser.py)."""

from __future__ import annotations

import re

from bot.http.headers import POLICY
from bot.http.tokens import page_token
from tests.test_paging import with_rotation


async def answer(bot, path: str, method: str = "GET") -> tuple[int, dict, str]:
    async with bot.slack.session.request(method, f"{bot.url}{path}", allow_redirects=False) as response:
        return response.status, dict(response.headers), await response.text()


async def test_every_answer_carries_the_security_headers_errors_and_redirects_included(make_bot):
    from tests.test_sign_in import CLIENT

    bot = await make_bot(public=True, **CLIENT)
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P1")
    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    paths = [f"/board?token={token}", f"/incidents/1?token={token}", f"/rotations/payments?token={token}",
             f"/stats?token={token}", "/board", "/healthz", "/metrics", "/static/board.js",
             "/static/firefighter.css", "/static/../bot/web.py", "/nowhere", "/auth/slack/login"]
    for path in paths:
        status, headers, _ = await answer(bot, path)
        assert headers.get("Content-Security-Policy") == POLICY, (path, status)
        assert "frame-ancestors 'none'" in POLICY and "script-src 'self'" in POLICY
        assert "'unsafe-inline'" not in POLICY
        assert headers.get("X-Frame-Options") == "DENY" and headers.get("Referrer-Policy") == "no-referrer", path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert (await answer(bot, "/auth/slack/login"))[0] == 302
    status, headers, _ = await answer(bot, "/static/board.js")
    assert status == 200 and headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    assert (await answer(bot, "/static/../bot/web.py"))[0] in (403, 404)
    assert (await answer(bot, "/static/"))[0] in (403, 404), "no directory listing"


async def test_the_pages_hold_no_inline_script_or_style(bot):
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0")
    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    for path in ("/board", "/incidents/1", "/rotations/payments", "/stats"):
        status, _, html = await answer(bot, f"{path}?token={token}")
        assert status == 200, path
        assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == [], path
        assert "<style" not in html and not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers either
