"""Test helpers for the issue tracker bridge: a fake GitHub or GitLab beside the bot, and their webhook events
built from the real payload samples in tests/payloads/ and signed as each tracker signs them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fake_trackers import FakeGitHub, FakeGitLab, FakeTracker, moment

PAYLOADS = Path(__file__).parent / "payloads"
WEBHOOK_SECRET = "webhook-secret-123"
_deliveries = itertools.count(1)


def _sample(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


@dataclass
class Side:
    """One tracker as the bot sees it: its fake API, the settings that point the bot at it, and its webhooks."""

    name: str  # github | gitlab
    fake: FakeTracker

    @property
    def title(self) -> str:
        return "GitHub" if self.name == "github" else "GitLab"

    def settings(self, **more: Any) -> dict:
        if self.name == "github":
            return {"github_repo": self.fake.repo, "github_token": self.fake.token,  # type: ignore[attr-defined]
                    "github_api_url": self.fake.url, "github_webhook_secret": WEBHOOK_SECRET, **more}
        return {"gitlab_project": self.fake.project, "gitlab_token": self.fake.token,  # type: ignore[attr-defined]
                "gitlab_url": self.fake.url, "gitlab_webhook_token": WEBHOOK_SECRET, **more}

    def url_of(self, number: int) -> str:
        fake = self.fake
        return fake.html_url(number) if isinstance(fake, FakeGitHub) else fake.web_url(number)  # type: ignore

    def event(self, action: str, issue: dict, *, sender: str = "octocat", project: str | None = None,
              updated_at: str | None = None) -> dict:
        """`action`: opened, labeled, unlabeled, closed, reopened or edited, about `issue` as the fake keeps it."""
        updated_at = updated_at or moment()
        if self.name == "github":
            body = copy.deepcopy(_sample("github_issues_labeled.json"))
            body["action"] = action
            body["issue"].update(id=issue["id"], number=issue["number"], title=issue["title"], body=issue["body"],
                                 labels=[{"name": name, "color": "d73a4a"} for name in issue["labels"]],
                                 state=issue["state"], html_url=self.url_of(issue["number"]), updated_at=updated_at)
            body["repository"]["full_name"] = project or self.fake.repo  # type: ignore[attr-defined]
            body["sender"]["login"] = sender
            if action not in ("labeled", "unlabeled"):
                body.pop("label", None)
            return body
        body = copy.deepcopy(_sample("gitlab_issue_hook.json"))
        gitlab_action = {"opened": "open", "closed": "close", "reopened": "reopen"}.get(action, "update")
        labels = [{"id": n, "title": name, "type": "ProjectLabel"} for n, name in enumerate(issue["labels"], 1)]
        body["object_attributes"].update(
            id=issue["id"], iid=issue["number"], title=issue["title"], description=issue["body"],
            state="opened" if issue["state"] == "open" else "closed", action=gitlab_action,
            url=self.url_of(issue["number"]), labels=labels, updated_at=updated_at)
        body["labels"] = labels
        body["project"]["path_with_namespace"] = project or self.fake.project  # type: ignore[attr-defined]
        body["project"]["id"] = self.fake.project_id  # type: ignore[attr-defined]
        body["user"]["username"] = sender
        if action in ("labeled", "unlabeled"):
            body["changes"]["labels"] = {"previous": [], "current": labels}
        else:
            body["changes"].pop("labels", None)
        return body

    def signed(self, body: bytes, *, delivery: str | None = None, secret: str = WEBHOOK_SECRET,
               event: str | None = None) -> dict[str, str]:
        delivery = delivery or f"delivery-{next(_deliveries)}"
        if self.name == "github":
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            return {"X-GitHub-Event": event or "issues", "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}
        return {"X-Gitlab-Event": event or "Issue Hook", "X-Gitlab-Event-UUID": delivery, "X-Gitlab-Token": secret,
                "Content-Type": "application/json"}

    async def send(self, bot, body: dict | bytes, **signing: Any) -> tuple[int, dict]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with bot.slack.session.post(f"{bot.url}/webhooks/{self.name}", data=raw,
                                          headers=self.signed(raw, **signing)) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, {"text": text}


async def start_side(name: str) -> Side:
    fake = FakeGitHub() if name == "github" else FakeGitLab()
    await fake.start()
    return Side(name, fake)
