"""Incident types (`type add|list|remove`)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.schedule_models import IncidentType
from bot.domain.incident_types import BUILT_IN


def type_choices(*, session: Session) -> list[tuple[str, bool]]:
    """(name, private) of the types added, as rows (the declare form's question, for every `/incident`)."""
    return [(name, private) for name, private in session.exec(_CHOICES).all()]


_CHOICES = select(IncidentType.name, IncidentType.private).order_by(col(IncidentType.name))


def incident_types(*, session: Session) -> list[IncidentType]:
    """The types added (`security`, built in, is not a row: bot/domain/incident_types.py)."""
    return list(session.exec(select(IncidentType).order_by(col(IncidentType.name))))


def incident_type(*, session: Session, name: str) -> IncidentType | None:
    if name == BUILT_IN:
        return IncidentType(name=BUILT_IN, private=True, created_by="", created_at=datetime(2026, 12, 6, tzinfo=UTC))
    return session.exec(select(IncidentType).where(IncidentType.name == name)).first()


def remove_type(*, session: Session, name: str) -> bool:
    return session.exec(sa.delete(IncidentType).where(col(IncidentType.name) == name)).rowcount > 0
