"""The issue trackers' webhooks: `POST /webhooks/github` (`issues` events, `X-Hub-Signature-256`) and
`POST /webhooks/gitlab` (Issue Hooks, `X-Gitlab-Token`). SPEC §2 "Issue tracker".

Every refusal happens before anything is stored: 404 while the tracker or its secret is not configured, 413 over
1 MiB, 401 for a bad signature or token (compared in constant time), 400 naming what is malformed. Events about
other repositories, other event types or issues outside the queue are answered 202 and change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.db import repo
from bot.domain.tracker import IssueEvent
from bot.http.alerts import cleaned
from bot.http.tokens import as_bytes
from bot.services.issue_events import IssueEvents
from bot.trackers.events import BadEvent, Ignored, github_event, gitlab_event, same_project

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def _answer(status: int, **body: Any) -> web.Response:
    return web.json_response(body, status=status)


async def _body(request: web.Request) -> bytes | web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, error="the body is over 1 MiB")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, error="the body is over 1 MiB")
    return raw if len(raw) <= MAX_BODY else _answer(413, error="the body is over 1 MiB")


def _github_signed(raw: bytes, headers, secret: str) -> bool:
    """HMAC-SHA256 of the body (never the older SHA-1 header's scheme), compared as bytes in constant time: a
    header that is not ASCII (`sha256=éé`) or not UTF-8 is a mismatch, not an exception."""
    expected = b"sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(as_bytes(headers.get("X-Hub-Signature-256")), expected)


def _gitlab_signed(raw: bytes, headers, secret: str) -> bool:
    return hmac.compare_digest(as_bytes(headers.get("X-Gitlab-Token")), secret.encode())


Parse = Callable[[str, str, Any], IssueEvent | Ignored]


def add_webhook_routes(app: web.Application, settings: Settings, events: IssueEvents,
                       db: repo.database.Database) -> None:
    def endpoint(name: str, project: str | None, secret: str | None, setting: str, signed, parse: Parse,
                 event_header: str, delivery_header: str):
        async def handle(request: web.Request) -> web.Response:
            if not project or not secret:
                return _answer(404, error=f"{name} webhooks are not enabled (set {setting})")
            raw = await _body(request)
            if isinstance(raw, web.Response):
                return raw
            if not signed(raw, request.headers, secret):
                log.warning("%s webhook refused: bad signature or token (from %s)", name, request.remote)
                return _answer(401, error="bad signature" if name == "GitHub" else "wrong or missing X-Gitlab-Token")
            try:
                body = cleaned(json.loads(raw))
            except (ValueError, UnicodeDecodeError, RecursionError):
                return _answer(400, error="the body is not valid JSON", field="body")
            delivery = request.headers.get(delivery_header, "").strip()[:100] or hashlib.sha256(raw).hexdigest()[:40]
            try:
                event = parse(request.headers.get(event_header, ""), delivery, body)
            except BadEvent as exc:
                return _answer(400, error=exc.message, field=exc.field)
            if isinstance(event, Ignored):
                return _answer(202, ignored=event.reason)
            if not same_project(event, project):
                return _answer(202, ignored=f"{event.project} is not {project}")
            heard = await db.run(events.receive, event)
            return _answer(202, **heard.as_json())
        return handle

    app.router.add_post("/webhooks/github", endpoint(
        "GitHub", settings.github_repo, settings.github_webhook_secret, "GITHUB_REPO and GITHUB_WEBHOOK_SECRET",
        _github_signed, github_event, "X-GitHub-Event", "X-GitHub-Delivery"))
    app.router.add_post("/webhooks/gitlab", endpoint(
        "GitLab", settings.gitlab_project, settings.gitlab_webhook_token, "GITLAB_PROJECT and GITLAB_WEBHOOK_TOKEN",
        _gitlab_signed, gitlab_event, "X-Gitlab-Event", "X-Gitlab-Event-UUID"))
