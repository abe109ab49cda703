"""Sign in with Slack on the web board (OpenID Connect: `openid.connect.token`, `openid.connect.userInfo`), and
the board's writes for the signed-in: each one of the same service calls an `/incident` command makes, as that
person, with the same permissions, timeline events and messages in the incident's channel.

Every write carries the session's CSRF token in `X-CSRF-Token` (a page of this site has it; another site's page
cannot read it, and the session cookie is SameSite=Lax and HttpOnly), and a key of its own, so a double click or a
retried request changes the incident once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.db import repo
from bot.db.edge_models import WebSession
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.http.session import (
    FLOW_COOKIE,
    FLOW_LIFETIME,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SESSION_RECHECK,
    Viewer,
    check_id_token,
    flow_of,
    id_token_claims,
    new_session,
    same,
    session_id_of,
    start_flow,
)
from bot.http.sign_in_views import Change, authorize_url, board_act, change_of
from bot.services import Changed, Reading, Working
from bot.slack.gateway import TRANSPORT_ERRORS, SlackGateway, slack_error

log = logging.getLogger(__name__)
CALLBACK = "/auth/slack/callback"
VIEWER = web.RequestKey("viewer", Viewer)
_NO_VIEWER = ("/static/", "/slack/", "/alerts/", "/heartbeats/", "/webhooks/", "/metrics")  # who looks: irrelevant
RECHECK_BUDGET = 2.0  # seconds a request waits for Slack to say whether its signed-in person is still active


def _cookie(response: web.StreamResponse, settings: Settings, name: str, value: str, lifetime) -> None:
    response.set_cookie(name, value, max_age=int(lifetime.total_seconds()), path="/", httponly=True,
                        samesite="Lax", secure=(settings.public_url or "").startswith("https://"))


def _refused(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n\nGo back to the board and sign in again.",
                        content_type="text/plain")


def add_sign_in_routes(app: web.Application, settings: Settings, slack: SlackGateway, reading: Reading,
                       working: Working, db: repo.database.Database) -> Callable[[web.Request], Viewer | None]:
    """Returns who is looking at a page (None: not signed in), for the board's pages."""
    secret = settings.web_secret or ""
    redirect_uri = f"{settings.public_url}{CALLBACK}"

    def viewer(request: web.Request) -> Viewer | None:
        return request.get(VIEWER)  # (set by `who_is_looking` for every request)

    @web.middleware
    async def who_is_looking(request: web.Request, handler):
        session_id = session_id_of(request.cookies.get(SESSION_COOKIE))
        wanted = session_id and not request.path.startswith(_NO_VIEWER)  # (a page's stylesheet asks nothing)
        request[VIEWER] = await signed_in(session_id) if wanted else None
        return await handler(request)

    async def signed_in(session_id: str) -> Viewer | None:
        """The session's person, unless it ended: logged out, expired, or its person deactivated in Slack (asked at
        most every SESSION_RECHECK; Slack not answering in RECHECK_BUDGET keeps the session until the next ask)."""
        now = reading.clock.now()
        row = await db.run(_session, session_id, now)
        if row is None:
            return None
        if now - row.checked_at >= SESSION_RECHECK:
            try:
                found = await asyncio.wait_for(slack.user_info(row.user_id), RECHECK_BUDGET)
                gone = found.deleted
            except (SlackApiError, *TRANSPORT_ERRORS, TimeoutError) as exc:  # only "no such user" ends it
                gone = True if isinstance(exc, SlackApiError) and slack_error(exc) == "user_not_found" else None
            if gone:
                log.info("%s is no longer active in Slack: their web session ends", row.user_id)
                await db.run(_end, session_id)
                return None
            if gone is False:
                await db.run(_checked, session_id, now)
        return Viewer(row.user_id, row.name, row.csrf)

    def _session(session_id: str, now) -> WebSession | None:
        with db.reading() as session:
            return repo.web.web_session(session=session, session_id=session_id, now=now)

    def _end(session_id: str) -> None:
        with db.session() as session:
            repo.web.end_web_session(session=session, session_id=session_id)
            session.commit()

    def _checked(session_id: str, now) -> None:
        with db.session() as session:
            repo.web.web_session_checked(session=session, session_id=session_id, now=now)
            session.commit()

    def _start(row: WebSession) -> None:
        with db.session() as session:
            repo.web.end_expired_web_sessions(session=session, now=row.created_at)  # (what nobody logged out of)
            session.add(row)
            session.commit()


    async def known_workspace() -> bool:
        """Only people of the bot's own workspace sign in: learnt at start-up, else asked now (fails closed)."""
        if slack.team_id is None:
            try:
                await slack.whoami()
            except (SlackApiError, *TRANSPORT_ERRORS) as exc:
                log.warning("sign-in: auth.test failed, the workspace is unknown: %s", exc)
        return slack.team_id is not None

    async def login(request: web.Request) -> web.Response:
        if not settings.sign_in:
            return _refused(404, "Sign in with Slack is not set up here (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET).")
        cookie, flow = start_flow(secret, reading.clock.now(), request.query.get("next"))
        target = authorize_url(settings.slack_authorize_url, settings.slack_client_id or "", redirect_uri,
                               flow.state, flow.nonce, slack.team_id)
        response = web.HTTPFound(target)
        _cookie(response, settings, FLOW_COOKIE, cookie, FLOW_LIFETIME)
        raise response

    async def callback(request: web.Request) -> web.Response:
        if not settings.sign_in:
            return _refused(404, "Sign in with Slack is not set up here.")
        now = reading.clock.now()
        flow = flow_of(secret, request.cookies.get(FLOW_COOKIE), now)
        if flow is None or not same(request.query.get("state"), flow.state):
            return _refused(400, "This sign-in was not started here, or took longer than 10 minutes.")
        if request.query.get("error"):
            return _refused(400, f"Slack did not sign you in: {request.query['error'][:80]}.")
        code = request.query.get("code", "")
        if not code:
            return _refused(400, "Slack sent no code to sign in with.")
        try:
            tokens = await slack.sign_in_token(settings.slack_client_id or "", settings.slack_client_secret or "",
                                               code, redirect_uri)
            claims = id_token_claims(tokens.get("id_token", ""))
            user = check_id_token(claims, client_id=settings.slack_client_id or "", nonce=flow.nonce, now=now)
            info = await slack.sign_in_user(str(tokens.get("access_token", "")))
        except SlackApiError as exc:
            log.warning("sign-in refused by Slack: %s", slack_error(exc))
            return _refused(400, f"Slack refused the sign-in ({slack_error(exc)}).")
        except TRANSPORT_ERRORS:
            return _refused(502, "Slack could not be reached to finish the sign-in; try again.")
        except ValueError as exc:
            log.warning("sign-in refused: %s", exc)
            return _refused(400, f"The sign-in could not be trusted: {exc}.")
        if (info.get("https://slack.com/user_id") or info.get("sub")) != user:
            return _refused(400, "Slack's answers about who you are disagree.")
        if not await known_workspace():
            return _refused(503, "The bot does not know its own Slack workspace yet (auth.test failed); try again "
                                 "in a minute.")
        team = info.get("https://slack.com/team_id")
        if team != slack.team_id or claims.get("https://slack.com/team_id") not in (None, slack.team_id):
            return _refused(403, "You signed in to another Slack workspace than the bot's.")
        name = str(info.get("name") or info.get("given_name") or user)
        row = new_session(user, name, team, now)
        await db.run(_start, row)
        response = web.HTTPFound(flow.next)
        _cookie(response, settings, SESSION_COOKIE, row.id, SESSION_LIFETIME)
        response.del_cookie(FLOW_COOKIE, path="/")
        log.info("%s signed in to the web board", user)
        raise response

    async def logout(request: web.Request) -> web.Response:
        who = viewer(request)
        if who is None or not same(request.headers.get("X-CSRF-Token") or (await request.post()).get("csrf"),
                                   who.csrf):
            return web.json_response({"error": "not signed in, or the page is stale"}, status=403)
        await db.run(_end, session_id_of(request.cookies.get(SESSION_COOKIE)) or "")  # this browser's session ends
        response = web.HTTPFound("/board")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def act(request: web.Request) -> web.Response:
        """`POST /board/act` {incident, action: move|command|priority, value, note?, key}."""
        who = viewer(request)
        if who is None:
            return web.json_response({"error": "Sign in with Slack to change incidents."}, status=401)
        if not same(request.headers.get("X-CSRF-Token"), who.csrf):
            return web.json_response({"error": "This page is stale: reload it."}, status=403)
        try:
            asked = board_act(await request.read())
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        try:
            change = change_of(asked)
            changed = await db.run(apply, who, asked.number, change, f"web:{asked.key}")
        except UserError as exc:
            return web.json_response({"error": str(exc)}, status=409)
        return web.json_response({"ok": True, "message": change.said, "incident": incident_ref(asked.number),
                                  "status": changed.incident.status, "replayed": changed.replayed})

    def apply(who: Viewer, number: int, change: Change, key: str) -> Changed:
        """The same service calls as the `/incident` commands, as the signed-in person."""
        if change.what == "status":
            return working.set_status(number, who.user_id, change.target, change.note, key)
        if change.what == "command":
            return working.take_command(number, who.user_id, key)
        return working.set_priority(number, who.user_id, change.priority, key)

    app.middlewares.append(who_is_looking)
    app.router.add_get("/auth/slack/login", login)
    app.router.add_get(CALLBACK, callback)
    app.router.add_post("/auth/logout", logout)
    app.router.add_post("/board/act", act)
    return viewer

