"""What every answer of the HTTP server carries for browsers (SPEC §5, issue 32 item 9), and the pages' static files.

The pages need no inline script or style (the board's script and the one stylesheet are served from /static), so the
Content-Security-Policy allows scripts and styles from this origin only: text that got into a page by mistake
cannot run. `frame-ancestors 'none'` (and X-Frame-Options for older browsers) keeps the board's buttons out of
anyone's frame; `Referrer-Policy: no-referrer` keeps the signed tokens in page and feed links from leaving with a
click on a link (an avatar, a tracker issue)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.config import Settings

STATIC = Path(__file__).parent / "static"
POLICY = "; ".join((
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' https:", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"))


def security_headers(settings: Settings) -> dict[str, str]:
    headers = {"Content-Security-Policy": POLICY, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
               "X-Content-Type-Options": "nosniff"}
    if settings.public_url.startswith("https://"):  # only where browsers reach us over TLS (a plain-http test is not)
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def add_page_headers(app: web.Application, settings: Settings) -> None:
    """On every answer, errors and redirects included (aiohttp's on_response_prepare sees them all)."""
    headers = security_headers(settings)

    async def guard(_request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    app.on_response_prepare.append(guard)
    app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
