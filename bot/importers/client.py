"""A read-only JSON client for a source's REST API: its auth header, retries on 429 and 5xx that honour the
source's wait headers (PagerDuty's `ratelimit-reset`, `Retry-After`, Opsgenie's `X-RateLimit-Period-In-Sec`), and a
clear refusal on 401/403 (a wrong key is said once, not retried)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

TRIES = 5
WAIT_HEADERS = ("Retry-After", "ratelimit-reset", "X-RateLimit-Period-In-Sec")
MAX_WAIT = 60.0


class SourceRefused(Exception):
    """The source said no for good (a wrong key, no permission, not found): the import stops, saying why."""


def wait_of(headers: Any, attempt: int) -> float:
    """How long to wait before trying again: the source's own header when it sends one, else 0.5, 1, 2, 4 s."""
    for name in WAIT_HEADERS:
        value = headers.get(name)
        if value:
            try:
                return min(max(float(value), 0.0), MAX_WAIT)
            except ValueError:
                continue
    return min(0.5 * 2 ** attempt, MAX_WAIT)


class JsonClient:
    def __init__(self, base_url: str, headers: dict[str, str], name: str, *, timeout: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.base_url, self.headers, self.name = base_url.rstrip("/"), headers, name
        self.timeout, self.sleep = aiohttp.ClientTimeout(total=timeout), sleep
        self.calls = 0

    async def get(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        async with aiohttp.ClientSession(timeout=self.timeout, headers=self.headers) as session:
            attempt = -1
            while True:
                attempt += 1
                self.calls += 1
                try:
                    async with session.get(url, params=params) as response:
                        if response.status in (401, 403):
                            raise SourceRefused(f"{self.name} refused the key ({response.status}): check it and "
                                                "its permissions (read access to users, schedules, escalations).")
                        if response.status == 404:
                            raise SourceRefused(f"{self.name} has no {path} (404).")
                        if response.status == 429 or response.status >= 500:
                            if attempt + 1 < TRIES:
                                await self.sleep(wait_of(response.headers, attempt))
                                continue
                            raise SourceRefused(f"{self.name} kept answering {response.status} for {path}.")
                        if response.status >= 400:
                            raise SourceRefused(f"{self.name} refused {path} ({response.status}): "
                                                f"{(await response.text())[:200]}")
                        return await response.json(content_type=None)
                except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                    if attempt + 1 >= TRIES:
                        raise SourceRefused(f"could not reach {self.name} ({exc.__class__.__name__}).") from None
                    await self.sleep(wait_of({}, attempt))
