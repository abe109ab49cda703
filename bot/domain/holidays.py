"""Public holidays (SPEC §2 "Schedules": `HOLIDAYS`), from the `holidays` library: a country with an optional
subdivision (`DE-BY`, `US-CA`, `GB-ENG`). A holiday is not a business day. Pure: the library's tables, no I/O.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from bot.domain.errors import UserError


@dataclass(frozen=True)
class HolidayCalendar:
    country: str
    subdivision: str | None = None

    @property
    def code(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and day in _days(self.country, self.subdivision, day.year)

    @classmethod
    def from_code(cls, code: str) -> HolidayCalendar:
        """A code stored after parse_calendar checked it."""
        country, _, subdivision = code.partition("-")
        return cls(country, subdivision or None)

    def between(self, first: date, last: date) -> list[date]:
        """The holidays from `first` to `last`, both included, in order."""
        return sorted(d for year in range(first.year, last.year + 1)
                      for d in _days(self.country, self.subdivision, year) if first <= d <= last)


@functools.lru_cache(maxsize=256)
def _days(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays as holiday_tables  # loaded only where holidays are set up: it costs about 15 MB

    return frozenset(holiday_tables.country_holidays(country, subdiv=subdivision, years=year))


def parse_calendar(text: str) -> HolidayCalendar:
    """`DE`, `de-by`, `US-CA` → the calendar; anything the library does not know is refused, naming what it knows."""
    import holidays as holiday_tables

    country, _, subdivision = text.strip().upper().partition("-")
    supported = holiday_tables.list_supported_countries()
    if country not in supported:
        raise UserError(f"`{text.strip()[:20]}` is not a country the holidays library knows (ISO 3166 codes such "
                        "as DE, US, GB).")
    if subdivision and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12]) + ("…" if len(supported[country]) > 12 else "")
        raise UserError(f"{country} has no subdivision `{subdivision[:10]}`" + (f" (it has {known})." if known
                                                                                 else " (it has none)."))
    return HolidayCalendar(country, subdivision or None)
