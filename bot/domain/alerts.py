"""Alerts from monitoring and CI, read from the senders' own JSON shapes into one `Alert`. Pure.

A bad body raises `BadAlert` naming the field (the endpoint answers 400 with it); nothing is stored for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.domain.incident import DESCRIPTION_MAX, TITLE_MAX, Priority, clean_title
from bot.slack_text import clean_text, truncate

_SEVERITY = {"critical": Priority.P0, "page": Priority.P0, "p0": Priority.P0, "error": Priority.P1,
             "warning": Priority.P1, "high": Priority.P1, "p1": Priority.P1, "info": Priority.P2, "low": Priority.P2,
             "p2": Priority.P2, "none": Priority.P2}
_URL = re.compile(r"^https?://\S+$")


MAX_GROUP = 200  # alerts taken from one Alertmanager body; more is refused whole (413), never cut short


class BadAlert(ValueError):
    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooManyAlerts(BadAlert):
    status = 413


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
    if not _URL.match(value) or len(value) > 500:
        raise BadAlert(name, "must be an http(s) URL")
    return value


def _priority(value: str, name: str) -> Priority:
    text = value.strip().lower()
    if not text:
        return Priority.P1
    if text.upper() in Priority._value2member_map_:
        return Priority(text.upper())
    if text in _SEVERITY:
        return _SEVERITY[text]
    raise BadAlert(name, "must be P0, P1 or P2")


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
    """`{"title", "description"?, "priority"?, "fingerprint"?, "status"?, "url"?, "rotation"?}`."""
    data = _object(body)
    title = _title(_text(data, "title", required=True), "title")
    fingerprint = _text(data, "fingerprint")[:200] or derived_fingerprint("generic", title.lower())
    return Alert(source="generic", fingerprint=fingerprint, title=title,
                 firing=_firing(_text(data, "status"), "status"),
                 priority=_priority(_text(data, "priority"), "priority"),
                 description=truncate(_text(data, "description"), DESCRIPTION_MAX),
                 url=_url(_text(data, "url"), "url"), rotation=_text(data, "rotation") or None)


def parse_alertmanager(body: Any) -> list[Alert]:
    """The Alertmanager webhook (version 4): one alert per fingerprint, grouped in `alerts`."""
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
    if len(alerts) > MAX_GROUP:
        raise TooManyAlerts("alerts", f"{len(alerts)} alerts in one body; send at most {MAX_GROUP} (set "
                                      f"max_alerts: {MAX_GROUP} on the Alertmanager receiver); nothing was stored")
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
        title = _title(f"{name}: {summary}" if summary else name, f"{where}.labels.alertname")
        fingerprint = _text(item, "fingerprint", name=f"{where}.fingerprint")[:200] or derived_fingerprint(
            "alertmanager", *(f"{k}={v}" for k, v in sorted(labels.items())))
        label_lines = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        description = "\n".join(x for x in (annotations.get("description", ""), f"Labels: {label_lines}") if x)
        generator = _text(item, "generatorURL", name=f"{where}.generatorURL")
        parsed.append(Alert(
            source="alertmanager", fingerprint=fingerprint, title=title,
            firing=_firing(_text(item, "status", name=f"{where}.status") or _text(data, "status"), f"{where}.status"),
            priority=_priority(labels.get("priority") or labels.get("severity") or "", f"{where}.labels.severity"),
            description=truncate(description, DESCRIPTION_MAX),
            url=_url(generator, f"{where}.generatorURL") if generator.startswith(("http://", "https://")) else None,
            rotation=labels.get("rotation") or None))
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
