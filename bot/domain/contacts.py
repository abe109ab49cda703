"""Reaching people beyond Slack (SPEC §2): contact methods, their verification codes, and the rules a page follows.

Pure: addresses are checked (phone numbers with `phonenumbers`, in E.164), rules parsed and applied to a page's
start, codes compared — every function takes what it needs, `now` included. Sending is bot/delivery/contacts.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import phonenumbers

from bot.domain.errors import UserError


class Method(StrEnum):
    """How a page reaches someone: Slack's DM, or a contact method through its provider."""

    SLACK = "slack"
    SMS = "sms"
    PUSH = "push"
    EMAIL = "email"

    @property
    def label(self) -> str:
        return {"slack": "Slack", "sms": "SMS", "push": "push", "email": "email"}[self.value]


CONTACT_KINDS = (Method.SMS, Method.PUSH, Method.EMAIL)  # the methods a person adds an address for

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=15)
CODE_TRIES = 5  # wrong codes before the code is void (a new `me contact add` sends another)
CODES_PER_HOUR = 5  # codes one person may have sent in an hour (nobody can use us to flood a stranger's phone)
MAX_DELAY = timedelta(hours=24)
MAX_ADDRESS = 254  # an email address's longest (RFC 5321)

# Numbers a text may go to: a mobile (where the plan cannot tell, as in North America, either). Premium-rate and
# shared-cost numbers are refused: codes sent to them would cost money (SMS toll fraud).
TEXTABLE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_PUSH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")  # an ntfy topic, a Pushover user key, a device token
_DELAY = re.compile(r"^(\d{1,5})\s*(s|sec|secs|m|min|mins|h|hr|hrs)?$")


def contact_kind(word: str, offered: tuple[str, ...]) -> Method:
    """A kind a person may add: one whose provider the operator configured."""
    kind = word.strip().lower()
    if kind not in {k.value for k in CONTACT_KINDS}:
        raise UserError(f"`{word[:20]}` is not a kind of contact method: use sms, push or email.")
    if kind not in offered:
        raise UserError(f"{Method(kind).label} is not set up on this workspace"
                        + (f"; the kinds that are: {', '.join(offered)}." if offered else
                           " (nor is any other kind: ask whoever runs the bot to set NOTIFY_SMS_URL, "
                           "NOTIFY_PUSH_URL or NOTIFY_EMAIL_URL)."))
    return Method(kind)


def parse_address(kind: Method, raw: str, region: str | None = None) -> str:
    """The address as stored: E.164 for a phone number, the address itself for email and push."""
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):  # Slack links what looks like an address: <mailto:a@b|a@b>
        text = text[1:-1].split("|")[-1]
    if kind == Method.SMS:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise UserError("That is not a phone number I can text: give it with its country code, like "
                            "`+49 151 23456789`.")
        if phonenumbers.number_type(number) not in TEXTABLE:  # premium rate, shared cost, pagers, landlines…
            raise UserError("That number cannot take a text message: give a mobile number.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == Method.EMAIL:
        text = text.removeprefix("mailto:")
        if len(text) > MAX_ADDRESS or not _EMAIL.match(text):
            raise UserError("That is not an email address (like `bob@example.com`).")
        return text
    if not _PUSH.match(text):
        raise UserError("A push address is your topic, user key or device token: letters, digits and `_ . : -`, "
                        "up to 100 characters.")
    return text


def shown_address(kind: Method, address: str) -> str:
    """How an address is shown to its owner (a phone number grouped to be read)."""
    if kind == Method.SMS:
        try:
            return phonenumbers.format_number(phonenumbers.parse(address), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            return address
    return address


# -- rules ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    method: Method
    delay: timedelta


DEFAULT_RULES = (Rule(Method.SLACK, timedelta(0)),)  # the DM at once, as before contact methods


def parse_delay(word: str) -> timedelta:
    """`0`, `5` (minutes), `90s`, `5m`, `1h`."""
    match = _DELAY.match(word.strip().lower())
    if not match:
        raise UserError(f"`{word[:20]}` is not a delay: use minutes (`5`), or `90s`, `5m`, `1h`.")
    amount, unit = int(match[1]), (match[2] or "m")[0]
    delay = timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600}[unit])
    if delay > MAX_DELAY:
        raise UserError("A delay is at most 24 h.")
    return delay


def parse_rules(text: str, offered: tuple[str, ...]) -> tuple[Rule, ...]:
    """`slack 0, sms 2m, email 10m` → the rules in the order of their delays. Each method once."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise UserError("Give each method with its delay: `/incident me rules slack 0, sms 2m, email 10m`.")
    rules: dict[Method, Rule] = {}
    for part in parts:
        words = part.split()
        if len(words) != 2:
            raise UserError(f"`{part[:40]}`: give a method and its delay, like `sms 2m`.")
        method = Method.SLACK if words[0].lower() == Method.SLACK else contact_kind(words[0], offered)
        if method in rules:
            raise UserError(f"{method.label} is named twice.")
        rules[method] = Rule(method, parse_delay(words[1]))
    return in_firing_order(rules.values())


def in_firing_order(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """By delay; at the same delay Slack first, then SMS, push, email."""
    return tuple(sorted(rules, key=lambda r: (r.delay, list(Method).index(r.method))))


def rules_text(rules: tuple[Rule, ...]) -> str:
    return ", ".join(f"{r.method.value} {delay_text(r.delay)}" for r in rules)


def delay_text(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m" if seconds else "0"
    return f"{seconds}s"


def page_sends(rules: tuple[Rule, ...], verified: set[Method], started: datetime) -> list[tuple[Method, datetime]]:
    """When a page goes out by each method: at the rule's delay after the page started, by Slack or by a verified
    method (an unverified one pages nobody). Rules naming nothing that can reach the person fall back to Slack."""
    sends = [(r.method, started + r.delay) for r in rules if r.method == Method.SLACK or r.method in verified]
    return sends or [(Method.SLACK, started)]


# -- verification codes ------------------------------------------------------------------------------------------

def contact_code(secret: str, user_id: str, kind: str, address: str, nonce: str) -> str:
    """The code a method's owner must send back: derived from a fresh nonce and WEB_SECRET, never stored, so
    whoever reads the database cannot verify a stranger's phone with it."""
    mac = hmac.new(secret.encode(), f"contact-code:{user_id}:{kind}:{address}:{nonce}".encode(), hashlib.sha256)
    return str(int.from_bytes(mac.digest()[:8], "big") % 10**CODE_DIGITS).zfill(CODE_DIGITS)


@dataclass(frozen=True)
class PendingCode:
    kind: str
    address: str
    nonce: str
    expires_at: datetime
    tries: int


def match_code(secret: str, user_id: str, code: str, pending: list[PendingCode], now: datetime) -> str | None:
    """The kind whose live code this is, or None. Expired codes and codes past their tries match nothing."""
    code = code.strip().replace(" ", "")
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        return None
    for entry in pending:
        if entry.expires_at > now and entry.tries < CODE_TRIES and hmac.compare_digest(
                code, contact_code(secret, user_id, entry.kind, entry.address, entry.nonce)):
            return entry.kind
    return None
