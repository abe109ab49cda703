"""alert firings: the startsAt last counted (a repeat of the same firing is not counted again), Alertmanager's
truncatedAlerts last heard, and links up to 2,000 characters (Prometheus makes long generatorURLs)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_started_at', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('alert_left_out', sa.Integer(), server_default='0', nullable=False))
        batch_op.alter_column('source_url', existing_type=sqlmodel.sql.sqltypes.AutoString(length=500),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=2000), existing_nullable=True)
    with op.batch_alter_table('storm_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.alter_column('url', existing_type=sqlmodel.sql.sqltypes.AutoString(length=500),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=2000), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('storm_alert', schema=None) as batch_op:
        batch_op.alter_column('url', existing_type=sqlmodel.sql.sqltypes.AutoString(length=2000),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=500), existing_nullable=True)
        batch_op.drop_column('started_at')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column('source_url', existing_type=sqlmodel.sql.sqltypes.AutoString(length=2000),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=500), existing_nullable=True)
        batch_op.drop_column('alert_left_out')
        batch_op.drop_column('alert_started_at')
