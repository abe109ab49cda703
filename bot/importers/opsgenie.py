"""Opsgenie's REST API, read-only (docs.opsgenie.com; the shapes in docs/research/opsgenie-pagerduty-apis.md):
users, schedules with their rotations, overrides, who is on call at an instant, escalations, heartbeats. Lists
page by `offset`/`limit` (100 at most) until `paging.next` is absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.importers.client import JsonClient

API_URL = "https://api.opsgenie.com"
PAGE = 100


class Opsgenie:
    def __init__(self, api_key: str, api_url: str = API_URL, **client: Any) -> None:
        self.client = JsonClient(api_url, {"Authorization": f"GenieKey {api_key}", "Accept": "application/json"},
                                 "Opsgenie", **client)

    async def _pages(self, path: str, params: dict[str, Any] | None = None) -> list[dict]:
        found: list[dict] = []
        offset = 0
        while True:
            answer = await self.client.get(path, {**(params or {}), "offset": offset, "limit": PAGE})
            page = answer.get("data") or []
            found += page
            if not page or not (answer.get("paging") or {}).get("next"):
                return found
            offset += len(page)

    async def users(self) -> list[dict]:
        return await self._pages("/v2/users")

    async def schedules(self) -> list[dict]:
        return await self._pages("/v2/schedules", {"expand": "rotation"})

    async def overrides(self, schedule_id: str) -> list[dict]:
        answer = await self.client.get(f"/v2/schedules/{schedule_id}/overrides", {"scheduleIdentifierType": "id"})
        return answer.get("data") or []

    async def on_call(self, schedule_id: str, at: datetime) -> list[str]:
        """The usernames (emails) on call at `at`, as Opsgenie itself answers (for `--compare`)."""
        answer = await self.client.get(f"/v2/schedules/{schedule_id}/on-calls", {
            "scheduleIdentifierType": "id", "flat": "true",
            "date": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")})
        return list((answer.get("data") or {}).get("onCallRecipients") or [])

    async def escalations(self) -> list[dict]:
        answer = await self.client.get("/v2/escalations")
        return answer.get("data") or []

    async def heartbeats(self) -> list[dict]:
        answer = await self.client.get("/v2/heartbeats")
        return (answer.get("data") or {}).get("heartbeats") or []  # (nested, unlike every other list)
