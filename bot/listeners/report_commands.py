"""`/incident rotation report <name> [YYYY-MM]` (SPEC § Schedules and escalation policies, the burden report): the
month's figures as an ephemeral answer, like `rotation stats`, with a signed link to the same figures as CSV
(`/rotations/<name>/report.csv`, checked as every page link is). rotation_commands.py dispatches here."""

from __future__ import annotations

from urllib.parse import quote

from bot.db.models import Rotation
from bot.domain.burden import Month
from bot.domain.errors import UserError
from bot.http.tokens import page_token
from bot.services import Fairness, Rotations
from bot.views import burden as views

USAGE = "Use `/incident rotation report <name> [YYYY-MM]` (default: this month)."


def report(rotations: Rotations, fairness: Fairness, rotation: Rotation, rest: str) -> tuple[str, list[dict]]:
    words = rest.split()
    if len(words) > 1:
        raise UserError(USAGE)
    found = fairness.report(rotation, words[0] if words else "")
    return views.report(found, csv_url(rotations, rotation.name, found.month))


def csv_url(rotations: Rotations, name: str, month: Month) -> str:
    """A link that works for 12 hours, as the board's (bot/http/tokens.py)."""
    token = page_token(rotations.settings.web_secret or "", rotations.clock.now())
    return f"{rotations.settings.public_url}/rotations/{quote(name, safe='')}/report.csv?month={month}&token={token}"
