"""What a storm says in Slack: the declaration, the lists of alerts that joined or resolved, the summary line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.db.models import StormAlert
from bot.domain.incident import Priority
from bot.domain.stats import humanize
from bot.slack_text import escape, link, truncate
from bot.views.incident import PRIORITY_EMOJI, mrkdwn

SECTION_MAX = 2900  # under a section's 3,000 characters


def storm_title(threshold: int, window: timedelta) -> str:
    return f"Alert storm: more than {threshold} alerts within {humanize(window)}"


def storm_description(threshold: int, window: timedelta) -> str:
    return (f"More than {threshold} incidents would have opened from alerts within {humanize(window)}. Further alerts "
            f"join this incident instead of opening their own; each is listed in this channel once, and again when "
            f"it resolves. The storm ends when {humanize(window)} pass with no new alert.")


def _line(alert: StormAlert) -> str:
    title = escape(truncate(alert.title, 150))
    shown = link(alert.url, title) if alert.url else title
    times = f" ({alert.times} times)" if alert.times > 1 else ""
    mark = ":white_check_mark:" if alert.state == "resolved" else PRIORITY_EMOJI.get(Priority(alert.priority), "")
    return f"{mark} {alert.priority} {shown}{times}"


def counts_text(counts: dict[str, int]) -> str:
    firing, resolved = counts.get("firing", 0), counts.get("resolved", 0)
    return f"{firing + resolved:,} alerts in the storm: {firing:,} firing, {resolved:,} resolved"


def news(alerts: Sequence[StormAlert], counts: dict[str, int]) -> tuple[str, list[dict]]:
    """One message listing the alerts the channel has not heard of yet (new ones, and those that resolved)."""
    joined = [a for a in alerts if a.state == "firing"]
    resolved = [a for a in alerts if a.state == "resolved"]
    heads = []
    if joined:
        heads.append(f"{len(joined)} alert{'s' if len(joined) != 1 else ''} joined the storm")
    if resolved:
        heads.append(f"{len(resolved)} resolved")
    head = " · ".join(heads) or "The storm"
    text = f"{head} ({counts_text(counts)})"
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(f"*{head}* — {counts_text(counts)}")}]
    chunk: list[str] = []
    for line in (_line(a) for a in alerts):
        if chunk and len("\n".join([*chunk, line])) > SECTION_MAX:
            blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
    return text, blocks[:50]


def summary_line(counts: dict[str, int], over: bool) -> str:
    state = "over" if over else "still going"
    return f":cyclone: {counts_text(counts)} (the storm is {state})."


def over_text(counts: dict[str, int], window: timedelta) -> str:
    return (f"The storm is over: no new alert for {humanize(window)}. {counts_text(counts)}. New alerts open "
            f"incidents of their own again.")
