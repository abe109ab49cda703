"""The HTTP server: Slack requests at /slack/events, /healthz, /metrics, alerts at /alerts/*, and the read-only
board and calendar feeds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.db import repo
from bot.db.engine import database_answers
from bot.domain.fairness import DEFAULT_WEEKS
from bot.http.ack import add_ack_routes
from bot.http.alert_apis import add_alert_api_routes
from bot.http.alerts import add_alert_routes, add_heartbeat_routes
from bot.http.api import add_api_routes
from bot.http.api_routes import ROUTES
from bot.http.board import add_board_routes
from bot.http.headers import add_page_headers
from bot.http.metrics import add_metrics
from bot.http.sign_in import add_sign_in_routes
from bot.http.status_page import add_status_routes
from bot.http.tokens import page_allowed
from bot.http.webhooks import add_webhook_routes
from bot.runtime.background import Background
from bot.services import Services
from bot.slack.gateway import SlackGateway
from bot.slack.request_body import bolt_request as bolt_request_of
from bot.slack.shape import malformed
from bot.slack.signature import SlackSignature

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
HEALTH_TIMEOUT = 5  # seconds: a database that takes longer to say SELECT 1 counts as unreachable


def _ssl_check(request: web.Request, body: bytes) -> bool:
    """Slack's unsigned certificate probe for slash commands, and nothing else: a form of exactly `ssl_check=1` and
    `token`, each once (Bolt answers it with an empty 200 and does nothing). Any other field — a command,
    a payload — makes it an ordinary request, which must be signed."""
    if body.count(b"&") != 1 or request.content_type != "application/x-www-form-urlencoded" or len(body) > 1000:
        return False  # two fields or none of it (every slash command was read by parse_qsl here: 10% of its ack)
    try:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return sorted(key for key, _ in fields) == ["ssl_check", "token"] and dict(fields)["ssl_check"] == "1"


def _states_only(body: dict, settings: Settings) -> dict:
    """/healthz for strangers: each part's state (ok, late, refused, connecting…), no names, handles, members,
    logins, error texts or counts by kind."""
    public = {key: body[key] for key in ("ok", "database", "socket", "socket_attempts", "engine") if key in body}
    if "outbox" in body:
        waited = body["outbox"]["oldest_queued_seconds"]
        public["outbox"] = "late" if waited > 2 * settings.scheduler_tick.total_seconds() else "ok"
    if "trackers" in body:
        public["trackers"] = {name: entry["state"] for name, entry in body["trackers"].items()}
    if "usergroups" in body:
        public["usergroups"] = "refused" if any(g["state"] != "ok" for g in body["usergroups"].values()) else "ok"
    return public


def build_web_app(bolt: AsyncApp, db: repo.database.Database, settings: Settings, services: Services,
                  background: Background, socket_state: Callable[[], Awaitable[dict]] | None = None,
                  slack: SlackGateway | None = None) -> web.Application:
    """`socket_state`: in Socket Mode, the connection's state for /healthz (`bot.slack.socket_mode`)."""
    async def slack_events(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if not _ssl_check(request, body) and not signature.check(body, request.headers, request.remote):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = bolt_request_of(body.decode(), request.query_string, request.headers, request.content_type)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:  # Bolt could not read it
            log.warning("a signed request Bolt cannot read: %s", exc.__class__.__name__)
            return web.json_response({"error": "malformed request"}, status=400)
        if why := malformed(bolt_request.body):
            log.warning("a signed request in a shape Slack does not send: %s", why)
            return web.json_response({"error": f"malformed request: {why}"}, status=400)
        background.request_started()  # work started after earlier acks waits for this one
        try:
            bolt_response = await bolt.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)
        finally:
            background.request_finished()

    async def healthz(request: web.Request) -> web.Response:
        """Whether each part works, for anyone (the port faces the internet for webhooks and sign-in): states only.
        The details — what is owed by kind, the trackers' account and refusals, the @oncall groups and their
        members, the socket's last error — need the board's door: a signed-in session or a signed page link
        (`/incident board`), so only people of the workspace see them. Counts are on /metrics too."""
        try:
            answers = await asyncio.wait_for(db.run(database_answers, db.engine), HEALTH_TIMEOUT)
        except TimeoutError:
            answers = False
        body: dict = {"ok": answers, "database": "ok" if answers else "unreachable"}
        if socket_state is not None:  # Socket Mode: healthy only while Slack's requests can reach us
            body.update(await socket_state())
            body["ok"] = answers and body["socket"] == "connected"
        if answers:  # owed to Slack: `queued` waits for Slack, `failed` was refused for good (see the log), by kind
            backlog = await db.run(services.outbox.backlog)
            counts = backlog["counts"]
            body["outbox"] = {"queued": sum(counts.get("queued", {}).values()),
                              "failed": sum(counts.get("failed", {}).values()),
                              "oldest_queued_seconds": backlog["oldest_queued_seconds"],
                              "failed_by_kind": counts.get("failed", {})}
            if settings.trackers:  # a tracker refusing for good (a bad token, a gone repository) shows here
                body["trackers"] = await db.run(services.issue_events.health, counts)
            if groups := await db.run(services.usergroups.health):  # @oncall groups Slack would not set
                body["usergroups"] = groups
            late = await db.run(services.watch.late)  # due work the tick should have done two ticks ago
            body["engine"] = "late" if late else "ok"
            if late:
                body["late"] = late
                body["ok"] = False
        if not viewer(request) and not page_allowed(settings.web_secret or "", request.query.get("token"),
                                                    services.reading.clock.now()):
            body = _states_only(body, settings)
        return web.json_response(body, status=200 if body["ok"] else 503)

    app = web.Application(client_max_size=MAX_BODY)
    if not settings.socket_mode:  # in Socket Mode Slack's requests come over the socket: nothing to accept here
        signature = SlackSignature(settings.slack_signing_secret or "")
        app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    add_page_headers(app, settings)
    add_alert_routes(app, settings, services.alerts, db)
    add_heartbeat_routes(app, settings, services.heartbeats, db)
    add_alert_api_routes(app, settings, services.alerts, services.heartbeats, db)
    add_webhook_routes(app, settings, services.issue_events, db)
    add_ack_routes(app, settings, services.ack_links, db, services.reading.clock.now)
    add_metrics(app, db, services.outbox.backlog, services.watch)
    viewer = add_sign_in_routes(app, settings, slack or services.people.slack, services.reading, services.working,
                                db)
    add_board_routes(app, settings, services.reading, services.rotations, services.reminders.policy, db,
                     services.usergroups.state_of, lambda rotation: services.fairness.loads(rotation, DEFAULT_WEEKS),
                     viewer, services.people.want, services.people.names_now, services.fairness.report,
                     services.maintenance.page)
    if settings.status_page:
        add_status_routes(app, services.status_page, services.status_subscribers, db)
    add_api_routes(app, settings, services, db, ROUTES)
    return app
