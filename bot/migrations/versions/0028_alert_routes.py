"""alert_route: `route add|list|remove|test`, alerts to rotations by their labels; rotation_key: a rotation's
own PagerDuty routing key (`rotation key <name>`), as its hash; maintenance_window and held_alert

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_route',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('matchers', sa.Text(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('priority', sa.String(length=2), nullable=True),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_alert_route_position'), 'alert_route', ['position'], unique=False)
    op.create_table(
        'rotation_key',
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('rotation_id'),
        sa.UniqueConstraint('key_hash'),
    )


    op.create_table(
        'maintenance_window',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=True),
        sa.Column('matchers', sa.Text(), nullable=False),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_maintenance_window_ends_at'), 'maintenance_window', ['ends_at'], unique=False)
    op.create_table(
        'held_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('window_id', sa.Integer(), nullable=False),
        sa.Column('fingerprint', sa.String(length=300), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('alert', sa.Text(), nullable=False),
        sa.Column('firing', sa.Boolean(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.Column('opened_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['window_id'], ['maintenance_window.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('window_id', 'fingerprint'),
    )
    op.create_index(op.f('ix_held_alert_window_id'), 'held_alert', ['window_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_held_alert_window_id'), table_name='held_alert')
    op.drop_table('held_alert')
    op.drop_index(op.f('ix_maintenance_window_ends_at'), table_name='maintenance_window')
    op.drop_table('maintenance_window')
    op.drop_table('rotation_key')
    op.drop_index(op.f('ix_alert_route_position'), table_name='alert_route')
    op.drop_table('alert_route')
