"""The burden report (`rotation report <name> [YYYY-MM]`): its Slack answer, and the same figures as CSV for a
spreadsheet (RFC 4180). Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import timedelta

from bot.domain.burden import CATEGORIES, Burden, Category, Report
from bot.domain.rotation import ROLES
from bot.slack.text import date_token, escape
from bot.views.fairness import duration
from bot.views.incident import mrkdwn

MAX_PEOPLE = 40
PER_SECTION = 6  # a section's text holds 3,000 characters
KIND_WORDS = {Category.BUSINESS: "business", Category.OUTSIDE: "outside business hours",
              Category.WEEKEND: "weekend", Category.HOLIDAY: "holiday"}
KIND_COLUMNS = {Category.BUSINESS: "business", Category.OUTSIDE: "outside_business", Category.WEEKEND: "weekend",
                Category.HOLIDAY: "holiday"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run as a formula (CSV injection)
HEADER = ["rotation", "month", "person", "user_id",
          *(f"{role}_{KIND_COLUMNS[kind]}_hours" for role in ROLES for kind in CATEGORIES),
          *(f"on_call_{KIND_COLUMNS[kind]}_hours" for kind in CATEGORIES),
          "on_call_hours", "pages", "pages_outside_business_hours", "median_minutes_to_acknowledge", "amount_owed"]


def hours(value: timedelta) -> str:
    """One decimal, rounded once from the exact time (never hour by hour)."""
    return f"{value / timedelta(hours=1):.1f}"


def _span(report: Report) -> str:
    return str(report.month) if report.complete else f"{report.month} so far (to {date_token(report.until)})"


def _person(person: Burden, report: Report) -> str:
    outside = f" ({person.outside_pages} outside business hours)" if person.outside_pages else ""
    owed = f" · owed *{person.owed(report.rates)}*" if report.rates else ""
    lines = [f"<@{person.user}> — *{hours(person.total)} h* on call · pages {person.pages}{outside} · median to "
             f"acknowledge {duration(person.median_acknowledge)}{owed}"]
    for role in ROLES:
        if person.role_total(role):
            kinds = " · ".join(f"{KIND_WORDS[kind]} {hours(person.held[role][kind])}" for kind in CATEGORIES)
            lines.append(f"      {role} {hours(person.role_total(role))} h: {kinds}")
    return "\n".join(lines)


def report(found: Report, csv_link: str) -> tuple[str, list[dict]]:
    """The ephemeral answer: a few lines per person, then how to read them and the CSV's link."""
    heading = f"*Burden on `{escape(found.rotation)}` in {_span(found)}*"
    blocks = [{"type": "section", "text": mrkdwn(heading)}]
    if not found.people:
        blocks.append({"type": "section", "text": mrkdwn("Nobody held a role or was paged in that time.")})
    shown = [_person(person, found) for person in found.people[:MAX_PEOPLE]]
    for start in range(0, len(shown), PER_SECTION):
        blocks.append({"type": "section", "text": mrkdwn("\n".join(shown[start:start + PER_SECTION]))})
    rates = (f" Owed: hours on call (each once, whatever the roles) at ONCALL_RATES per hour — weekday "
             f"{found.rates.business}, offhours {found.rates.outside}, weekend {found.rates.weekend}, holiday "
             f"{found.rates.holiday}." if found.rates else "")
    blocks.append({"type": "context", "elements": [mrkdwn(
        "Hours by role, split by each person's own timezone, business hours and holidays (`me holidays`): a "
        f"holiday, then a weekend day, then business hours, else outside business hours.{rates}")]})
    blocks.append({"type": "context", "elements": [mrkdwn(
        f"<{csv_link}|Download as CSV> (the link works for 12 hours).")]})
    return f"Burden on {found.rotation} in {found.month}", blocks


def cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe (OWASP's
    advice for CSV injection; names come from Slack, outside text)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def report_csv(found: Report, names: Mapping[str, str]) -> str:
    """RFC 4180: a header row, one row per person, CRLF line ends, quoted where needed. `names`: Slack's names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for person in found.people:
        median = person.median_acknowledge
        writer.writerow([cell(value) for value in (
            found.rotation, str(found.month), names.get(person.user) or person.user, person.user,
            *(hours(person.held[role][kind]) for role in ROLES for kind in CATEGORIES),
            *(hours(person.on_call[kind]) for kind in CATEGORIES),
            hours(person.total), str(person.pages), str(person.outside_pages),
            f"{median / timedelta(minutes=1):.1f}" if median is not None else "",
            str(person.owed(found.rates)) if found.rates else "")])
    return out.getvalue()
