"""`type add|list|remove` and what the declare form offers (SPEC § Incident types, private incidents and roles). A
type's privacy, rotation and priority apply to the incidents declared with it (bot/services/declaring.py). ADMINS
change the types (when ADMINS is set): a private type decides who sees an incident."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.schedule_models import IncidentType
from bot.domain.errors import UserError
from bot.domain.incident_types import BUILT_IN, USAGE, parse_type, type_name


class IncidentTypes:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock


    def act(self, actor: str, text: str) -> str:
        verb, _, rest = text.strip().partition(" ")
        verb = verb.lower()
        if verb in ("", "list"):
            return self.listing()
        if verb not in ("add", "remove"):
            raise UserError(USAGE)
        if self.settings.admins and actor not in self.settings.admins:
            raise UserError("Only ADMINS change the incident types (a private type decides who sees an incident). "
                            "Nothing changed.")
        return self._add(actor, rest) if verb == "add" else self._remove(rest)

    def listing(self) -> str:
        with self.db.reading() as session:
            found = repo.types.incident_types(session=session)
            names = {r.id: r.name for r in repo.rotations.all_rotations(session=session)}
        return "*Incident types* (offered in the declare form):\n" + "\n".join(
            [f"• `{BUILT_IN}` — private (built in)"] + [
            f"• `{t.name}`" + (" — private" if t.private else "")
            + (f" — rotation `{names.get(t.rotation_id, '?')}`" if t.rotation_id else "")
            + (f" — {t.priority}" if t.priority else "") for t in found])

    def _add(self, actor: str, text: str) -> str:
        spec = parse_type(text)
        if spec.name == BUILT_IN:
            raise UserError(f"`{BUILT_IN}` is built in (private, on the rotation the form names).")
        with self.db.session() as session:
            rotation = repo.rotations.rotation_by_name(session=session, name=spec.rotation) if spec.rotation \
                else None
            if spec.rotation and rotation is None:
                raise UserError(f"There is no rotation called `{spec.rotation}` (`/incident rotation list`).")
            session.add(IncidentType(name=spec.name, private=spec.private, rotation_id=rotation.id if rotation
                                     else None, priority=spec.priority.value if spec.priority else None,
                                     created_by=actor, created_at=self.clock.now()))
            try:
                session.commit()
            except IntegrityError:
                raise UserError(f"There is a type called `{spec.name}` already; `type remove {spec.name}` "
                                "first to change it.") from None
        what = ", ".join(w for w in ("private" if spec.private else "", f"rotation `{spec.rotation}`"
                                     if spec.rotation else "", spec.priority.value if spec.priority else "") if w)
        return f"Added the incident type `{spec.name}`" + (f" ({what})" if what else "") + \
            ": the declare form offers it."

    def _remove(self, text: str) -> str:
        name = type_name(text)
        if name == BUILT_IN:
            raise UserError(f"`{BUILT_IN}` is built in: it is always offered.")
        with self.db.session() as session:
            if not repo.types.remove_type(session=session, name=name):
                raise UserError(f"There is no type called `{name}` (`/incident type list`).")
            session.commit()
        return f"Removed the incident type `{name}`; incidents declared with it keep it."
