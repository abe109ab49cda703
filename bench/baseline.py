"""The baseline: a bare Bolt AsyncApp served exactly as the bot serves Slack (aiohttp, the same adapter, signature
checks on). It only acks, except that `/incident` with no text also opens a small form with `views.open` on the
same fake Slack after the ack, as the bot does, so the time from `/incident` to its form has a baseline too.

`python -m bench.baseline --port N --slack-api-url URL`."""

from __future__ import annotations

import argparse
import logging
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

FORM = {"type": "modal", "callback_id": "baseline_form", "title": {"type": "plain_text", "text": "Declare"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [{"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
                    "element": {"type": "plain_text_input", "action_id": "title_input"}}]}


def build(secret: str, slack_api_url: str) -> web.Application:
    async def authorize(enterprise_id, team_id, **_kwargs) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-baseline")

    bolt = AsyncApp(signing_secret=secret, authorize=authorize, logger=logging.getLogger("baseline"),
                    client=AsyncWebClient(base_url=slack_api_url))

    @bolt.command(re.compile(r"^/incident"))
    async def command(ack, command, client):
        await ack()
        if not command.get("text", "").strip():
            await client.views_open(trigger_id=command["trigger_id"], view=FORM)

    @bolt.view(re.compile(".*"))
    async def view(ack):
        await ack()

    @bolt.action(re.compile(".*"))
    async def action(ack):
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
    parser.add_argument("--slack-api-url", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(build(args.secret, args.slack_api_url), host="127.0.0.1", port=args.port, print=None,
                access_log=None)
