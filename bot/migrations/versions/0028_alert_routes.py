"""alert_route: `route add|list|remove|test`, alerts to rotations by their labels; rotation_key: a rotation's
own PagerDuty routing key (`rotation key <name>`), as its hash

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


def downgrade() -> None:
    op.drop_table('rotation_key')
    op.drop_index(op.f('ix_alert_route_position'), table_name='alert_route')
    op.drop_table('alert_route')
