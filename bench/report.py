"""The one table: measurement, target, figure (the median of the rounds), range (min–max over the rounds), verdict
(met / **missed** / skipped), with the machine on top."""

from __future__ import annotations

import logging
import os
import platform
from dataclasses import dataclass, field

log = logging.getLogger("bench")


@dataclass
class Row:
    measurement: str
    target: str
    figure: str
    range: str = ""
    met: bool | None = None  # None: skipped (the figure says why)

    @property
    def verdict(self) -> str:
        return "skipped" if self.met is None else "met" if self.met else "**missed**"


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed under the table

    def add(self, *args, **kwargs) -> None:
        """Logged as it comes: a full run takes hours, and one stopped early keeps the rows of its finished parts."""
        row = Row(*args, **kwargs)
        self.rows.append(row)
        log.info("row: %s | %s | %s | %s | %s", row.measurement, row.target, row.figure, row.range, row.verdict)

    @property
    def missed(self) -> bool:
        return any(row.met is False for row in self.rows)

    def markdown(self) -> str:
        lines = [f"{self.title} on {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()} "
                 f"({platform.machine()}, {platform.system()} {platform.release()})", "",
                 "| measurement | target | figure (median) | range | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {r.measurement} | {r.target} | {r.figure} | {r.range} | {r.verdict} |" for r in self.rows]
        return "\n".join(lines + [""] * bool(self.notes) + self.notes)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
