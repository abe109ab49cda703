"""follow_up: an incident's follow-ups as items of their own (owner, due day, done)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('owner', sa.String(length=32), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.Column('done_by', sa.String(length=32), nullable=True),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('incident_id', 'owner', 'due_on', 'done_at'):
        op.create_index(f'ix_follow_up_{column}', 'follow_up', [column], unique=False)


def downgrade() -> None:
    for column in ('incident_id', 'owner', 'due_on', 'done_at'):
        op.drop_index(f'ix_follow_up_{column}', table_name='follow_up')
    op.drop_table('follow_up')
