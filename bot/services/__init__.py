"""Use-cases. Each owns its transaction; Slack hears about a change only after it is stored, off the ack path."""

from bot.domain.errors import UserError
from bot.services.alerts import AlertService, Received
from bot.services.base import Changed, Declared
from bot.services.reading import Detail, Listing, ReadingService
from bot.services.rotations import RotationPlan
from bot.services.working import Resolution


class IncidentService(ReadingService, AlertService):
    """Everything a listener, the scheduler's tick and the alert endpoints may ask for."""

    async def tick(self) -> None:
        """What the scheduler runs every SCHEDULER_TICK: whatever stored state says is due at `now`."""
        await self.flush_outbox()
        await self.escalate_due()
        await self.remind_due()
        await self.refresh_people_now_and_then()


__all__ = ["Changed", "Declared", "Detail", "IncidentService", "Listing", "Received", "Resolution", "RotationPlan",
           "UserError"]
