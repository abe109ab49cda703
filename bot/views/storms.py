"""What a storm says in Slack: the declaration, the lists of alerts that joined or resolved, the summary line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.db.edge_models import StormAlert
from bot.domain.stats import humanize
from bot.slack.text import escape, link, truncate
from bot.views.incident import PRIORITY_EMOJI, mrkdwn

SECTION_MAX = 2900  # under a section's 3,000 characters
MAX_BLOCKS = 50


def storm_title(threshold: int, window: timedelta) -> str:
    return f"Alert storm: more than {threshold} alerts within {humanize(window)}"


def storm_description(threshold: int, window: timedelta) -> str:
    return (f"More than {threshold} incidents would have opened from alerts within {humanize(window)}. Further alerts "
            f"join this incident instead of opening their own; each is listed in this channel once, and again when "
            f"it resolves. The storm ends when {humanize(window)} pass with no new alert.")


def _line(alert: StormAlert) -> str:
    title = truncate(alert.title, 150)
    shown = link(alert.url, title) if alert.url else escape(title)  # (`link` escapes its label)
    if len(shown) > SECTION_MAX // 2:  # a link too long to show whole: its title alone
        shown = escape(title)
    times = f" ({alert.times} times)" if alert.times > 1 else ""
    mark = ":white_check_mark:" if alert.state == "resolved" else PRIORITY_EMOJI.get(alert.priority, "")
    return f"{mark} {alert.priority} {shown}{times}"


def counts_text(counts: dict[str, int]) -> str:
    firing, resolved = counts.get("firing", 0), counts.get("resolved", 0)
    return f"{firing + resolved:,} alerts in the storm: {firing:,} firing, {resolved:,} resolved"


def news(alerts: Sequence[StormAlert], counts: dict[str, int]) -> tuple[str, list[dict], int]:
    """One message listing alerts the channel has not heard of yet (new ones, and those that resolved), within
    Block Kit's limits (50 blocks, 3,000 characters a section): the blocks, and how many of `alerts` they list —
    the rest wait for the next message."""
    blocks: list[dict] = [{"type": "section", "text": mrkdwn("")}]
    chunk: list[str] = []
    listed = 0
    for alert in alerts:
        line = _line(alert)
        if chunk and len("\n".join([*chunk, line])) > SECTION_MAX:
            blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
            chunk = []
            if len(blocks) == MAX_BLOCKS:
                break
        chunk.append(line)
        listed += 1
    if chunk:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(chunk))})
    shown = alerts[:listed]
    firing = sum(a.state == "firing" for a in shown)
    heads = [f"{firing} alert{'s' if firing != 1 else ''} firing"] if firing else []
    if len(shown) - firing:
        heads.append(f"{len(shown) - firing} resolved")
    head = " · ".join(heads) or "The storm"
    blocks[0]["text"] = mrkdwn(f"*{head}* — {counts_text(counts)}")
    return f"{head} ({counts_text(counts)})", blocks, listed


def summary_line(counts: dict[str, int], over: bool) -> str:
    state = "over" if over else "still going"
    return f":cyclone: {counts_text(counts)} (the storm is {state})."


def over_text(counts: dict[str, int], window: timedelta) -> str:
    return (f"The storm is over: no new alert for {humanize(window)}. {counts_text(counts)}. New alerts open "
            f"incidents of their own again.")
