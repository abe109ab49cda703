"""incident.private and incident_member: a private incident is shown only to its channel's members and ADMINS

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incident') as batch:
        batch.add_column(sa.Column('private', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'incident_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('since', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'user_id'),
    )
    op.create_index(op.f('ix_incident_member_incident_id'), 'incident_member', ['incident_id'], unique=False)
    op.create_index(op.f('ix_incident_member_user_id'), 'incident_member', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incident_member_user_id'), table_name='incident_member')
    op.drop_index(op.f('ix_incident_member_incident_id'), table_name='incident_member')
    op.drop_table('incident_member')
    with op.batch_alter_table('incident') as batch:
        batch.drop_column('private')
