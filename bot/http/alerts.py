"""The alert endpoints: authenticate, read the sender's JSON, hand each alert to the service. SPEC §2 "Alerts".

Every refusal happens before anything is stored: 404 when no ALERTS_TOKEN is configured, 401 for a wrong token
(compared in constant time), 415 for a body that is not JSON, 413 over 1 MiB, 400 naming the bad field. An
Alertmanager body is taken whole however many alerts it holds (Alertmanager never retries a 4xx: a refusal would
lose the group); the alerts it says it left out (`truncatedAlerts`) are shown on their incidents and counted in
/metrics.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.db import repo
from bot.domain.alerts import Alert, BadAlert, Ignored, left_out, parse_alertmanager, parse_generic, parse_gitlab
from bot.domain.heartbeats import NAME as HEARTBEAT_NAME
from bot.http.metrics import ALERTS_LEFT_OUT
from bot.http.tokens import as_bytes
from bot.services import Alerts, Heartbeats
from bot.slack.text import clean_text

ALERTS_PER_JOB = 100  # a body's alerts received in one database job, at most

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


def cleaned(value: Any) -> Any:
    """Every string in a sender's JSON as it may be stored (no NUL or other control characters: PostgreSQL refuses
    NUL), whatever field it is in — one pass at the door instead of a check per field."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): cleaned(v) for k, v in value.items()}
    return value


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return web.json_response(body, status=status)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (content_type.startswith("application/")
                                                   and content_type.endswith("+json"))


async def _left_out(request: web.Request, receiver: Alerts, db: repo.database.Database, reached: list[int],
                    count: int) -> None:
    """Alertmanager's `truncatedAlerts`: counted in /metrics, shown on the incidents the group reached (and
    cleared from them when a later notification of the group is whole again)."""
    if count:
        log.warning("Alertmanager left %s alerts out of a group (max_alerts on its receiver)", count)
        if (counter := request.app.get(ALERTS_LEFT_OUT)) is not None:
            counter.inc(count)
    if reached:
        await db.run(receiver.left_out, reached, count)


async def json_body(request: web.Request, error: Callable[..., web.Response]) -> Any:
    """The request's JSON, cleaned (`cleaned`), or the refusal to answer with (415, 413, 400), in `error`'s shape."""
    if not _is_json(request.content_type):
        return error(415, "send application/json", "Content-Type")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, "the body is over 1 MiB")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, "the body is over 1 MiB")
    if len(raw) > MAX_BODY:
        return error(413, "the body is over 1 MiB")
    try:
        return cleaned(json.loads(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return error(400, "the body is not valid JSON", "body")


async def receive(receiver: Alerts, db: repo.database.Database, source: str,
                  alerts: list[Alert | Ignored]) -> tuple[list[dict], list[int]]:
    """Each alert through the one alert path, a hundred to a database job: (what each became, incidents reached)."""
    results, reached = [], []
    for at in range(0, len(alerts), ALERTS_PER_JOB):  # (other requests' database work goes in between)
        chunk = alerts[at:at + ALERTS_PER_JOB]
        taken = iter(await db.run(receiver.receive_alerts, [a for a in chunk if not isinstance(a, Ignored)],
                                  []))  # (the list is the job's own: run again, it goes on where it was)
        for alert in chunk:
            if isinstance(alert, Ignored):
                results.append({"incident": None, "created": False, "ignored": alert.reason})
                continue
            received = next(taken)
            log.info("%s alert %s → %s", source, alert.fingerprint, received.as_json())
            results.append(received.as_json())
            if received.incident is not None:
                reached.append(received.incident.id)
    return results, reached


def add_alert_routes(app: web.Application, settings: Settings, receiver: Alerts, db: repo.database.Database) -> None:
    def endpoint(source: str, parse: Callable[[Any, web.Request], list[Alert | Ignored]]):
        async def handle(request: web.Request) -> web.Response:
            token = settings.alerts_token
            if not token:
                return _error(404, "alerts are not enabled (set ALERTS_TOKEN)")
            given = request.headers.get("X-Gitlab-Token", "") if source == "gitlab" else ""
            given = given or _bearer(request)
            if not hmac.compare_digest(as_bytes(given), token.encode()):
                return _error(401, "wrong or missing token" + (" (X-Gitlab-Token)" if source == "gitlab" else
                                                               " (Authorization: Bearer …)"))
            body = await json_body(request, _error)
            if isinstance(body, web.Response):
                return body
            try:
                alerts = parse(body, request)
            except BadAlert as exc:
                return _error(exc.status, exc.message, exc.field)
            results, reached = await receive(receiver, db, source, alerts)
            if source == "alertmanager":
                await _left_out(request, receiver, db, reached, left_out(body))
            answer = dict(results[0])
            if len(results) > 1:
                answer = {"incident": next((r["incident"] for r in results if r["incident"]), None),
                          "created": any(r["created"] for r in results), "incidents": results}
            return web.json_response(answer, status=202)
        return handle

    app.router.add_post("/alerts/generic", endpoint("generic", lambda body, _r: [parse_generic(body)]))
    app.router.add_post("/alerts/alertmanager", endpoint("alertmanager", lambda body, _r: parse_alertmanager(body)))
    app.router.add_post("/alerts/gitlab", endpoint(
        "gitlab", lambda body, r: [parse_gitlab(body, r.headers.get("X-Gitlab-Event"))]))


def add_heartbeat_routes(app: web.Application, settings: Settings, heartbeats: Heartbeats,
                         db: repo.database.Database) -> None:
    """`POST /heartbeats/<name>` (GET too, for senders that can only GET): a beat, with the alerts token. The
    body, if any, is not read. 404 without ALERTS_TOKEN or for a name that is not a heartbeat; 401 for a wrong
    token (checked first, so names are not told to strangers); nothing stored on either."""
    async def beat(request: web.Request) -> web.Response:
        token = settings.alerts_token
        if not token:
            return _error(404, "heartbeats are not enabled (set ALERTS_TOKEN)")
        if not hmac.compare_digest(as_bytes(_bearer(request)), token.encode()):
            return _error(401, "wrong or missing token (Authorization: Bearer …)")
        name = request.match_info["name"].lower()
        if not HEARTBEAT_NAME.fullmatch(name):
            return _error(404, "no heartbeat has that name", "name")
        found = await db.run(heartbeats.beat, name)
        if found is None:
            return _error(404, f"there is no heartbeat called {name!r} (`/incident heartbeat create`)", "name")
        return web.json_response(found.as_json(), status=202)

    app.router.add_post("/heartbeats/{name}", beat)
    app.router.add_get("/heartbeats/{name}", beat, allow_head=False)  # a HEAD (a link checker) is no beat
