"""roster_version: each rotation's roster as it was from a moment on (for the fairness figures); filled with today's
roster from each rotation's creation

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'roster_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=False),
        sa.Column('since', UTCDateTime(), nullable=False),
        sa.Column('members', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_roster_version_rotation_id', 'roster_version', ['rotation_id'], unique=False)
    connection = op.get_bind()
    rotation = sa.table("rotation", sa.column("id", sa.Integer), sa.column("created_at", UTCDateTime()))
    rotations = connection.execute(sa.select(rotation.c.id, rotation.c.created_at)).all()
    version = sa.table("roster_version", sa.column("rotation_id", sa.Integer), sa.column("since", UTCDateTime()),
                       sa.column("members", sa.Text))
    for rotation_id, created_at in rotations:
        members = connection.execute(sa.text("SELECT user_id FROM rotation_member WHERE rotation_id = :r "
                                             "ORDER BY position, id"), {"r": rotation_id}).scalars().all()
        connection.execute(version.insert().values(rotation_id=rotation_id, since=created_at,
                                                   members=",".join(members)))


def downgrade() -> None:
    op.drop_index('ix_roster_version_rotation_id', table_name='roster_version')
    op.drop_table('roster_version')
