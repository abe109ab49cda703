"""The fairness figures (`rotation stats`), for Slack and the web. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.domain.fairness import Load
from bot.domain.rotation import ROLES
from bot.slack.text import escape
from bot.views.incident import mrkdwn

MAX_PEOPLE = 40


def duration(value: timedelta | None) -> str:
    if value is None:
        return "–"
    minutes = int(value.total_seconds() // 60)
    return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def shifts(load: Load) -> str:
    return "/".join(str(load.shifts[role]) for role in ROLES)


def line(load: Load) -> str:
    night = f" ({load.night_pages} outside business hours)" if load.night_pages else ""
    return (f"<@{load.user}> — shifts primary/secondary/tertiary *{shifts(load)}* · "
            f"{round(sum(load.hours.values()))} h on call · pages {load.pages}{night} · "
            f"median to acknowledge {duration(load.median_acknowledge)} · covers given {load.covers_given}, "
            f"taken {load.covers_taken}")


def stats(rotation_name: str, weeks: int, loads: Sequence[Load]) -> tuple[str, list[dict]]:
    heading = f"*Load on `{escape(rotation_name)}` over the last {weeks} weeks*"
    if not loads:
        text = f"{heading}\nNobody held a role, was paged or covered in that time."
        return text, [{"type": "section", "text": mrkdwn(text)}]
    lines = [line(load) for load in loads[:MAX_PEOPLE]]
    blocks = [{"type": "section", "text": mrkdwn(heading)}]
    for start in range(0, len(lines), 8):  # a section's text holds 3,000 characters
        blocks.append({"type": "section", "text": mrkdwn("\n".join(lines[start:start + 8]))})
    blocks.append({"type": "context", "elements": [mrkdwn(
        "Shifts count when someone held the role for most of it (covers and overrides included); pages outside "
        "business hours are in the paged person's own timezone.")]})
    return f"Load on {rotation_name} over the last {weeks} weeks", blocks
