"""Signed links for the read-only web pages and calendar feeds: HMAC-SHA256 with WEB_SECRET.

Page links expire (12 h); a feed link does not, but carries its rotation's feed version, so bumping the version
(`/incident rotation feed-reset`) revokes every link handed out for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

PAGE_LIFETIME = timedelta(hours=12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_bytes(text: str | None) -> bytes:
    """A header, cookie or query value as bytes, whatever it holds: aiohttp hands over bytes that are not UTF-8 as
    lone surrogates, which `str.encode()` refuses (and `hmac.compare_digest` refuses non-ASCII str). Secrets are
    compared as these bytes, so a malformed value is a mismatch, never an exception."""
    return (text or "").encode("utf-8", "surrogatepass")


def sign(secret: str, claims: dict) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: str, token: str | None) -> dict | None:
    """The claims of a token this server signed, or None (forged, mangled or not ours)."""
    if not token or not token.isascii() or token.count(".") != 1:  # ours are base64url: anything else is not
        return None
    body, mac = token.split(".")
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def page_token(secret: str, now: datetime) -> str:
    return sign(secret, {"k": "page", "exp": int((now + PAGE_LIFETIME).timestamp())})


def page_allowed(secret: str, token: str | None, now: datetime) -> bool:
    claims = verify(secret, token)
    return bool(claims) and claims.get("k") == "page" and int(claims.get("exp", 0)) > now.timestamp()


def rotation_feed_token(secret: str, rotation: str, version: int) -> str:
    return sign(secret, {"k": "ics", "r": rotation, "v": version})


def person_feed_token(secret: str, user_id: str, version: int) -> str:
    """Carries the person's feed version: `/incident me feed-reset` bumps it and every older link stops working
    (links made before versions existed carry none and count as version 0)."""
    return sign(secret, {"k": "ics", "p": user_id, "v": version})


ACK_LIFETIME = timedelta(hours=24)  # an outer bound: the link works only while its page is open anyway


def ack_token(secret: str, page_id: int, user_id: str, method: str, now: datetime) -> str:
    """A page's one-click acknowledge link, for the person it paged, sent by one method."""
    return sign(secret, {"k": "ack", "p": page_id, "u": user_id, "m": method,
                         "exp": int((now + ACK_LIFETIME).timestamp())})


def ack_claims(secret: str, token: str | None, now: datetime) -> tuple[int, str, str] | None:
    """(page id, user, method) of a live ack link this server signed, or None."""
    claims = verify(secret, token)
    if not claims or claims.get("k") != "ack" or int(claims.get("exp", 0) or 0) <= now.timestamp():
        return None
    page, user, method = claims.get("p"), claims.get("u"), claims.get("m")
    if type(page) is not int or not 0 < page < 2**31 or not isinstance(user, str) or \
            method not in ("sms", "push", "email"):  # (a page id past the column's integers names no page)
        return None
    return page, user, method
