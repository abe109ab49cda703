"""Delivering a stored click (bot/services/clicks.py): the change is made right after the claim, in the claim's
own database job, and the presser is answered the way Bolt would have — through the click's response_url, or by DM
from the App Home — and only when there is something to say: a change shows in the incident's channel."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from slack_sdk.errors import SlackApiError

from bot.db import repo
from bot.db.models import Delivery, Incident
from bot.delivery.engine import Sent
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.slack.gateway import TRANSPORT_ERRORS, SlackGateway, slack_error

log = logging.getLogger(__name__)


class Click(Protocol):
    """A stored click as it is applied (bot/services/clicks.py)."""

    @property
    def user(self) -> str: ...
    @property
    def response_url(self) -> str | None: ...  # where the presser is answered; none on the App Home (a DM instead)
    @property
    def from_home(self) -> bool: ...  # pressed on the App Home tab, which is published again afterwards
    @property
    def unchanged(self) -> str: ...  # what a click that changed nothing says


class Changed(Protocol):
    """What a click changed (bot/services/outcomes.py)."""

    @property
    def incident(self) -> Incident: ...
    @property
    def changed(self) -> bool: ...
    @property
    def replayed(self) -> bool: ...


class ClickAnswers:
    """`home_view(user)`: the App Home tab as it is now (read in a database thread), published again after a click
    on it."""

    def __init__(self, db: repo.database.Database, slack: SlackGateway, home_view: Callable[[str], dict]) -> None:
        self.db, self.slack, self.home_view = db, slack, home_view

    async def answer(self, _delivery: Delivery, _payload: dict, applied: tuple[Click, Changed | UserError]) -> Sent:
        """Best effort: the change (or the refusal) is already settled, so an answer Slack does not take is logged,
        not retried (a retry would apply the click again, as a replay that says nothing, and hold the presser's
        later clicks behind it)."""
        click, result = applied
        try:
            if isinstance(result, UserError):
                await self._tell(click, str(result))
            elif not result.changed and not result.replayed:
                await self._tell(click, f"{incident_ref(result.incident.number)} {click.unchanged}")
            if click.from_home:
                await self.slack.publish_home(click.user, await self.db.run_background(self.home_view, click.user))
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            log.warning("could not answer a click: %s", slack_error(exc) if isinstance(exc, SlackApiError)
                        else exc.__class__.__name__)
        return Sent()

    async def _tell(self, click: Click, text: str) -> None:
        if click.response_url:
            await self.slack.respond(click.response_url, text)
        else:  # the App Home has no response_url
            await self.slack.post(click.user, text)
