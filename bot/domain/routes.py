"""Alert routes (SPEC § Moving in: `route add|list|remove|test`): labels to a rotation and a priority. An alert
goes to the first route whose every `label=value` it carries; with none, the source's own rules hold (its
`rotation` label or field, else the first rotation). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.domain.incident import Priority

MAX_MATCHERS = 10
MAX_ROUTES = 200
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
USAGE = ("Use `/incident route add <label>=<value>[,<label>=<value>…] <rotation> [P0|P1|P2]`, `route list`, "
         "`route remove <n>` or `route test <label>=<value>…`.")


@dataclass(frozen=True)
class Route:
    matchers: tuple[tuple[str, str], ...]
    rotation: str
    priority: Priority | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(name) == value for name, value in self.matchers)

    def describe(self) -> str:
        said = ",".join(f"{name}={value}" for name, value in self.matchers)
        return f"`{said}` → `{self.rotation}`" + (f" as {self.priority.value}" if self.priority else "")


def parse_matchers(text: str) -> tuple[tuple[str, str], ...]:
    """`env=prod,team=db` (spaces between pairs too) → the pairs, sorted; a label twice is refused."""
    pairs = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not pairs:
        raise UserError(f"A route needs at least one `label=value`. {USAGE}")
    if len(pairs) > MAX_MATCHERS:
        raise UserError(f"A route matches at most {MAX_MATCHERS} labels.")
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _LABEL.match(name) or not value or len(value) > 200:
            raise UserError(f"`{pair[:60]}` is not `label=value` (a label is letters, digits and `_`; a value is "
                            "not empty).")
        if name in found:
            raise UserError(f"The label `{name}` is named twice.")
        found[name] = value
    return tuple(sorted(found.items()))


def first_match(routes: Sequence[Route], labels: Mapping[str, str]) -> tuple[int, Route] | None:
    """(its number, counting from 1, and the route) of the first route the labels match."""
    return next(((n, route) for n, route in enumerate(routes, 1) if route.matches(labels)), None)
