"""The admin scope of `/api/v1`: the configuration as code over HTTP (`GET|PUT /config`, the same file and the same
apply as `python -m bot config`) and overrides. A configuration change is the token maker's, and only while they
are still in ADMINS: a token outlives nobody's rights."""

from __future__ import annotations

from datetime import datetime

from bot.config_io import model
from bot.config_io.cli import apply_config, base_handoff
from bot.config_io.export import export
from bot.domain.errors import UserError
from bot.domain.rotation import Role
from bot.http.api import ApiProblem, Call, moment
from bot.http.api_models import ConfigApplied, MaintenanceOut, OverrideOut, ProblemField, TimeOffOut


def _maker(call: Call) -> str:
    if call.actor.maker not in call.settings.admins:
        raise ApiProblem(403, f"`{call.actor.name}` was made by someone no longer in ADMINS; make a new token.")
    return call.actor.maker


def _export(call: Call) -> model.ConfigFile:
    _maker(call)
    with call.db.reading() as session:
        return export(session, base_handoff(call.settings))


async def get_config(call: Call) -> model.ConfigFile:
    return await call.run(_export, call)


def _apply(call: Call) -> ConfigApplied:
    outcome = apply_config(call.body, call.db.engine, call.settings, call.services.rotations.clock.now(),
                           prune=call.query.prune, diff=call.query.dry_run, actor=_maker(call))
    if outcome.problems:
        raise ApiProblem(422, "The configuration is not valid; nothing was changed.",
                         [ProblemField(pointer="#", detail=problem) for problem in outcome.problems])
    if outcome.refused or outcome.failed:
        raise ApiProblem(409, f"{outcome.refused or outcome.failed} Nothing was changed.")
    if outcome.applied:
        call.services.outbox.flush_later()  # each changed rotation hears of it in its channel
    return ConfigApplied(changes=outcome.lines, applied=outcome.applied)


async def put_config(call: Call) -> ConfigApplied:
    return await call.run(_apply, call)


def _override(call: Call) -> tuple[OverrideOut, int]:
    rotations, body = call.services.rotations, call.body
    rotation = rotations.named_rotation(call.params.name)
    if rotation is None:
        raise UserError(f"There is no rotation called {call.params.name!r}.")
    start, end = _moments(body.start, body.end)
    row = rotations.add_override(rotation, body.slack_id, start, end, Role(body.role), _maker(call), call.key)
    return OverrideOut(id=row.id, rotation=rotation.name, slack_id=row.user_id, role=body.role, start=row.starts_at,
                       end=row.ends_at), 201


async def add_override(call: Call) -> tuple[OverrideOut, int]:
    return await call.run(_override, call)


def _moments(start: str, end: str) -> tuple[datetime, datetime]:
    first, last = moment(start, "#/start"), moment(end, "#/end")
    if last <= first:
        raise ApiProblem(422, "The request's body is not valid.", [ProblemField(
            pointer="#/end", detail="the end comes after the start")])
    return first, last


def _time_off(call: Call) -> tuple[TimeOffOut, int]:
    body = call.body
    start, end = _moments(body.start, body.end)
    row, _ = call.services.time_off.record(_maker(call), body.slack_id, start, end, body.reason, call.key)
    return TimeOffOut(id=row.id, slack_id=row.user_id, start=row.starts_at, end=row.ends_at, reason=row.reason), 201


async def add_time_off(call: Call) -> tuple[TimeOffOut, int]:
    return await call.run(_time_off, call)


def _maintenance(call: Call) -> tuple[MaintenanceOut, int]:
    body = call.body
    if (body.rotation is None) == (body.match is None):
        raise ApiProblem(422, "The request's body is not valid.", [ProblemField(
            pointer="#", detail="name exactly one of `rotation` or `match`")])
    start, end = _moments(body.start, body.end)
    matchers = tuple(sorted((body.match or {}).items()))
    row, _ = call.services.maintenance.open_window(_maker(call), body.rotation and body.rotation.lower(), matchers,
                                                   start, end, body.reason, call.key)
    return MaintenanceOut(id=row.id, rotation=body.rotation and body.rotation.lower(), match=body.match,
                          start=row.starts_at, end=row.ends_at, reason=row.reason), 201


async def add_maintenance(call: Call) -> tuple[MaintenanceOut, int]:
    return await call.run(_maintenance, call)
