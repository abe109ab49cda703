"""build_app(): the one place where Bolt listeners are registered."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.db import repo
from bot.listeners import WIRED, Wired, commands, contacts, covers, declare, events, home, status_commands, working
from bot.runtime.background import Background
from bot.services import Services
from bot.slack.gateway import SlackGateway
from bot.slack.ids import ActionId, CallbackId

log = logging.getLogger(__name__)


class _ProvideServices(AsyncMiddleware):
    """Puts the wired parts on every request's context: each listener takes what it uses from it
    (`wired(context).services.working`). A middleware of Bolt's own kind: one written as a function is called
    through Bolt's argument injection, which inspected its signature on every request (3-5% of a burst's time)."""

    def __init__(self, parts: Wired) -> None:
        self.parts = parts

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        req.context[WIRED] = self.parts
        return await next()


def build_app(settings: Settings, services: Services, gateway: SlackGateway, background: Background,
              db: repo.database.Database) -> AsyncApp:
    parts = Wired(services=services, settings=settings, slack=gateway, background=background, db=db)

    async def authorize(enterprise_id, team_id, **_kwargs) -> AuthorizeResult:
        # Single workspace with a static token: no auth.test on the request path (it would cost an ack).
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=settings.slack_bot_token,
                               bot_user_id=gateway.bot_user_id)

    bolt_logger = logging.getLogger("bot.bolt")
    level = bolt_logger.level
    bolt_logger.setLevel(logging.ERROR)  # Bolt warns that the token it reads from the env is unused: expected
    app = AsyncApp(
        name="firefighter",  # (else Bolt reads the whole call stack to name the app after the caller's file)
        signing_secret=settings.slack_signing_secret or "socket-mode",
        client=gateway.client,
        authorize=authorize,
        # Over HTTP every request is checked at the edge before it is read (bot/http/server.py: the same HMAC and
        # five-minute rule): Bolt checking it again doubled the signature's cost on each ack. Socket Mode is unsigned.
        request_verification_enabled=False,
        logger=bolt_logger,
    )
    bolt_logger.setLevel(level)
    app.middleware(_ProvideServices(parts))

    @app.error
    async def on_error(error, body, logger):
        kind = body.get("type") or body.get("command") if isinstance(body, dict) else None
        logger.exception("listener failed for %s: %s", kind, error, exc_info=error)

    # Bolt tries each listener's matcher in this order until one matches, and each try costs about as much as
    # building the listener's arguments (slack_bolt/kwargs_injection): what comes in bursts goes first — the
    # command, the declare form, the summary's Acknowledge button, a page's Acknowledge, messages in incident
    # channels. (The matchers are disjoint: the order changes only the cost.) At full size the Acknowledge button
    # tried five listeners before its own: 12% of its burst's time.
    app.command(re.compile(r"^/incident"))(commands.incident_command)
    app.view_submission(CallbackId.DECLARE_MODAL)(declare.declare_submitted)
    app.action(ActionId.ACKNOWLEDGE)(working.acknowledge)
    app.action(ActionId.PAGE_ACKNOWLEDGE)(working.acknowledge_page)
    app.event("message")(events.message)
    app.shortcut(CallbackId.DECLARE_SHORTCUT)(declare.declare_from_message)
    app.action(ActionId.IMPACT)(declare.impact_changed)
    app.options(ActionId.ROTATION)(declare.rotation_options)
    app.action(ActionId.TAKE_COMMAND)(working.take_command)
    app.action(ActionId.POST_UPDATE)(working.open_modal)
    app.action(ActionId.RESOLVE)(working.open_modal)
    app.action(ActionId.PAGE_ESCALATE)(working.escalate_page)
    app.action(ActionId.HANDOFF_NOTE)(working.open_modal)
    app.action(ActionId.HAND_OVER)(working.hand_over)
    app.view_submission(CallbackId.HANDOFF_NOTE_MODAL)(working.handoff_note_submitted)
    app.view_submission(CallbackId.UPDATE_MODAL)(working.update_submitted)
    app.view_submission(CallbackId.RESOLVE_MODAL)(working.resolve_submitted)
    app.view_submission(CallbackId.STATUS_PUBLISH_MODAL)(status_commands.publish_submitted)
    app.action(ActionId.COVER_TAKE)(covers.take)
    app.action(ActionId.COVER_WITHDRAW)(covers.withdraw)
    app.action(ActionId.COVER_ASK)(covers.ask)
    app.action(ActionId.CONTACT_TEST)(contacts.test_method)
    app.action(ActionId.CONTACT_REMOVE)(contacts.remove_method)
    app.event("app_home_opened")(home.home_opened)
    app.event("reaction_added")(events.reaction_added)
    app.event("reaction_removed")(events.reaction_removed)
    app.event("pin_added")(events.pin_added)
    app.event("user_change")(events.user_change)
    app.event("member_joined_channel")(events.member_joined_channel)
    app.event("member_left_channel")(events.member_left_channel)
    return app
