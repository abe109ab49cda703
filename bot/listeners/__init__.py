"""Bolt listeners: ack, parse, call a service, render.

Work that talks to Slack after the ack is handed to `after_ack`: it must not delay the ack, and a failure
there must not race Bolt's ack bookkeeping (an error raised right after `ack()` can replace the ack's response).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.config import Settings
from bot.db import repo
from bot.runtime.background import Background, Turn
from bot.services import Services
from bot.slack.gateway import SlackGateway

T = TypeVar("T")
WIRED = "firefighter"  # the one key on Bolt's context (bot/slack/app.py puts it there for every request)


@dataclass(frozen=True)
class Wired:
    """What listeners use, typed: the use-cases, and the parts they run on."""

    services: Services
    settings: Settings
    slack: SlackGateway
    background: Background
    db: repo.database.Database


def wired(context) -> Wired:
    return context[WIRED]


async def off_loop(context, work: Callable[..., T], *args: Any) -> T:
    """Database work runs in the database's threads: the event loop keeps acking while it waits."""
    return await wired(context).db.run(work, *args)


def after_ack(context, work: Coroutine[Any, Any, Any], name: str, turn: Turn = Turn.REST) -> None:
    """`Turn.FORM` for work that opens or updates a modal: its trigger id lives 3 s."""
    wired(context).background.spawn_after_acks(work, name=name, turn=turn)


async def say_privately(respond, text: str, *, context=None, user: str | None = None) -> None:
    """An ephemeral answer through the interaction's response_url (Slack ignores ack bodies for buttons).

    Buttons on the App Home come without a response_url: there the answer is a DM.
    """
    if getattr(respond, "response_url", None) or context is None or user is None:
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    await wired(context).slack.post(user, text)


def request_key(kind: str, trigger_id: str | None, *what: object) -> str | None:
    """Names one Slack request, so the same request delivered again (Slack's retry, another replica, a double
    click) is recognised and applied once. Slack's trigger id alone would do; with who and what it also holds
    where trigger ids are reused (test fakes, proxies), so two different requests are never taken for one."""
    if not trigger_id:
        return None
    digest = hashlib.sha256("\x1f".join(str(part) for part in (trigger_id, *what)).encode()).hexdigest()[:40]
    return f"{kind}:{digest}"
