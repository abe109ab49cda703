"""person.name, person.avatar: people by their Slack display name and picture on the web, never as raw ids

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('name', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('avatar', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.drop_column('avatar')
        batch.drop_column('name')
