"""`/api/v1/incidents`: read them (read scope) and work them (write scope) through the services `/incident` uses,
as the token: its changes are named on the timeline as `API token <name>`, and a private incident exists only for
an admin token."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident, Person
from bot.domain.api import decode_cursor, encode_cursor
from bot.domain.errors import UserError
from bot.domain.incident import OPEN_STATUSES, Declaration, Impact, Priority, Status, clean_title, incident_ref
from bot.domain.incident_types import BUILT_IN
from bot.http.api import ApiProblem, Call
from bot.http.api_models import IncidentDetail, IncidentOut, IncidentPage, PersonRef, ProblemField, TimelineEntry
from bot.http.web_text import mentioned, slack_to_text
from bot.services.outcomes import Resolution
from bot.slack.text import escape


def person_ref(user_id: str | None, people: dict[str, Person]) -> PersonRef | None:
    if not user_id:
        return None
    known = people.get(user_id)
    return PersonRef(slack_id=user_id, name=known.name if known else None)


def _people(session: Session, user_ids: Collection[str | None]) -> dict[str, Person]:
    return repo.people.people(session=session, user_ids=sorted({u for u in user_ids if u}))


def incidents_out(session: Session, incidents: Sequence[Incident]) -> list[IncidentOut]:
    names = {r.id: r.name for r in repo.rotations.all_rotations(session=session)}
    people = _people(session, [u for i in incidents for u in (i.commander_id, i.reporter_id)]
                     + list(mentioned(i.resolution for i in incidents)))
    return [IncidentOut(
        number=i.number, ref=incident_ref(i.number), title=i.title, description=i.description,
        priority=i.priority.value, status=i.status.value, private=i.private, type=i.type_name,
        rotation=names.get(i.rotation_id), commander=person_ref(i.commander_id, people),
        reporter=person_ref(i.reporter_id, people), source=i.source, declared_at=i.created_at,
        acknowledged_at=i.acknowledged_at, resolved_at=i.resolved_at, last_update_at=i.last_update_at,
        updated_at=i.updated_at, resolution=slack_to_text(i.resolution, people) or None,
        duplicate_of=i.duplicate_of) for i in incidents]


def _listing(call: Call, before: int | None) -> IncidentPage:
    query = call.query
    statuses = None if query.status is None else \
        sorted(s.value for s in OPEN_STATUSES) if query.status == "open" else [query.status]
    with call.db.reading() as session:
        rotation = repo.rotations.rotation_by_name(session=session, name=query.rotation) if query.rotation else None
        if query.rotation and rotation is None:
            return IncidentPage(items=[], next_cursor=None)
        found = repo.incidents.incidents_page(session=session, viewer=call.viewer, statuses=statuses,
                                              priority=query.priority, rotation_id=rotation.id if rotation else None,
                                              before=before, limit=query.limit + 1)
        items = incidents_out(session, found[:query.limit])
    more = len(found) > query.limit
    return IncidentPage(items=items, next_cursor=encode_cursor(items[-1].number) if more else None)


async def list_incidents(call: Call) -> IncidentPage:
    try:
        before = decode_cursor(call.query.cursor, (int,))[0] if call.query.cursor else None
    except UserError as exc:
        raise ApiProblem(400, str(exc)) from None
    return await call.run(_listing, call, before)


def _detail(call: Call, number: int) -> IncidentDetail:
    detail = call.services.reading.detail(number, False if call.actor.sees_private else None)
    with call.db.reading() as session:
        out = incidents_out(session, [detail.incident])[0]
        texts = [e.text for e in detail.events]
        people = _people(session, {*detail.responders, *(e.actor_id for e in detail.events), *mentioned(texts)})
    return IncidentDetail(**out.model_dump(), responders=[person_ref(u, people) for u in detail.responders],
                          timeline=[TimelineEntry(at=e.at, kind=e.kind, actor=person_ref(e.actor_id, people),
                                                  text=slack_to_text(e.text, people)) for e in detail.events])


async def get_incident(call: Call) -> IncidentDetail:
    return await call.run(_detail, call, call.params.number)


def _declare(call: Call) -> tuple[IncidentOut, int]:
    body = call.body
    with call.db.reading() as session:
        rotation = repo.rotations.rotation_by_name(session=session, name=body.rotation) if body.rotation else None
        kind = repo.types.incident_type(session=session, name=body.type) if body.type else None
    wrong = ([ProblemField(pointer="#/rotation", detail=f"There is no rotation called {body.rotation!r}.")]
             if body.rotation and rotation is None else []) + \
        ([ProblemField(pointer="#/type", detail=f"There is no incident type called {body.type!r}.")]
         if body.type and kind is None and body.type != BUILT_IN else [])
    if body.type and not call.actor.sees_private and (body.type == BUILT_IN or (kind is not None and kind.private)):
        wrong.append(ProblemField(pointer="#/type", detail=f"{body.type!r} is a private type: only an admin token "
                                                           "declares a private incident (it could not read it)."))
    title = clean_title(body.title)
    if not title:
        wrong.append(ProblemField(pointer="#/title", detail="Give the incident a title: what is broken, for whom?"))
    if wrong:
        raise ApiProblem(422, "The declaration names something that is not there.", wrong)
    declared = call.services.declaring.declare(Declaration(
        title=title, reporter_id="", priority=Priority(body.priority), description=body.description.strip(),
        impacts=frozenset(Impact(i) for i in body.impacts), rotation_id=rotation.id if rotation else None,
        source_url=body.source_url, declare_key=call.key, source="api", type_name=body.type,
        declared_by=str(call.actor)))
    call.services.declaring.open_in_slack_later(declared.incident)
    if declared.incident.private and not call.actor.sees_private:  # made private since: a stranger's now
        raise UserError(f"There is no {incident_ref(declared.incident.number)}.")
    with call.db.reading() as session:
        out = incidents_out(session, [declared.incident])[0]
    call.headers["Location"] = f"/api/v1/incidents/{out.number}"
    return out, 201 if declared.created else 200


async def declare(call: Call) -> tuple[IncidentOut, int]:
    return await call.run(_declare, call)


def _changed(call: Call, change, *args) -> IncidentOut:
    """A Working change as the token (`change(number, None, *args, request_key, external=token)`), and the
    incident as the change left it (it comes back with the change: no second read of it)."""
    changed = change(call.params.number, None, *args, call.key, external=call.actor)
    with call.db.reading() as session:
        return incidents_out(session, [changed.incident])[0]


async def acknowledge(call: Call) -> IncidentOut:
    return await call.run(_changed, call, call.services.working.acknowledge)


async def post_update(call: Call) -> IncidentOut:
    return await call.run(_changed, call, call.services.working.post_update, escape(call.body.text))


async def set_status(call: Call) -> IncidentOut:
    return await call.run(_changed, call, call.services.working.set_status, Status(call.body.status),
                          escape(call.body.note))


async def set_priority(call: Call) -> IncidentOut:
    return await call.run(_changed, call, call.services.working.set_priority, Priority(call.body.priority))


async def resolve(call: Call) -> IncidentOut:
    body = call.body
    return await call.run(_changed, call, call.services.working.resolve, Resolution(
        escape(body.summary), body.needed_rollback, tuple(escape(line) for line in body.follow_ups)))
