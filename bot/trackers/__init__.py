"""The issue trackers' edge: GitHub and GitLab REST clients behind one small interface. Only the delivery engine's
tracker deliveries (bot/delivery/tracker.py) call their writes; the rules are in bot/domain/tracker.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.config import Settings
from bot.domain.tracker import IssueRef

TIMEOUT_SECONDS = 20  # one call; the delivery engine bounds an attempt (every call in it) by half its lease


class TrackerDown(Exception):
    """The tracker did not answer, answered 5xx, or asked us to slow down: try again later (`retry_after`
    seconds, when it said)."""

    def __init__(self, error: str, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error, self.retry_after = error, retry_after


class TrackerRefused(Exception):
    """The tracker said no for good (bad token, no such repository, a refused field): trying again will not help."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


Relabel = Callable[[Sequence[str]], list[str]]  # the issue's labels now -> the labels it should carry


@dataclass(frozen=True)
class Synced:
    """What `set_issue` did: `changed` the issue or found it as it should be already; `at`: the issue's own time
    in the tracker's last answer (after the change, or when it was read), None if it gave none."""

    changed: bool
    at: datetime | None


class Tracker(Protocol):
    name: str  # github | gitlab

    async def whoami(self) -> str:
        """The account the bot acts as (its webhook events are the bot's own changes coming back)."""

    async def describe(self) -> str:
        """`python -m bot check`: the repository/project as the token sees it, and who the bot is there; refused
        when the token cannot see it or issues are off there."""

    async def find_issue(self, title_prefix: str, since: datetime, author: str, mark: str) -> IssueRef | None:
        """The issue the bot opened before a crash or an unclear answer, or None: its title starts with
        `title_prefix`, it was opened since `since` by `author` (the bot's own account) and its body carries
        `mark` (the rule: bot/domain/tracker.py `own_issue`). Anyone's issue with the same title is not it."""

    async def open_issue(self, title: str, body: str, labels: Sequence[str]) -> IssueRef: ...

    async def set_issue(self, number: int, relabel: Relabel, state: str, reason: str) -> Synced:
        """Labels and open/closed (`reason`: why closed, where the tracker keeps one) made what they should be."""

    async def has_comment(self, number: int, marker: str, since: datetime) -> bool: ...

    async def comment(self, number: int, body: str) -> None: ...

    async def close(self) -> None: ...


def make_trackers(settings: Settings) -> dict[str, Tracker]:
    """The trackers configured (SPEC §2 "Issue tracker"): none, GitHub, GitLab or both."""
    from bot.trackers.github import GitHub
    from bot.trackers.gitlab import GitLab

    trackers: dict[str, Tracker] = {}
    if settings.github_repo and settings.github_token:
        trackers["github"] = GitHub(settings.github_repo, settings.github_token, settings.github_api_url)
    if settings.gitlab_project and settings.gitlab_token:
        trackers["gitlab"] = GitLab(settings.gitlab_project, settings.gitlab_token, settings.gitlab_url)
    return trackers
