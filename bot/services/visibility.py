"""Who may see an incident, asked by every door (bot/domain/visibility.py has the rule), and the membership it reads:
a private incident's channel members as last read — those the bot invited (recorded with the invitation, in the
change's transaction) and then Slack's member_joined_channel / member_left_channel events."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.domain.visibility import may_see


def hidden(session: Session, incident: Incident, viewer: str | None, admins: Collection[str]) -> bool:
    """The rule for one incident and one person (its channel's members read only when it matters)."""
    return not may_see(private=incident.private, viewer=viewer, admins=admins,
                       members=lambda: repo.incidents.member_ids(session=session, incident_id=incident.id))


def list_filter(viewer: str | None, admins: Collection[str]) -> str | bool | None:
    """The same rule for the incident lists (repo `viewer=`): False (all) for ADMINS, else what this person may see."""
    return False if viewer and viewer in admins else viewer


class Visibility:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock

    def joined(self, channel_id: str, user_id: str) -> None:
        with self.db.session() as session:
            incident = repo.incidents.incident_by_channel(session=session, channel_id=channel_id)
            if incident is None or not incident.private or incident.thread_ts is not None:
                return
            repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=[user_id],
                                       at=self.clock.now())
            session.commit()

    def left(self, channel_id: str, user_id: str) -> None:
        with self.db.session() as session:
            incident = repo.incidents.incident_by_channel(session=session, channel_id=channel_id)
            if incident is None or not incident.private:
                return
            repo.incidents.remove_member(session=session, incident_id=incident.id, user_id=user_id)
            session.commit()
