"""alert_storm, storm_alert: alerts past the storm threshold joined into one incident; heartbeat: silence alerts

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_storm',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('last_alert_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('news_owed', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id'),
    )
    op.create_index('ix_alert_storm_last_alert_at', 'alert_storm', ['last_alert_at'], unique=False)
    op.create_index('ix_alert_storm_ended_at', 'alert_storm', ['ended_at'], unique=False)
    op.create_table(
        'storm_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('storm_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=220), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=True),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('told', sa.String(length=8), nullable=False),
        sa.Column('times', sa.Integer(), nullable=False),
        sa.Column('first_at', UTCDateTime(), nullable=False),
        sa.Column('last_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['storm_id'], ['alert_storm.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('storm_id', 'fingerprint'),
    )
    for column in ('storm_id', 'fingerprint', 'first_at'):
        op.create_index(f'ix_storm_alert_{column}', 'storm_alert', [column], unique=False)
    op.create_table(
        'heartbeat',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('interval_seconds', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_beat_at', UTCDateTime(), nullable=True),
        sa.Column('silent_after', UTCDateTime(), nullable=False),
        sa.Column('beats', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('silence_of', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_index('ix_heartbeat_silent_after', 'heartbeat', ['silent_after'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_heartbeat_silent_after', table_name='heartbeat')
    op.drop_table('heartbeat')
    for column in ('storm_id', 'fingerprint', 'first_at'):
        op.drop_index(f'ix_storm_alert_{column}', table_name='storm_alert')
    op.drop_table('storm_alert')
    op.drop_index('ix_alert_storm_ended_at', table_name='alert_storm')
    op.drop_index('ix_alert_storm_last_alert_at', table_name='alert_storm')
    op.drop_table('alert_storm')
