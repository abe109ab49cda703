"""Who is looking at the web board: Sign in with Slack (OpenID Connect) and the session it leaves. Pure: the flow's
cookie is a token signed with WEB_SECRET (bot/http/tokens.py); the session's cookie is the id of a server-side row
(bot/http/sign_in.py keeps them); the ID token's claims are checked here.

The flow's `state` and `nonce` travel in a short-lived signed cookie, so a callback that does not come from the
sign-in this browser started (a forged link, a replayed code) is refused. The ID token comes straight from Slack's
token endpoint over TLS, in exchange for our client secret: its issuer, audience, expiry and nonce are checked,
its signature is not (OpenID Connect Core 3.1.3.7 allows TLS to stand in for it on this path).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.db.edge_models import WebSession
from bot.http.tokens import as_bytes, sign, verify

SESSION_COOKIE = "ff_session"
FLOW_COOKIE = "ff_sign_in"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_RECHECK = timedelta(minutes=1)  # how often a session asks Slack (users.info) whether its person is still active
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
FLOW_LIFETIME = timedelta(minutes=10)
ISSUER = "https://slack.com"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: their Slack user id, the name Slack gave, and their session's CSRF token."""

    user_id: str
    name: str
    csrf: str


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    next: str


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site only — never `//elsewhere`, a full URL, or one that
    becomes either once a browser or the HTTP library drops its whitespace and control characters."""
    if not path or len(path) > 500 or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in path) or "\\" in path:
        return "/board"
    parts = urlsplit(path)
    if not path.startswith("/") or path.startswith("//") or parts.scheme or parts.netloc:
        return "/board"
    return path


def start_flow(secret: str, now: datetime, next_path: str | None) -> tuple[str, Flow]:
    flow = Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24), safe_next(next_path))
    return sign(secret, {"k": "flow", "s": flow.state, "n": flow.nonce, "x": flow.next,
                         "exp": int((now + FLOW_LIFETIME).timestamp())}), flow


def flow_of(secret: str, cookie: str | None, now: datetime) -> Flow | None:
    claims = verify(secret, cookie)
    if not claims or claims.get("k") != "flow" or int(claims.get("exp", 0)) <= now.timestamp():
        return None
    return Flow(str(claims.get("s", "")), str(claims.get("n", "")), safe_next(claims.get("x")))


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(as_bytes(str(a)), as_bytes(str(b)))


def id_token_claims(id_token: str) -> dict:
    """The claims of a JWT (its middle part); its checks are `check_id_token`'s."""
    parts = id_token.split(".") if isinstance(id_token, str) else []
    if len(parts) != 3:
        raise ValueError("the ID token is not a JWT")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        raise ValueError("the ID token cannot be read") from None
    if not isinstance(claims, dict):
        raise ValueError("the ID token cannot be read")
    return claims


def check_id_token(claims: dict, *, client_id: str, nonce: str, now: datetime) -> str:
    """The Slack user id the token is for; ValueError saying what is wrong with it."""
    audience = claims.get("aud")
    if claims.get("iss") != ISSUER:
        raise ValueError("the ID token was not issued by Slack")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        raise ValueError("the ID token is for another app")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now.timestamp():
        raise ValueError("the ID token has expired")
    if not same(claims.get("nonce"), nonce):
        raise ValueError("the ID token does not answer this sign-in (nonce)")
    user = claims.get("https://slack.com/user_id") or claims.get("sub")
    if not isinstance(user, str) or user[:1] not in ("U", "W"):
        raise ValueError("the ID token names no Slack user")
    return user


def new_session(user_id: str, name: str, team_id: str | None, now: datetime) -> WebSession:
    """A sign-in's session row: its id (the cookie's whole content: 256 random bits, kept server-side so logging out
    and deactivation can end it) and its CSRF token."""
    return WebSession(id=secrets.token_urlsafe(32), user_id=user_id, name=name[:80], team_id=team_id or "",
                      csrf=secrets.token_urlsafe(24), created_at=now, expires_at=now + SESSION_LIFETIME,
                      checked_at=now)


def session_id_of(cookie: str | None) -> str | None:
    """The session id a cookie names, if it could be one of ours (else no database lookup is made)."""
    return cookie if cookie and _SESSION_ID.fullmatch(cookie) else None
