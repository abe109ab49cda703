"""What an incident is: priorities, statuses, impact questions and the rules for declaring one. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from bot.slack.text import slugify

TITLE_MAX = 150
DESCRIPTION_MAX = 3000
CHANNEL_NAME_MAX = 80
_SLUG_MAX = 40


class Priority(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"

    @property
    def meaning(self) -> str:
        return _PRIORITY_MEANING[self]

    @property
    def pages(self) -> bool:
        """P2 is ordinary work: it is tracked, but nobody is paged or nagged for it."""
        return self is not Priority.P2


_PRIORITY_MEANING = {
    Priority.P0: "immediate: fix before any other work, update every hour",
    Priority.P1: "high: users suffer but are not blocked, fix within 8 business hours",
    Priority.P2: "normal: tracked as ordinary work, no reminders",
}


class Status(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    RESOLVED = "resolved"
    DUPLICATE = "duplicate"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


OPEN_STATUSES = frozenset({Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.BLOCKED})


class Impact(StrEnum):
    """The objective questions: any "yes" means this is probably a P0."""

    CANNOT_LOG_IN = "cannot_log_in"
    CANNOT_USE_SERVICE = "cannot_use_service"
    DATA_OR_SECURITY = "data_or_security"
    BUILD_OR_DEPLOY_BROKEN = "build_or_deploy_broken"

    @property
    def question(self) -> str:
        return _IMPACT_QUESTION[self]


_IMPACT_QUESTION = {
    Impact.CANNOT_LOG_IN: "Users cannot log in",
    Impact.CANNOT_USE_SERVICE: "Users cannot use the service",
    Impact.DATA_OR_SECURITY: "There is a data or security problem",
    Impact.BUILD_OR_DEPLOY_BROKEN: "The build or deploy is broken",
}


def suggested_priority(impacts: frozenset[Impact] | set[Impact]) -> Priority | None:
    """SPEC §2: any "yes" to an impact question suggests P0."""
    return Priority.P0 if impacts else None


@dataclass(frozen=True)
class Declaration:
    """What a person asked for when declaring; validated by `validate_declaration` before it is stored."""

    title: str
    reporter_id: str
    priority: Priority = Priority.P1
    description: str = ""
    impacts: frozenset[Impact] = field(default_factory=frozenset)
    commander_id: str | None = None
    rotation_id: int | None = None
    declared_in_channel: str | None = None
    source_url: str | None = None
    declare_key: str | None = None
    source: str = "slack"  # or the alert endpoint that opened it: generic, alertmanager, gitlab
    alert_fingerprint: str | None = None
    type_name: str | None = None  # an incident type's (`type add`): its privacy, rotation and priority apply
    declared_by: str = ""  # who declared it when not a person in Slack (an API token), named on its timeline


def declaration_to_payload(declaration: Declaration) -> dict:
    """A declaration as JSON can hold it (stored before the ack, declared after: bot/services/declaring.py)."""
    return {**declaration.__dict__, "priority": declaration.priority.value,
            "impacts": sorted(i.value for i in declaration.impacts)}


def declaration_from_payload(payload: dict) -> Declaration:
    return Declaration(**{**payload, "priority": Priority(payload["priority"]),
                          "impacts": frozenset(Impact(i) for i in payload.get("impacts", ()))})


def clean_title(raw: str | None) -> str:
    """Titles are one line: collapse whitespace and drop control characters."""
    text = "".join(ch if ch.isprintable() else " " for ch in (raw or ""))
    return re.sub(r"\s+", " ", text).strip()


def validate_declaration(title: str, description: str, priority: str | None) -> dict[str, str]:
    """Field -> message for everything wrong with a declaration (empty when it may be stored)."""
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the incident a title: what is broken, for whom?"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title to {TITLE_MAX} characters (it has {len(title)})."
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"Keep the description to {DESCRIPTION_MAX} characters (it has {len(description)})."
    if priority not in {p.value for p in Priority}:
        errors["priority"] = "Choose P0, P1 or P2."
    return errors


def incident_ref(number: int) -> str:
    return f"INC-{number}"


def parse_incident_ref(token: str) -> int | None:
    """`INC-12` or `inc-12` -> 12. (`#12` is not one: in free text it is too often something else.)"""
    m = re.fullmatch(r"inc-([0-9]{1,9})", token.strip(), flags=re.IGNORECASE)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def channel_name(number: int, title: str, attempt: int = 1) -> str:
    """`inc-<n>-<slug>`; attempt 2, 3… add a suffix after Slack said `name_taken`."""
    prefix = f"inc-{number}"
    suffix = f"-{attempt}" if attempt > 1 else ""
    room = CHANNEL_NAME_MAX - len(prefix) - len(suffix) - 1
    slug = slugify(title, min(_SLUG_MAX, room))
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"
