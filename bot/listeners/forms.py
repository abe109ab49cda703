"""Reading submitted modal state by block/action id: the only place that knows Slack's state shape."""

from __future__ import annotations

from bot.ids import ActionId, BlockId
from bot.slack_text import clean_text


def _element(values: dict, block: BlockId, action: ActionId) -> dict:
    return (values.get(block) or {}).get(action) or {}


def text(values: dict, block: BlockId, action: ActionId) -> str:
    return clean_text(_element(values, block, action).get("value"))


def selected(values: dict, block: BlockId, action: ActionId) -> str | None:
    option = _element(values, block, action).get("selected_option")
    return option.get("value") if option else None


def checked(values: dict, block: BlockId, action: ActionId) -> list[str]:
    return [o["value"] for o in _element(values, block, action).get("selected_options") or []]


def user(values: dict, block: BlockId, action: ActionId) -> str | None:
    return _element(values, block, action).get("selected_user")
