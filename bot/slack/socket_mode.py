"""Socket Mode: the websocket to Slack is opened in the background, after the HTTP server serves, and tried again with
backoff while Slack cannot be reached or refuses; `/healthz` tells its state.

Opening it had been part of start-up: while Slack could not be reached the port never opened and `/healthz` never
answered. Once connected, slack-sdk's client keeps the connection (it reconnects by itself when it drops);
`state()` asks it whether it is connected right now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

CONNECTED, CONNECTING = "connected", "connecting"


class _WhileConnecting(logging.Filter):
    """slack-sdk logs a traceback for every failed attempt; ours say it once per attempt, in one line."""

    def __init__(self, connection: SocketConnection) -> None:
        super().__init__()
        self.connection = connection

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.connection.connecting and str(record.msg).startswith("Failed to connect"))


class SocketConnection:
    """The Socket Mode connection of one process. `start()` needs the running loop; it returns at once."""

    def __init__(self, bolt: AsyncApp, app_token: str, *, first_retry: float = 1.0, max_retry: float = 30.0,
                 attempt_timeout: float = 15.0) -> None:
        self.bolt, self.app_token = bolt, app_token
        self.first_retry, self.max_retry, self.attempt_timeout = first_retry, max_retry, attempt_timeout
        self.handler: AsyncSocketModeHandler | None = None
        self.connecting = False
        self.attempts = 0
        self.error: str | None = None  # why the last attempt failed, while not connected
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        sdk_log = logging.getLogger("bot.slack.socket_mode.sdk")
        sdk_log.addFilter(_WhileConnecting(self))
        self.handler = AsyncSocketModeHandler(self.bolt, self.app_token, logger=sdk_log)
        self.connecting = True
        self._task = asyncio.get_running_loop().create_task(self._connect(), name="socket-mode-connect")

    async def _connect(self) -> None:
        assert self.handler is not None
        client = self.handler.client
        delay = self.first_retry
        while True:
            self.attempts += 1
            try:
                client.wss_uri = await client.issue_new_wss_url()  # apps.connections.open, with the app token
                await asyncio.wait_for(client.connect(), self.attempt_timeout)  # the websocket itself
            except Exception as exc:  # whatever stops this attempt, the next one comes
                self.error = _describe(exc)
                log.warning("Socket Mode: cannot connect to Slack (%s); trying again in %g s", self.error, delay)
                client.wss_uri = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry)
                continue
            self.connecting, self.error = False, None
            log.info("Socket Mode: connected to Slack (attempt %d)", self.attempts)
            return

    async def state(self) -> dict:
        """For /healthz: `{"socket": "connected"}`, or `"connecting"` with the last attempt's error, if any."""
        if not self.connecting and self.handler is not None and await self.handler.client.is_connected():
            return {"socket": CONNECTED}
        body: dict = {"socket": CONNECTING, "socket_attempts": self.attempts}
        if self.error:
            body["socket_error"] = self.error
        return body

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.handler is not None:
            await self.handler.close_async()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"apps.connections.open: {exc.response.get('error') or exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"[:300]
