"""imported_object: what `python -m bot import … --apply` made of each source object, so a re-run changes nothing

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'imported_object',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source_id', sa.String(length=200), nullable=False),
        sa.Column('local_id', sa.Integer(), nullable=False),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'kind', 'source_id'),
    )


def downgrade() -> None:
    op.drop_table('imported_object')
