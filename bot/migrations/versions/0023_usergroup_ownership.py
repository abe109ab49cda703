"""bot_usergroup: the Slack user groups the bot created; rotation_usergroup.origin/create_ref: how a bound group is
the bot's to change (SPEC §5: a group it created, or an existing one bound by ADMINS)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bot_usergroup',
        sa.Column('group_id', sa.String(length=32), nullable=False),
        sa.Column('handle', sa.String(length=100), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('group_id'),
    )
    with op.batch_alter_table('rotation_usergroup') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=16), nullable=False, server_default=''))
        batch.add_column(sa.Column('create_ref', sa.String(length=40), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('rotation_usergroup') as batch:
        batch.drop_column('create_ref')
        batch.drop_column('origin')
    op.drop_table('bot_usergroup')
