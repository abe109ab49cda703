"""Slack's text conventions: mention/channel references in, escaped mrkdwn and dates out. Pure."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, tzinfo

_USER_REF = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_REF = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_CHANNEL_NAME = re.compile(r"^#?([a-z0-9][a-z0-9_-]{0,79})$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_WEB_URL = re.compile(r"^https?://[^\s/?#<>|\\]+", re.IGNORECASE)
INT32_MAX = 2**31 - 1  # the database's integer columns: a bigger number names nothing we store


def is_user_id(value) -> bool:
    return isinstance(value, str) and bool(_USER_ID.match(value))


def is_channel_id(value) -> bool:
    return isinstance(value, str) and bool(_CHANNEL_ID.match(value)) and len(value) <= 32


def parse_user_ref(token: str) -> str | None:
    """`<@U123|name>` or `<@U123>` -> `U123`; anything else -> None."""
    m = _USER_REF.match(token.strip())
    return m.group(1) if m else None


def parse_channel_ref(token: str) -> str | None:
    """`<#C123|name>`, `C123` or `#name` -> what chat.postMessage accepts as `channel`."""
    text = token.strip()
    if m := _CHANNEL_REF.match(text):
        return m.group(1)
    if _CHANNEL_ID.match(text):
        return text
    if m := _CHANNEL_NAME.match(text):
        return "#" + m.group(1)
    return None


def clean_text(text: str | None) -> str:
    """People's text as it may be stored: control characters (NUL above all, which PostgreSQL refuses) removed,
    newlines and tabs kept."""
    if not text:
        return ""
    return "".join(ch for ch in text.replace("\r\n", "\n") if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def as_int(text: str | None) -> int | None:
    """ASCII digits only (`str.isdigit()` also accepts `²`, which `int()` then refuses), and no bigger than the
    database's integers (PostgreSQL refuses a larger one in a query instead of finding nothing)."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    number = int(text)
    return number if number <= INT32_MAX else None


_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")


def escape(text: str) -> str:
    """Text for mrkdwn that can never form a mention, link, date or `@here`: `<`, `>` and `&` as Slack's entities.
    What is in Slack's encoding already (a person's words as Slack sends them, outside text stored escaped) stays
    as it is: escaped once, shown as written."""
    return _BARE_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


_PERSON_OR_CHANNEL = re.compile(r"<([@#][UWCG][A-Z0-9]+(?:\|[^&<>]{0,80})?)>")


def safe(text: str) -> str:
    """Stored text for mrkdwn: everything escaped (no `@here`, `@channel`, user groups, dates, links), except the
    mentions of people and channels Slack itself put in a person's words (`<@U…>`, `<#C…>`), which stay
    mentions — that is what someone typing `@bob` in Slack meant. Outside text (alerts, issues, trackers' answers)
    is stored escaped (`escape`, ARCHITECTURE pattern 11): its `<@U…>` arrives here as `&lt;@U…&gt;` and stays
    text."""
    parts, last = [], 0
    for match in _PERSON_OR_CHANNEL.finditer(text):
        parts += [escape(text[last:match.start()]), f"<{match.group(1)}>"]
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def echo(text: str, limit: int = 40) -> str:
    r"""Someone's words quoted back in an answer (`not \`P9\``): short, escaped, and unable to close the quote."""
    return escape(text.strip().replace("`", "'")[:limit])


def link(url: str, label: str) -> str:
    """A mrkdwn link that cannot break out of itself: in the target `<`, `>` and `|` are percent-encoded and `&`
    escaped, so a URL like `https://x/><!channel>` stays one link to x; anything but http(s) is shown as text."""
    if not isinstance(url, str) or not _WEB_URL.match(url):
        return escape(label)
    target = "".join(ch for ch in url if not ch.isspace() and unicodedata.category(ch) != "Cc")
    target = target.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{target}|{escape(label)}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def slugify(text: str, limit: int) -> str:
    """A channel-name-safe slug: lowercase ascii letters, digits and single dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


def date_token(moment: datetime, fmt: str = "{date_short_pretty} {time}", tz: tzinfo = UTC) -> str:
    """A `<!date^…>` token so every reader sees the time in their own timezone; the fallback (for clients that
    cannot render it, and for notifications) is in `tz`, normally the team's timezone."""
    fallback = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def mention(user_id: str | None, nobody: str = "_nobody yet_") -> str:
    return f"<@{user_id}>" if user_id else nobody


def message_permalink(team_domain: str, channel_id: str, ts: str) -> str:
    """Slack's documented permalink shape, so a link needs no extra Web API call."""
    return f"https://{team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
