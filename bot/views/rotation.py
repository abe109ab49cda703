"""Rotations in Block Kit: who is on call now and in the next shifts, and the list of rotations. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.db.models import Rotation
from bot.domain.gaps import Gap
from bot.domain.rotation import ROLES, OnCall
from bot.slack.text import date_token, escape, mention
from bot.views.incident import mrkdwn

if TYPE_CHECKING:
    from bot.services.rotations import RotationPlan

MAX_PLANS = 12  # rotations `oncall` shows at once (only those are computed)


def roles_line(shift: OnCall) -> str:
    """The roles the rotation has (a rotation of one role shows its primary only), and who stands in for whom."""
    away = dict(shift.covering)
    return " · ".join(f"{role.value} {mention(shift.holder(role), '_nobody_')}"
                      + (f" covering for {mention(away[role], '')} (PTO)" if role in away else "")
                      for role in ROLES[:shift.roles]) + (f" _({escape(shift.layer)} layer)_" if shift.layer else "")


def gaps_line(gaps: Sequence[Gap]) -> str:
    """`:warning: Gaps in the next 14 days: nobody is primary from … to …` (the first five)."""
    spans = [f"nobody is {g.role.value} from {date_token(g.starts_at)} to {date_token(g.ends_at)}" for g in gaps[:5]]
    more = f" …and {len(gaps) - 5} more" if len(gaps) > 5 else ""
    return ":warning: *Gaps in the next 14 days:* " + "; ".join(spans) + more


def plan_blocks(plan: RotationPlan) -> list[dict]:
    rotation = plan.rotation
    roster = ", ".join(f"<@{u}>" for u in plan.roster[:40]) or "_nobody yet — `/incident rotation add @someone`_"
    now, upcoming = plan.shifts[0], plan.shifts[1:]
    lines = [f"*Now* (until {date_token(now.shift_end)}): {roles_line(now)}"]
    lines += [f"*{date_token(s.shift_start)}*: {roles_line(s)}" for s in upcoming]
    blocks = [
        {"type": "section", "text": mrkdwn(f"*{escape(rotation.name)}* · <#{rotation.channel_id}> · roster: {roster}")},
        {"type": "section", "text": mrkdwn("\n".join(lines))},
    ]
    if plan.layers:
        blocks.append({"type": "context", "elements": [mrkdwn("*Layers:* " + "; ".join(
            f"*{escape(layer.name)}* {layer.describe()}: " + (", ".join(f"<@{u}>" for u in layer.roster) or "_nobody_")
            for layer in plan.layers[:8]), 3000)]})
    if plan.gaps:
        blocks.append({"type": "context", "elements": [mrkdwn(gaps_line(plan.gaps))]})
    if plan.overrides:
        overrides = [f"<@{o.user_id}> is {o.role} from {date_token(o.starts_at)} to {date_token(o.ends_at)}"
                     for o in plan.overrides[:10]]
        blocks.append({"type": "context", "elements": [mrkdwn("*Overrides:* " + "; ".join(overrides))]})
    return blocks


def oncall(plans: Sequence[RotationPlan], total: int | None = None) -> tuple[str, list[dict]]:
    """`total`: how many rotations there are, when `plans` holds only the first MAX_PLANS."""
    total = len(plans) if total is None else total
    if not plans:
        text = "There is no rotation yet. Create one: `/incident rotation create <name> #channel`."
        return text, [{"type": "section", "text": mrkdwn(text)}]
    blocks: list[dict] = []
    for plan in plans[:MAX_PLANS]:
        if blocks:
            blocks.append({"type": "divider"})
        blocks += plan_blocks(plan)
    first = plans[0].shifts[0]
    text = (f"On call for {plans[0].rotation.name}: primary {mention(first.primary, 'nobody')}"
            if total == 1 else f"On call for {total} rotations")
    if total > MAX_PLANS:
        blocks.append({"type": "context", "elements": [mrkdwn(
            f"…and {total - MAX_PLANS} more: `/incident oncall <rotation>` shows one.")]})
    return text, blocks


def rotation_list(rotations: Sequence[Rotation], sizes: dict[int, int]) -> str:
    if not rotations:
        return "There is no rotation yet. Create one: `/incident rotation create <name> #channel`."
    lines = [f"• *{escape(r.name)}* · <#{r.channel_id}> · {sizes.get(r.id or 0, 0)} people"
             for r in rotations[:50]]
    return "*Rotations*\n" + "\n".join(lines)
