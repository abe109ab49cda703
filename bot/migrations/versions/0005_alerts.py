"""alerts: where an incident came from, and the alert fingerprint it is deduplicated by

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='slack',
                                      nullable=False))
        batch_op.add_column(sa.Column('alert_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=220), nullable=True))
        batch_op.add_column(sa.Column('alert_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_incident_alert_fingerprint'), ['alert_fingerprint'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_alert_fingerprint'))
        batch_op.drop_column('alert_count')
        batch_op.drop_column('alert_fingerprint')
        batch_op.drop_column('source')

