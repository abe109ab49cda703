"""status_component, status_incident, status_incident_component, status_update: the public status page

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'status_component',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('group_name', sa.String(length=60), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'status_incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=150), nullable=False),
        sa.Column('state', sa.String(length=24), nullable=False),
        sa.Column('published_at', UTCDateTime(), nullable=False),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id'),
    )
    op.create_index(op.f('ix_status_incident_resolved_at'), 'status_incident', ['resolved_at'], unique=False)
    op.create_table(
        'status_incident_component',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status_incident_id', sa.Integer(), nullable=False),
        sa.Column('component_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['component_id'], ['status_component.id']),
        sa.ForeignKeyConstraint(['status_incident_id'], ['status_incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('status_incident_id', 'component_id'),
    )
    op.create_index(op.f('ix_status_incident_component_component_id'), 'status_incident_component',
                    ['component_id'], unique=False)
    op.create_index(op.f('ix_status_incident_component_status_incident_id'), 'status_incident_component',
                    ['status_incident_id'], unique=False)
    op.create_table(
        'status_update',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status_incident_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('by', sa.String(length=32), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('request_key', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['status_incident_id'], ['status_incident.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key'),
    )
    op.create_index(op.f('ix_status_update_at'), 'status_update', ['at'], unique=False)
    op.create_index(op.f('ix_status_update_status_incident_id'), 'status_update', ['status_incident_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('status_update')
    op.drop_table('status_incident_component')
    op.drop_table('status_incident')
    op.drop_table('status_component')
