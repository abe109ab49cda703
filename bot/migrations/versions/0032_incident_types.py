"""incident_type (`type add|list|remove`; `security` is built in, bot/domain/incident_types.py) and
incident.type_name

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'incident_type',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('private', sa.Boolean(), nullable=False),
        sa.Column('rotation_id', sa.Integer(), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=True),
        sa.Column('created_by', sa.String(length=32), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rotation_id'], ['rotation.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    with op.batch_alter_table('incident') as batch:
        batch.add_column(sa.Column('type_name', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident') as batch:
        batch.drop_column('type_name')
    op.drop_table('incident_type')
