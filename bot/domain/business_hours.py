"""Business time: working days and hours on someone's wall clock (their timezone, else the team's). Pure.

Targets such as "fix within 8 business hours" or "triage within 4 business hours" count only this time, so a
P1 declared on Friday at 16:00 is due on Monday at 16:00 with 09:00–17:00 hours.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain.holidays import HolidayCalendar

_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WorkingTime:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    holidays: HolidayCalendar | None = None  # public holidays are days off (HOLIDAYS)

    def is_open(self, moment: datetime, tz: tzinfo) -> bool:
        local = moment.astimezone(tz)
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end and \
            (self.holidays is None or local.date() not in self.holidays)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 -- a tick asks for the same few days for every open incident
    def window(self, day: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
        """That day's working hours as UTC instants, or None on a day off (a weekend day or a holiday)."""
        if self.holidays is not None and day in self.holidays:
            return None
        return self._weekly_window(day, tz)

    def _weekly_window(self, day: date, tz: tzinfo) -> tuple[datetime, datetime] | None:
        """As `window`, holidays aside: what every week repeats."""
        if day.weekday() not in self.days or self.end <= self.start:
            return None
        return (datetime.combine(day, self.start, tzinfo=tz).astimezone(UTC),
                datetime.combine(day, self.end, tzinfo=tz).astimezone(UTC))

    def _within(self, since: datetime, until: datetime, tz: tzinfo) -> timedelta:
        total = timedelta(0)
        day, last = since.astimezone(tz).date(), until.astimezone(tz).date()
        while day <= last:
            window = self.window(day, tz)
            if window:
                lo, hi = max(window[0], since), min(window[1], until)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def _midnight(self, day: date, tz: tzinfo) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

    def _week_total(self, first: date, tz: tzinfo) -> timedelta:
        """Working time in the seven local days from `first` (one of each weekday), holidays aside."""
        total = timedelta(0)
        for offset in range(7):
            window = self._weekly_window(first + timedelta(days=offset), tz)
            if window:
                total += window[1] - window[0]
        return total

    def elapsed(self, since: datetime, until: datetime, tz: tzinfo) -> timedelta:
        """Business time between two instants. Whole local weeks in between are counted at once, so the cost does
        not grow with an incident's age."""
        if until <= since:
            return timedelta(0)
        first, last = since.astimezone(tz).date(), until.astimezone(tz).date()
        if (last - first).days <= 14:
            return self._within(since, until, tz)
        whole_from = first + timedelta(days=1)
        weeks = (last - whole_from).days // 7
        resume = whole_from + timedelta(days=7 * weeks)
        return (self._within(since, self._midnight(whole_from, tz), tz)
                + self._week_total(whole_from, tz) * weeks - self._holidays_off(whole_from, resume, tz)
                + self._within(self._midnight(resume, tz), until, tz))

    def _holidays_off(self, first: date, stop: date, tz: tzinfo) -> timedelta:
        """The working time that holidays from `first` up to `stop` (excluded) take out of their weeks."""
        if self.holidays is None or stop <= first:
            return timedelta(0)
        off = timedelta(0)
        for day in self.holidays.between(first, stop - timedelta(days=1)):
            window = self._weekly_window(day, tz)
            if window:
                off += window[1] - window[0]
        return off

    def add(self, start: datetime, duration: timedelta, tz: tzinfo) -> datetime:
        """The instant when `duration` of business time has passed since `start`."""
        if duration <= timedelta(0):
            return start
        day = start.astimezone(tz).date()
        if self._week_total(day, tz) <= timedelta(0):
            raise ValueError("no working hours in a week: a business-time target can never be reached")
        moment, left = start, duration
        while True:
            window = self.window(day, tz)
            if window and window[1] > moment:
                begin = max(window[0], moment)
                room = window[1] - begin
                if left <= room:
                    return begin + left
                left -= room
            day += timedelta(days=1)
            moment = self._midnight(day, tz)
            if self.holidays is not None:  # weeks differ: day by day (targets are hours, so a few weeks at most)
                continue
            week = self._week_total(day, tz)
            if left > week:  # skip whole weeks at once
                weeks = (left - timedelta(microseconds=1)) // week
                day += timedelta(days=7 * weeks)
                moment = self._midnight(day, tz)
                left -= week * weeks
