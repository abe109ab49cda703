"""Stored Slack text as the web shows it: mentions as people's names, channel and user-group references as names,
links as links, Slack's `&lt;` entities as the characters they stand for — everything else escaped for HTML. Pure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

from markupsafe import Markup

from bot.db.models import Person

_TOKEN = re.compile(r"<((?:[@#!]|https?://|mailto:)[^<>\n]{0,600})>")  # Slack's own; any other `<` is text
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^<>]*)?>")
_WEB = re.compile(r"^https?://[^\s\"'<>]+$")


def mentioned(texts: Iterable[str | None]) -> set[str]:
    """The user ids a set of stored texts mention (to look their names up in one query)."""
    return {m for text in texts if text for m in _MENTION.findall(text)}


UNNAMED = "a teammate"  # someone Slack has not named (yet): never shown by their raw id


def name_of(user_id: str | None, people: Mapping[str, Person], nobody: str = "nobody") -> str:
    if not user_id:
        return nobody
    person = people.get(user_id)
    return person.name if person is not None and person.name else UNNAMED


def person(user_id: str | None, people: Mapping[str, Person], nobody: str = "nobody") -> Markup:
    """A person by display name, with their Slack picture when known."""
    if not user_id:
        return Markup('<span class="muted">{}</span>').format(nobody)
    found = people.get(user_id)
    picture = Markup('<img class="avatar" src="{}" alt="" width="20" height="20" loading="lazy">').format(
        found.avatar) if found is not None and found.avatar else Markup("")
    if found is None or not found.name:
        return Markup('<span class="person">{}</span>').format(UNNAMED)
    return Markup('<span class="person" title="{}">{}{}</span>').format(user_id, picture,
                                                                        name_of(user_id, people, nobody))


def _plain(text: str) -> str:
    """Slack escapes `&`, `<` and `>` in message text: the characters themselves, ready to be escaped for HTML."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(inner: str, people: Mapping[str, Person]) -> Markup:
    target, _, label = inner.partition("|")
    label = _plain(label)
    if target.startswith("@"):
        user = target[1:]
        known = people.get(user)
        return Markup('<span class="mention">@{}</span>').format(
            known.name if known is not None and known.name else (label.lstrip("@") or UNNAMED))
    if target.startswith("#"):
        return Markup('<span class="mention">#{}</span>').format(label or target[1:])
    if target.startswith("!"):
        if target.startswith("!date^"):
            return Markup("{}").format(label or "a date")
        if target.startswith("!subteam^"):
            return Markup('<span class="mention">{}</span>').format(label or "a user group")
        return Markup('<span class="mention">@{}</span>').format(target[1:].split("^")[0])
    url = _plain(target)
    if _WEB.match(url):
        return Markup('<a href="{}" rel="noopener noreferrer">{}</a>').format(url, label or url)
    return Markup("{}").format(label or url)


def slack_to_html(text: str | None, people: Mapping[str, Person]) -> Markup:
    if not text:
        return Markup("")
    parts: list[Markup] = []
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(Markup(html.escape(_plain(text[last:match.start()]), quote=False)))
        parts.append(_token(match.group(1), people))
        last = match.end()
    parts.append(Markup(html.escape(_plain(text[last:]), quote=False)))
    return Markup("").join(parts)


def slack_to_text(text: str | None, people: Mapping[str, Person]) -> str:
    """The same reading as plain text (the API's): mentions as `@name`, links as their label or address."""
    return html.unescape(re.sub(r"<[^>]*>", "", str(slack_to_html(text, people))))
