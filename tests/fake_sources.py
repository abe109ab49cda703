"""Fake Opsgenie and PagerDuty REST servers for the importer's tests, in the shapes of their public API docs
(docs.opsgenie.com/docs/user-api, schedule-api, who-is-on-call-api, escalation-api, heartbeat-api; PagerDuty's
api-schema reference/REST/openapiv3.json: /users, /schedules, /schedules/{id}/overrides, /escalation_policies —
summarised with sources in docs/research/opsgenie-pagerduty-apis.md). They page as the real ones do, refuse a
wrong key (401), and can answer 429 (with the source's wait header) a given number of times first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeSource:
    def __init__(self, key: str) -> None:
        self.key = key
        self.throttle = 0  # answer 429 this many times before answering
        self.seen: list[tuple[str, dict]] = []
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url(""))

    async def start(self) -> FakeSource:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    @web.middleware
    async def _middleware(self, request: web.Request, handler):
        self.seen.append((request.path, dict(request.query)))
        if not self.authorised(request.headers.get("Authorization", "")):
            return self.refusal()
        if self.throttle > 0:
            self.throttle -= 1
            return web.json_response({"message": "too many requests"}, status=429, headers=self.wait_header())
        return await handler(request)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def authorised(self, header: str) -> bool:
        raise NotImplementedError

    def refusal(self) -> web.Response:
        raise NotImplementedError

    def wait_header(self) -> dict[str, str]:
        raise NotImplementedError


def answer(respond):
    """An async handler from a plain function of the request (aiohttp wants coroutines)."""
    async def handler(request: web.Request) -> web.Response:
        return respond(request)
    return handler


def _window(items: list, query: Any, default: int) -> tuple[list, int, int]:
    offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", default)), 100)
    return items[offset:offset + limit], offset, limit


class FakeOpsgenie(FakeSource):
    """Users page by offset/limit with `paging.next`; schedules expand their rotations; on-calls answer
    `onCallRecipients` from `on_call` (schedule id → usernames, or a function of the `date` asked about);
    heartbeats nest under `data.heartbeats`."""

    def __init__(self, key: str = "og-key") -> None:
        super().__init__(key)
        self.users: list[dict] = []
        self.schedules: list[dict] = []
        self.overrides: dict[str, list[dict]] = {}
        self.on_call: dict[str, list[str] | Callable[[datetime], list[str]]] = {}
        self.escalations: list[dict] = []
        self.heartbeats: list[dict] = []

    def authorised(self, header: str) -> bool:
        return header == f"GenieKey {self.key}"

    def refusal(self) -> web.Response:
        return web.json_response({"message": "apiKey is invalid or integration is disabled", "took": 0.0,
                                  "requestId": "r"}, status=401)

    def wait_header(self) -> dict[str, str]:
        return {"X-RateLimit-State": "THROTTLED", "X-RateLimit-Period-In-Sec": "0"}

    def routes(self, app: web.Application) -> None:
        def envelope(data: Any, **more: Any) -> web.Response:
            return web.json_response({"data": data, "took": 0.01, "requestId": "r", **more})

        async def users(request: web.Request) -> web.Response:
            page, offset, limit = _window(self.users, request.query, 20)
            more = offset + limit < len(self.users)
            nxt = {"next": f"{self.url}/v2/users?offset={offset + limit}&limit={limit}"} if more else {}
            return envelope(page, totalCount=len(self.users), paging=nxt)

        app.router.add_get("/v2/users", users)
        app.router.add_get("/v2/schedules", answer(lambda _r: envelope(self.schedules, expandable=["rotation"])))
        app.router.add_get("/v2/schedules/{id}/overrides",
                           answer(lambda r: envelope(self.overrides.get(r.match_info["id"], []))))
        def on_calls(request: web.Request) -> web.Response:
            found = self.on_call.get(request.match_info["id"], [])
            if callable(found):  # `date` as the who-is-on-call API takes it: ISO 8601, `Z` or an offset
                found = found(datetime.fromisoformat(request.query["date"].replace("Z", "+00:00")))
            return envelope({"_parent": {"id": request.match_info["id"]}, "onCallRecipients": found})

        app.router.add_get("/v2/schedules/{id}/on-calls", answer(on_calls))
        app.router.add_get("/v2/escalations", answer(lambda _r: envelope(self.escalations)))
        app.router.add_get("/v2/heartbeats", answer(lambda _r: envelope({"heartbeats": self.heartbeats})))


class FakePagerDuty(FakeSource):
    """Lists page by limit/offset with `more`; a schedule's detail renders `final_schedule` from `final` (entries,
    or a function of the `since` and `until` asked about)."""

    def __init__(self, key: str = "pd-key") -> None:
        super().__init__(key)
        self.users: list[dict] = []
        self.schedules: list[dict] = []
        self.overrides: dict[str, list[dict]] = {}
        self.final: dict[str, list[dict] | Callable[[datetime, datetime], list[dict]]] = {}
        self.policies: list[dict] = []

    def authorised(self, header: str) -> bool:
        return header == f"Token token={self.key}"

    def refusal(self) -> web.Response:
        return web.json_response({"error": {"message": "Unauthorized", "code": 2006}}, status=401)

    def wait_header(self) -> dict[str, str]:
        return {"ratelimit-reset": "0"}

    def routes(self, app: web.Application) -> None:
        def listing(key: str, items: list[dict]):
            async def handle(request: web.Request) -> web.Response:
                page, offset, limit = _window(items, request.query, 25)
                return web.json_response({key: page, "limit": limit, "offset": offset,
                                          "more": offset + limit < len(items), "total": None})
            return handle

        async def schedules(request: web.Request) -> web.Response:
            zone = request.query.get("time_zone")
            return await listing("schedules", [in_zone(s, zone) for s in self.schedules])(request)

        async def schedule(request: web.Request) -> web.Response:
            found = next((s for s in self.schedules if s["id"] == request.match_info["id"]), None)
            if found is None:
                return web.json_response({"error": {"message": "Not Found", "code": 2100}}, status=404)
            found = in_zone(found, request.query.get("time_zone"))
            entries = self.final.get(found["id"], [])
            if callable(entries):  # rendered only for a range asked about
                entries = entries(*(datetime.fromisoformat(request.query[k].replace("Z", "+00:00"))
                                    for k in ("since", "until"))) if "since" in request.query else []
            return web.json_response({"schedule": {**found, "final_schedule": {
                "name": "Final Schedule", "rendered_schedule_entries": entries}}})

        app.router.add_get("/users", listing("users", self.users))
        app.router.add_get("/schedules", schedules)
        app.router.add_get("/schedules/{id}", schedule)
        app.router.add_get("/schedules/{id}/overrides", answer(
            lambda r: web.json_response({"overrides": self.overrides.get(r.match_info["id"], [])})))
        app.router.add_get("/escalation_policies", listing("escalation_policies", self.policies))


def in_zone(schedule: dict, zone: str | None) -> dict:
    """A schedule as PagerDuty answers a request naming `time_zone`: "Restrictions respect the time_zone parameter
    of the request" (api-schema openapiv3.json, Restriction) — the times of day (and weekdays) moved to that zone's
    clock, at today's offsets. The fixtures are written on the schedule's own clock."""
    if not zone or zone == schedule.get("time_zone"):
        return schedule
    now = datetime.now(ZoneInfo(schedule.get("time_zone") or "UTC"))
    shift = (datetime.now(ZoneInfo(zone)).utcoffset() - now.utcoffset()).total_seconds()

    def moved(restriction: dict) -> dict:
        at = datetime.strptime(restriction["start_time_of_day"], "%H:%M:%S")
        minutes = at.hour * 60 + at.minute + int(shift // 60)
        days, minutes = divmod(minutes, 24 * 60)
        out = {**restriction, "start_time_of_day": f"{minutes // 60:02d}:{minutes % 60:02d}:00"}
        if "start_day_of_week" in restriction:
            out["start_day_of_week"] = (restriction["start_day_of_week"] - 1 + days) % 7 + 1
        return out
    return {**schedule, "schedule_layers": [{**layer, "restrictions": [moved(r) for r in layer.get("restrictions")
                                                                        or []]}
                                            for layer in schedule.get("schedule_layers") or []]}
