"""Where an incident stands against its targets, for the web board (seed 003: "visualize whether [they] are
meeting the SLO"). Pure, and from the same rules the reminders use (bot/domain/reminders.py), so a card turns red
when the reminder about it goes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.incident import OPEN_STATUSES, Priority, Status
from bot.domain.reminders import IncidentFacts, Policy, p0_update_base, p1_target_at, triage_target_at
from bot.domain.stats import humanize


@dataclass(frozen=True)
class Standing:
    """One target: `left` is the time left (negative once missed); `state` is ok, late (amber: a P0 owes its
    hourly update) or missed (red)."""

    what: str
    due_at: datetime
    left: timedelta
    state: str

    @property
    def text(self) -> str:
        if self.state == "ok":
            return f"{self.what} due in {humanize(self.left)}"
        return f"{self.what} {self.state} by {humanize(-self.left)}"


def standings(facts: IncidentFacts, now: datetime, policy: Policy) -> list[Standing]:
    """The targets an open incident still has: triage while it is new (not for P2), the P1 resolution target,
    and for a P0 its hourly update."""
    found: list[Standing] = []
    if facts.status not in OPEN_STATUSES:
        return found
    if facts.status is Status.NEW and facts.priority is not Priority.P2:
        due = triage_target_at(facts, policy)
        found.append(Standing("triage", due, due - now, "ok" if now < due else "missed"))
    if facts.priority is Priority.P1:
        due = p1_target_at(facts, policy)
        found.append(Standing("P1 target", due, due - now, "ok" if now < due else "missed"))
    if facts.priority is Priority.P0:
        due = p0_update_base(facts) + policy.p0_update_interval
        found.append(Standing("update", due, due - now, "ok" if now < due else "late"))
    return found


def missing(found: list[Standing]) -> bool:
    """For the board's "missing targets" filter: a target missed, or a P0's update late."""
    return any(s.state != "ok" for s in found)
