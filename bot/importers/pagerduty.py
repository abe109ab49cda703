"""PagerDuty's REST API v2, read-only (developer.pagerduty.com; the shapes in
docs/research/opsgenie-pagerduty-apis.md): users, schedules with their layers, overrides, the rendered final
schedule (who is on call, for `--compare`), escalation policies. Lists page by `limit`/`offset` while `more`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.importers.client import JsonClient

API_URL = "https://api.pagerduty.com"
PAGE = 100


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PagerDuty:
    def __init__(self, token: str, api_url: str = API_URL, **client: Any) -> None:
        self.client = JsonClient(api_url, {"Authorization": f"Token token={token}",
                                           "Accept": "application/vnd.pagerduty+json;version=2"}, "PagerDuty",
                                 **client)

    async def _all(self, path: str, key: str, params: list[tuple[str, Any]] | None = None) -> list[dict]:
        found: list[dict] = []
        offset = 0
        while True:
            answer = await self.client.get(path, [*(params or []), ("limit", PAGE), ("offset", offset)])
            page = answer.get(key) or []
            found += page
            if not answer.get("more") or not page:
                return found
            offset += len(page)

    async def users(self) -> list[dict]:
        return await self._all("/users", "users")

    async def schedules(self) -> list[dict]:
        return await self._all("/schedules", "schedules", [("include[]", "schedule_layers"), ("time_zone", "UTC")])

    async def schedule(self, schedule_id: str, time_zone: str) -> dict:
        """One schedule with its layers, their restrictions' times on `time_zone`'s clock (the API gives them in the
        zone the request names: the list's are in UTC)."""
        answer = await self.client.get(f"/schedules/{schedule_id}", [("time_zone", time_zone)])
        return answer.get("schedule") or {}

    async def overrides(self, schedule_id: str, since: datetime, until: datetime) -> list[dict]:
        answer = await self.client.get(f"/schedules/{schedule_id}/overrides",
                                       [("since", _iso(since)), ("until", _iso(until))])
        return answer.get("overrides") or []

    async def on_call(self, schedule_id: str, since: datetime, until: datetime) -> list[tuple[datetime, datetime,
                                                                                                   str]]:
        """(start, end, user id) of the final schedule — layers and overrides together, as PagerDuty pages."""
        answer = await self.client.get(f"/schedules/{schedule_id}", [("since", _iso(since)), ("until", _iso(until)),
                                                                     ("time_zone", "UTC")])
        entries = (((answer.get("schedule") or {}).get("final_schedule") or {})
                   .get("rendered_schedule_entries") or [])
        return [(datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]), e["user"]["id"])
                for e in entries if isinstance(e.get("user"), dict)]

    async def escalation_policies(self) -> list[dict]:
        return await self._all("/escalation_policies", "escalation_policies")
