"""notices (reminders and handoff messages owed), and when an incident became P0

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db.columns

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('rotation_id', sa.Integer(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_key'), ['key'], unique=True)
        batch_op.create_index(batch_op.f('ix_notice_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_rotation_id'), ['rotation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_state'), ['state'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('p0_since', bot.db.columns.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('p0_since')

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_state'))
        batch_op.drop_index(batch_op.f('ix_notice_sent_at'))
        batch_op.drop_index(batch_op.f('ix_notice_rotation_id'))
        batch_op.drop_index(batch_op.f('ix_notice_kind'))
        batch_op.drop_index(batch_op.f('ix_notice_key'))
        batch_op.drop_index(batch_op.f('ix_notice_incident_id'))

    op.drop_table('notice')
