"""Bob's phone in the demo: a push receiver in the shape of ntfy (https://docs.ntfy.sh/publish/#publish-as-json: a
JSON POST to `/` with `topic`, `title`, `message`, the priority in `X-Priority`), run inside the demo process.

The bot reaches it through Apprise (`NOTIFY_PUSH_URL=ntfy://127.0.0.1:<port>/{to}`), as it would reach ntfy.sh, so
the demo shows a page going beyond Slack without any account. It lives here, not in tests/: `make demo` installs the
bot alone, and the test receivers need test tools. The phone also opens links as a browser would (`open`, `press`),
so that what bob saw on the acknowledge page is part of what the demo prints.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp
from aiohttp import web

from bench.processes import free_port

OWNER = "U0BOB"  # whose phone it is


@dataclass
class PhoneEvent:
    """What happened on the phone, in order: a push arrived (`push`), a link was opened (`opened`, a GET) or its
    page's button pressed (`pressed`, a POST)."""

    kind: str  # push | opened | pressed
    title: str = ""
    text: str = ""
    topic: str = ""
    priority: str = ""  # push: ntfy's priority (`max` for a P0), when Apprise set one
    status: int = 0  # opened, pressed: the page's HTTP status
    button: str = ""  # opened: the page's button, when it has one
    url: str = ""
    note: str = ""  # opened: what the demo checked changed (nothing)

    def page_lines(self) -> list[str]:
        """A web page (opened, pressed) as read: its heading, then its paragraphs."""
        return [f"“{self.title}”", *self.text.splitlines()]


@dataclass
class WebPage:
    """An HTML page as a person reads it: its heading, its paragraphs, and its post form (action, button label)."""

    heading: str = ""
    paragraphs: list[str] = field(default_factory=list)
    form_action: str | None = None
    button: str = ""


class _Reader(HTMLParser):
    """Reads `WebPage` out of the bot's HTML (stdlib only: the demo installs nothing beyond the bot)."""

    def __init__(self) -> None:
        super().__init__()
        self.page, self._in, self._text = WebPage(), "", ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post" and self.page.form_action is None:
            self.page.form_action = attributes.get("action") or ""
        if tag in ("h1", "p", "button"):
            self._in, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        text = " ".join(self._text.split())
        if tag == "h1":
            self.page.heading = text
        elif tag == "p" and text:
            self.page.paragraphs.append(text)
        elif tag == "button" and self.page.form_action is not None and not self.page.button:
            self.page.button = text
        self._in = ""


def read_page(html: str) -> WebPage:
    reader = _Reader()
    reader.feed(html)
    return reader.page


@dataclass
class Phone:
    """The receiver, and what bob did with what arrived; `stop()` frees its port."""

    events: list[PhoneEvent] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def apprise_url(self) -> str:
        """`NOTIFY_PUSH_URL` for the bot: ntfy over plain HTTP to this receiver, the topic being the address."""
        return f"ntfy://127.0.0.1:{self.port}/{{to}}?image=no"

    @property
    def pushes(self) -> list[PhoneEvent]:
        return [e for e in self.events if e.kind == "push"]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            return web.json_response({"error": "not JSON"}, status=400)
        self.events.append(PhoneEvent("push", str(body.get("title") or ""), str(body.get("message") or ""),
                                      topic=str(body.get("topic") or request.path.strip("/")),
                                      priority=request.headers.get("X-Priority") or str(body.get("priority") or "")))
        return web.json_response({"id": str(len(self.events)), "event": "message"})

    async def wait_for(self, found: Callable[[PhoneEvent], bool], timeout: float) -> PhoneEvent | None:
        """The first push since the start for which `found` holds, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            match = next((e for e in self.pushes if found(e)), None)
            if match is not None or time.monotonic() >= deadline:
                return match
            await asyncio.sleep(0.05)

    # -- bob's browser -------------------------------------------------------------------------------------------

    async def open(self, session: aiohttp.ClientSession, link: str) -> WebPage:
        """Opens `link` as tapping it in the notification does (a GET)."""
        async with session.get(link) as response:
            page = read_page(await response.text())
            self.events.append(PhoneEvent("opened", page.heading, "\n".join(page.paragraphs), status=response.status,
                                          button=page.button, url=link))
        return page

    async def press(self, session: aiohttp.ClientSession, link: str, page: WebPage) -> WebPage:
        """Presses the button of `page` (opened from `link`): its form POSTed where its `action` says, with no
        fields, as a browser sends it."""
        assert page.form_action is not None
        target = urljoin(link, page.form_action)
        async with session.post(target, data={}) as response:
            done = read_page(await response.text())
            self.events.append(PhoneEvent("pressed", done.heading, "\n".join(done.paragraphs),
                                          status=response.status, button=page.button, url=target))
        return done
