"""Who may see an incident, asked by every door (bot/domain/visibility.py has the rule), and the membership it reads:
a private incident's channel members as last read — those the bot invited (recorded with the invitation, in the
change's transaction) and then Slack's member_joined_channel / member_left_channel events."""

from __future__ import annotations

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.domain.visibility import may_see


class Visibility:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock

    def may_see(self, session: Session, incident: Incident, viewer: str | None) -> bool:
        return may_see(private=incident.private, viewer=viewer, admins=self.settings.admins,
                       members=lambda: repo.incidents.member_ids(session=session, incident_id=incident.id))

    def seen_by(self, viewer: str | None) -> str | bool | None:
        """The `viewer` filter for the incident lists: False (all) for ADMINS, else what this person may see."""
        return False if viewer and viewer in self.settings.admins else viewer

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
