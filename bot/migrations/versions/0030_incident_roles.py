"""incident.comms_id and incident.scribe_id: `role comms|scribe @person|none`, roles beyond the commander

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident') as batch:
        batch.add_column(sa.Column('comms_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('scribe_id', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident') as batch:
        batch.drop_column('scribe_id')
        batch.drop_column('comms_id')
