"""What `python -m bot import` made of a source's objects (bot/importers/apply.py)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.db.edge_models import ImportedObject


def imported(*, session: Session, source: str) -> dict[tuple[str, str], int]:
    """(kind, source id) → the local id, for everything imported from `source`."""
    return {(row.kind, row.source_id): row.local_id
            for row in session.exec(select(ImportedObject).where(ImportedObject.source == source)).all()}


def was_imported(*, session: Session, source: str, kind: str, source_id: str) -> bool:
    return session.exec(select(ImportedObject.id).where(
        ImportedObject.source == source, ImportedObject.kind == kind, ImportedObject.source_id == source_id)).first() \
        is not None
