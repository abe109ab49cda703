"""What GitHub's and GitLab's issue webhooks send, read into an IssueEvent (bot/domain/tracker.py) in the same
words for both — or Ignored (an event that changes nothing here), or BadEvent (a signed body in a shape the tracker
does not send: 400, naming the field). The trackers' edge: their payloads' shapes stay here, out of the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.tracker import IssueEvent


class BadEvent(ValueError):
    """A signed event in a shape the tracker does not send: 400, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Ignored:
    reason: str


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BadEvent(where, f"{where} is missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadEvent(where, f"{where} has the wrong type")
    return value


def _text(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise BadEvent(where, f"{where} must be text")
    return value or ""


def issue_time(value: Any) -> datetime | None:
    """`2019-05-15T15:20:18Z` (GitHub, GitLab) or `2017-09-15 16:52:00 UTC` (older GitLab hooks); else None."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _label_names(labels: Any, key: str, where: str) -> tuple[str, ...]:
    if labels is None:
        return ()
    if not isinstance(labels, list):
        raise BadEvent(where, f"{where} must be a list")
    names = []
    for label in labels:
        name = label.get(key) if isinstance(label, dict) else None
        if not isinstance(name, str):
            raise BadEvent(where, f"{where} must hold labels with a {key}")
        names.append(name)
    return tuple(names)


_GITHUB_ACTIONS = {"opened": "opened", "closed": "closed", "reopened": "reopened", "labeled": "labeled",
                   "unlabeled": "labeled", "edited": "edited"}


def github_event(event: str, delivery_id: str, body: Any) -> IssueEvent | Ignored:
    """An `issues` webhook delivery; any other event (ping, pushes, comments) is not about the queue."""
    if event != "issues":
        return Ignored(f"not an issues event ({event or 'no X-GitHub-Event'})")
    if not isinstance(body, dict):
        raise BadEvent("body", "the body must be a JSON object")
    action = _need(body, "action", str, "action")
    if action not in _GITHUB_ACTIONS:
        return Ignored(f"issues {action} changes nothing here")
    issue = _need(body, "issue", dict, "issue")
    repository = _need(body, "repository", dict, "repository")
    sender = body.get("sender") if isinstance(body.get("sender"), dict) else {}
    state = _need(issue, "state", str, "issue.state")
    return IssueEvent(
        tracker="github", delivery_id=delivery_id, action=_GITHUB_ACTIONS[action],
        project=_need(repository, "full_name", str, "repository.full_name"),
        project_id=str(_need(repository, "id", int, "repository.id")),
        issue_id=str(_need(issue, "id", int, "issue.id")), number=_need(issue, "number", int, "issue.number"),
        title=_need(issue, "title", str, "issue.title"), body=_text(issue, "body", "issue.body"),
        url=_need(issue, "html_url", str, "issue.html_url"),
        labels=_label_names(issue.get("labels"), "name", "issue.labels"),
        state="closed" if state == "closed" else "open", sender=str(sender.get("login") or ""),
        updated_at=issue_time(issue.get("updated_at")))


_GITLAB_ACTIONS = {"open": "opened", "close": "closed", "reopen": "reopened", "update": "edited"}


def gitlab_event(event: str, delivery_id: str, body: Any) -> IssueEvent | Ignored:
    """An Issue Hook (also a confidential one); any other hook is not about the queue."""
    if event not in ("Issue Hook", "Confidential Issue Hook"):
        return Ignored(f"not an Issue Hook ({event or 'no X-Gitlab-Event'})")
    if not isinstance(body, dict):
        raise BadEvent("body", "the body must be a JSON object")
    if body.get("object_kind") != "issue":
        return Ignored(f"object_kind {body.get('object_kind')!r} is not an issue")
    issue = _need(body, "object_attributes", dict, "object_attributes")
    project = _need(body, "project", dict, "project")
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    action = issue.get("action") if isinstance(issue.get("action"), str) else "update"
    changes = body.get("changes") if isinstance(body.get("changes"), dict) else {}
    kind = _GITLAB_ACTIONS.get(action, "edited")
    if kind == "edited" and "labels" in changes:
        kind = "labeled"
    labels = body.get("labels") if "labels" in body else issue.get("labels")
    state = _need(issue, "state", str, "object_attributes.state")
    return IssueEvent(
        tracker="gitlab", delivery_id=delivery_id, action=kind,
        project=_need(project, "path_with_namespace", str, "project.path_with_namespace"),
        project_id=str(_need(project, "id", int, "project.id")),
        issue_id=str(_need(issue, "id", int, "object_attributes.id")),
        number=_need(issue, "iid", int, "object_attributes.iid"),
        title=_need(issue, "title", str, "object_attributes.title"),
        body=_text(issue, "description", "object_attributes.description"),
        url=_need(issue, "url", str, "object_attributes.url"), labels=_label_names(labels, "title", "labels"),
        state="closed" if state == "closed" else "open", sender=str(user.get("username") or ""),
        updated_at=issue_time(issue.get("updated_at")))


def same_project(event: IssueEvent, configured: str) -> bool:
    """GitHub repository names and GitLab paths compare without case; a GitLab project may be named by its id."""
    return configured.lower() in (event.project.lower(), event.project_id)
