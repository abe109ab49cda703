"""channel_message: what incident channels said, from Slack's message events (for timeline capture)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.String(length=32), nullable=False),
        sa.Column('ts', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('deleted', sa.Boolean(), nullable=False),
        sa.Column('seen_at', UTCDateTime(), nullable=False),
        sa.Column('marks', sa.Text(), server_default='{}', nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel_id', 'ts'),
    )
    op.create_index('ix_channel_message_incident_id', 'channel_message', ['incident_id'], unique=False)
    op.create_index('ix_channel_message_seen_at', 'channel_message', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_channel_message_seen_at', table_name='channel_message')
    op.drop_index('ix_channel_message_incident_id', table_name='channel_message')
    op.drop_table('channel_message')
