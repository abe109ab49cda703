"""Is a signed request in a shape Slack sends? Checked at the HTTP edge, before Bolt and the listeners read it,
so a body that is signed but malformed gets a 400 instead of a crash (a 500, or a listener failing after its ack).
Pure: takes the parsed body."""

from __future__ import annotations

from typing import Any

_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                 "block_suggestion")


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def malformed(body: Any) -> str | None:
    """None when the body has what Slack always sends for its type; else which part is missing or wrong."""
    if not _object(body):
        return "the body is not an object"
    if "command" in body:
        for field in ("command", "user_id", "trigger_id"):
            if not _text(body.get(field)):
                return f"slash command without {field}"
        return None
    kind = body.get("type")
    if kind in _INTERACTIONS:
        user = body.get("user")
        if not _object(user) or not _text(user.get("id")):
            return f"{kind} without user.id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(
                _object(a) and _text(a.get("action_id")) for a in actions):
            return "block_actions without actions"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not _object(view) or not _text(view.get("callback_id")):
            return f"{kind} without view.callback_id"
        if kind == "view_submission" and not (_object(view.get("state"))
                                              and _object(view["state"].get("values"))):
            return "view_submission without view.state.values"
        if "private_metadata" in view and not _text(view["private_metadata"]):
            return "view.private_metadata is not text"
    if kind in ("shortcut", "message_action") and not _text(body.get("trigger_id")):
        return f"{kind} without trigger_id"
    if kind == "message_action" and not _object(body.get("message")):
        return "message_action without message"
    if kind == "event_callback":
        event = body.get("event")
        if not _object(event) or not _text(event.get("type")):
            return "event_callback without event.type"
    for field in ("event", "view", "container", "message", "state"):  # Bolt's matchers read these as objects
        if field in body and not _object(body[field]):
            return f"{field} is not an object"
    for field in ("team", "channel", "enterprise", "user"):  # an id, or an object with one
        if body.get(field) is not None and not (_text(body[field]) or _object(body[field])):
            return f"{field} is neither an id nor an object"
    return None
