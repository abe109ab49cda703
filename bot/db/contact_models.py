"""The tables of reaching people beyond Slack (SPEC §2): their contact methods, their rules, and each page's sends.

No provider URL is ever stored: the operator's settings hold the secrets, a row only the person's address.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from bot.db.columns import timestamp


class ContactMethod(SQLModel, table=True):
    """One way to reach a person outside Slack, one per kind (`sms`, `push`, `email`). It pages nobody until
    `verified_at`: the code sent through it came back. The code is never stored: it is derived from
    `code_nonce` and WEB_SECRET."""

    __tablename__ = "contact_method"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=8)
    address: str = Field(max_length=254)
    verified_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    code_nonce: str | None = Field(default=None, max_length=32)  # the live code is derived from it and WEB_SECRET
    code_expires_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    code_tries: int = 0
    created_at: datetime = Field(sa_column=timestamp(nullable=False))


class NotifyRule(SQLModel, table=True):
    """`me rules`: a page reaches this person by `method` this long after it started. No rows: `slack 0`."""

    __tablename__ = "notify_rule"

    user_id: str = Field(primary_key=True, max_length=32)
    method: str = Field(primary_key=True, max_length=8)
    delay_seconds: int = 0


class PageSend(SQLModel, table=True):
    """A page by one method at its rule's time: planned with the page (the rules it started with), queued as a
    delivery when due unless the page was acknowledged or escalated past, unique per (page, method) so a step is
    never sent twice by the same method.

    state: `pending` (not due yet) → `queued` (a delivery owes it) → `sent` | `failed` (for good) | `skipped`
    (no longer owed: answered, escalated past, the method removed)."""

    __tablename__ = "page_send"
    __table_args__ = (sa.UniqueConstraint("page_id", "method"),
                      sa.Index("ix_page_send_state_due_at", "state", "due_at"))

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="page.id")
    incident_id: int = Field(foreign_key="incident.id", index=True)
    user_id: str = Field(max_length=32)
    method: str = Field(max_length=8)
    due_at: datetime = Field(sa_column=timestamp(nullable=False))
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    outcome: str = Field(default="", max_length=200)
    sent_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
