"""alert_route: `route add|list|remove|test`, alerts to rotations by their labels

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


def downgrade() -> None:
    op.drop_index(op.f('ix_alert_route_position'), table_name='alert_route')
    op.drop_table('alert_route')
