"""an index on (status, priority): the tick finds open P0/P1s without reading the history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_status_priority', ['status', 'priority'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_status_priority')

