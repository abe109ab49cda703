"""The providers beyond Slack, as real servers the bot reaches through Apprise (no mock of Apprise itself):

- `MailServer`: a real SMTP server (aiosmtpd) that Apprise's `mailto://` speaks to; it can refuse recipients
  (`550`, for good) or be down (stopped: nothing listens on its port).
- `PushServer`: an HTTP receiver in the shape of ntfy (https://docs.ntfy.sh/publish/#publish-as-json: a JSON POST to
  `/` with `topic`, `title`, `message`; Apprise puts the priority in `X-Priority`) and of Apprise's `json://`
  (https://github.com/caronc/apprise/wiki/Notify_Custom_JSON: `{version, title, message, type}` POSTed to the path).
  It records every request and can answer with a status (401 for good, 503 for a while), be slow, or be down.
"""

from __future__ import annotations

import asyncio
import email
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy

from aiohttp import web
from aiosmtpd.controller import Controller

from bench.processes import free_port


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    at: float = field(default_factory=time.monotonic)  # when it was taken (real time)


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.server.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.server.mails.append(Mail(list(envelope.rcpt_tos), str(message["Subject"]),
                                      message.get_body(("plain",)).get_content()))
        if self.server.on_data is not None:  # e.g. kill the bot: the mail is taken, the bot never hears so
            self.server.on_data()
        return "250 OK"


class MailServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[Mail] = []
        self.refuse = False
        self.on_data: Callable[[], None] | None = None  # called as each mail is taken
        self._controller: Controller | None = None

    def url(self, sender: str = "ff@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={{to}}"

    def start(self) -> MailServer:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=5)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Push:
    path: str
    headers: dict[str, str]
    body: dict

    @property
    def text(self) -> str:
        return self.body.get("message", "")


@dataclass
class PushServer:
    status: int = 200
    delay: float = 0.0
    pushes: list[Push] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # every answer's status, refusals included
    port: int = field(default_factory=free_port)
    _runner: web.AppRunner | None = None

    def ntfy_url(self, secret: str = "") -> str:
        auth = f"bot:{secret}@" if secret else ""
        return f"ntfy://{auth}127.0.0.1:{self.port}/{{to}}?image=no"

    def json_url(self, secret: str = "", path_secret: str = "") -> str:
        """`path_secret`: a token in the path, where some providers keep theirs."""
        auth = f"bot:{secret}@" if secret else ""
        path = f"{path_secret}/" if path_secret else ""
        return f"json://{auth}127.0.0.1:{self.port}/sms/{path}{{to}}"

    async def _receive(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.answered.append(self.status)
        if self.status != 200:
            return web.json_response({"error": "refused"}, status=self.status)
        self.pushes.append(Push(request.path, dict(request.headers), json.loads(await request.text() or "{}")))
        return web.json_response({"id": str(len(self.pushes))})

    async def start(self) -> PushServer:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)  # (the provider's log, not ours)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
