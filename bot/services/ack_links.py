"""A page's one-click acknowledge link (SPEC §2 "Reaching people beyond Slack"): what its page shows, and pressing
it — through the same change as the page's Acknowledge button in Slack, by the person it paged, good only while
that page is open. The link itself is signed at the HTTP edge (bot/http/ack.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import repo
from bot.domain.errors import UserError
from bot.domain.incident import Priority, incident_ref
from bot.services.outcomes import Changed
from bot.services.working import Working


@dataclass(frozen=True)
class LinkedPage:
    ref: str
    title: str
    priority: Priority
    open: bool
    why_not: str  # when it is not open any more: answered (by whom) or escalated past


class AckLinks:
    def __init__(self, db: repo.database.Database, working: Working) -> None:
        self.db, self.working = db, working

    def page(self, page_id: int, user_id: str) -> LinkedPage | None:
        """What the link's page shows (reading only: a GET never changes anything)."""
        with self.db.reading() as session:
            page = repo.pages.page_by_id(session=session, page_id=page_id)
            if page is None or page.target_user_id != user_id:
                return None
            incident = repo.incidents.incident_by_id(session=session, incident_id=page.incident_id)
        live = page.state in ("queued", "waiting") and incident.status.is_open
        if live:
            why = ""
        elif not incident.status.is_open:
            why = f"{incident_ref(incident.number)} is {incident.status.label.lower()}."
        elif page.acknowledged_by:
            why = "This page was already acknowledged" + (" by you." if page.acknowledged_by == user_id else ".")
        else:
            why = "This page is no longer open: it was answered, or escalated to the next person."
        return LinkedPage(incident_ref(incident.number), incident.title, incident.priority, live, why)

    def acknowledge(self, page_id: int, user_id: str, method: str) -> Changed:
        page, number = self.working.paging.page_incident(page_id)
        if page.target_user_id != user_id:
            raise UserError("This link is not for this page.")
        return self.working.acknowledge(number, user_id, f"ack-link:{page_id}", link=(page_id, method))
