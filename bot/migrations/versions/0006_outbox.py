"""outbox: Slack calls owed for stored changes, delivered in order and retried

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db.columns

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lane', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', bot.db.columns.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', bot.db.columns.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_lane'), ['lane'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_state'))
        batch_op.drop_index(batch_op.f('ix_outbox_lane'))
        batch_op.drop_index(batch_op.f('ix_outbox_incident_id'))

    op.drop_table('outbox')
