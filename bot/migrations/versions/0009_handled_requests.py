"""handled requests: a roster command or an on-demand digest delivered twice applies once

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'handled_request',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_handled_request_at', 'handled_request', ['at'])


def downgrade() -> None:
    op.drop_index('ix_handled_request_at', table_name='handled_request')
    op.drop_table('handled_request')
