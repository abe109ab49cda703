"""incident.next_due_at: the tick reads only incidents with something due; (status, priority, number) for lists

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

RECHECK = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)
OPEN = ("new", "triaged", "in_progress", "blocked")


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_due_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_incident_next_due_at', ['next_due_at'], unique=False)
        batch_op.create_index('ix_incident_status_priority_number', ['status', 'priority', 'number'], unique=False)
    incident = sa.table("incident", sa.column("status", sa.String), sa.column("priority", sa.String),
                        sa.column("next_due_at", UTCDateTime()))
    live = sa.and_(incident.c.status.in_(OPEN), incident.c.priority.in_(("P0", "P1")))
    op.execute(incident.update().where(live).values(next_due_at=RECHECK))
    op.execute(incident.update().where(sa.not_(live)).values(next_due_at=NEVER))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_status_priority_number')
        batch_op.drop_index('ix_incident_next_due_at')
        batch_op.drop_column('next_due_at')
