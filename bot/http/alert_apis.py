"""The PagerDuty Events API v2 and the Opsgenie Alert API, answered by the bot (SPEC § Moving in): an integration
that speaks either — Alertmanager's `pagerduty_configs` and `opsgenie_configs`, Grafana alerting — moves by changing
its URL. Their answers and errors are in each API's own shape; what they carry goes the one alert path
(http/alerts.py `receive`). Nothing is stored on a refusal.

- `POST /v2/enqueue`: `routing_key` is ALERTS_TOKEN or a rotation's own key (`rotation key <name>`: its alerts go
  to that rotation; PagerDuty's events endpoint takes no header). 202
  `{"status": "success", "message": "Event processed", "dedup_key": …}`; 400 `{"status": "invalid event", "message":
  …, "errors": […]}` (developer.pagerduty.com/docs/events-api-v2/overview).
- `POST /v2/alerts`, `POST /v2/alerts/{identifier}/close|acknowledge`, `GET|POST /v2/heartbeats/{name}/ping` with
  `Authorization: GenieKey <ALERTS_TOKEN>`: 202 `{"result": …, "took": …, "requestId": …}`; errors
  `{"message": …, "took": …, "requestId": …}` with 401, 404, 422 (docs.opsgenie.com/docs/alert-api).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.db import repo
from bot.domain.alert_apis import Acknowledge, parse_opsgenie, parse_pagerduty, request_id, stored_key
from bot.domain.alerts import Alert, BadAlert
from bot.domain.heartbeats import NAME as HEARTBEAT_NAME
from bot.http.alerts import json_body, receive
from bot.http.tokens import as_bytes
from bot.services import Alerts, Heartbeats
from bot.services.alerts import acknowledge_at_source
from bot.services.routes import key_hash
from bot.slack.text import clean_text


def rotation_of_key(db: repo.database.Database, key: str) -> str | None:
    with db.reading() as session:
        return repo.routes.rotation_of_key(session=session, key_hash=key_hash(key))


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(as_bytes(given), token.encode())


def _pd_error(status: int, message: str, field: str | None = None) -> web.Response:
    errors = [f"{field}: {message}"] if field else [message]
    return web.json_response({"status": "invalid event", "message": "Event object is invalid", "errors": errors},
                             status=status)


def _og(status: int, started: float, **fields: Any) -> web.Response:
    return web.json_response({**fields, "took": round(time.monotonic() - started, 3), "requestId": request_id()},
                             status=status)


def _og_error(started: float):
    def error(status: int, message: str, field: str | None = None) -> web.Response:
        return _og(422 if status == 400 else status, started, message=f"{field}: {message}" if field else message)
    return error


def add_alert_api_routes(app: web.Application, settings: Settings, receiver: Alerts, heartbeats: Heartbeats,
                         db: repo.database.Database) -> None:
    async def enqueue(request: web.Request) -> web.Response:
        token = settings.alerts_token
        if not token:
            return _pd_error(404, "the PagerDuty Events API is not enabled (set ALERTS_TOKEN)")
        body = await json_body(request, _pd_error)
        if isinstance(body, web.Response):
            return body
        try:
            routing_key, event = parse_pagerduty(body)
        except BadAlert as exc:
            return _pd_error(exc.status, exc.message, exc.field)
        answered = body.get("dedup_key") if isinstance(body.get("dedup_key"), str) else event.fingerprint
        if not _same(routing_key, token):
            rotation = await db.run(rotation_of_key, db, routing_key)
            if rotation is None:
                return _pd_error(400, "unknown routing_key", "routing_key")
            # A rotation's own key: its alerts go to it, whatever the routes say, and its events reach only
            # the alerts sent with it (a key handed to one team cannot resolve another's).
            scoped = stored_key("pagerduty", f"{rotation}/{event.fingerprint}")
            event = replace(event, rotation=rotation, pinned=True, fingerprint=scoped) if isinstance(event, Alert) \
                else replace(event, fingerprint=scoped)
        if isinstance(event, Acknowledge):
            await db.run(acknowledge_at_source, receiver, event)
        else:
            await receive(receiver, db, "pagerduty", [event])
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": answered},
                                 status=202)

    def genie(handler):
        async def checked(request: web.Request) -> web.Response:
            started, token = time.monotonic(), settings.alerts_token
            if not token:
                return _og(404, started, message="the Opsgenie Alert API is not enabled (set ALERTS_TOKEN)")
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "geniekey" or not _same(given.strip(), token):
                return _og(401, started, message="Could not authenticate (Authorization: GenieKey …)")
            return await handler(request, started)
        return checked

    async def create(request: web.Request, started: float) -> web.Response:
        body = await json_body(request, _og_error(started))
        if isinstance(body, web.Response):
            return body
        try:
            alert = parse_opsgenie(body)
        except BadAlert as exc:
            return _og_error(started)(exc.status, exc.message, exc.field)
        await receive(receiver, db, "opsgenie", [alert])
        return _og(202, started, result="Request will be processed")

    async def act(request: web.Request, started: float) -> web.Response:
        raw, action = request.match_info["identifier"], request.match_info["action"]
        kind = request.query.get("identifierType", "id")
        if kind not in ("id", "alias", "tiny"):
            return _og(422, started, message="identifierType must be id, alias or tiny")
        if not 0 < len(raw) <= 512 or clean_text(raw) != raw:
            return _og(422, started, message="identifier must be 1 to 512 characters, without control characters")
        identifier = stored_key("opsgenie", raw)
        body = await json_body(request, _og_error(started)) if request.can_read_body else {}
        if isinstance(body, web.Response):
            return body
        by = body.get("user") if isinstance(body, dict) and isinstance(body.get("user"), str) else ""
        if action == "close":
            await receive(receiver, db, "opsgenie", [Alert(source="opsgenie", fingerprint=identifier,
                                                           title="closed", firing=False)])
        else:
            await db.run(acknowledge_at_source, receiver, Acknowledge("opsgenie", identifier, by[:100]))
        return _og(202, started, result="Request will be processed")

    async def ping(request: web.Request, started: float) -> web.Response:
        name = request.match_info["name"].lower()
        if not HEARTBEAT_NAME.fullmatch(name) or await db.run(heartbeats.beat, name) is None:
            return _og(404, started, message=f"Heartbeat with name [{name[:80]}] doesn't exist")
        return _og(202, started, result="PONG - Heartbeat received")

    app.router.add_post("/v2/enqueue", enqueue)
    app.router.add_post("/v2/alerts", genie(create))
    app.router.add_post("/v2/alerts/{identifier}/{action:close|acknowledge}", genie(act))
    for method in ("GET", "POST", "PUT", "PATCH"):
        app.router.add_route(method, "/v2/heartbeats/{name}/ping", genie(ping))
