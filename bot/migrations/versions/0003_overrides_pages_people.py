"""rotation overrides and swaps, pages, people

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db.columns

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person',
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('fetched_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_fetched_at'), ['fetched_at'], unique=False)

    op.create_table('rotation_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('starts_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rotation_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_override_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_override_rotation_id'), ['rotation_id'], unique=False)

    op.create_table('rotation_swap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('user_a', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_b', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('shift_index', sa.Integer(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rotation_swap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_swap_rotation_id'), ['rotation_id'], unique=False)

    op.create_table('page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('chain', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('start', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('target_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target_user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('target_channel', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('paged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dm_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('dm_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('acknowledged_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('escalated_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'chain', 'step')
    )
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_page_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_state'))
        batch_op.drop_index(batch_op.f('ix_page_incident_id'))

    op.drop_table('page')
    with op.batch_alter_table('rotation_swap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_swap_rotation_id'))

    op.drop_table('rotation_swap')
    with op.batch_alter_table('rotation_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_override_rotation_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_override_ends_at'))

    op.drop_table('rotation_override')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_fetched_at'))

    op.drop_table('person')
