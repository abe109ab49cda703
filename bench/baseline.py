"""The baseline: a bare Bolt AsyncApp that only acks, served exactly as the bot serves Slack (aiohttp, the same
adapter, signature checks on). `python -m bench.baseline --port N`."""

from __future__ import annotations

import argparse
import logging
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult


def build(secret: str) -> web.Application:
    async def authorize(enterprise_id, team_id, **_kwargs) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-baseline")

    bolt = AsyncApp(signing_secret=secret, authorize=authorize, logger=logging.getLogger("baseline"))

    @bolt.command(re.compile(r"^/incident"))
    async def command(ack):
        await ack()

    @bolt.view(re.compile(".*"))
    async def view(ack):
        await ack()

    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", lambda _r: web.json_response({"ok": True}))
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default="bench-secret")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(build(args.secret), host="127.0.0.1", port=args.port, print=None, access_log=None)
