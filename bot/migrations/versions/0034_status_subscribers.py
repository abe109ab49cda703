"""status_subscriber: the status page's mail subscribers (double opt-in)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'status_subscriber',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('components', sa.String(length=2000), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('confirmed_at', UTCDateTime(), nullable=True),
        sa.Column('asked_at', UTCDateTime(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
        sa.UniqueConstraint('token'),
    )


def downgrade() -> None:
    op.drop_table('status_subscriber')
