"""escalation_policy, page.policy/policy_round/policy_step/wait_seconds: each rotation's own escalation steps per
priority, and each page's copy of the policy its chain started with; person_holidays: `me holidays`;
shift_change: `rotation set <name> handoff|shift|roles`; time_off: `pto add|list|remove`, and cover_request.time_off_id;
rotation_layer: `rotation layer add|roster|remove`

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'escalation_policy',
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('policy', sa.Text(), nullable=False),
        sa.Column('set_by', sa.String(length=32), nullable=False),
        sa.Column('set_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('rotation_id', 'priority'),
    )
    op.create_table(
        'person_holidays',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('calendar', sa.String(length=24), nullable=False),
        sa.Column('set_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'shift_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('since', UTCDateTime(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('at', sa.String(length=5), nullable=False),
        sa.Column('tz', sa.String(length=64), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('roles', sa.Integer(), nullable=False),
        sa.Column('anchor', sa.Date(), nullable=False),
        sa.Column('first_index', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=32), nullable=False),
        sa.Column('set_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rotation_id', 'since'),
    )
    op.create_index(op.f('ix_shift_change_rotation_id'), 'shift_change', ['rotation_id'], unique=False)
    op.create_table(
        'time_off',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_time_off_user_id'), 'time_off', ['user_id'], unique=False)
    op.create_index(op.f('ix_time_off_ends_at'), 'time_off', ['ends_at'], unique=False)
    op.create_table(
        'rotation_layer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('days', sa.String(length=13), nullable=False),
        sa.Column('start', sa.String(length=5), nullable=False),
        sa.Column('end', sa.String(length=5), nullable=False),
        sa.Column('tz', sa.String(length=64), nullable=False),
        sa.Column('roster', sa.Text(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=32), nullable=False),
        sa.Column('set_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rotation_id', 'name'),
    )
    op.create_index(op.f('ix_rotation_layer_rotation_id'), 'rotation_layer', ['rotation_id'], unique=False)
    with op.batch_alter_table('cover_request') as batch:
        batch.add_column(sa.Column('time_off_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('page') as batch:
        batch.add_column(sa.Column('policy', sa.Text(), nullable=True))
        batch.add_column(sa.Column('policy_round', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('policy_step', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('wait_seconds', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('page') as batch:
        batch.drop_column('wait_seconds')
        batch.drop_column('policy_step')
        batch.drop_column('policy_round')
        batch.drop_column('policy')
    with op.batch_alter_table('cover_request') as batch:
        batch.drop_column('time_off_id')
    op.drop_index(op.f('ix_rotation_layer_rotation_id'), table_name='rotation_layer')
    op.drop_table('rotation_layer')
    op.drop_index(op.f('ix_time_off_ends_at'), table_name='time_off')
    op.drop_index(op.f('ix_time_off_user_id'), table_name='time_off')
    op.drop_table('time_off')
    op.drop_index(op.f('ix_shift_change_rotation_id'), table_name='shift_change')
    op.drop_table('shift_change')
    op.drop_table('person_holidays')
    op.drop_table('escalation_policy')
