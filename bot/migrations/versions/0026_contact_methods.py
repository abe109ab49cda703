"""contact_method, notify_rule, page_send, page.acknowledged_via: pages reach people beyond Slack (SMS, push, email
through Apprise) by each person's rules, and an acknowledgement by a page's link says which

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_method',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('verified_at', UTCDateTime(), nullable=True),
        sa.Column('code_nonce', sa.String(length=32), nullable=True),
        sa.Column('code_expires_at', UTCDateTime(), nullable=True),
        sa.Column('code_tries', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'kind'),
    )
    op.create_index('ix_contact_method_user_id', 'contact_method', ['user_id'], unique=False)
    op.create_table(
        'notify_rule',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('delay_seconds', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'method'),
    )
    op.create_table(
        'page_send',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('page_id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id']),
        sa.ForeignKeyConstraint(['page_id'], ['page.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('page_id', 'method'),
    )
    op.create_index('ix_page_send_incident_id', 'page_send', ['incident_id'], unique=False)
    op.create_index('ix_page_send_state_due_at', 'page_send', ['state', 'due_at'], unique=False)
    with op.batch_alter_table('page') as batch:
        batch.add_column(sa.Column('acknowledged_via', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('page') as batch:
        batch.drop_column('acknowledged_via')
    op.drop_index('ix_page_send_state_due_at', table_name='page_send')
    op.drop_index('ix_page_send_incident_id', table_name='page_send')
    op.drop_table('page_send')
    op.drop_table('notify_rule')
    op.drop_index('ix_contact_method_user_id', table_name='contact_method')
    op.drop_table('contact_method')
