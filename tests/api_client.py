"""Talking to `/api/v1` as a client does: a token made with the slash command, requests over real HTTP."""

from __future__ import annotations

import json
import re

import aiohttp

ADMIN = "U0ADMIN"


async def new_token(bot, name: str, scope: str, user: str = ADMIN) -> str:
    status, body, _ = await bot.slack.command(f"api token create {name} {scope}", user=user)
    assert status == 200, body
    found = re.search(r"`(ff_[A-Za-z0-9_-]+)`", body)
    assert found, body
    return found.group(1)


async def call(bot, method: str, path: str, token: str | None = None, body: object = None,
               headers: dict | None = None) -> tuple[int, dict, object]:
    """(status, headers, JSON body or text) of one request; `token` None sends no Authorization."""
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    if body is not None:
        sent.setdefault("Content-Type", "application/json")
    async with aiohttp.ClientSession() as session, session.request(
            method, f"{bot.url}/api/v1{path}", headers=sent,
            data=None if body is None else json.dumps(body)) as answer:
        text = await answer.text()
        try:
            parsed: object = json.loads(text)
        except ValueError:
            parsed = text
        return answer.status, dict(answer.headers), parsed
