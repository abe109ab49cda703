"""`rotation layer add|roster|remove` (SPEC § Schedules): follow-the-sun or day/night rosters for windows of the
week (bot/domain/layers.py decides who holds what). Each change goes through the roster commands' permission and
apply-once, and is said in the rotation's channel in the transaction that stores it."""

from __future__ import annotations

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Rotation
from bot.db.schedule_models import RotationLayer
from bot.domain.errors import UserError
from bot.domain.layers import MAX_LAYERS, parse_layer
from bot.services.outbox import Outbox
from bot.services.rotation_inputs import layer_of
from bot.services.rotations import Rotations
from bot.slack.text import echo, parse_user_ref

LAYER_USAGE = ("Use `/incident rotation layer add <name> <layer> <days> <HH:MM-HH:MM> [<zone>]` (like `layer add "
               "payments emea mon-fri 08:00-16:00 Europe/Berlin`), `rotation layer roster <name> <layer> @a @b…` or "
               "`rotation layer remove <name> <layer>`; `rotation layer <name>` lists them.")
MAX_LAYER_ROSTER = 50


def layers_text(rotation: Rotation, rows: list[RotationLayer]) -> str:
    if not rows:
        return f"`{rotation.name}` has no layers: its roster holds every hour.\n{LAYER_USAGE}"
    lines = [f"*Layers of `{rotation.name}`* (where windows overlap, the later wins; outside them, the roster):"]
    for row in rows:
        layer = layer_of(row)
        people = ", ".join(f"<@{u}>" for u in layer.roster) or "_nobody yet_"
        lines.append(f"• *{layer.name}*: {layer.describe()} — {people}")
    return "\n".join(lines)


class RotationLayers:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations) -> None:
        self.settings, self.db, self.clock, self.outbox, self.rotations = settings, db, clock, outbox, rotations

    def _rows(self, session: Session, rotation: Rotation) -> list[RotationLayer]:
        return repo.schedules.layers_of(session=session, rotation_ids=[rotation.id]).get(rotation.id, [])

    def shown(self, rotation: Rotation) -> str:
        with self.db.reading() as session:
            return layers_text(rotation, self._rows(session, rotation))

    def act(self, rotation: Rotation, text: str, actor: str, request_key: str | None = None) -> str:
        verb, _, rest = text.strip().partition(" ")
        words = rest.split()
        verb = verb.lower()
        if verb == "add" and len(words) in (3, 4):
            layer = parse_layer(words[0], words[1], words[2], words[3] if len(words) == 4 else None,
                                self.settings.team_timezone)
            return self._change(rotation, actor, request_key, "rotation layer add",
                                lambda s, rows, now: self._add(s, rotation, rows, layer, actor, now))
        if verb == "roster" and words:
            people = [parse_user_ref(w) for w in words[1:]]
            if not people or None in people:
                raise UserError("Name the layer's people in order, as mentions: `rotation layer roster payments "
                                "emea @alice @bob`.")
            if len(people) > MAX_LAYER_ROSTER:
                raise UserError(f"A layer's roster has at most {MAX_LAYER_ROSTER} people.")
            return self._change(rotation, actor, request_key, "rotation layer roster", lambda s, rows, now:
                                self._roster(s, rotation, rows, words[0].lower(), list(dict.fromkeys(people)), actor,
                                             now))
        if verb == "remove" and len(words) == 1:
            return self._change(rotation, actor, request_key, "rotation layer remove",
                                lambda s, rows, now: self._remove(s, rotation, rows, words[0].lower()))
        raise UserError(LAYER_USAGE)

    def _change(self, rotation: Rotation, actor: str, request_key: str | None, kind: str, change) -> str:
        now = self.clock.now()
        with self.rotations.roster_change(rotation, actor, request_key, kind) as session:
            said = change(session, self._rows(session, rotation), now)
            session.flush()
            self.outbox.queue_post(session, rotation.channel_id, f":globe_with_meridians: <@{actor}> {said}\n"
                                   + layers_text(rotation, self._rows(session, rotation)), now)
        self.outbox.flush_later()
        return f"Done: {said} Said in <#{rotation.channel_id}>."

    def _add(self, session: Session, rotation: Rotation, rows: list[RotationLayer], layer, actor: str, now) -> str:
        row = next((r for r in rows if r.name == layer.name), None)
        if row is None:
            if len(rows) >= MAX_LAYERS:
                raise UserError(f"A rotation has at most {MAX_LAYERS} layers.")
            row = RotationLayer(rotation_id=rotation.id, name=layer.name, position=max((r.position for r in rows),
                                                                                       default=0) + 1,
                                set_by=actor, set_at=now, days="", start="", end="", tz="")
        row.days, row.start, row.end = ",".join(str(d) for d in sorted(layer.days)), f"{layer.start:%H:%M}", \
            f"{layer.end:%H:%M}"
        row.tz, row.set_by, row.set_at = str(layer.tz), actor, now
        session.add(row)
        return (f"set the layer *{layer.name}* of `{rotation.name}`: {layer.describe()}"
                + ("" if row.roster else f" (give it people: `/incident rotation layer roster {rotation.name} "
                                         f"{layer.name} @a @b`)") + ".")

    def _roster(self, session: Session, rotation: Rotation, rows: list[RotationLayer], name: str,
                people: list[str], actor: str, now) -> str:
        row = self._named(rotation, rows, name)
        row.roster, row.set_by, row.set_at = ",".join(people), actor, now
        session.add(row)
        return (f"set the roster of the layer *{name}* of `{rotation.name}`: "
                + ", ".join(f"<@{u}>" for u in people) + ".")

    def _remove(self, session: Session, rotation: Rotation, rows: list[RotationLayer], name: str) -> str:
        session.delete(self._named(rotation, rows, name))
        return f"removed the layer *{name}* of `{rotation.name}`: its hours go back to the roster."

    @staticmethod
    def _named(rotation: Rotation, rows: list[RotationLayer], name: str) -> RotationLayer:
        row = next((r for r in rows if r.name == name), None)
        if row is None:
            raise UserError(f"`{rotation.name}` has no layer `{echo(name)}`; `/incident rotation layer "
                            f"{rotation.name}` lists them.")
        return row

