"""person_feed, web_session: a person's calendar links can be revoked (`me feed-reset`), and sign-in sessions live
server-side (logout and deactivation in Slack end them)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'person_feed',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('reset_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'web_session',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('checked_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_web_session_user_id', 'web_session', ['user_id'], unique=False)
    op.create_index('ix_web_session_expires_at', 'web_session', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_web_session_expires_at', table_name='web_session')
    op.drop_index('ix_web_session_user_id', table_name='web_session')
    op.drop_table('web_session')
    op.drop_table('person_feed')
