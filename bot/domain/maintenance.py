"""Maintenance windows (SPEC § Moving in: `maintenance add <rotation|label=value> <from> <to> [reason]`): alerts
that match during a window are kept, not opened — no incident, no page; one still firing when the window ends opens
its incident then. A window matches an alert going to its rotation, or carrying all its labels. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import Invalid, UserError
from bot.domain.routes import parse_matchers

MAX_WINDOW = timedelta(days=30)
USAGE = ("Use `/incident maintenance add <rotation|label=value[,…]> <from> <to> [reason]` (times like "
         "`2026-12-08 22:00`, `tomorrow 06:00`, team time), `maintenance list` or `maintenance remove <id>`.")


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    rotation: str | None = None
    matchers: tuple[tuple[str, str], ...] = ()

    def holds(self, now: datetime, rotation: str | None, labels: Mapping[str, str]) -> bool:
        if not self.starts_at <= now < self.ends_at:
            return False
        if self.rotation is not None:
            return rotation == self.rotation
        return all(labels.get(name) == value for name, value in self.matchers)

    def target(self) -> str:
        return f"`{self.rotation}`" if self.rotation else "`" + ",".join(f"{k}={v}" for k, v in self.matchers) + "`"


def parse_target(word: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """A rotation's name, or `label=value[,…]`."""
    if "=" in word:
        return None, parse_matchers(word)
    if not word:
        raise UserError(USAGE)
    return word.lower(), ()


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    if end <= now:
        raise Invalid("That window would already be over; pick an end in the future.")
    if end - start > MAX_WINDOW:
        raise Invalid(f"Keep a maintenance window to {MAX_WINDOW.days} days.")
