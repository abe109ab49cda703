"""The public status page: components, published incidents with their components and public updates."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.edge_models import MaintenanceWindow
from bot.db.models import Incident
from bot.db.repo._shared import OPEN_STATUS_VALUES
from bot.db.status_models import (
    StatusComponent,
    StatusIncident,
    StatusIncidentComponent,
    StatusSubscriber,
    StatusUpdate,
)


def components(*, session: Session) -> list[StatusComponent]:
    return list(session.exec(select(StatusComponent).order_by(col(StatusComponent.group_name).is_not(None),
                                                              col(StatusComponent.group_name),
                                                              col(StatusComponent.id))))


def component_named(*, session: Session, name: str) -> StatusComponent | None:
    return session.exec(select(StatusComponent).where(sa.func.lower(StatusComponent.name) == name.lower())).first()


def remove_component(*, session: Session, component_id: int) -> None:
    session.exec(sa.delete(StatusIncidentComponent).where(col(StatusIncidentComponent.component_id) == component_id))
    session.exec(sa.delete(StatusComponent).where(col(StatusComponent.id) == component_id))


def open_naming(*, session: Session, component_id: int) -> int:
    """How many published incidents still open (on the page and in fact) name this component."""
    return session.exec(select(sa.func.count()).select_from(StatusIncidentComponent).join(
        StatusIncident, col(StatusIncident.id) == StatusIncidentComponent.status_incident_id).join(
        Incident, col(Incident.id) == StatusIncident.incident_id).where(
        StatusIncidentComponent.component_id == component_id, col(StatusIncident.resolved_at).is_(None),
        col(Incident.status).in_(OPEN_STATUS_VALUES))).one()


def published_of(*, session: Session, incident_id: int) -> StatusIncident | None:
    return session.exec(select(StatusIncident).where(StatusIncident.incident_id == incident_id)).first()


def link_components(*, session: Session, status_incident_id: int, component_ids: list[int]) -> None:
    for component_id in dict.fromkeys(component_ids):
        session.add(StatusIncidentComponent(status_incident_id=status_incident_id, component_id=component_id))


def published_since(*, session: Session, since: datetime) -> list[tuple[StatusIncident, datetime | None, list[int],
                                                                          list[StatusUpdate]]]:
    """Published incidents still open or resolved since `since`, each with when the incident itself was resolved
    (a resolution by any door, the status page's message or not), its component ids and its updates (oldest
    first): three statements, however many there are."""
    rows = list(session.exec(select(StatusIncident, Incident.resolved_at, Incident.status).join(
        Incident, col(Incident.id) == StatusIncident.incident_id).where(sa.or_(
            col(StatusIncident.resolved_at) >= since,
            sa.and_(col(StatusIncident.resolved_at).is_(None),  # ended by another door: kept for 90 days as well
                    sa.or_(col(Incident.status).in_(OPEN_STATUS_VALUES), col(Incident.updated_at) >= since))),
            col(Incident.private).is_(sa.false()))  # made private since: off the page at once
        .order_by(col(StatusIncident.published_at).desc()).limit(500)))
    found = [row for row, _, _ in rows]
    ended = {row.id: resolved or row.published_at for row, resolved, status in rows  # (closed: no resolved_at)
             if str(status) in ("resolved", "closed", "duplicate")}
    ids = [i.id for i in found]
    links: dict[int, list[int]] = {}
    updates: dict[int, list[StatusUpdate]] = {}
    if ids:
        for link in session.exec(select(StatusIncidentComponent).where(
                col(StatusIncidentComponent.status_incident_id).in_(ids))):
            links.setdefault(link.status_incident_id, []).append(link.component_id)
        for update in session.exec(select(StatusUpdate).where(col(StatusUpdate.status_incident_id).in_(ids))
                                   .order_by(col(StatusUpdate.at), col(StatusUpdate.id))):
            updates.setdefault(update.status_incident_id, []).append(update)
    return [(i, ended.get(i.id), links.get(i.id, []), updates.get(i.id, [])) for i in found]


def version(*, session: Session) -> tuple:
    """What changes whenever something the page shows changes (the page is rebuilt only then, or each minute)."""
    return tuple(session.execute(sa.select(
        sa.select(sa.func.max(StatusUpdate.id)).scalar_subquery(),
        sa.select(sa.func.count(StatusComponent.id)).scalar_subquery(),
        sa.select(sa.func.max(StatusComponent.created_at)).scalar_subquery(),  # (SQLite may reuse a removed id)
        sa.select(sa.func.count(StatusIncidentComponent.id)).scalar_subquery(),
        sa.select(sa.func.max(Incident.updated_at)).join(  # made private, closed, reopened: every change of it
            StatusIncident, col(StatusIncident.incident_id) == Incident.id).scalar_subquery(),
        *(sa.select(sa.func.count()).select_from(Incident).join(  # (…even within the same instant)
            StatusIncident, col(StatusIncident.incident_id) == Incident.id).where(which).scalar_subquery()
          for which in (col(Incident.private).is_(sa.true()), col(Incident.status).in_(OPEN_STATUS_VALUES))),
        sa.select(sa.func.max(MaintenanceWindow.id)).scalar_subquery(),
        sa.select(sa.func.max(MaintenanceWindow.ends_at)).scalar_subquery())).one())


def subscriber_by_email(*, session: Session, email: str) -> StatusSubscriber | None:
    return session.exec(select(StatusSubscriber).where(StatusSubscriber.email == email)).first()


def subscriber_by_token(*, session: Session, token: str) -> StatusSubscriber | None:
    return session.exec(select(StatusSubscriber).where(StatusSubscriber.token == token)).first()


def confirmed_subscribers(*, session: Session) -> list[StatusSubscriber]:
    return list(session.exec(select(StatusSubscriber).where(col(StatusSubscriber.confirmed_at).is_not(None))))


def component_ids_of(*, session: Session, status_incident_id: int) -> list[int]:
    return list(session.exec(select(StatusIncidentComponent.component_id).where(
        StatusIncidentComponent.status_incident_id == status_incident_id)))
