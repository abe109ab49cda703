"""Alert storms (SPEC §2 "Alerts"): when alerts stop opening incidents of their own and join one. Pure.

Slack lets an app create about 20 channels a minute and nobody works 250 incidents at once: past the threshold of
incidents opened from alerts within the window, the next alert starts a storm and the ones after it join it, until
the window passes with no alert joining.
"""

from __future__ import annotations

from bot.domain.incident import Priority

STORM_FLOOR = Priority.P1  # a storm pages: many things breaking at once is never ordinary work


def joins_storm(openings_in_window: int, threshold: int) -> bool:
    """Whether a new alert joins a storm rather than opening its own incident, given how many incidents alerts
    opened (and how many alerts joined storms) within the window: the first `threshold` open their own."""
    return openings_in_window >= threshold


def storm_priority(alert: Priority) -> Priority:
    """The priority a storm starts at: its first alert's, P1 at least."""
    return min(alert, STORM_FLOOR, key=_urgency)


def raised_to(current: Priority, alert: Priority) -> Priority | None:
    """The storm's new priority when a more urgent alert joins it (a P0 in a P1 storm), else None."""
    target = storm_priority(alert)
    return target if _urgency(target) < _urgency(current) else None


def _urgency(priority: Priority) -> int:
    return list(Priority).index(priority)
