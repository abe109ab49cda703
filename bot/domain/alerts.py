"""Alerts from monitoring and CI, read from the senders' own JSON shapes into one `Alert`. Pure.

A bad body raises `BadAlert` naming the field (the endpoint answers 400 with it); nothing is stored for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.domain.incident import DESCRIPTION_MAX, TITLE_MAX, Priority, clean_title
from bot.slack.text import clean_text, truncate

# Severity words as monitoring tools and teams spell them (case, spaces, `-` and `_` ignored). Numbered levels
# follow the common scale where 1 is the most severe (SEV1, Opsgenie's P1, PagerDuty's 1): `sev1`/`1` → P0,
# `sev2`/`2` → P1, `sev3`–`sev5` → P2. Our own names `P0`, `P1`, `P2` mean themselves.
_SEVERITY = {
    **dict.fromkeys(("critical", "crit", "page", "emergency", "emerg", "fatal", "disaster", "alert", "p0", "sev0",
                     "sev1", "s0", "s1", "0", "1"), Priority.P0),
    **dict.fromkeys(("error", "err", "major", "high", "warning", "warn", "medium", "p1", "sev2", "s2", "2"),
                    Priority.P1),
    **dict.fromkeys(("minor", "low", "info", "informational", "notice", "debug", "none", "ok", "p2", "sev3", "sev4",
                     "sev5", "s3", "s4", "s5", "3", "4", "5"), Priority.P2),
}
DEFAULT_PRIORITY = Priority.P1  # no severity, or one the bot cannot map: an alert is worth a page, not a P0's
_URL = re.compile(r"^https?://\S+$")
URL_MAX = 2000  # a link kept (and shown as a link) whole; a longer one is kept as text on the timeline
SHOWN_MAX = 1000  # of a value kept as text, what the timeline shows


class BadAlert(ValueError):
    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Alert:
    source: str  # generic, alertmanager, gitlab
    fingerprint: str
    title: str
    firing: bool
    priority: Priority = Priority.P1
    description: str = ""
    url: str | None = None
    rotation: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    started: str = ""  # Alertmanager's `startsAt`: a repeat with the same one is the same firing, not a new one
    notes: tuple[str, ...] = ()  # what the bot could not use as sent (kept on the timeline when it opens)
    labels: dict[str, str] = field(default_factory=dict, compare=False)  # what routes match (`route add`)
    pinned: bool = False  # sent with a rotation's own key: its rotation, whatever the routes say


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that asks for nothing (a running pipeline, a feature branch)."""

    reason: str


def _object(body: Any, name: str = "body") -> dict:
    if not isinstance(body, dict):
        raise BadAlert(name, "must be a JSON object")
    return body


def _text(body: dict, key: str, *, required: bool = False, name: str | None = None) -> str:
    value = body.get(key)
    name = name or key
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadAlert(name, "is required")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadAlert(name, "must be a string")
    return clean_text(str(value)).strip()


def _url(value: str, name: str) -> str | None:
    if not value:
        return None
    if not _URL.match(value) or len(value) > URL_MAX:
        raise BadAlert(name, f"must be an http(s) URL of at most {URL_MAX:,} characters")
    return value


def severity(value: str) -> Priority | None:
    """The priority a severity word stands for; None for no word or one the bot cannot map."""
    text = re.sub(r"[\s_-]+", "", value.strip().lower())
    return _SEVERITY.get(text) if text else None


def _priority(value: str, name: str) -> Priority:
    """For a field of our own (generic's `priority`): a value we cannot map is refused, naming the field."""
    if not value.strip():
        return DEFAULT_PRIORITY
    found = severity(value)
    if found is None:
        raise BadAlert(name, "must be P0, P1 or P2 (or a severity such as critical, warning, info)")
    return found


def _label_priority(value: str, label: str) -> tuple[Priority, tuple[str, ...]]:
    """For a label from someone else's rules (Alertmanager): a value we cannot map opens with the default, and
    says so on the timeline with the value as sent — never a refusal, which would lose the whole group."""
    found = severity(value) if value.strip() else DEFAULT_PRIORITY
    if found is not None:
        return found, ()
    return DEFAULT_PRIORITY, (f"The alert's {label} `{truncate(value, 100)}` is not one the bot knows: opened as "
                              f"{DEFAULT_PRIORITY.value}, the default.",)


def _link(value: str, name: str) -> tuple[str | None, tuple[str, ...]]:
    """A link from someone else's rules (Alertmanager's generatorURL): an http(s) URL up to URL_MAX is the
    incident's link; anything else is kept as text on the timeline (shortened), never a refusal."""
    if not value:
        return None, ()
    if _URL.match(value) and len(value) <= URL_MAX:
        return value, ()
    why = (f"is {len(value):,} characters long, too long to keep as a link" if _URL.match(value)
           else "is not an http(s) link")
    return None, (f"The alert's {name} {why}; kept as text: {truncate(value, SHOWN_MAX)}",)


def _firing(value: str, name: str) -> bool:
    text = value.strip().lower() or "firing"
    if text not in ("firing", "resolved"):
        raise BadAlert(name, 'must be "firing" or "resolved"')
    return text == "firing"


def _title(raw: str, name: str) -> str:
    title = truncate(clean_title(raw), TITLE_MAX)
    if not title:
        raise BadAlert(name, "is required")
    return title


def derived_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def parse_generic(body: Any) -> Alert:
    """`{"title", "description"?, "priority"?, "fingerprint"?, "status"?, "url"?, "rotation"?, "labels"?}`."""
    data = _object(body)
    labels = data.get("labels")
    if labels is not None and not (isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())):
        raise BadAlert("labels", "must be an object of strings")
    title = _title(_text(data, "title", required=True), "title")
    fingerprint = _text(data, "fingerprint")[:200] or derived_fingerprint("generic", title.lower())
    return Alert(source="generic", fingerprint=fingerprint, title=title,
                 firing=_firing(_text(data, "status"), "status"),
                 priority=_priority(_text(data, "priority"), "priority"),
                 description=truncate(_text(data, "description"), DESCRIPTION_MAX),
                 url=_url(_text(data, "url"), "url"), rotation=_text(data, "rotation") or None,
                 labels={str(k)[:64]: v[:200] for k, v in (labels or {}).items()})


def left_out(body: Any) -> int:
    """How many alerts of the group Alertmanager left out of this body (`truncatedAlerts`, from `max_alerts`): a
    count past what the column holds (2³¹ − 1, found by the HTTP fuzz suite) is shown as that many."""
    value = body.get("truncatedAlerts") if isinstance(body, dict) else None
    return min(value, 2**31 - 1) if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def parse_alertmanager(body: Any) -> list[Alert]:
    """The Alertmanager webhook (version 4): one alert per fingerprint, grouped in `alerts`, all of them however
    many. Refused (400) only for a body that is not Alertmanager's shape; a label value the bot cannot use (an
    unknown severity, an odd generatorURL) opens with a default and is kept on the timeline."""
    data = _object(body)
    version = _text(data, "version")
    if version and version != "4":
        raise BadAlert("version", 'only version "4" of the Alertmanager webhook is understood')
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise BadAlert("alerts", "must be a non-empty list")
    common = data.get("commonLabels") if isinstance(data.get("commonLabels"), dict) else {}
    common = {clean_text(str(k)): clean_text(str(v)) for k, v in common.items()}
    parsed = []
    for index, raw in enumerate(alerts):
        where = f"alerts[{index}]"
        item = _object(raw, where)
        labels = item.get("labels")
        if not isinstance(labels, dict) or not labels:
            raise BadAlert(f"{where}.labels", "must be a non-empty object")
        labels = {clean_text(str(k)): clean_text(str(v)) for k, v in labels.items()}
        annotations = item.get("annotations") if isinstance(item.get("annotations"), dict) else {}
        annotations = {clean_text(str(k)): clean_text(str(v)) for k, v in annotations.items()}
        name = labels.get("alertname") or common.get("alertname") or "alert"
        summary = annotations.get("summary") or annotations.get("title") or ""
        title = truncate(clean_title(f"{name}: {summary}" if summary else name), TITLE_MAX) or "alert"
        fingerprint = _text(item, "fingerprint", name=f"{where}.fingerprint")[:200] or derived_fingerprint(
            "alertmanager", *(f"{k}={v}" for k, v in sorted(labels.items())))
        label_lines = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        description = "\n".join(x for x in (annotations.get("description", ""), f"Labels: {label_lines}") if x)
        url, url_notes = _link(_text(item, "generatorURL", name=f"{where}.generatorURL"), "generatorURL")
        label = "priority" if labels.get("priority") else "severity"
        priority, priority_notes = _label_priority(labels.get(label) or "", label)
        parsed.append(Alert(
            source="alertmanager", fingerprint=fingerprint, title=title,
            firing=_firing(_text(item, "status", name=f"{where}.status") or _text(data, "status"), f"{where}.status"),
            priority=priority, description=truncate(description, DESCRIPTION_MAX), url=url,
            rotation=labels.get("rotation") or None, started=_text(item, "startsAt", name=f"{where}.startsAt")[:40],
            notes=priority_notes + url_notes, labels=labels))
    return parsed


def parse_gitlab(body: Any, event: str | None) -> Alert | Ignored:
    """A Pipeline Hook: `failed` on the default branch opens "broken <branch> in <project>"; `success` resolves it."""
    data = _object(body)
    if (event and event.strip().lower() != "pipeline hook") or data.get("object_kind") != "pipeline":
        return Ignored("only Pipeline Hook events open incidents")
    attributes = _object(data.get("object_attributes"), "object_attributes")
    project = _object(data.get("project"), "project")
    ref = _text(attributes, "ref", required=True, name="object_attributes.ref")
    status = _text(attributes, "status", required=True, name="object_attributes.status").lower()
    path = (_text(project, "path_with_namespace", name="project.path_with_namespace")
            or _text(project, "name", required=True, name="project.name"))
    default = _text(project, "default_branch", name="project.default_branch") or _text(
        attributes, "default_branch", name="object_attributes.default_branch")
    if attributes.get("tag"):
        return Ignored("tag pipelines do not open incidents")
    if default and ref != default:
        return Ignored(f"`{ref}` is not the default branch (`{default}`)")
    if status not in ("failed", "success"):
        return Ignored(f"a `{status}` pipeline asks for nothing")
    pipeline_id = _text(attributes, "id", name="object_attributes.id")
    web_url = _text(project, "web_url", name="project.web_url")
    url = _text(attributes, "url", name="object_attributes.url") or (
        f"{web_url}/-/pipelines/{pipeline_id}" if web_url and pipeline_id else "")
    project_id = _text(project, "id", name="project.id") or path
    commit = data.get("commit") if isinstance(data.get("commit"), dict) else {}
    author = commit.get("author") if isinstance(commit.get("author"), dict) else {}
    description = "\n".join(x for x in (
        f"Pipeline #{pipeline_id} {status} on `{ref}`." if pipeline_id else f"Pipeline {status} on `{ref}`.",
        f"Commit: {str(commit.get('title') or commit.get('message') or '')[:200]}" if commit else "",
        f"Author: {author.get('name')}" if author.get("name") else "") if x)
    return Alert(source="gitlab", fingerprint=f"gitlab:{project_id}:{ref}"[:200],
                 title=_title(f"broken {ref} in {path}", "object_attributes.ref"), firing=status == "failed",
                 priority=Priority.P1, description=description, url=_url(url, "object_attributes.url"),
                 details={"pipeline": pipeline_id})
