"""Use-cases. Each owns its transaction; Slack hears about a change only after it is stored, off the ack path."""

from bot.domain.errors import UserError
from bot.services.base import Changed, Declared
from bot.services.declaring import DeclaringService
from bot.services.reading import Detail, Listing, ReadingService
from bot.services.working import Resolution, WorkingService


class IncidentService(ReadingService, DeclaringService, WorkingService):
    """Everything a listener (and later the scheduler and the alert endpoints) may ask about incidents."""


__all__ = ["Changed", "Declared", "Detail", "IncidentService", "Listing", "Resolution", "UserError"]
