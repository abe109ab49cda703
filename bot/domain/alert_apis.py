"""The alert APIs of the tools teams move from (SPEC § Moving in), read into the bot's own Alert so they go the
same way as every alert (dedupe, storms, routes, auto-resolve). Pure.

- PagerDuty Events API v2 (`POST /v2/enqueue`, developer.pagerduty.com/docs/events-api-v2/trigger-events):
  `routing_key`, `event_action` trigger|acknowledge|resolve, `dedup_key` (≤ 255; made up for a trigger without
  one), `payload` {summary, source, severity critical|error|warning|info, custom_details, component, group, class},
  `links` [{href, text}]. Severity: critical → P0, error → P1, warning and info → P2.
- Opsgenie Alert API (`POST /v2/alerts`, docs.opsgenie.com/docs/alert-api): `message` (≤ 130), `alias` (≤ 512, the
  deduplication key), `description`, `priority` P1–P5 (P3 when absent), `tags`, `details`, `source`, `entity`.
  Priority: P1 → P0, P2 → P1, P3–P5 → P2.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bot.domain.alerts import Alert, BadAlert, derived_fingerprint
from bot.domain.incident import DESCRIPTION_MAX, TITLE_MAX, Priority, clean_title
from bot.slack.text import truncate

PD_SEVERITY = {"critical": Priority.P0, "error": Priority.P1, "warning": Priority.P2, "info": Priority.P2}
OG_PRIORITY = {"P1": Priority.P0, "P2": Priority.P1, "P3": Priority.P2, "P4": Priority.P2, "P5": Priority.P2}
PD_ACTIONS = ("trigger", "acknowledge", "resolve")


@dataclass(frozen=True)
class Acknowledge:
    """The source acknowledged the alert `fingerprint`: its incident's pages stop, as for the Slack button."""

    source: str
    fingerprint: str
    by: str = ""


def _string(data: dict, key: str, where: str, *, limit: int, required: bool = False) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadAlert(where, "is required")
        return ""
    if not isinstance(value, str):
        raise BadAlert(where, "must be a string")
    if len(value) > limit:
        raise BadAlert(where, f"must be at most {limit} characters")
    return value


def _flat(values: Any, where: str) -> dict[str, str]:
    """An object of scalars as label → text (nested values as their JSON-ish text), for routes and the timeline."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise BadAlert(where, "must be an object")
    return {str(k)[:64]: (v if isinstance(v, str) else str(v))[:200] for k, v in list(values.items())[:50]}


def stored_key(source: str, raw: str) -> str:
    """A sender's own key as the bot keeps it: as sent up to 200 characters, longer ones by their hash (the
    incident's column holds the source's name and 200 more)."""
    return raw if len(raw) <= 200 else derived_fingerprint(source, raw)


def _details(details: dict[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in sorted(details.items()))


def parse_pagerduty(body: Any) -> tuple[str, Alert | Acknowledge]:
    """(routing_key, what the event asks). A trigger or resolve is an Alert (firing or not) keyed by its dedup_key;
    an acknowledge is an Acknowledge."""
    if not isinstance(body, dict):
        raise BadAlert("body", "must be a JSON object")
    routing_key = _string(body, "routing_key", "routing_key", limit=128, required=True)
    action = _string(body, "event_action", "event_action", limit=20, required=True)
    if action not in PD_ACTIONS:
        raise BadAlert("event_action", "must be trigger, acknowledge or resolve")
    dedup_key = _string(body, "dedup_key", "dedup_key", limit=255, required=action != "trigger")
    if action == "acknowledge":  # (PagerDuty ignores a payload on acknowledge and resolve: so does the bot)
        return routing_key, Acknowledge("pagerduty", stored_key("pagerduty", dedup_key))
    if action == "resolve":
        return routing_key, Alert(source="pagerduty", fingerprint=stored_key("pagerduty", dedup_key),
                                  title="resolved", firing=False)
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise BadAlert("payload", "is required: an object with summary, source and severity")
    summary = _string(payload, "summary", "payload.summary", limit=1024, required=True)
    source = _string(payload, "source", "payload.source", limit=255, required=True)
    severity = _string(payload, "severity", "payload.severity", limit=20, required=True).lower()
    if severity not in PD_SEVERITY:
        raise BadAlert("payload.severity", "must be critical, error, warning or info")
    details = _flat(payload.get("custom_details"), "payload.custom_details")
    labels = {**details, **{k: v for k in ("component", "group", "class", "source")
                            if (v := _string(payload, k, f"payload.{k}", limit=255))}}
    links = body.get("links") if isinstance(body.get("links"), list) else []
    url = next((link.get("href") for link in links if isinstance(link, dict) and isinstance(link.get("href"), str)
                and link["href"].startswith(("https://", "http://"))), None)
    fingerprint = stored_key("pagerduty", dedup_key) if dedup_key else derived_fingerprint(
        "pagerduty", routing_key, summary.lower(), source)
    return routing_key, Alert(
        source="pagerduty", fingerprint=fingerprint, title=truncate(clean_title(summary), TITLE_MAX) or "alert",
        firing=action == "trigger", priority=PD_SEVERITY[severity],
        description=truncate("\n".join(x for x in (f"Source: {source}", _details(details)) if x), DESCRIPTION_MAX),
        url=url[:2000] if url else None, labels=labels)


def parse_opsgenie(body: Any) -> Alert:
    """`POST /v2/alerts`: a new alert, or the same `alias` again (a repeat)."""
    if not isinstance(body, dict):
        raise BadAlert("body", "must be a JSON object")
    message = _string(body, "message", "message", limit=130, required=True)
    alias = _string(body, "alias", "alias", limit=512)
    priority = _string(body, "priority", "priority", limit=2) or "P3"
    if priority not in OG_PRIORITY:
        raise BadAlert("priority", "must be P1, P2, P3, P4 or P5")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadAlert("tags", "must be a list of strings")
    details = _flat(body.get("details"), "details")
    entity, source = _string(body, "entity", "entity", limit=512), _string(body, "source", "source", limit=100)
    labels = {**details, **{tag.partition(":")[0][:64]: tag.partition(":")[2][:200] or "true" for tag in tags[:20]},
              **({"entity": entity} if entity else {}), **({"source": source} if source else {})}
    description = _string(body, "description", "description", limit=15000)
    return Alert(source="opsgenie", fingerprint=stored_key("opsgenie", alias) if alias else derived_fingerprint(
                     "opsgenie", message.lower()),
                 title=truncate(clean_title(message), TITLE_MAX) or "alert", firing=True,
                 priority=OG_PRIORITY[priority],
                 description=truncate("\n".join(x for x in (description, _details(details)) if x), DESCRIPTION_MAX),
                 rotation=labels.get("rotation") or None, labels=labels)


def request_id() -> str:
    """Opsgenie answers every request with a `requestId`."""
    return str(uuid.uuid4())
