"""follow_up_issue: each follow-up mirrored as an issue in the configured trackers (closing either closes both)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'follow_up_issue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('follow_up_id', sa.Integer(), nullable=False),
        sa.Column('tracker', sa.String(length=16), nullable=False),
        sa.Column('issue_id', sa.String(length=64), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('seen_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['follow_up_id'], ['follow_up.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tracker', 'issue_id'),
        sa.UniqueConstraint('follow_up_id', 'tracker'),
    )
    op.create_index('ix_follow_up_issue_follow_up_id', 'follow_up_issue', ['follow_up_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_follow_up_issue_follow_up_id', table_name='follow_up_issue')
    op.drop_table('follow_up_issue')
