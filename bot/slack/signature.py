"""The signature check at the HTTP edge: every request that claims to come from Slack proves it with the signing
secret, and a refusal is logged (why, and from where; never the body, which may hold people's words)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from slack_sdk.signature import Clock

log = logging.getLogger(__name__)

STALE_AFTER = 60 * 5  # Slack's own rule: a timestamp more than five minutes off is a replay


class SlackSignature:
    def __init__(self, signing_secret: str) -> None:
        self.secret = signing_secret.encode()
        self.clock = Clock()  # Slack's timestamps are wall-clock time: never the injected clock

    def refusal(self, body: bytes, timestamp: str | None, signature: str | None) -> str | None:
        """None when the request is Slack's; else the reason, in words an operator can act on."""
        if not timestamp or not signature:
            return "unsigned (no X-Slack-Signature / X-Slack-Request-Timestamp)"
        if not re.fullmatch(r"[0-9]{1,12}", timestamp) or abs(self.clock.now() - int(timestamp)) > STALE_AFTER:
            return "stale or malformed timestamp (a replay, or this machine's clock is off)"
        # Over the raw bytes (slack_sdk's verifier decodes the body first and fails on bytes that are not UTF-8).
        digest = hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace")):
            return "wrong signature (is SLACK_SIGNING_SECRET the app's current signing secret?)"
        return None

    def check(self, body: bytes, headers, remote: str | None) -> bool:
        reason = self.refusal(body, headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature"))
        if reason is None:
            return True
        log.warning("refused a request to /slack/events from %s: %s", remote or "?", reason)
        return False
