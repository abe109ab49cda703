"""responders, roster, resolution and analysis, request keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db.columns

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rotation_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rotation_id', 'user_id')
    )
    with op.batch_alter_table('rotation_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_member_rotation_id'), ['rotation_id'], unique=False)

    op.create_table('incident_responder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('added_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'user_id')
    )
    with op.batch_alter_table('incident_responder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_responder_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_responder_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_update_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('resolution', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('needed_rollback', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('follow_ups', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('postmortem', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('postmortem_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_incident_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('timeline_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.create_index(batch_op.f('ix_timeline_event_request_key'), ['request_key'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('timeline_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_event_request_key'))
        batch_op.drop_column('request_key')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_created_at'))
        batch_op.drop_column('postmortem_ts')
        batch_op.drop_column('postmortem')
        batch_op.drop_column('follow_ups')
        batch_op.drop_column('needed_rollback')
        batch_op.drop_column('resolution')
        batch_op.drop_column('reopen_count')
        batch_op.drop_column('duplicate_of')
        batch_op.drop_column('last_update_at')

    with op.batch_alter_table('incident_responder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_responder_user_id'))
        batch_op.drop_index(batch_op.f('ix_incident_responder_incident_id'))

    op.drop_table('incident_responder')
    with op.batch_alter_table('rotation_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_member_rotation_id'))

    op.drop_table('rotation_member')
