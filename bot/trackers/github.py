"""GitHub's REST API through gidgethub (async on our aiohttp, GitHub's errors and rate-limit headers read for us).

A token needs `issues: write` on the repository (fine-grained) or `repo` / `public_repo` (classic).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI

from bot.domain.tracker import IssueRef, own_issue
from bot.trackers import TIMEOUT_SECONDS, Relabel, Synced, TrackerDown, TrackerRefused
from bot.trackers.events import issue_time

USER_AGENT = "firefighter-incident-bot"
SECONDARY_WAIT = 60.0  # seconds


def _retry_after(exc: gidgethub.HTTPException) -> float | None:
    """Seconds to wait, from `Retry-After` (secondary limits) or `X-RateLimit-Reset` (the hourly quota)."""
    headers = exc.headers or {}
    if value := headers.get("retry-after"):
        try:
            return max(float(value), 1.0)
        except ValueError:
            return None
    if (reset := headers.get("x-ratelimit-reset")) and headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(float(reset) - time.time(), 1.0)
        except ValueError:
            return None
    return None


class GitHub:
    name = "github"

    def __init__(self, repo: str, token: str, api_url: str) -> None:
        self.repo, self.token, self.api_url = repo, token, api_url
        self._session: aiohttp.ClientSession | None = None
        self._api: GitHubAPI | None = None

    def _client(self) -> GitHubAPI:
        if self._api is None:  # made in the running loop, on first use
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))
            self._api = GitHubAPI(self._session, USER_AGENT, oauth_token=self.token, base_url=self.api_url)
        return self._api

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(self, method: str, path: str, data: dict | None = None) -> object:
        api = self._client()
        try:
            if method == "GET":
                return await api.getitem(path)
            if method == "POST":
                return await api.post(path, data=data)
            return await api.patch(path, data=data)
        except gidgethub.RateLimitExceeded as exc:
            raise TrackerDown("rate limited (the hourly quota is used up)", _retry_after(exc)) from exc
        except gidgethub.GitHubBroken as exc:
            raise TrackerDown(f"GitHub answered {int(exc.status_code)}") from exc
        except gidgethub.HTTPException as exc:
            status = int(exc.status_code)
            wait = _retry_after(exc)
            if status == 429 or (status == 403 and wait is not None):
                raise TrackerDown(f"rate limited ({status})", wait) from exc
            if status == 403 and any(word in str(exc).lower() for word in ("rate limit", "abuse")):
                # A secondary limit may come without a header: GitHub asks for at least a minute then.
                raise TrackerDown(f"rate limited ({status}: {exc})"[:200], SECONDARY_WAIT) from exc
            raise TrackerRefused(f"GitHub answered {status}: {exc}"[:300]) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TrackerDown(f"GitHub unreachable ({exc.__class__.__name__})") from exc
        except ValueError as exc:  # a body that is not what the content type says
            raise TrackerDown(f"GitHub answered something unreadable ({exc})") from exc

    def _issues(self, suffix: str = "") -> str:
        return f"/repos/{self.repo}/issues{suffix}"

    @staticmethod
    def _ref(issue: dict) -> IssueRef:
        user = issue.get("user") if isinstance(issue.get("user"), dict) else {}
        return IssueRef("github", str(issue["id"]), int(issue["number"]), str(issue.get("html_url") or ""),
                        str(user.get("login") or ""), issue_time(issue.get("updated_at")))

    async def whoami(self) -> str:
        user = await self._call("GET", "/user")
        return str(user["login"])  # type: ignore[index]

    async def describe(self) -> str:
        login = await self.whoami()
        repo = await self._call("GET", f"/repos/{self.repo}")
        if not repo.get("has_issues", True):  # type: ignore[union-attr]
            raise TrackerRefused(f"issues are turned off on {self.repo}")
        return f"{repo.get('full_name', self.repo)} as @{login}"  # type: ignore[union-attr]

    async def find_issue(self, title_prefix: str, since: datetime, author: str, mark: str) -> IssueRef | None:
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        issues = await self._call("GET", self._issues(f"?state=all&sort=created&direction=desc&per_page=100"
                                                       f"&since={stamp}&creator={quote(author, safe='')}"))
        for issue in issues or ():  # type: ignore[union-attr]
            if "pull_request" not in issue and str(issue.get("title", "")).startswith(title_prefix):
                ref = self._ref(issue)
                if own_issue(ref.author, str(issue.get("body") or ""), author, mark):
                    return ref
        return None

    async def open_issue(self, title: str, body: str, labels: Sequence[str]) -> IssueRef:
        issue = await self._call("POST", self._issues(), {"title": title, "body": body, "labels": list(labels)})
        return self._ref(issue)  # type: ignore[arg-type]

    async def set_issue(self, number: int, relabel: Relabel, state: str, reason: str) -> Synced:
        issue = await self._call("GET", self._issues(f"/{number}"))
        current = [label["name"] for label in issue.get("labels", ())]  # type: ignore[union-attr]
        change: dict = {"labels": relabel(current), "state": state}
        if state == "closed":
            change["state_reason"] = reason
        if set(change["labels"]) == set(current) and state == issue.get("state"):  # type: ignore[union-attr]
            return Synced(False, issue_time(issue.get("updated_at")))  # type: ignore[union-attr]
        changed = await self._call("PATCH", self._issues(f"/{number}"), change)
        return Synced(True, issue_time(changed.get("updated_at")) if isinstance(changed, dict) else None)

    async def has_comment(self, number: int, marker: str, since: datetime) -> bool:
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        comments = await self._call("GET", self._issues(f"/{number}/comments?per_page=100&since={stamp}"))
        return any(marker in str(c.get("body", "")) for c in comments or ())  # type: ignore[union-attr]

    async def comment(self, number: int, body: str) -> None:
        await self._call("POST", self._issues(f"/{number}/comments"), {"body": body})
