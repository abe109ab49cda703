"""GitLab's REST API (v4) over our aiohttp. python-gitlab would block the event loop (it is built on requests), and
the five calls the bridge makes are plain JSON: a small client of our own reads GitLab's errors and its
`Retry-After` / `RateLimit-Reset` headers.

A token needs the `api` scope and at least the Reporter role on the project (a project access token does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

import aiohttp

from bot.domain.tracker import IssueRef, own_issue
from bot.trackers import TIMEOUT_SECONDS, Relabel, Synced, TrackerDown, TrackerRefused
from bot.trackers.events import issue_time


def _retry_after(headers) -> float | None:
    if value := headers.get("Retry-After"):
        try:
            return max(float(value), 1.0)
        except ValueError:
            return None
    if value := headers.get("RateLimit-Reset"):
        try:
            return max(float(value) - time.time(), 1.0)
        except ValueError:
            return None
    return None


def _reason(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:120].decode(errors="replace")
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)
    return str(data)


class GitLab:
    name = "gitlab"

    def __init__(self, project: str, token: str, url: str) -> None:
        self.token = token
        self.api = f"{url}/api/v4"
        self.project = f"{self.api}/projects/{quote(project, safe='')}"
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made in the running loop, on first use
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
                                                  headers={"PRIVATE-TOKEN": self.token})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, url: str, data: dict | None = None) -> object:
        try:
            async with self._client().request(method, url, json=data) as response:
                body = await response.read()
                status = response.status
                if status == 429:
                    raise TrackerDown("rate limited (429)", _retry_after(response.headers))
                if status >= 500:
                    raise TrackerDown(f"GitLab answered {status}", _retry_after(response.headers))
                if status >= 400:
                    raise TrackerRefused(f"GitLab answered {status}: {_reason(body)}"[:300])
                return json.loads(body) if body else None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TrackerDown(f"GitLab unreachable ({exc.__class__.__name__})") from exc
        except ValueError as exc:
            raise TrackerDown(f"GitLab answered something unreadable ({exc})") from exc

    @staticmethod
    def _ref(issue: dict) -> IssueRef:
        author = issue.get("author") if isinstance(issue.get("author"), dict) else {}
        return IssueRef("gitlab", str(issue["id"]), int(issue["iid"]), str(issue.get("web_url") or ""),
                        str(author.get("username") or ""), issue_time(issue.get("updated_at")))

    async def whoami(self) -> str:
        user = await self._call("GET", f"{self.api}/user")
        return str(user["username"])  # type: ignore[index]

    async def describe(self) -> str:
        login = await self.whoami()
        project = await self._call("GET", self.project)
        if project.get("issues_enabled") is False:  # type: ignore[union-attr]
            raise TrackerRefused("issues are turned off on the project")
        return f"{project.get('path_with_namespace')} as @{login}"  # type: ignore[union-attr]

    async def find_issue(self, title_prefix: str, since: datetime, author: str, mark: str) -> IssueRef | None:
        query = urlencode({"search": title_prefix.rstrip(": "), "in": "title", "state": "all", "per_page": 100,
                           "order_by": "created_at", "sort": "desc", "author_username": author,
                           "created_after": since.strftime("%Y-%m-%dT%H:%M:%SZ")})
        issues = await self._call("GET", f"{self.project}/issues?{query}")
        for issue in issues or ():  # type: ignore[union-attr]
            if str(issue.get("title", "")).startswith(title_prefix):
                ref = self._ref(issue)
                if own_issue(ref.author, str(issue.get("description") or ""), author, mark):
                    return ref
        return None

    async def open_issue(self, title: str, body: str, labels: Sequence[str]) -> IssueRef:
        issue = await self._call("POST", f"{self.project}/issues",
                                 {"title": title, "description": body, "labels": ",".join(labels)})
        return self._ref(issue)  # type: ignore[arg-type]

    async def set_issue(self, number: int, relabel: Relabel, state: str, reason: str) -> Synced:
        issue = await self._call("GET", f"{self.project}/issues/{number}")
        current = [str(label) for label in issue.get("labels", ())]  # type: ignore[union-attr]
        labels = relabel(current)
        now_open = issue.get("state") == "opened"  # type: ignore[union-attr]
        change: dict = {}
        if set(labels) != set(current):
            change["labels"] = ",".join(labels)
        if now_open != (state == "open"):
            change["state_event"] = "reopen" if state == "open" else "close"
        if not change:
            return Synced(False, issue_time(issue.get("updated_at")))  # type: ignore[union-attr]
        changed = await self._call("PUT", f"{self.project}/issues/{number}", change)
        return Synced(True, issue_time(changed.get("updated_at")) if isinstance(changed, dict) else None)

    async def has_comment(self, number: int, marker: str, since: datetime) -> bool:
        notes = await self._call("GET", f"{self.project}/issues/{number}/notes?sort=desc&order_by=created_at"
                                        "&per_page=100")
        return any(marker in str(n.get("body", "")) for n in notes or ())  # type: ignore[union-attr]

    async def comment(self, number: int, body: str) -> None:
        await self._call("POST", f"{self.project}/issues/{number}/notes", {"body": body})
