"""the Slack set-up of an incident is owed as deliveries: queue them for open incidents a previous version left
half set up (that version resumed them at start-up; the delivery engine resumes them at the next tick)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

STEPS = ("home", "reply", "invite", "topic", "summary", "pin", "announce", "done")
OPEN = ("new", "triaged", "in_progress", "blocked")


def upgrade() -> None:
    bind = op.get_bind()
    incident = sa.table("incident", sa.column("id", sa.Integer), sa.column("status", sa.String),
                        sa.column("slack_steps_done", sa.String), sa.column("created_at", UTCDateTime()))
    unfinished = bind.execute(sa.select(incident.c.id, incident.c.created_at).where(
        incident.c.status.in_(OPEN), sa.not_(incident.c.slack_steps_done.like("%done%")))).all()
    if not unfinished:
        return
    outbox = sa.table("outbox", sa.column("lane", sa.String), sa.column("kind", sa.String),
                      sa.column("incident_id", sa.Integer), sa.column("payload", sa.Text),
                      sa.column("state", sa.String), sa.column("attempts", sa.Integer),
                      sa.column("created_at", UTCDateTime()), sa.column("next_attempt_at", UTCDateTime()),
                      sa.column("last_error", sa.String))
    rows = []
    for incident_id, created_at in unfinished:
        at = created_at or datetime(1970, 1, 1, tzinfo=UTC)
        rows += [{"lane": f"incident:{incident_id}", "kind": f"setup_{step}", "incident_id": incident_id,
                  "payload": "{}", "state": "queued", "attempts": 0, "created_at": at, "next_attempt_at": at,
                  "last_error": ""} for step in STEPS]
    op.bulk_insert(outbox, rows)


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind LIKE 'setup_%' AND state = 'queued'")
