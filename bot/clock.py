"""The one source of "now": everything that depends on time takes a Clock so tests can move it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to; for tests and the benchmark."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs timezone-aware datetimes")
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **parts: float) -> None:
        """`advance(timedelta(minutes=5))` or `advance(minutes=5)`."""
        self._now += (delta or timedelta()) + timedelta(**parts)


class FileClock:
    """"Now" read from a file holding an ISO 8601 instant: lets a test (or a rehearsal) move time for real
    `python -m bot` processes, several at once, the way a FakeClock moves it in one process. Set by
    FIREFIGHTER_CLOCK_FILE; never in production. Write it whole and `os.replace` it into place: a new file is a
    new reading."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[tuple[int, int], datetime] | None = None

    def now(self) -> datetime:
        info = os.stat(self.path)
        stamp = (info.st_ino, info.st_mtime_ns)
        if self._seen is None or self._seen[0] != stamp:
            with open(self.path, encoding="utf-8") as f:
                moment = datetime.fromisoformat(f.read().strip())
            if moment.tzinfo is None:
                raise ValueError(f"{self.path}: the clock needs a timezone-aware instant")
            self._seen = (stamp, moment.astimezone(UTC))
        return self._seen[1]
