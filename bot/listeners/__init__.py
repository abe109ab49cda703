"""Bolt listeners: ack, parse, call a service, render.

Work that talks to Slack after the ack is handed to `after_ack`: it must not delay the ack, and a failure
there must not race Bolt's ack bookkeeping (an error raised right after `ack()` can replace the ack's response).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any


def after_ack(context, work: Coroutine[Any, Any, Any], name: str) -> None:
    context["incidents"].background.spawn_after_acks(work, name=name)


async def say_privately(respond, text: str, *, context=None, user: str | None = None) -> None:
    """An ephemeral answer through the interaction's response_url (Slack ignores ack bodies for buttons).

    Buttons on the App Home come without a response_url: there the answer is a DM.
    """
    if getattr(respond, "response_url", None) or context is None or user is None:
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    await context["incidents"].slack.post(user, text)
