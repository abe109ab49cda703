"""cover_request: "cover me" requests with an I'll cover button, taken once into an override

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cover_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('requester', sa.String(length=32), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('taken_by', sa.String(length=32), nullable=True),
        sa.Column('override_id', sa.Integer(), nullable=True),
        sa.Column('channel_id', sa.String(length=32), nullable=True),
        sa.Column('message_ts', sa.String(length=32), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['override_id'], ['rotation_override.id']),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('rotation_id', 'requester', 'starts_at', 'state', 'taken_by'):
        op.create_index(f'ix_cover_request_{column}', 'cover_request', [column], unique=False)


def downgrade() -> None:
    for column in ('rotation_id', 'requester', 'starts_at', 'state', 'taken_by'):
        op.drop_index(f'ix_cover_request_{column}', table_name='cover_request')
    op.drop_table('cover_request')
