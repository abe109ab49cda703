"""a rotation's calendar-feed version: bumping it revokes every .ics link handed out

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rotation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_version', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('rotation', schema=None) as batch_op:
        batch_op.drop_column('feed_version')

