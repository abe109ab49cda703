"""Incident types (SPEC § Incident types, private incidents and roles): `type add <name> [private] [rotation
<name>] [priority P0|P1|P2]`. Pure: the command's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.errors import UserError
from bot.domain.incident import Priority

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
BUILT_IN = "security"  # SPEC: exists from the start, private; always offered, never removed
USAGE = ("Use `/incident type add <name> [private] [rotation <name>] [priority P0|P1|P2]`, `type list` or "
         "`type remove <name>`.")


@dataclass(frozen=True)
class TypeSpec:
    name: str
    private: bool = False
    rotation: str | None = None
    priority: Priority | None = None


def type_name(word: str) -> str:
    name = word.strip().lower()
    if not NAME.match(name):
        raise UserError(f"A type's name is up to 40 lowercase letters, digits, `-` or `_`, not "
                        f"`{word[:40].replace('`', chr(39))}`.")
    return name


def parse_type(text: str) -> TypeSpec:
    """`<name> [private] [rotation <name>] [priority P0|P1|P2]`, the options in any order."""
    words = text.split()
    if not words:
        raise UserError(USAGE)
    name, private, rotation, priority = type_name(words[0]), False, None, None
    rest = iter(words[1:])
    for word in rest:
        key = word.lower()
        if key == "private":
            private = True
        elif key == "rotation":
            rotation = next(rest, "").lstrip("#").lower() or None
            if rotation is None:
                raise UserError("`rotation` needs a rotation's name: `type add <name> rotation payments`.")
        elif key == "priority":
            value = next(rest, "").upper()
            if value not in Priority._value2member_map_:
                raise UserError("`priority` is P0, P1 or P2.")
            priority = Priority(value)
        else:
            raise UserError(USAGE)
    return TypeSpec(name, private, rotation, priority)
