"""Business hours: working days and hours on a person's own wall clock. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class WorkingTime:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday

    def is_open(self, moment: datetime, tz: tzinfo) -> bool:
        local = moment.astimezone(tz)
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    def day_end(self, moment: datetime, tz: tzinfo) -> datetime | None:
        """When this working day ends for someone at `moment`, or None outside working hours."""
        if not self.is_open(moment, tz):
            return None
        local = moment.astimezone(tz)
        return datetime.combine(local.date(), self.end, tzinfo=tz).astimezone(UTC)

    def elapsed(self, since: datetime, until: datetime, tz: tzinfo) -> timedelta:
        """Business time between two instants (for targets such as "8 business hours")."""
        if until <= since:
            return timedelta(0)
        total = timedelta(0)
        day = since.astimezone(tz).date()
        last = until.astimezone(tz).date()
        while day <= last:
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC)
                closes = datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC)
                lo, hi = max(opens, since), min(closes, until)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total
