"""rotation_usergroup: a Slack user group kept equal to who is on call on a rotation

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rotation_usergroup',
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('handle', sa.String(length=100), nullable=False),
        sa.Column('group_id', sa.String(length=32), nullable=True),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('set_by', sa.String(length=32), nullable=False),
        sa.Column('set_at', UTCDateTime(), nullable=False),
        sa.Column('wanted', sa.String(length=200), nullable=False),
        sa.Column('synced', sa.String(length=200), nullable=False),
        sa.Column('synced_at', UTCDateTime(), nullable=True),
        sa.Column('error', sa.String(length=200), nullable=False),
        sa.Column('error_at', UTCDateTime(), nullable=True),
        sa.Column('told', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('rotation_id'),
    )


def downgrade() -> None:
    op.drop_table('rotation_usergroup')
