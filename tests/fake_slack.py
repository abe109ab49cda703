"""An HTTP fake of the Slack Web API for tests (and the benchmark).

It listens on a free loopback port; point the bot at it with SLACK_API_URL=<fake.api_url>. It
- records every call (method, arguments, time) and every POST to a `response_url` it hands out,
- accepts arguments as JSON, form or query string, as slack-sdk sends them,
- validates required arguments and Block Kit limits the way Slack does (`invalid_blocks`, `invalid_arguments`),
- keeps state for what it created: channels (`name_taken` on repeats), messages, pins, views,
- can be told to fail a method (`ratelimited` 429 + Retry-After, 5xx, any named error) or to be slow.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
# What an app installed from manifest.yml is granted; Slack names them in each answer's x-oauth-scopes header.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:manage", "channels:read", "channels:join",
              "channels:history", "groups:write", "groups:read", "groups:history", "im:write", "pins:write",
              "users:read", "users:read.email", "usergroups:read", "usergroups:write",
              "reactions:read", "pins:read")
_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
_BLOCK_TYPES = {"section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video"}
_ELEMENT_TYPES = {"button", "static_select", "users_select", "conversations_select", "channels_select",
                  "external_select", "multi_static_select", "multi_users_select", "checkboxes", "radio_buttons",
                  "overflow", "datepicker", "timepicker", "datetimepicker", "plain_text_input", "image",
                  "number_input", "email_text_input", "url_text_input", "multi_conversations_select",
                  "multi_channels_select", "rich_text_input"}


class BlockKitError(ValueError):
    pass


# -- What Slack refuses and a lenient fake would let through (issue 32). Each rule cites Slack's documentation. ---

# views.open: "Pass a valid trigger_id within 3 seconds of receiving it" (docs.slack.dev/tools/bolt-python/concepts/
# opening-modals); its errors: `invalid_trigger_id` ("The expected format for the trigger_id argument is
# 132456.7890123.abcdef"), `exchanged_trigger_id` ("already exchanged in a previous call"), `expired_trigger_id`
# (docs.slack.dev/reference/methods/views.open).
TRIGGER_LIFETIME = 3.0
_TRIGGER_ID = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9a-z]+)$")
# response_url: "you can use it up to five times within 30 minutes" (docs.slack.dev/interactivity/
# handling-user-interaction#message_responses). What is posted there is a message: Block Kit is allowed, and held to
# the limits of any message (50 blocks, valid elements); Slack answers a refused post with an HTTP error and its
# reason as the body (`invalid_blocks`, `no_text`), and a spent URL with 404 (its body's wording is not documented;
# the fake says `used_url`).
RESPONSE_URL_USES = 5


def new_trigger_id(sequence: int) -> str:
    """A trigger id in Slack's shape that carries when it was minted (`time.monotonic()` in ms: on Linux one clock
    for every process), so that the fake can tell when it expired. What a test sends as Slack uses these."""
    return f"{sequence}.{int(time.monotonic() * 1000)}.{secrets.token_hex(5)}"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    transport: str  # json | form | query
    answer: dict[str, Any] | None = None  # what the fake answered (None: no answer yet, or the connection dropped)


@dataclass
class Failure:
    error: str
    status: int = 200
    times: int = 1
    retry_after: int = 1
    channel: str | None = None  # only calls about this channel (or DM user) fail


@dataclass
class FakeSlack:
    token_prefix: str = "xoxb-"
    calls: list[Call] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)  # POSTs to response_url
    channels: dict[str, dict] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict] = field(default_factory=dict)
    pins: set[tuple[str, str]] = field(default_factory=set)
    views: dict[str, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    usergroups: dict[str, dict] = field(default_factory=dict)  # id -> {"id", "handle", "users"}
    delay: float = 0.0
    scopes: list[str] = field(default_factory=lambda: list(BOT_SCOPES))  # granted to the bot token
    _failures: dict[str, list[Failure]] = field(default_factory=dict)
    _delays: dict[str, float] = field(default_factory=dict)
    _late: dict[str, float] = field(default_factory=dict)
    _lose_answer: bool = False
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _clock: itertools.count = field(default_factory=lambda: itertools.count(1))
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict] = field(default_factory=list)  # what the app sent back over Socket Mode
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    port: int = 0
    # Sign in with Slack (OpenID Connect): the app's credentials, who signs in at the authorize page (None: the
    # person declines), what the ID token says on top (a test forging a nonce), and what was handed out.
    client_id: str = "A0FAKE.CLIENT"
    client_secret: str = "fake-client-secret"
    signs_in: str | None = "U0REPORTER"
    team_id: str = "T111"
    id_token_extra: dict = field(default_factory=dict)
    now: Callable[[], float] = time.time  # the ID token's clock (a test gives the bot's FakeClock)
    _codes: dict[str, dict] = field(default_factory=dict)
    _user_tokens: dict[str, str] = field(default_factory=dict)
    # Issue 32: trigger ids are exchanged once and live TRIGGER_LIFETIME s; a response_url takes RESPONSE_URL_USES
    # posts; what Slack refused at a response_url is kept apart from what people saw.
    trigger_lifetime: float = TRIGGER_LIFETIME
    # Run on its own for the benchmark, whose load generator makes up trigger ids and shares one response_url
    # (bench/scenarios.py): those two checks are off there, and only there.
    lenient_requests: bool = False
    # Also run on its own for the benchmark: keep of each call, each answer to a response_url and each view only
    # what `GET /_calls` shows without `full=1` (see `_brief`). Kept whole, a burst of 4,000 declare forms held
    # 400 MB of decoded views, and the growing heap (page faults, the collector walking it) made each `views.open`
    # cost the fake four times its decoding: the fake, not the bot, set the time from `/incident` to its form.
    brief_record: bool = False
    _exchanged: set[str] = field(default_factory=set)
    _response_uses: dict[str, int] = field(default_factory=dict)
    refused_responses: list[dict] = field(default_factory=list)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_get("/openid/connect/authorize", self._handle_authorize)
        add_inspection_routes(app, self)
        # Stopped, it cancels the calls still in flight at once (one held `slow` or `answer_late` for a process the
        # test killed) instead of waiting up to a minute for them.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._changed = asyncio.Condition()
        return self

    async def stop(self) -> None:
        for socket in self.sockets:
            await socket.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{key}"

    # -- what tests tell it ------------------------------------------------------------------------------

    def fail(self, method: str, error: str = "internal_error", *, status: int = 200, times: int = 1,
             retry_after: int = 1, channel: str | None = None) -> None:
        """The next `times` calls of `method` answer with `error` (429 → ratelimited with Retry-After; status 0 →
        the connection is dropped without an answer; status -1 → the call is carried out, then the connection
        drops before the answer)."""
        self._failures.setdefault(method, []).append(Failure(error, status, times, retry_after, channel))

    def recover(self, method: str | None = None) -> None:
        """Slack is back: pending failures (of one method, or all) are forgotten."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    def answer_late(self, seconds: float, method: str) -> None:
        """`method` does what it is asked at once, but its answer comes `seconds` later: the window in which a
        process can die after Slack acted and before it recorded what Slack did."""
        self._late[method] = seconds

    def slow(self, seconds: float, method: str | None = None) -> None:
        if method is None:
            self.delay = seconds
        else:
            self._delays[method] = seconds

    def add_user(self, user_id: str, tz: str = "UTC", name: str | None = None, email: str | None = None) -> None:
        for channel in self.channels.values():  # every member of a workspace is in its general channel
            if channel.get("general"):
                channel["members"].add(user_id)
        self.users[user_id] = {"id": user_id, "name": name or user_id.lower(), "tz": tz, "is_bot": False,
                               "deleted": False, "real_name": name or user_id,
                               "profile": {"display_name": name or "", "real_name": name or user_id,
                                           "image_72": f"https://avatars.slack-edge.example/{user_id}_72.png",
                                           **({"email": email} if email else {})}}

    def add_channel(self, channel_id: str, name: str, *, joined: bool = True, archived: bool = False,
                    private: bool = False, creator: str = "U0SOMEONE", members: tuple[str, ...] = (),
                    general: bool = False) -> None:
        """`joined=False`: the bot is not a member (posting answers `not_in_channel`, or `channel_not_found` when
        the channel is private); `archived`: posting answers `is_archived`; `members`: the people in it;
        `general`: the workspace's #general (everyone is in it)."""
        self.channels[channel_id] = {"id": channel_id, "name": name, "topic": "", "members": set(members),
                                     "joined": joined, "archived": archived, "private": private,
                                     "creator": creator, "general": general or name == "general"}
        if self.channels[channel_id]["general"]:  # #general holds everyone (`is_general` in Slack's answers)
            self.channels[channel_id]["members"] = set(self.users)

    # -- what tests read back ----------------------------------------------------------------------------

    def add_usergroup(self, group_id: str, handle: str, users: tuple[str, ...] = ()) -> None:
        self.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(users)}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait (on events, not a sleep loop) until `method` was called `count` times. A call answered at once is
        recorded and carried out in one go (no waiter sees one without the other); a slow one wakes waiters as it
        starts."""
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.calls_to(method)) >= count), timeout)
            except TimeoutError:
                raise AssertionError(f"{method} called {len(self.calls_to(method))} times, wanted {count}; "
                                     f"calls so far: {self.methods()}") from None
        return self.calls_to(method)

    async def wait_for_response(self, count: int = 1, timeout: float = 10.0) -> list[dict]:
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.responses) >= count), timeout)
            except TimeoutError:
                raise AssertionError(f"{len(self.responses)} response_url posts, wanted {count}") from None
        return self.responses

    async def wait_socket(self, timeout: float = 10.0) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.sockets)), timeout)

    async def socket_send(self, envelope_type: str, payload: dict, timeout: float = 10.0) -> dict:
        """Deliver a Socket Mode envelope to the connected app and return its acknowledgement."""
        await self.wait_socket(timeout)
        envelope_id = f"env-{next(self._ids)}"
        await self.sockets[-1].send_json({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                                          "accepts_response_payload": envelope_type != "events_api"})
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: any(a.get("envelope_id") == envelope_id for a in self.socket_acks)), timeout)
        return next(a for a in self.socket_acks if a.get("envelope_id") == envelope_id)

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                                "connection_info": {"app_id": "A111"}})
        self.sockets.append(socket)
        await self._notify()
        async for message in socket:
            if message.type.name == "TEXT":
                self.socket_acks.append(json.loads(message.data))
                await self._notify()
        return socket

    # -- HTTP --------------------------------------------------------------------------------------------

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.match_info["key"]
        refusal = self._response_refusal(key, body)
        if refusal is not None:
            status, reason = refusal
            self.refused_responses.append({"key": key, "error": reason, **body})
            await self._notify()
            return web.Response(status=status, text=reason)
        self.responses.append({"key": key, "text": str(body.get("text") or "")[:300]} if self.brief_record
                              else {"key": key, **body})
        await self._notify()
        return web.Response(text="ok")

    def _response_refusal(self, key: str, body: dict) -> tuple[int, str] | None:
        """Why Slack would refuse this post to a response_url (see RESPONSE_URL_USES), or None."""
        if self._response_uses.get(key, 0) >= RESPONSE_URL_USES and not self.lenient_requests:
            return 404, "used_url"
        self._response_uses[key] = self._response_uses.get(key, 0) + 1
        if not body.get("delete_original") and not any(body.get(k) for k in ("text", "blocks", "attachments")):
            return 400, "no_text"
        if body.get("blocks"):
            try:
                validate_blocks(body["blocks"], MESSAGE_BLOCKS_MAX)
            except BlockKitError:
                return 400, "invalid_blocks"
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        transport = "query"
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
                transport = "json"
            else:
                args.update(dict(parse_qsl(raw.decode(), keep_blank_values=True)))
                transport = "form"
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or args.pop("token", "")
        call = Call(method, args, time.monotonic(), transport)
        self.calls.append(call)
        try:  # waiters wake once the call is carried out (a view stored, a message posted), not before
            delay = self._delays.get(method, self.delay)
            if delay:
                await self._notify()  # a test may act while the call is under way
                await asyncio.sleep(delay)
                if request.transport is None or request.transport.is_closing():
                    self.calls.remove(call)  # the caller went away while we were slow: it never reached Slack
                    return web.Response(status=499)
            failure = self._take_failure(method, args.get("channel"))
            if failure is not None and failure.status == -1:  # Slack acts, and the answer is lost on the way back
                failure = None
                self._lose_answer = True
            if failure is not None and failure.status == 0:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            if failure is not None:
                headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
                call.answer = {"ok": False, "error": failure.error}
                return web.json_response(call.answer, status=failure.status, headers=headers)
            if method in ("openid.connect.token", "openid.connect.userInfo"):  # a person's sign-in, not the bot
                try:
                    result = self._sign_in_token(request, args) if method == "openid.connect.token" \
                        else self._sign_in_user(token)
                except _ApiError as exc:
                    return _error(call, str(exc))
                call.answer = {"ok": True, **result}
                return web.json_response(call.answer)
            if not token.startswith("xapp-" if method == "apps.connections.open" else self.token_prefix):
                return _error(call, "not_authed" if not token else "invalid_auth")
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            if handler is None:
                return _error(call, "unknown_method")
            try:
                result = handler(_decode_json_args(args))
            except BlockKitError as exc:
                error = "invalid_arguments" if method.startswith("views.") else "invalid_blocks"
                call.answer = {"ok": False, "error": error, "response_metadata": {"messages": [str(exc)]}}
                return web.json_response(call.answer)
            except _ApiError as exc:
                return _error(call, str(exc), **exc.extra)
            if self._lose_answer:
                self._lose_answer = False
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            if self._late.get(method):
                await self._notify()  # carried out; the answer is what is late
                await asyncio.sleep(self._late[method])
            headers = {} if method == "apps.connections.open" else {"x-oauth-scopes": ",".join(self.scopes)}
            call.answer = {"ok": True, **result}
            return web.json_response(call.answer, headers=headers)
        finally:
            if self.brief_record:
                self._keep_brief(call)
            await self._notify()

    def _keep_brief(self, call: Call) -> None:
        view_id = ((call.answer or {}).get("view") or {}).get("id")
        if view_id in self.views:  # what views.update still asks of a view: its id, hash and external id
            view = self.views[view_id]
            self.views[view_id] = {key: view[key] for key in ("id", "hash", "external_id", "type") if key in view}
        posted = (call.answer or {}).get("channel"), (call.answer or {}).get("ts")
        if call.method in ("chat.postMessage", "chat.update") and posted in self.messages:
            # A message's blocks (a summary's are ~15 KB decoded) are read back by nothing the benchmark does:
            # 25,000 declarations' summaries and announcements held most of the 700 MB one fake grew to.
            message = self.messages[posted]
            message["blocks"] = None
            if isinstance(message.get("text"), str):
                message["text"] = message["text"][:300]
        call.args = {key: call.args[key] for key in _BRIEF_ARGS if key in call.args}
        if isinstance(call.args.get("text"), str):
            call.args["text"] = call.args["text"][:300]
        if call.answer is not None:
            call.answer = {key: call.answer[key] for key in ("ok", "error") if key in call.answer}
        if len(self.calls) % FREEZE_EVERY == 0:
            # What is kept stays for the fake's life: out of the collector's sight, so that its full collections
            # (which walk every object kept, hundreds of thousands of calls by a run's last rounds) do not pause
            # the answers the benchmark times.
            gc.freeze()

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        """Slack's consent page, answered at once as `signs_in` (who is "logged in to Slack" in this browser)."""
        query = request.query
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect.startswith("http"):
            return web.Response(status=400, text="invalid client_id or redirect_uri")
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return web.Response(status=400, text="invalid_scope or response_type")
        self.calls.append(Call("openid.connect.authorize", dict(query), time.monotonic(), "query"))
        if self.signs_in is None:
            raise web.HTTPFound(f"{redirect}?error=access_denied&state={query.get('state', '')}")
        code = f"code-{next(self._ids)}"
        self._codes[code] = {"user": self.signs_in, "nonce": query.get("nonce"), "redirect_uri": redirect}
        raise web.HTTPFound(f"{redirect}?code={code}&state={query.get('state', '')}")

    def _sign_in_token(self, request: web.Request, args: dict) -> dict:
        """openid.connect.token: the app authenticates with HTTP Basic (client id and secret); a code works once."""
        auth = request.headers.get("Authorization", "")
        try:
            client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id = secret = ""
        client_id, secret = client_id or args.get("client_id", ""), secret or args.get("client_secret", "")
        if client_id != self.client_id or secret != self.client_secret:
            raise _ApiError("invalid_client_id" if client_id != self.client_id else "bad_client_secret")
        grant = self._codes.pop(_require(args, "code"), None)
        if grant is None:
            raise _ApiError("invalid_code")
        if args.get("redirect_uri") and args["redirect_uri"] != grant["redirect_uri"]:
            raise _ApiError("bad_redirect_uri")
        token = f"xoxp-{next(self._ids)}"
        self._user_tokens[token] = grant["user"]
        now = int(self.now())
        claims = {"iss": "https://slack.com", "sub": grant["user"], "aud": self.client_id, "exp": now + 3600,
                  "iat": now, "auth_time": now, "nonce": grant["nonce"], "https://slack.com/user_id": grant["user"],
                  "https://slack.com/team_id": self.team_id, "name": self._name(grant["user"]),
                  **self.id_token_extra}

        def part(data: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        return {"access_token": token, "token_type": "Bearer",
                "id_token": f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"}

    def _name(self, user_id: str) -> str:
        user = self.users.get(user_id) or {}
        return (user.get("profile") or {}).get("real_name") or user.get("real_name") or user_id

    def _sign_in_user(self, token: str) -> dict:
        user = self._user_tokens.get(token)
        if user is None:
            raise _ApiError("invalid_auth")
        return {"sub": user, "https://slack.com/user_id": user, "https://slack.com/team_id": self.team_id,
                "name": self._name(user), "picture": f"https://avatars.slack-edge.example/{user}_512.png"}

    def _take_failure(self, method: str, channel: str | None) -> Failure | None:
        queue = [f for f in self._failures.get(method) or [] if f.channel in (None, channel)]
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            self._failures[method].remove(failure)
        return failure

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _new_ts(self) -> str:
        return f"{1_790_000_000 + next(self._clock)}.{next(self._ids):06d}"

    # -- methods -----------------------------------------------------------------------------------------

    def _api_apps_connections_open(self, args: dict) -> dict:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    def _api_auth_test(self, args: dict) -> dict:
        return {"url": "https://fake-workspace.slack.com/", "team": "Fake", "user": "firefighter",
                "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT"}

    def _channel(self, args: dict, key: str = "channel") -> dict:
        channel_id = _require(args, key)
        if channel_id.startswith(("U", "W")):  # a DM to a user: Slack opens the IM on the fly
            return self.channels.setdefault("D" + channel_id, {"id": "D" + channel_id, "name": channel_id,
                                                               "topic": "", "members": {channel_id}})
        if channel_id.startswith("#"):
            found = next((c for c in self.channels.values() if c["name"] == channel_id[1:]), None)
            if found:
                return found
        if channel_id not in self.channels:
            raise _ApiError("channel_not_found")
        return self.channels[channel_id]

    def _api_conversations_create(self, args: dict) -> dict:
        name = _require(args, "name")
        if len(name) > 80:
            raise _ApiError("invalid_name_maxlength")
        if not _CHANNEL_NAME.match(name):
            raise _ApiError("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            raise _ApiError("name_taken")
        channel_id = self._new_id("C")  # (private channels made since 2021 have C ids too)
        private = str(args.get("is_private")).lower() in ("true", "1")  # needs groups:write
        if private and "groups:write" not in self.scopes:
            raise _ApiError("missing_scope", needed="groups:write")
        self.add_channel(channel_id, name, creator="UBOT", private=private)
        return {"channel": {"id": channel_id, "name": name, "is_channel": True, "is_private": private,
                            "creator": "UBOT"}}

    def _api_conversations_list(self, args: dict) -> dict:
        """`types`: public_channel (the default) and/or private_channel — of those, only the ones the bot is in."""
        types = set(str(args.get("types") or "public_channel").split(","))
        listed = [c for c in self.channels.values() if not c["id"].startswith("D")
                  and (("private_channel" in types and c.get("joined", True)) if c.get("private")
                       else "public_channel" in types)
                  and not (c.get("archived") and str(args.get("exclude_archived")).lower() in ("true", "1"))]
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(args.get("cursor") or 0)
        page = listed[start:start + limit]
        more = start + limit < len(listed)
        return {"channels": [{"id": c["id"], "name": c["name"], "creator": c.get("creator"),
                              "is_archived": bool(c.get("archived")), "is_member": bool(c.get("joined", True)),
                              "is_general": bool(c.get("general"))}
                             for c in page], "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _api_conversations_join(self, args: dict) -> dict:
        channel = self._channel(args)
        if channel.get("private"):
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.get("archived"):
            raise _ApiError("is_archived")
        channel["joined"] = True
        return {"channel": {"id": channel["id"]}}

    def _history(self, channel_id: str, thread_ts: str | None) -> list[dict]:
        found = [m for (c, _), m in self.messages.items() if c == channel_id
                 and (thread_ts is None or m.get("thread_ts") == thread_ts or m["ts"] == thread_ts)]
        return sorted(found, key=lambda m: m["ts"], reverse=True)

    def _api_conversations_history(self, args: dict) -> dict:
        channel = self._channel(args)
        return {"messages": _shown(self._history(channel["id"], None)[:int(args.get("limit") or 100)], args)}

    def _api_conversations_replies(self, args: dict) -> dict:
        channel = self._channel(args)
        return {"messages": _shown(self._history(channel["id"], _require(args, "ts"))[:int(args.get("limit") or 100)],
                                   args)}

    def _api_conversations_invite(self, args: dict) -> dict:
        channel = self._channel(args)
        users = [u for u in _require(args, "users").split(",") if u]
        if not users or len(users) > 1000:
            raise _ApiError("no_user")
        # Slack: `already_in_channel` — "Invited user is already in the channel"; `force` — "When set to true and
        # multiple user IDs are provided, continue inviting the valid ones while disregarding invalid IDs"
        # (docs.slack.dev/reference/methods/conversations.invite). Without it one such user refuses the whole call.
        already = [u for u in users if u in channel["members"]]
        errors = [{"user": u, "ok": False, "error": "already_in_channel"} for u in already]
        if already and (len(already) == len(users) or str(args.get("force")).lower() not in ("true", "1")):
            raise _ApiError("already_in_channel", errors=errors)
        channel["members"].update(users)
        return {"channel": {"id": channel["id"]}, **({"errors": errors} if errors else {})}

    def _api_conversations_setTopic(self, args: dict) -> dict:
        channel = self._channel(args)
        topic = _require(args, "topic", allow_empty=True)
        if len(topic) > 250:
            raise _ApiError("too_long")
        channel["topic"] = topic
        return {"channel": {"id": channel["id"], "topic": {"value": topic}}}

    def _api_conversations_open(self, args: dict) -> dict:
        users = _require(args, "users")
        return {"channel": {"id": "D" + users.split(",")[0]}}

    def _visible(self, args: dict) -> dict:
        """A private channel the bot is not in does not exist for it: `channel_not_found`
        (https://docs.slack.dev/reference/methods/conversations.info, …/conversations.members)."""
        channel = self._channel(args)
        if channel.get("private") and not channel.get("joined", True):
            raise _ApiError("channel_not_found")
        return channel

    def _api_conversations_info(self, args: dict) -> dict:
        # https://docs.slack.dev/reference/methods/conversations.info: `is_general` marks the workspace's #general,
        # `is_member` whether the caller (the bot) is in it.
        channel = self._visible(args)
        return {"channel": {"id": channel["id"], "name": channel["name"], "topic": {"value": channel["topic"]},
                            "is_channel": not channel["id"].startswith("D"), "is_general": bool(channel.get("general")),
                            "is_private": bool(channel.get("private")), "is_archived": bool(channel.get("archived")),
                            "is_member": bool(channel.get("joined", True))}}

    def _api_conversations_members(self, args: dict) -> dict:
        # https://docs.slack.dev/reference/methods/conversations.members: user ids, paginated by `cursor` and
        # `limit` (default 100, at most 1000); `response_metadata.next_cursor` is "" on the last page.
        channel = self._visible(args)
        members = sorted(set(self.users) if channel.get("general") else channel["members"])
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(args.get("cursor") or 0)
        more = start + limit < len(members)
        return {"members": members[start:start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _message_args(self, args: dict) -> None:
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        if args.get("blocks"):
            validate_blocks(args["blocks"], MESSAGE_BLOCKS_MAX)
        if len(args.get("text") or "") > 40_000:
            raise _ApiError("msg_too_long")

    def _writable(self, channel: dict) -> None:
        if channel.get("archived"):
            raise _ApiError("is_archived")
        if not channel.get("joined", True):
            raise _ApiError("channel_not_found" if channel.get("private") else "not_in_channel")

    def _api_chat_postMessage(self, args: dict) -> dict:
        channel = self._channel(args)
        self._writable(channel)
        self._message_args(args)
        thread_ts = args.get("thread_ts")
        if thread_ts and (channel["id"], thread_ts) not in self.messages:
            raise _ApiError("thread_not_found")
        ts = self._new_ts()
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks"), "thread_ts": thread_ts,
                   "metadata": metadata}
        self.messages[(channel["id"], ts)] = message
        return {"channel": channel["id"], "ts": ts, "message": dict(message)}  # a copy: chat.update edits the stored

    def _api_chat_postEphemeral(self, args: dict) -> dict:
        channel = self._channel(args)
        user = _require(args, "user")
        self._writable(channel)
        # Slack: `user_not_in_channel` — "Cannot post user messages to a channel they are not in"; "The user should
        # be in the channel specified by the channel argument" (docs.slack.dev/reference/methods/chat.postEphemeral).
        if user not in channel["members"]:
            raise _ApiError("user_not_in_channel")
        self._message_args(args)
        return {"message_ts": self._new_ts(), "channel": channel["id"]}

    def _api_chat_update(self, args: dict) -> dict:
        channel = self._channel(args)
        ts = _require(args, "ts")
        if (channel["id"], ts) not in self.messages:
            raise _ApiError("message_not_found")
        self._message_args(args)
        self.messages[(channel["id"], ts)].update(text=args.get("text"), blocks=args.get("blocks"))
        return {"channel": channel["id"], "ts": ts}

    def _api_chat_getPermalink(self, args: dict) -> dict:
        channel = self._channel(args)
        ts = _require(args, "message_ts")
        if (channel["id"], ts) not in self.messages:
            raise _ApiError("message_not_found")
        return {"channel": channel["id"],
                "permalink": f"https://fake-workspace.slack.com/archives/{channel['id']}/p{ts.replace('.', '')}"}

    def _api_pins_add(self, args: dict) -> dict:
        channel = self._channel(args)
        ts = _require(args, "timestamp")
        if (channel["id"], ts) not in self.messages:
            raise _ApiError("message_not_found")
        if (channel["id"], ts) in self.pins:
            raise _ApiError("already_pinned")
        self.pins.add((channel["id"], ts))
        return {}

    def _api_users_info(self, args: dict) -> dict:
        user_id = _require(args, "user")
        if user_id not in self.users:
            raise _ApiError("user_not_found")
        return {"user": self.users[user_id]}

    def _api_users_lookupByEmail(self, args: dict) -> dict:
        """docs.slack.dev/reference/methods/users.lookupByEmail: needs `users:read.email`; an address nobody has is
        `users_not_found`; a deactivated user is found, with `deleted: true`."""
        if "users:read.email" not in self.scopes:
            raise _ApiError("missing_scope", needed="users:read.email", provided=",".join(self.scopes))
        email = _require(args, "email").strip().lower()
        for user in self.users.values():
            if str((user.get("profile") or {}).get("email", "")).lower() == email:
                return {"user": user}
        raise _ApiError("users_not_found")

    def _api_usergroups_list(self, args: dict) -> dict:
        return {"usergroups": [{"id": g["id"], "handle": g["handle"], "name": g.get("name") or g["handle"],
                                "description": g.get("description", ""), "user_count": len(g["users"])}
                               for g in self.usergroups.values()]}

    def _api_usergroups_create(self, args: dict) -> dict:
        # https://docs.slack.dev/reference/methods/usergroups.create: `name` is required and unique among user
        # groups; `handle` must be unique among channels, users and user groups — a taken one answers
        # `name_already_exists` (as Slack does for either); the new group has no members yet.
        name = _require(args, "name")
        handle = args.get("handle") or name
        taken = {n for g in self.usergroups.values() for n in (g["handle"], g.get("name") or g["handle"])}
        if name in taken or handle in taken or any(c["name"] == handle for c in self.channels.values()) \
                or any(u["name"] == handle for u in self.users.values()):
            raise _ApiError("name_already_exists")
        group_id = self._new_id("S")
        self.usergroups[group_id] = {"id": group_id, "handle": handle, "name": name, "users": [],
                                     "description": args.get("description") or ""}
        return {"usergroup": {"id": group_id, "handle": handle, "name": name,
                              "description": args.get("description") or "", "users": []}}

    def _api_usergroups_users_list(self, args: dict) -> dict:
        group = self.usergroups.get(_require(args, "usergroup"))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _api_usergroups_users_update(self, args: dict) -> dict:
        group = self.usergroups.get(_require(args, "usergroup"))
        users = [u.strip() for u in _require(args, "users").split(",") if u.strip()]
        if group is None:
            raise _ApiError("no_such_subteam")
        if not users:
            raise _ApiError("no_users_provided")
        if any(u not in self.users for u in users):
            raise _ApiError("invalid_users")
        group["users"] = users
        return {"usergroup": {"id": group["id"], "handle": group["handle"], "users": users}}

    def _api_views_open(self, args: dict) -> dict:
        trigger_id = _require(args, "trigger_id")
        view = _require_view(args)
        validate_view(view)
        self._exchange(trigger_id)
        view_id = self._new_id("V")
        self.views[view_id] = {**view, "id": view_id, "hash": self._new_ts()}
        return {"view": self.views[view_id]}

    def _api_views_update(self, args: dict) -> dict:
        view = _require_view(args)
        view_id = args.get("view_id") or next((k for k, v in self.views.items()
                                               if v.get("external_id") == args.get("external_id")), None)
        if not view_id:
            raise _ApiError("invalid_arguments")
        if view_id not in self.views:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise _ApiError("hash_conflict")
        validate_view(view)
        self.views[view_id] = {**view, "id": view_id, "hash": self._new_ts()}
        return {"view": self.views[view_id]}

    def _exchange(self, trigger_id: str) -> None:
        """A trigger id works once, within `trigger_lifetime` seconds of its minting (see TRIGGER_LIFETIME)."""
        shape = _TRIGGER_ID.match(trigger_id)
        if self.lenient_requests:
            return
        if shape is None:
            raise _ApiError("invalid_trigger_id")
        if trigger_id in self._exchanged:
            raise _ApiError("exchanged_trigger_id")
        if time.monotonic() - int(shape.group(2)) / 1000 > self.trigger_lifetime:
            raise _ApiError("expired_trigger_id")
        self._exchanged.add(trigger_id)

    def _api_views_publish(self, args: dict) -> dict:
        _require(args, "user_id")
        view = _require_view(args)
        if view.get("type") != "home":
            raise BlockKitError("views.publish takes a view of type home")
        validate_view(view)
        return {"view": {**view, "id": self._new_id("V")}}


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.extra = extra  # more of Slack's answer (conversations.invite's per-user `errors`)


def _error(call: Call, error: str, **extra: Any) -> web.Response:
    call.answer = {"ok": False, "error": error, **extra}
    return web.json_response(call.answer)


def _shown(messages: list[dict], args: dict) -> list[dict]:
    """Messages as conversations.history/replies return them: their metadata only when asked with
    `include_all_metadata` ("Return all metadata associated with this message", docs.slack.dev/reference/methods/
    conversations.history)."""
    if str(args.get("include_all_metadata")).lower() in ("true", "1"):
        return messages
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]


def _decode_json_args(args: dict) -> dict:
    """Form-encoded calls carry blocks/view as JSON strings; decode them like Slack does."""
    decoded = dict(args)
    for key in ("blocks", "view", "attachments"):
        if isinstance(decoded.get(key), str) and decoded[key]:
            try:
                decoded[key] = json.loads(decoded[key])
            except ValueError:
                raise _ApiError(f"invalid_{key}") from None
    return decoded


def _require(args: dict, key: str, allow_empty: bool = False) -> str:
    value = args.get(key)
    if value is None or (value == "" and not allow_empty):
        raise _ApiError(f"missing_argument:{key}" if key not in ("channel", "user", "users") else
                        {"channel": "channel_not_found", "user": "user_not_found", "users": "no_user"}[key])
    return str(value)


def _require_view(args: dict) -> dict:
    view = args.get("view")
    if not isinstance(view, dict):
        raise BlockKitError("view is required")
    return view


# -- Block Kit validation (limits from Slack's reference, see shared/slack/README.md) -------------------------


def _text(obj: Any, where: str, limit: int, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise BlockKitError(f"{where}: must be a text object")
    if plain_only and obj["type"] != "plain_text":
        raise BlockKitError(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise BlockKitError(f"{where}: text must be a non-empty string")
    if len(text) > limit:
        raise BlockKitError(f"{where}: must be at most {limit} characters, got {len(text)}")


def _id(value: Any, where: str) -> None:
    if value is not None and (not isinstance(value, str) or not value or len(value) > 255):
        raise BlockKitError(f"{where}: ids must be 1..255 characters")


# How many options each element takes: "A maximum of 10 options are allowed" (checkboxes, radio buttons); an
# overflow menu "Maximum number of options is 5, minimum is 2"; a select menu up to 100
# (docs.slack.dev/reference/block-kit/block-elements/{checkboxes,radio-button,overflow-menu,select-menu}-element).
_OPTION_COUNTS = {"checkboxes": (1, 10), "radio_buttons": (1, 10), "overflow": (2, 5)}


def _plain(option: dict) -> dict:
    """An option as Slack compares it: a plain_text's `emoji` defaults to true."""
    text = dict(option.get("text") or {})
    if text.get("type") == "plain_text":
        text.setdefault("emoji", True)
    return {**option, "text": text}


def _options(options: Any, where: str, most: int = 100, least: int = 1) -> None:
    if not isinstance(options, list) or not least <= len(options) <= most:
        raise BlockKitError(f"{where}: {least}..{most} options")
    values = set()
    for i, option in enumerate(options):
        _text(option.get("text"), f"{where}[{i}].text", 75)
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > 150:
            raise BlockKitError(f"{where}[{i}].value: 1..150 characters")
        values.add(value)
    if len(values) != len(options):
        raise BlockKitError(f"{where}: option values must be unique")


def _element(element: Any, where: str, in_input: bool) -> None:
    if not isinstance(element, dict) or element.get("type") not in _ELEMENT_TYPES:
        kind = element.get("type") if isinstance(element, dict) else element
        raise BlockKitError(f"{where}: unknown element type {kind!r}")
    _id(element.get("action_id"), f"{where}.action_id")
    kind = element["type"]
    if kind == "button":
        _text(element.get("text"), f"{where}.text", 75, plain_only=True)
        if len(element.get("value") or "") > 2000:
            raise BlockKitError(f"{where}.value: at most 2000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            raise BlockKitError(f"{where}.style: primary or danger")
    if kind in ("static_select", "multi_static_select", "checkboxes", "radio_buttons", "overflow"):
        least, most = _OPTION_COUNTS.get(kind, (1, 100))
        _options(element.get("options"), f"{where}.options", most, least)
        # initial_options: "An array of option objects that exactly matches one or more of the options within
        # options"; initial_option: "A single option that exactly matches one of the options" — the whole object,
        # text and all, not only its value (docs.slack.dev/reference/block-kit/block-elements/checkboxes-element).
        valid = [_plain(o) for o in element["options"]]
        initial = element.get("initial_options") or []
        if element.get("initial_option"):
            initial = [element["initial_option"]]
        for option in initial:
            if not isinstance(option, dict) or _plain(option) not in valid:
                raise BlockKitError(f"{where}: initial option must exactly match one of the options")
    if kind == "plain_text_input":
        if not in_input:
            raise BlockKitError(f"{where}: plain_text_input only inside an input block")
        max_length = element.get("max_length", 3000)
        if not 1 <= max_length <= 3000:
            raise BlockKitError(f"{where}.max_length: 1..3000")
        if len(element.get("initial_value") or "") > max_length:
            raise BlockKitError(f"{where}.initial_value: longer than max_length")
    if element.get("placeholder") is not None:
        _text(element["placeholder"], f"{where}.placeholder", 150, plain_only=True)


def validate_blocks(blocks: Any, max_blocks: int) -> None:
    if not isinstance(blocks, list):
        raise BlockKitError("blocks must be an array")
    if len(blocks) > max_blocks:
        raise BlockKitError(f"no more than {max_blocks} items allowed [json-pointer:/blocks], got {len(blocks)}")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            raise BlockKitError(f"{where}: unknown block type")
        block_id = block.get("block_id")
        _id(block_id, f"{where}/block_id")
        if block_id is not None:
            if block_id in block_ids:
                raise BlockKitError(f"{where}/block_id: duplicate block_id {block_id}")
            block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                raise BlockKitError(f"{where}: a section needs text or fields")
            if block.get("text") is not None:
                _text(block["text"], f"{where}/text", 3000)
            fields = block.get("fields") or []
            if len(fields) > 10:
                raise BlockKitError(f"{where}/fields: at most 10")
            for j, f in enumerate(fields):
                _text(f, f"{where}/fields/{j}", 2000)
            if block.get("accessory") is not None:
                _element(block["accessory"], f"{where}/accessory", in_input=False)
        elif kind == "header":
            _text(block.get("text"), f"{where}/text", 150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                raise BlockKitError(f"{where}/elements: 1..10 elements")
            for j, e in enumerate(elements):
                if e.get("type") in ("plain_text", "mrkdwn"):
                    _text(e, f"{where}/elements/{j}", 3000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                raise BlockKitError(f"{where}/elements: 1..25 elements")
            action_ids = [e.get("action_id") for e in elements if e.get("action_id")]
            if len(action_ids) != len(set(action_ids)):
                raise BlockKitError(f"{where}: duplicate action_id")
            for j, e in enumerate(elements):
                _element(e, f"{where}/elements/{j}", in_input=False)
        elif kind == "input":
            _text(block.get("label"), f"{where}/label", 2000, plain_only=True)
            _element(block.get("element"), f"{where}/element", in_input=True)
            if block.get("hint") is not None:
                _text(block["hint"], f"{where}/hint", 2000, plain_only=True)


def validate_view(view: dict) -> None:
    kind = view.get("type")
    if kind not in ("modal", "home"):
        raise BlockKitError("view.type must be modal or home")
    if kind == "modal":
        _text(view.get("title"), "view.title", 24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _text(view[key], f"view.{key}", 24, plain_only=True)
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and view.get("submit") is None:
            raise BlockKitError("view.submit is required when the view has input blocks")
    if len(view.get("private_metadata") or "") > 3000:
        raise BlockKitError("view.private_metadata: at most 3000 characters")
    _id(view.get("callback_id"), "view.callback_id")
    validate_blocks(view.get("blocks"), VIEW_BLOCKS_MAX)


async def _serve(port: int, latency_ms: float = 0, quiet: bool = False, brief: bool = False) -> None:
    """Run the fake on its own (see docs/testing.md, "Trying it without Slack by hand") and print each call it receives.

    `latency_ms`: every method answers that much later; `quiet`: print nothing per call (the benchmark reads
    the calls from `GET /_calls` instead); `brief`: keep of each call only what `GET /_calls` shows without
    `full=1` (the benchmark's hundreds of thousands of calls; see `FakeSlack.brief_record`)."""
    fake = FakeSlack(lenient_requests=True, brief_record=brief)
    fake.add_channel("C0INCIDENTS", "incidents")
    for user in ("U1", "U2", "U3"):
        fake.add_user(user)
    fake.add_channel("C1", "general", general=True)
    fake.slow(latency_ms / 1000)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/api/{method}", fake._handle)
    app.router.add_post("/response/{key}", fake._handle_response_url)
    add_inspection_routes(app, fake)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    fake.port, fake._changed = port, asyncio.Condition()
    print(f"fake Slack Web API at {fake.api_url} (SLACK_API_URL)", flush=True)
    seen_calls = seen_responses = 0
    while True:
        async with fake._changed:
            await fake._changed.wait()
        if quiet:
            continue
        for call in fake.calls[seen_calls:]:  # whole, one line each: `method {json}`, so a person can read it back
            print(f"{call.method} {json.dumps(call.args, ensure_ascii=False)}", flush=True)
        for response in fake.responses[seen_responses:]:
            print(f"response_url {json.dumps(response, ensure_ascii=False)}", flush=True)
        seen_calls, seen_responses = len(fake.calls), len(fake.responses)


def add_inspection_routes(app: web.Application, fake: FakeSlack) -> None:
    """What a process outside the fake (the benchmark) needs: what was called and when, what exists, and a way
    to add channels and users. Times are `time.monotonic()`, which on Linux is one clock for every process.

    - `GET /_calls?since=N`: the calls from the N-th on, each {method, at, trigger_id, channel, name, text,
      event_type, user}, and `next` (the N to ask with next time); with `full=1` each call whole instead:
      {method, at, transport, args (every argument as received, blocks and views decoded), answer (what the fake
      answered, null while it has not)};
    - `GET /_responses?since=N`: the POSTs to response_url from the N-th on, whole, and `next`; with `key=K` only
      those to `/response/K`;
    - `GET /_state`: channels {id: name}, messages [[channel, ts, text]], pins [[channel, ts]], responses (count);
    - `POST /_setup` {"channels": [[id, name], ...], "users": [id or [id, name], ...]}: they exist from now on."""
    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        found = fake.calls[since:]
        full = request.query.get("full") in ("1", "true")
        return web.json_response({"next": since + len(found),
                                  "calls": [_whole(call) if full else _brief(call) for call in found]},
                                 dumps=_dumps)

    async def responses(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        found = fake.responses[since:]
        key = request.query.get("key")
        return web.json_response({"next": since + len(found),
                                  "responses": [r for r in found if key is None or r["key"] == key]}, dumps=_dumps)

    async def state(_request: web.Request) -> web.Response:
        return web.json_response({
            "channels": {cid: c["name"] for cid, c in fake.channels.items()},
            "messages": [[cid, ts, (m.get("text") or "")[:300]] for (cid, ts), m in fake.messages.items()],
            "pins": sorted(fake.pins), "responses": len(fake.responses)})

    async def setup(request: web.Request) -> web.Response:
        body = await request.json()
        for channel_id, name, *members in body.get("channels", []):  # [id, name] or [id, name, [members]]
            fake.add_channel(channel_id, name, members=tuple(members[0]) if members else (),
                             general=name == "general")
        for user in body.get("users", []):
            if isinstance(user, str):
                fake.add_user(user)
            else:
                fake.add_user(user[0], name=user[1])
        return web.json_response({"ok": True})

    app.router.add_get("/_calls", calls)
    app.router.add_get("/_responses", responses)
    app.router.add_get("/_state", state)
    app.router.add_post("/_setup", setup)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=sorted)  # sets (channel members) as sorted lists


def _whole(call: Call) -> dict:
    return {"method": call.method, "at": call.at, "transport": call.transport, "args": _decode_args(call.args),
            "answer": call.answer}


def _decode_args(args: dict) -> dict:
    try:
        return _decode_json_args(args)
    except _ApiError:  # not JSON where JSON belongs: shown as it came
        return args


FREEZE_EVERY = 5000  # calls kept (brief) between two `gc.freeze()`
_BRIEF_ARGS = ("trigger_id", "channel", "name", "text", "user", "users", "metadata")  # what `_brief` reads


def _brief(call: Call) -> dict:
    args = call.args
    metadata = args.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    return {"method": call.method, "at": call.at, "trigger_id": args.get("trigger_id"),
            "channel": args.get("channel"), "name": args.get("name"), "text": str(args.get("text") or "")[:300],
            "user": args.get("user") or args.get("users"),
            "event_type": metadata.get("event_type") if isinstance(metadata, dict) else None}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A fake Slack Web API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--latency-ms", type=float, default=0, help="every method answers this much later")
    parser.add_argument("--quiet", action="store_true", help="do not print the calls")
    parser.add_argument("--brief", action="store_true",
                        help="keep of each call only what GET /_calls shows (arguments and answers trimmed)")
    options = parser.parse_args()
    asyncio.run(_serve(options.port, options.latency_ms, options.quiet, options.brief))
