"""The Slack gateway: a Web API client with retries, and typed wrappers over the calls the bot makes. What the bot
owes Slack goes out through the delivery engine (bot/delivery/), which sends through this gateway; only answers
valid right now (a modal with its trigger id, an ephemeral reply) call it directly.
slack-sdk's retry handlers take care of 429 `Retry-After`, 5xx and dropped connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

# Errors that mean "this will never work for this channel": stop and fall back instead of retrying.
CHANNEL_REFUSED = frozenset({
    "restricted_action", "restricted_action_read_only_channel", "restricted_action_non_threadable_channel",
    "missing_scope", "not_allowed_token_type", "no_permission", "invalid_name_specials", "invalid_name",
    "invalid_name_maxlength", "invalid_name_punctuation", "invalid_name_required", "team_access_not_granted",
    "ekm_access_denied", "access_denied",
})


class _ProportionalJitter(Jitter):
    """Up to half as long again: slack-sdk's default adds up to a whole second, whatever the backoff."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 2)


def _client_logger() -> logging.Logger:
    """slack-sdk's logger, its level set to what it is in effect: slack-sdk formats every request and answer for
    its debug line when its logger's own level is unset (it tests `logger.level`, 0, not the level in effect) —
    about 3% of the bot's CPU during a burst of declarations. LOG_LEVEL=DEBUG still gets those lines."""
    logger = logging.getLogger("slack_sdk.web.async_client")
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


def json_text(value: Any) -> str:
    """How the Web API client writes its JSON bodies: orjson, about nine times as fast as the standard library on a
    declare form (100 rotation options; the encoding was 15% of the event loop's time in a burst of `/incident`).
    Whatever orjson refuses (an integer dictionary key, say) is written by the standard library as before."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def make_client(token: str, base_url: str, backoff_factor: float = 0.5) -> AsyncWebClient:
    """Quick in-call retries for blips; longer outages are the outbox's job (it retries later, in order)."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor, jitter=_ProportionalJitter())
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=30,
        logger=_client_logger(),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3, interval_calculator=backoff),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=3, interval_calculator=backoff),
        ],
    )


TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


# `ok: false` answers that say "not now" rather than "never": Slack's own trouble, and the token being refused
# for a while (a rotated or briefly revoked token must delay deliveries, not lose them).
PASSING_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
                            "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})


def transient(exc: BaseException) -> bool:
    """Worth another try later: Slack unreachable, 5xx, rate limiting, or one of PASSING_ERRORS. Any other
    `ok: false` answer is final."""
    if isinstance(exc, TRANSPORT_ERRORS):
        return True
    if isinstance(exc, SlackApiError):
        return getattr(exc.response, "status_code", 200) != 200 or slack_error(exc) in PASSING_ERRORS
    return False


def slack_error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return str(data.get("error", "unknown_error")) if isinstance(data, dict) else "unknown_error"


@dataclass(frozen=True)
class SlackUser:
    """What users.info says that we keep: the timezone (rules), the display name and picture (the web)."""

    tz: str | None
    name: str | None
    avatar: str | None
    deleted: bool = False  # deactivated in the workspace: their web sessions end


class SlackGateway:
    """Thin, typed wrappers over the Web API calls the bot makes."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self.bot_user_id: str | None = None
        self.team_url: str | None = None  # https://<workspace>.slack.com/ — the base of message permalinks
        self.team_name: str | None = None  # the workspace's name: the status page's, unless STATUS_PAGE_TITLE
        self.team_id: str | None = None  # the workspace: only its people may sign in to the board

    async def whoami(self) -> dict:
        response = await self.client.auth_test()
        self.bot_user_id = response.get("user_id")
        self.team_id = response.get("team_id")
        url = response.get("url")
        self.team_url = url if isinstance(url, str) and url.startswith("https://") else None
        team = response.get("team")
        self.team_name = str(team)[:100] if isinstance(team, str) and team.strip() else None
        return response.data  # type: ignore[return-value]

    async def create_channel(self, name: str, private: bool = False) -> str:
        response = await self.client.conversations_create(name=name, is_private=private)
        return response["channel"]["id"]

    async def invite(self, channel: str, users: Iterable[str]) -> None:
        """Everyone in `users` ends up in the channel. Someone already in it (who joined by themselves, or a resumed
        set-up's earlier invite) is what was wanted: Slack answers `already_in_channel`, and refuses the whole call
        when several are invited and one is in — then the others are invited without those it named (one at a time
        if it named nobody)."""
        wanted = sorted({u for u in users if u and u != self.bot_user_id})
        if not wanted:
            return
        try:
            await self.client.conversations_invite(channel=channel, users=",".join(wanted))
        except SlackApiError as exc:
            if slack_error(exc) != "already_in_channel":
                raise
            if len(wanted) == 1:
                return
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            named = {e.get("user") for e in data.get("errors") or [] if isinstance(e, dict)
                     and e.get("error") == "already_in_channel"}
            rest = [u for u in wanted if u not in named]
            for group in ([rest] if named and rest else [[u] for u in rest] if not named else []):
                await self.invite(channel, group)

    async def usergroup_id(self, handle: str) -> str | None:
        """The id of the user group called `handle` (without its @), or None when there is none."""
        response = await self.client.usergroups_list(include_disabled=True)
        return next((g["id"] for g in response.get("usergroups") or [] if g.get("handle") == handle), None)

    async def usergroup_named(self, handle: str) -> dict | None:
        """The user group whose handle is `handle` (disabled ones too): {"id", "handle", "description"}, or None."""
        response = await self.client.usergroups_list(include_disabled=True)
        return next((g for g in response.get("usergroups") or [] if g.get("handle") == handle), None)

    async def usergroup_members(self, group_id: str) -> list[str]:
        """Who is in the user group now (usergroups.users.list)."""
        response = await self.client.usergroups_users_list(usergroup=group_id)
        return list(response.get("users") or [])

    async def create_usergroup(self, handle: str, name: str, description: str) -> str:
        response = await self.client.usergroups_create(name=name, handle=handle, description=description)
        return response["usergroup"]["id"]

    async def channel_facts(self, channel: str, user: str) -> tuple[bool, bool]:
        """(is it the workspace's general channel, is `user` a member): conversations.info, then
        conversations.members page by page (everyone is in #general: not asked there)."""
        info = (await self.client.conversations_info(channel=channel)).get("channel") or {}
        if info.get("is_general"):
            return True, True
        cursor = None
        while True:
            response = await self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            if user in (response.get("members") or []):
                return False, True
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False, False

    async def set_usergroup(self, group_id: str, users: Iterable[str]) -> None:
        await self.client.usergroups_users_update(usergroup=group_id, users=",".join(users))

    async def set_topic(self, channel: str, topic: str) -> None:
        await self.client.conversations_setTopic(channel=channel, topic=topic[:250])

    async def post(self, channel: str, text: str, blocks: list[dict] | None = None,
                   thread_ts: str | None = None, metadata: dict | None = None) -> tuple[str, str]:
        """Returns (channel id, ts) — Slack answers with the id even when given a name or a user id.
        `metadata` ({"event_type", "event_payload"}) marks a message so that it can be found again."""
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                                      thread_ts=thread_ts, unfurl_links=False, metadata=metadata)
        return response["channel"], response["ts"]

    async def join(self, channel: str) -> None:
        await self.client.conversations_join(channel=channel)

    async def channel_named(self, name: str, private: bool = False) -> dict | None:
        """A public channel by its name (Slack has no look-up by name: the list is read page by page); `private`:
        a private one the bot is in."""
        cursor = None
        for _ in range(50):
            response = await self.client.conversations_list(types="private_channel" if private else "public_channel",
                                                            exclude_archived=True, limit=1000, cursor=cursor)
            for channel in response.get("channels") or []:
                if channel.get("name") == name:
                    return channel
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    async def find_marked(self, channel: str, event_type: str, key: dict, thread_ts: str | None = None) -> str | None:
        """The ts of a recent message of ours marked with this metadata (a post a crash kept us from recording)."""
        if thread_ts:
            response = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=100,
                                                               include_all_metadata=True)
        else:
            response = await self.client.conversations_history(channel=channel, limit=100, include_all_metadata=True)
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == event_type and all(payload.get(k) == v for k, v in key.items()):
                return message.get("ts")
        return None

    async def post_ephemeral(self, channel: str, user: str, text: str, blocks: list[dict] | None = None) -> None:
        await self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def pin(self, channel: str, ts: str) -> None:
        await self.client.pins_add(channel=channel, timestamp=ts)

    async def permalink(self, channel: str, ts: str) -> str:
        response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        return response["permalink"]

    async def open_view(self, trigger_id: str, view: dict) -> None:
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def update_view(self, view_id: str, view: dict, view_hash: str | None = None) -> None:
        await self.client.views_update(view_id=view_id, view=view, hash=view_hash)

    async def user_info(self, user_id: str) -> SlackUser:
        user = (await self.client.users_info(user=user_id)).get("user") or {}
        profile = user.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                or user.get("name") or None)
        avatar = profile.get("image_72") or profile.get("image_48") or None
        return SlackUser(tz=user.get("tz"), name=str(name)[:80] if name else None,
                         avatar=avatar if isinstance(avatar, str) and avatar.startswith("https://")
                         and len(avatar) <= 500 else None, deleted=user.get("deleted") is True)

    async def user_by_email(self, email: str) -> str | None:
        """The Slack user with this email (`python -m bot import` matches people so); None: nobody, or deactivated."""
        try:
            user = (await self.client.users_lookupByEmail(email=email)).get("user") or {}
        except SlackApiError as exc:
            if exc.response.get("error") in ("users_not_found", "user_not_found"):
                return None
            raise
        return None if user.get("deleted") else user.get("id")

    async def sign_in_token(self, client_id: str, client_secret: str, code: str, redirect_uri: str) -> dict:
        """Sign in with Slack: the authorization code exchanged for the person's ID token and access token."""
        response = await self.client.openid_connect_token(client_id=client_id, client_secret=client_secret,
                                                          code=code, redirect_uri=redirect_uri)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def sign_in_user(self, access_token: str) -> dict:
        """Sign in with Slack: who the access token is (user id, team, name, picture)."""
        response = await self.client.openid_connect_userInfo(token=access_token)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def respond(self, response_url: str, text: str) -> None:
        """An ephemeral answer to the person behind an interaction (valid 30 minutes after it)."""
        answer = await AsyncWebhookClient(response_url, timeout=10, session=self.client.session).send(
            text=text, response_type="ephemeral", replace_original=False)
        if answer.status_code >= 300:
            log.warning("response_url answered %s: %s", answer.status_code, answer.body[:200])

    async def publish_home(self, user_id: str, view: dict) -> None:
        await self.client.views_publish(user_id=user_id, view=view)
