"""Rules of `/api/v1` that need neither HTTP nor a database: scopes, the token as an actor, names, cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import UserError

TOKEN_PREFIX = "ff_"  # recognisable in a leaked file (secret scanners look for prefixes)
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
NAME_RULE = "a token's name is 1–64 lower-case letters, digits, `.`, `_` or `-`"


class Scope(StrEnum):
    """What a token may do; each scope includes the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class ApiActor:
    """An API token acting on an incident: named on the timeline as itself; it has no Slack id, so its rights are
    its scope's (write: what a firefighter may do to incidents anyone may see; admin: private ones too)."""

    name: str
    scope: Scope
    maker: str = ""  # the ADMIN who made it: configuration changes are theirs (while they are still in ADMINS)
    tag: str = ""  # the token's own (its hash's start): a token made again under a name has retries of its own
    trusted: bool = True  # its maker is still in ADMINS: an admin token is worth no more than its maker
    tracker: None = None  # not an issue tracker: the trackers hear of its changes like any other

    @property
    def sees_private(self) -> bool:
        return self.scope is Scope.ADMIN and self.trusted

    def __str__(self) -> str:
        return f"API token {self.name}"


def token_name(text: str) -> str:
    name = text.strip().lower()
    if not NAME.match(name):
        raise UserError(f"`{name[:70]}` is not a token name: {NAME_RULE}.")
    return name


def encode_cursor(*key: int | str) -> str:
    """An opaque cursor: the last row's sort key, for a keyset `WHERE` (never an offset)."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> tuple:
    """The key back, of exactly `shape`'s types; anything else is a client's mistake (UserError), never a crash."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != len(shape) or not all(
            type(value) is kind and (kind is not int or 0 < value < 2**31)
            for value, kind in zip(key, shape, strict=True)):
        raise UserError("This cursor is not one this API gave out; start again without it.")
    return tuple(key)
