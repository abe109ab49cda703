"""The `/stats` charts as inline SVG, each with its numbers as a table to show beside it. Pure.

Plain SVG strings — no script, no external fonts or images — so the page draws without JavaScript and under a strict
content security policy. Every text that comes from data passes through `_text`: the markup is inserted unescaped
(`|safe`), so a display name like `<script>` must arrive here as text. Screen readers get the `<title>`/`<desc>`
and the table; the drawing itself is not meant to be read aloud.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.incident import Priority
from bot.domain.stats import Spread, humanize
from bot.domain.weekly import WeekRow

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 24, 58  # the bottom margin holds the week labels and the legend
PRIORITY_COLOURS = {Priority.P0: "#b3261e", Priority.P1: "#e07000", Priority.P2: "#6b7280"}
MET_COLOUR = "#047857"
PAGES_COLOUR = "#1d4ed8"
MAX_LABELS = 12  # more weeks than this: label every other (third…) week so the labels never overlap
NAME_CHARS = 22
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # not the locale's
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def as_dict(self) -> dict:
        """What `stats.html` iterates over."""
        return {"key": self.key, "title": self.title, "svg": self.svg, "header": list(self.header),
                "rows": [list(row) for row in self.rows]}


def _text(value: object) -> str:
    """Escaped for XML, with the characters XML cannot hold at all (NUL, most controls) dropped."""
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def short_day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def _svg(key: str, title: str, desc: str, body: list[str], height: int = HEIGHT) -> str:
    ident = _text(f"chart-{key}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{ident}-title {ident}-desc" '
            f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" class="chart-svg" '
            f'font-family="system-ui, sans-serif" font-size="12">'
            f'<title id="{ident}-title">{_text(title)}</title><desc id="{ident}-desc">{_text(desc)}</desc>'
            + "".join(body) + "</svg>")


def _no_data(height: int = HEIGHT) -> str:
    return (f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" fill="#6b7280" font-size="14">'
            "no data</text>")


def _ticks(peak: float, *, whole: bool) -> list[float]:
    """0 up to a round number at or above `peak`, in about four steps of 1, 2 or 5 × 10ⁿ."""
    if peak <= 0:
        return [0, 1]
    rough = peak / 4
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    if whole:
        step = max(1, math.ceil(step))
    return [i * step for i in range(math.ceil(peak / step - 1e-9) + 1)]


class _Frame:
    """The week plot: y from 0 to the top tick, one band per week."""

    def __init__(self, weeks: Sequence[date], ticks: Sequence[float], unit: str = ""):
        self.weeks, self.ticks, self.unit = list(weeks), list(ticks), unit
        self.bottom, self.plot_height = HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP
        self.band = (WIDTH - LEFT - RIGHT) / max(len(self.weeks), 1)

    def y(self, value: float) -> float:
        return round(self.bottom - self.plot_height * value / self.ticks[-1], 2)

    def x(self, index: int) -> float:
        return round(LEFT + self.band * (index + 0.5), 2)

    def axes(self, tick_label: Callable[[float], str] = _num) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#e5e7eb"/>'
                         f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end" fill="#374151">'
                         f"{_text(tick_label(tick))}</text>")
        if self.unit:
            parts.append(f'<text x="{LEFT}" y="{TOP - 10}" fill="#374151">{_text(self.unit)}</text>')
        every = math.ceil(len(self.weeks) / MAX_LABELS) or 1
        for index, week in enumerate(self.weeks):
            if index % every == 0:
                parts.append(f'<text x="{self.x(index)}" y="{self.bottom + 16}" text-anchor="middle" '
                             f'fill="#374151">{_text(short_day(week))}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{self.bottom}" x2="{WIDTH - RIGHT}" y2="{self.bottom}" '
                     'stroke="#9ca3af"/>')
        return parts


def _legend(entries: Sequence[tuple[str, str, str]], y: float = HEIGHT - 12) -> str:
    """(label, colour, dash pattern or "") as swatches along the bottom."""
    parts, x = [], 16
    for label, colour, dash in entries:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 18}" y2="{y - 4}" stroke="{colour}" stroke-width="6"'
                     f'{dashed}/><text x="{x + 24}" y="{y}" fill="#111827">{_text(label)}</text>')
        x += 32 + 7 * len(label)
    return "".join(parts)


def _week_of(row: WeekRow) -> str:
    return row.start.isoformat()


def _span(rows: Sequence[WeekRow]) -> str:
    if not rows:
        return "no weeks"
    return f"{len(rows)} weeks from {rows[0].start.isoformat()} to {rows[-1].start.isoformat()}"


def priority_chart(rows: Sequence[WeekRow]) -> Chart:
    """Incidents declared per week, stacked P0 (bottom), P1, P2."""
    title = "Incidents per week by priority"
    header = ("Week of", *(p.value for p in Priority), "Total")
    table = tuple((_week_of(r), *(str(r.counts.get(p, 0)) for p in Priority), str(r.declared)) for r in rows)
    peak = max((r.declared for r in rows), default=0)
    frame = _Frame([r.start for r in rows], _ticks(peak, whole=True))
    body = frame.axes()
    if peak == 0:
        body.append(_no_data())
    width = round(frame.band * 0.6, 2)
    for index, row in enumerate(rows):
        base = 0
        for priority in Priority:
            count = row.counts.get(priority, 0)
            if count:
                top = frame.y(base + count)
                body.append(f'<rect x="{round(frame.x(index) - width / 2, 2)}" y="{top}" width="{width}" '
                            f'height="{round(frame.y(base) - top, 2)}" fill="{PRIORITY_COLOURS[priority]}">'
                            f"<title>{_text(f'{short_day(row.start)}: {count} {priority.value}')}</title></rect>")
                base += count
    body.append(_legend([(p.value, PRIORITY_COLOURS[p], "") for p in Priority]))
    return Chart("priority", title, _svg("priority", title, f"Stacked bars, {_span(rows)}.", body), header, table)


def _unit(peak: timedelta) -> tuple[str, float]:
    """Minutes up to two hours, hours up to three days, then days: the axis reads in small round numbers."""
    if peak <= timedelta(hours=2):
        return "minutes", 60
    if peak <= timedelta(days=3):
        return "hours", 3600
    return "days", 86400


def _timing_chart(key: str, title: str, rows: Sequence[WeekRow], spread_of: Callable[[WeekRow], Spread],
                  colour: str) -> Chart:
    """Median (solid) and p90 (dashed) per week of declaration; a week with none is a gap. Acknowledging takes
    minutes and resolving hours, so each has its own chart and axis rather than one flattening the other."""
    series = (("median", "", lambda r: spread_of(r).median), ("p90", "5 4", lambda r: spread_of(r).p90))
    header = ("Week of", "Median", "p90", "Incidents")
    table = tuple((_week_of(r), humanize(spread_of(r).median), humanize(spread_of(r).p90), str(spread_of(r).count))
                  for r in rows)
    values = [v for r in rows for _, _, get in series if (v := get(r)) is not None]
    unit, seconds = _unit(max(values, default=timedelta(0)))
    peak = max((v.total_seconds() / seconds for v in values), default=0)
    frame = _Frame([r.start for r in rows], _ticks(peak, whole=False), unit)
    body = frame.axes()
    if not values:
        body.append(_no_data())
    for label, dash, get in series:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        run: list[str] = []
        for index, row in enumerate([*rows, None]):
            value = get(row) if row is not None else None
            if value is None:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                f'stroke-width="2"{dashed}/>')
                run = []
                continue
            x, y = frame.x(index), frame.y(value.total_seconds() / seconds)
            run.append(f"{x},{y}")
            body.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}">'
                        f"<title>{_text(f'{short_day(row.start)}, {label}: {humanize(value)}')}</title></circle>")
    body.append(_legend([(label, colour, dash) for label, dash, _ in series]))
    desc = f"Lines in {unit}, {_span(rows)}; a week with no such incident is a gap."
    return Chart(key, title, _svg(key, title, desc, body), header, table)


def acknowledge_chart(rows: Sequence[WeekRow]) -> Chart:
    return _timing_chart("acknowledge", "Time to acknowledge", rows, lambda r: r.acknowledge, "#1d4ed8")


def resolve_chart(rows: Sequence[WeekRow]) -> Chart:
    """Only incidents resolved (and still resolved) count, as in `/incident stats`."""
    return _timing_chart("resolve", "Time to resolve", rows, lambda r: r.resolve, "#7c3aed")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} %"


def targets_chart(rows: Sequence[WeekRow]) -> Chart:
    """The share of decided incidents that met their targets, per week; a week with none decided has no bar."""
    title = "Targets met"
    header = ("Week of", "Met", "Decided", "Share met")
    table = tuple((_week_of(r), str(r.met), str(r.decided), _percent(r.met_percent)) for r in rows)
    frame = _Frame([r.start for r in rows], [0, 25, 50, 75, 100], "%")
    body = frame.axes()
    if all(r.met_percent is None for r in rows):
        body.append(_no_data())
    width = round(frame.band * 0.6, 2)
    for index, row in enumerate(rows):
        share = row.met_percent
        if share is None:  # a mark, so "nothing decided" does not read as a missing bar or as 0 %
            body.append(f'<text x="{frame.x(index)}" y="{frame.bottom - 4}" text-anchor="middle" fill="#6b7280">'
                        "–</text>")
            continue
        top = frame.y(share)
        body.append(f'<rect x="{round(frame.x(index) - width / 2, 2)}" y="{top}" width="{width}" '
                    f'height="{round(frame.bottom - top, 2)}" fill="{MET_COLOUR}">'
                    f"<title>{_text(f'{short_day(row.start)}: {row.met} of {row.decided} met')}</title></rect>"
                    f'<text x="{frame.x(index)}" y="{top - 4}" text-anchor="middle" fill="#111827" font-size="11">'
                    f"{_text(_percent(share))}</text>")
    desc = f"Bars from 0 to 100 %, {_span(rows)}; a week where no target was decided yet has no bar."
    return Chart("targets", title, _svg("targets", title, desc, body), header, table)


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"


def pages_chart(people: Sequence[tuple[str, int]]) -> Chart:
    """Pages per person as horizontal bars, in the order given (most paged first). Names are display names."""
    title = "Pages per person"
    header = ("Person", "Pages")
    table = tuple((name, str(count)) for name, count in people)
    row_height, label_width = 24, 170
    height = TOP + max(len(people), 1) * row_height + 28
    peak = max((count for _, count in people), default=0)
    ticks = _ticks(peak, whole=True)
    span = WIDTH - RIGHT - label_width - 40  # room for the count after the longest bar
    body = []
    if peak == 0:
        body.append(_no_data(height))
    for index, (name, count) in enumerate(people):
        y = TOP + index * row_height
        length = round(span * count / ticks[-1], 2)
        body.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" fill="#111827">'
                    f"{_text(_short(name))}</text>"
                    f'<rect x="{label_width}" y="{y + 4}" width="{length}" height="{row_height - 8}" '
                    f'fill="{PAGES_COLOUR}"><title>{_text(f"{name}: {count}")}</title></rect>'
                    f'<text x="{label_width + length + 6}" y="{y + 16}" fill="#111827">{count}</text>')
    desc = f"Horizontal bars, {len(people)} people, most paged first." if people else "Nobody was paged."
    return Chart("pages", title, _svg("pages", title, desc, body, height), header, table)


def stats_charts(rows: Sequence[WeekRow], people: Sequence[tuple[str, int]]) -> list[dict]:
    """The five charts in page order, as `stats.html` takes them."""
    charts = (priority_chart(rows), acknowledge_chart(rows), resolve_chart(rows), targets_chart(rows),
              pages_chart(people))
    return [chart.as_dict() for chart in charts]
