"""`--compare` (SPEC § Moving in): who the source says is on call at sample moments over the next days, against
who the bot says; every disagreement is printed and makes the exit code 1. This is how a team knows the import is
right before it switches: PagerDuty answers from its final schedule (layers and overrides together), Opsgenie
from its who-is-on-call endpoint at each moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.importers.opsgenie import Opsgenie
from bot.importers.pagerduty import PagerDuty
from bot.importers.plan import ImportPlan, Progress

Ours = Callable[[str, datetime], str | None]  # rotation name, instant → the Slack user on call (primary)


def moments(now: datetime, days: int, samples: int) -> list[datetime]:
    """Evenly over the days, each off the hour (a handoff's own instant is where two tools may round apart)."""
    span = timedelta(days=days) / samples
    return [now + span * i + span / 2 + timedelta(minutes=7, seconds=13) for i in range(samples)]


async def compare(plan: ImportPlan, client: Opsgenie | PagerDuty, ours: Ours, now: datetime, days: int,
                  samples: int, say: Callable[[str], None], progress: Progress) -> int:
    """How many disagreements there are (each said)."""
    data = plan.data
    slack_of_email = {data.emails[u]: s for u, s in plan.slack_of.items()}
    imported = [i for i in plan.items if i.kind == "schedule" and i.done]
    for item in plan.items:
        if item.kind == "schedule" and not item.done:
            say(f"· schedule {item.label} is not imported: not compared")
    disagreements = 0
    for item in progress(imported, f"Asking {data.title} who is on call"):
        rotation = plan.rotations[item.source_id]
        entries = await client.on_call(item.source_id, now, now + timedelta(days=days)) \
            if isinstance(client, PagerDuty) else None
        wrong = 0
        for at in moments(now, days, samples):
            if entries is not None:
                theirs = {plan.slack_of.get(user, f"{user} (no Slack account)")
                          for start, end, user in entries if start <= at < end}
            else:
                theirs = {slack_of_email.get(email.lower(), f"{email} (no Slack account)")
                          for email in await client.on_call(item.source_id, at)}
            mine = ours(rotation, at)
            if theirs != ({mine} if mine else set()):
                wrong += 1
                said = ", ".join(sorted(plan.email(u) for u in theirs)) or "nobody"
                say(f"✗ {rotation} at {at:%Y-%m-%d %H:%M} UTC: {data.title} says {said}, Firefighter says "
                    f"{plan.email(mine) if mine else 'nobody'}")
        if not wrong:
            say(f"✓ {rotation}: {data.title} and Firefighter agree at {samples} moments over {days} days")
        disagreements += wrong
    return disagreements
