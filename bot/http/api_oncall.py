"""`/api/v1/oncall` and `/api/v1/rotations` (read scope): who is on call at any moment, each rotation's roster,
layers, escalation policies and next shifts — the answers `/incident oncall` and the rotation pages give."""

from __future__ import annotations

from datetime import datetime

from bot.db import repo
from bot.db.models import Person, Rotation
from bot.domain.rotation import ROLES, OnCall
from bot.http.api import ApiProblem, Call, moment
from bot.http.api_incidents import person_ref
from bot.http.api_models import (
    LayerOut,
    OnCallOut,
    PolicyOut,
    RotationDetail,
    RotationList,
    RotationOnCall,
    RotationOut,
    Shift,
    StepOut,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NEXT_SHIFTS = 8


def shift_out(oncall: OnCall, people: dict[str, Person], start: datetime | None = None,
              end: datetime | None = None) -> Shift:
    return Shift(start=start or oncall.shift_start, end=end or oncall.shift_end,
                 primary=person_ref(oncall.primary, people), secondary=person_ref(oncall.secondary, people),
                 tertiary=person_ref(oncall.tertiary, people), layer=oncall.layer,
                 overridden=[r.value for r in ROLES if r in oncall.overridden])


def _on_call(call: Call) -> OnCallOut:
    at = moment(call.query.at, "#/query/at") if call.query.at else call.services.rotations.clock.now()
    rotations = call.services.rotations
    with call.db.reading() as session:
        chosen = [repo.rotations.rotation_by_name(session=session, name=call.query.rotation)] if call.query.rotation \
            else repo.rotations.all_rotations(session=session)
        if chosen == [None]:
            raise ApiProblem(404, f"There is no rotation called {call.query.rotation!r}.")
        answers = [(r.name, rotations.on_call(session, r, at)) for r in chosen if r is not None]
        people = repo.people.people(session=session, user_ids=sorted({u for _, o in answers for u in o.people}))
    return OnCallOut(at=at, rotations=[RotationOnCall(rotation=name, shift=shift_out(o, people))
                                       for name, o in answers])


async def on_call(call: Call) -> OnCallOut:
    return await call.run(_on_call, call)


def _rotation_out(rotation: Rotation, roster: list[str], people: dict[str, Person]) -> RotationOut:
    return RotationOut(name=rotation.name, channel_id=rotation.channel_id,
                       roster=[person_ref(u, people) for u in roster])


def _rotations(call: Call) -> RotationList:
    with call.db.reading() as session:
        rotations = repo.rotations.all_rotations(session=session)
        rosters = {r.id: [m.user_id for m in repo.rotations.roster(session=session, rotation_id=r.id)]
                   for r in rotations}
        people = repo.people.people(session=session, user_ids=sorted({u for ids in rosters.values() for u in ids}))
    return RotationList(items=[_rotation_out(r, rosters[r.id], people) for r in rotations])


async def list_rotations(call: Call) -> RotationList:
    return await call.run(_rotations, call)


def _rotation(call: Call) -> RotationDetail:
    services = call.services
    rotation = services.rotations.named_rotation(call.params.name)
    if rotation is None:
        raise ApiProblem(404, f"There is no rotation called {call.params.name!r}.")
    plan = services.rotations.plans([rotation], shifts=NEXT_SHIFTS)[0]
    policies = services.policies.shown(rotation)
    with call.db.reading() as session:
        wanted = {*plan.roster, *(u for s in plan.shifts for u in s.people), *(u for la in plan.layers
                                                                               for u in la.roster)}
        people = repo.people.people(session=session, user_ids=sorted(wanted))
    return RotationDetail(
        **_rotation_out(rotation, plan.roster, people).model_dump(),
        layers=[LayerOut(name=la.name, days=[DAYS[d] for d in sorted(la.days)], start=la.start.strftime("%H:%M"),
                         end=la.end.strftime("%H:%M"), timezone=str(la.tz),
                         roster=[person_ref(u, people) for u in la.roster]) for la in plan.layers],
        policies=[PolicyOut(priority=p.priority, default=p.policy.default, repeat=p.policy.repeat,
                            steps=[StepOut(kind=s.kind, target=s.handle or s.ref, wait_seconds=s.seconds)
                                   for s in p.policy.steps]) for p in policies],
        shifts=[shift_out(s, people) for s in plan.shifts])


async def get_rotation(call: Call) -> RotationDetail:
    return await call.run(_rotation, call)
