"""pages are sent by the delivery engine: queue a delivery for each page a previous version left undelivered

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from bot.db.columns import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    page = sa.table("page", sa.column("id", sa.Integer), sa.column("incident_id", sa.Integer),
                    sa.column("state", sa.String), sa.column("target_user_id", sa.String),
                    sa.column("target_channel", sa.String), sa.column("created_at", UTCDateTime()))
    queued = bind.execute(sa.select(page.c.id, page.c.incident_id, page.c.target_user_id, page.c.target_channel,
                                    page.c.created_at).where(page.c.state == "queued")).all()
    if not queued:
        return
    outbox = sa.table("outbox", sa.column("lane", sa.String), sa.column("kind", sa.String),
                      sa.column("incident_id", sa.Integer), sa.column("payload", sa.Text),
                      sa.column("state", sa.String), sa.column("attempts", sa.Integer),
                      sa.column("created_at", UTCDateTime()), sa.column("next_attempt_at", UTCDateTime()),
                      sa.column("last_error", sa.String))
    op.bulk_insert(outbox, [{
        "lane": f"user:{user}" if user else f"channel:{channel}", "kind": "page", "incident_id": incident_id,
        "payload": f'{{"page_id": {page_id}}}', "state": "queued", "attempts": 0, "created_at": created_at,
        "next_attempt_at": created_at, "last_error": ""} for page_id, incident_id, user, channel, created_at in queued])


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind = 'page' AND state = 'queued'")
