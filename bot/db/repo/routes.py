"""Alert routes, in the order they are tried."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.db.edge_models import AlertRoute
from bot.db.models import Rotation


def routes(*, session: Session) -> list[tuple[AlertRoute, str]]:
    """Every route with its rotation's name, lowest position first."""
    return [(route, name) for route, name in session.exec(
        select(AlertRoute, Rotation.name).join(Rotation, col(Rotation.id) == col(AlertRoute.rotation_id))
        .order_by(col(AlertRoute.position), col(AlertRoute.id))).all()]
