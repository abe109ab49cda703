"""tracker_issue: incidents linked to GitHub/GitLab issues; tracker_state: who the bot is there, its last refusal

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tracker_issue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=16), nullable=False),
        sa.Column('issue_id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('opened_there', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('seen_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tracker', 'issue_id'),
        sa.UniqueConstraint('incident_id', 'tracker'),
    )
    op.create_index('ix_tracker_issue_incident_id', 'tracker_issue', ['incident_id'], unique=False)
    op.create_table(
        'tracker_state',
        sa.Column('tracker', sa.String(length=16), nullable=False),
        sa.Column('login', sa.String(length=255), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=False),
        sa.Column('error_at', UTCDateTime(), nullable=True),
        sa.Column('ok_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('tracker'),
    )


def downgrade() -> None:
    op.drop_table('tracker_state')
    op.drop_index('ix_tracker_issue_incident_id', table_name='tracker_issue')
    op.drop_table('tracker_issue')
