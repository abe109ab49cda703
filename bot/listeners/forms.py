"""Reading submitted modal state by block/action id: the only place that knows Slack's state shape.

A submission is Slack's echo of a view we built, but it is read as untrusted input all the same: anything not in
the shape we asked for reads as empty, never as an error.
"""

from __future__ import annotations

from bot.slack.ids import ActionId, BlockId
from bot.slack.text import clean_text, is_user_id


def _element(values: dict, block: BlockId, action: ActionId) -> dict:
    found = (values.get(block) if isinstance(values, dict) else None) or {}
    found = (found.get(action) if isinstance(found, dict) else None) or {}
    return found if isinstance(found, dict) else {}


def _value(option) -> str | None:
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def text(values: dict, block: BlockId, action: ActionId) -> str:
    value = _element(values, block, action).get("value")
    return clean_text(value if isinstance(value, str) else None)


def selected(values: dict, block: BlockId, action: ActionId) -> str | None:
    return _value(_element(values, block, action).get("selected_option"))


def checked(values: dict, block: BlockId, action: ActionId) -> list[str]:
    options = _element(values, block, action).get("selected_options")
    return [v for v in map(_value, options if isinstance(options, list) else []) if v is not None]


def user(values: dict, block: BlockId, action: ActionId) -> str | None:
    chosen = _element(values, block, action).get("selected_user")
    return chosen if is_user_id(chosen) else None
