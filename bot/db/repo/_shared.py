"""What several query modules share: the open statuses, the hot tables, the UPDATE builder, the row lock, what a
viewer may see."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.models import Delivery, Incident, IncidentMember

OPEN_STATUS_VALUES = ("new", "triaged", "in_progress", "blocked")

# Hot writes (every delivery, every set-up step) go as Core statements on the tables, built once with their values
# as parameters: the ORM's bulk-update path (synchronising session objects these short sessions never read again)
# and building the statement anew each time cost more than the round trip.
_INCIDENTS = Incident.__table__
_OUTBOX = Delivery.__table__


@cache
def _updating(table: sa.Table, columns: frozenset[str], held: bool = False) -> sa.Update:
    """UPDATE `table` SET each of `columns` to the parameter of its name WHERE id = :b_id — and, `held`, the row is
    a delivery still queued and claimed with :b_token (the fence of every write under a claim). One statement per
    set of columns (a handful in all)."""
    where = [table.c.id == sa.bindparam("b_id")]
    if held:
        where += [table.c.state == "queued", table.c.claim_token == sa.bindparam("b_token")]
    return sa.update(table).where(*where).values({name: sa.bindparam(name, type_=table.c[name].type)
                                                  for name in columns})


def _lock(session: Session, model, where):
    """The row, locked until the session ends (see `incident_for_change`)."""
    if session.get_bind().dialect.name == "sqlite":
        session.exec(sa.update(model).where(where).values(id=col(model.id)))
    return session.exec(select(model).where(where).with_for_update()
                        .execution_options(populate_existing=True)).first()


def seen_by(query, viewer: str | None):
    """Only the incidents `viewer` may see (bot/domain/visibility.py): public ones, and private ones whose channel
    they are in (None: nobody's). The caller leaves ADMINS unfiltered."""
    member_of = select(IncidentMember.incident_id).where(IncidentMember.user_id == (viewer or ""))
    return query.where(sa.or_(col(Incident.private).is_(sa.false()), col(Incident.id).in_(member_of)))
