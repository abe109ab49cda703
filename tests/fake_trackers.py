"""HTTP fakes of GitHub's and GitLab's REST APIs (the issue calls the bridge makes), like the fake Slack.

Each listens on a free loopback port and
- records every call (method, path, query, JSON body),
- checks the token (401 otherwise) and the repository/project (404 otherwise), and validates arguments the way the
  real API does (422 from GitHub, 400 from GitLab, naming the field),
- keeps issues (number, id, title, body, labels, state, author, updated_at) and their comments; the issue list
  filters by author (GitHub's `creator`, GitLab's `author_username`) as the real APIs do; `add_issue` plants an
  issue by anyone, and its times come from one tracker clock (`moment`) shared with the webhook events tests build,
- can be told to fail: any status with any headers (GitHub's 403 with `x-ratelimit-remaining: 0`, its secondary
  limit's `retry-after`, GitLab's 429 with `Retry-After`), be down (503 until recovered), drop the connection, or
  act and then lose its answer (a 502 after the write: the caller cannot know it went through).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web

_moments = itertools.count(1)


def moment(n: int | None = None) -> str:
    """The tracker's clock: an issue's `updated_at`, later with every change or event unless a test says which."""
    seconds = next(_moments) if n is None else n
    return f"2026-11-24T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


@dataclass
class TrackerCall:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Failure:
    status: int  # 0: drop the connection; a negative status: carry the call out, then answer -status
    times: int
    headers: dict[str, str]
    method: str | None
    path_contains: str | None
    body: dict | None = None


@dataclass
class FakeTracker:
    """What GitHub and GitLab fakes share; `issues` by number."""

    token: str = "tracker-token"
    login: str = "firefighter-bot"
    calls: list[TrackerCall] = field(default_factory=list)
    issues: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, list[str]] = field(default_factory=dict)
    _failures: list[Failure] = field(default_factory=list)
    _down: int | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(9_000_001))

    async def start(self):
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        # Stopped, it cancels the calls still in flight at once (one held `slow` or `answer_late` for a process the
        # test killed) instead of waiting up to a minute for them.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what tests tell it ------------------------------------------------------------------------------------

    def fail(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None, method: str | None = None,
             path_contains: str | None = None, body: dict | None = None) -> None:
        self._failures.append(Failure(status, times, headers or {}, method, path_contains, body))

    def down(self, status: int = 503) -> None:
        """Every call answers `status` until `recover()`."""
        self._down = status

    def recover(self) -> None:
        self._down = None
        self._failures.clear()

    def writes(self) -> list[TrackerCall]:
        return [c for c in self.calls if c.method != "GET" and 200 <= c.status < 300]

    def issue_titled(self, prefix: str) -> list[dict]:
        return [i for i in self.issues.values() if i["title"].startswith(prefix)]

    def add_issue(self, title: str, labels: list[str], body: str = "", author: str = "octocat") -> dict:
        """An issue someone opened by hand."""
        return self._new_issue(title, body, labels, author)

    # -- serving -------------------------------------------------------------------------------------------------

    def _new_issue(self, title: str, body: str, labels: list[str], author: str) -> dict:
        number = len(self.issues) + 1
        issue = {"id": next(self._ids), "number": number, "title": title, "body": body, "labels": list(labels),
                 "state": "open", "state_reason": None, "author": author, "updated_at": moment()}
        self.issues[number] = issue
        self.comments[number] = []
        return issue

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if (failure.method in (None, method)) and (failure.path_contains is None or failure.path_contains in path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = "/" + unquote(request.match_info["path"])
        call = TrackerCall(request.method, path, dict(request.query), body)
        self.calls.append(call)
        if self._down is not None:
            call.status = self._down
            return web.json_response({"message": "Service Unavailable"}, status=self._down)
        failure = self._take_failure(request.method, path)
        if failure is not None and failure.status == 0:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if failure is not None and failure.status > 0:
            call.status = failure.status
            return web.json_response(failure.body or {"message": "failure the test asked for"},
                                     status=failure.status, headers=failure.headers)
        if not self._authorised(request):
            call.status = 401
            return web.json_response(self._unauthorised(), status=401)
        status, answer = self._serve(request.method, path, dict(request.query), body)
        if failure is not None:  # carried out; the answer the caller gets says otherwise
            status, answer = -failure.status, {"message": "Bad Gateway"}
        call.status = status
        return web.json_response(answer, status=status, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        return {}

    def _authorised(self, request: web.Request) -> bool:
        raise NotImplementedError

    def _unauthorised(self) -> dict:
        raise NotImplementedError

    def _serve(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


@dataclass
class FakeGitHub(FakeTracker):
    repo: str = "acme/infra"

    def _authorised(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() in ("token", "bearer") and token == self.token \
            and bool(request.headers.get("User-Agent"))  # GitHub refuses requests without one

    def _unauthorised(self) -> dict:
        return {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}

    def _headers(self) -> dict[str, str]:
        return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999",
                "x-ratelimit-reset": str(int(time.time()) + 3600)}

    def html_url(self, number: int) -> str:
        return f"https://github.com/{self.repo}/issues/{number}"

    def _json(self, issue: dict) -> dict:
        return {"id": issue["id"], "number": issue["number"], "title": issue["title"], "body": issue["body"],
                "labels": [{"name": name} for name in issue["labels"]], "state": issue["state"],
                "state_reason": issue["state_reason"], "html_url": self.html_url(issue["number"]),
                "user": {"login": issue["author"]}, "updated_at": issue["updated_at"]}

    @staticmethod
    def _invalid(field_name: str, code: str = "invalid") -> tuple[int, dict]:
        return 422, {"message": "Validation Failed",
                     "errors": [{"resource": "Issue", "code": code, "field": field_name}]}

    def _serve(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        if path == "/user" and method == "GET":
            return 200, {"login": self.login, "id": 1, "type": "Bot"}
        if path == f"/repos/{self.repo}" and method == "GET":
            return 200, {"id": 1, "full_name": self.repo, "has_issues": True}
        prefix = f"/repos/{self.repo}/issues"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        parts = [p for p in path[len(prefix):].split("/") if p]
        if not parts:
            if method == "GET":
                found = [i for i in sorted(self.issues.values(), key=lambda i: -i["number"])
                         if query.get("creator") in (None, i["author"])]
                return 200, [self._json(i) for i in found[:int(query.get("per_page", 30))]]
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"].strip():
                    return self._invalid("title", "missing_field")
                if len(body["title"]) > 256:
                    return self._invalid("title")
                if "labels" in body and not _is_str_list(body["labels"]):
                    return self._invalid("labels")
                if len(body.get("body") or "") > 65536:
                    return self._invalid("body")
                issue = self._new_issue(body["title"], body.get("body") or "", body.get("labels", []), self.login)
                return 201, self._json(issue)
            return 404, {"message": "Not Found"}
        if not parts[0].isdigit() or int(parts[0]) not in self.issues:
            return 404, {"message": "Not Found"}
        number = int(parts[0])
        issue = self.issues[number]
        if len(parts) == 1:
            if method == "GET":
                return 200, self._json(issue)
            if method == "PATCH":
                if not isinstance(body, dict):
                    return 400, {"message": "Problems parsing JSON"}
                if "labels" in body and not _is_str_list(body["labels"]):
                    return self._invalid("labels")
                if "state" in body and body["state"] not in ("open", "closed"):
                    return self._invalid("state")
                if body.get("state_reason") not in (None, "completed", "not_planned", "reopened"):
                    return self._invalid("state_reason")
                if "labels" in body:
                    issue["labels"] = list(dict.fromkeys(body["labels"]))
                if "state" in body:
                    issue["state"] = body["state"]
                    issue["state_reason"] = body.get("state_reason") if body["state"] == "closed" else None
                issue["updated_at"] = moment()
                return 200, self._json(issue)
        if parts[1:] == ["comments"]:
            if method == "GET":
                return 200, [{"id": n, "body": text} for n, text in enumerate(self.comments[number], 1)]
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"].strip():
                    return self._invalid("body", "missing_field")
                if len(body["body"]) > 65536:
                    return self._invalid("body")
                self.comments[number].append(body["body"])
                return 201, {"id": len(self.comments[number]), "body": body["body"]}
        return 404, {"message": "Not Found"}


@dataclass
class FakeGitLab(FakeTracker):
    project: str = "acme/infra"
    project_id: int = 4242

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("PRIVATE-TOKEN") == self.token

    def _unauthorised(self) -> dict:
        return {"message": "401 Unauthorized"}

    def web_url(self, number: int) -> str:
        return f"https://gitlab.example.com/{self.project}/-/issues/{number}"

    def _json(self, issue: dict) -> dict:
        return {"id": issue["id"], "iid": issue["number"], "title": issue["title"], "description": issue["body"],
                "labels": list(issue["labels"]), "state": "opened" if issue["state"] == "open" else "closed",
                "web_url": self.web_url(issue["number"]), "author": {"username": issue["author"]},
                "updated_at": issue["updated_at"]}

    def _serve(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        if path == "/api/v4/user" and method == "GET":
            return 200, {"id": 1, "username": self.login}
        prefix = "/api/v4/projects/"
        if not path.startswith(prefix):
            return 404, {"error": "404 Not Found"}
        project, issues, rest = path[len(prefix):].partition("/issues")
        if project not in (self.project, str(self.project_id)):
            return 404, {"message": "404 Project Not Found"}
        if not issues and method == "GET":
            return 200, {"id": self.project_id, "path_with_namespace": self.project, "issues_enabled": True}
        parts = [p for p in rest.split("/") if p]
        if not parts:
            if method == "GET":
                found = sorted(self.issues.values(), key=lambda i: -i["number"])
                search = query.get("search", "")
                return 200, [self._json(i) for i in found if search in i["title"]
                             and query.get("author_username") in (None, i["author"])][:int(query.get("per_page", 20))]
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"].strip():
                    return 400, {"error": "title is missing"}
                if len(body["title"]) > 255:
                    return 400, {"message": {"title": ["is too long (maximum is 255 characters)"]}}
                labels = body.get("labels", "")
                if not isinstance(labels, str):
                    return 400, {"error": "labels is invalid"}
                issue = self._new_issue(body["title"], body.get("description") or "",
                                        [label for label in labels.split(",") if label], self.login)
                return 201, self._json(issue)
            return 405, {"message": "405 Method Not Allowed"}
        if not parts[0].isdigit() or int(parts[0]) not in self.issues:
            return 404, {"message": "404 Not found"}
        number = int(parts[0])
        issue = self.issues[number]
        if len(parts) == 1:
            if method == "GET":
                return 200, self._json(issue)
            if method == "PUT":
                if not isinstance(body, dict) or not body:
                    return 400, {"error": "title, description, labels, state_event, ... are missing, "
                                          "at least one parameter must be provided"}
                if "state_event" in body and body["state_event"] not in ("close", "reopen"):
                    return 400, {"error": "state_event does not have a valid value"}
                if "labels" in body:
                    if not isinstance(body["labels"], str):
                        return 400, {"error": "labels is invalid"}
                    issue["labels"] = list(dict.fromkeys(label for label in body["labels"].split(",") if label))
                if "state_event" in body:
                    issue["state"] = "closed" if body["state_event"] == "close" else "open"
                issue["updated_at"] = moment()
                return 200, self._json(issue)
        if parts[1:] == ["notes"]:
            if method == "GET":
                notes = [{"id": n, "body": text} for n, text in enumerate(self.comments[number], 1)]
                return 200, notes[::-1] if query.get("sort") == "desc" else notes
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("body"), str) or not body["body"].strip():
                    return 400, {"error": "body is missing"}
                self.comments[number].append(body["body"])
                return 201, {"id": len(self.comments[number]), "body": body["body"]}
        return 404, {"error": "404 Not Found"}
