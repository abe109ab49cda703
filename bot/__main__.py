"""`python -m bot`: HTTP mode by default, Socket Mode when SLACK_APP_TOKEN is set (HTTP still serves /healthz)."""

from __future__ import annotations

import logging
import os
import sys

from aiohttp import web

from bot.config import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"firefighter: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    from bot.runtime import build_runtime

    try:
        runtime = build_runtime(settings, clock=_clock())
    except Exception as exc:  # start-up must fail with one readable line, not a trace
        print(f"firefighter: cannot start: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handlers: list[AsyncSocketModeHandler] = []

        async def connect(_app: web.Application) -> None:
            handlers.append(AsyncSocketModeHandler(runtime.bolt, settings.slack_app_token))  # needs the running loop
            await handlers[0].connect_async()

        async def disconnect(_app: web.Application) -> None:
            for handler in handlers:
                await handler.close_async()

        runtime.web.on_startup.append(connect)
        runtime.web.on_cleanup.insert(0, disconnect)
    mode = "Socket Mode" if settings.socket_mode else "HTTP (/slack/events)"
    logging.getLogger("bot").info("Firefighter listening on %s:%s, %s", settings.host, settings.port, mode)
    web.run_app(runtime.web, host=settings.host, port=settings.port, print=None,
                access_log=logging.getLogger("bot.access") if settings.log_level == "DEBUG" else None)
    return 0


def _clock():
    """The system clock, unless a time-travel test hands the process a clock file (FIREFIGHTER_CLOCK_FILE)."""
    path = os.environ.get("FIREFIGHTER_CLOCK_FILE")
    if not path:
        return None
    from bot.clock import FileClock

    return FileClock(path)


if __name__ == "__main__":
    sys.exit(main())
