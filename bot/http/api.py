"""`/api/v1` (SPEC § HTTP API and configuration as code): the route table of bot/http/api_spec.py served over
the same services as `/incident`. A bearer token is checked first (401), then its scope (403), then the request
against the route's models (400, 422); every error is an RFC 9457 problem, aiohttp's own 404 and 405 included."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.config import Settings
from bot.db import repo
from bot.domain.api import ApiActor
from bot.domain.errors import Invalid, UserError
from bot.http.alerts import MAX_BODY, json_body
from bot.http.api_models import Problem, ProblemField
from bot.http.api_spec import PREFIX, Route, build_openapi
from bot.services import Services
from bot.slack.text import clean_text

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
REALM = 'Bearer realm="firefighter"'
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,100}$")


class ApiProblem(Exception):
    def __init__(self, status: int, detail: str, errors: list[ProblemField] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}


def problem(status: int, detail: str | None = None, errors: list[ProblemField] | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return web.Response(text=body.model_dump_json(exclude_none=True), status=status, content_type=PROBLEM,
                        headers=headers)


@dataclass
class Call:
    """One request as a handler sees it: who (the token), what (validated), and the parts it may use."""

    request: web.Request
    actor: ApiActor
    services: Services
    db: repo.database.Database
    settings: Settings
    query: Any = None
    params: Any = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer
    fingerprint: str = ""  # of the request (method, path, body): a key sent again with another request is new

    @property
    def viewer(self) -> bool | None:
        """The incident lists' filter (repo `viewer=`): everything for an admin token, public ones otherwise."""
        return False if self.actor.sees_private else None

    @property
    def key(self) -> str | None:
        """The change's request key: the same `Idempotency-Key` from the same token is applied once."""
        given = self.request.headers.get("Idempotency-Key")
        return f"api:{self.actor.tag}:{self.fingerprint}:{given}" if given else None

    async def run(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.db.run(lambda: work(*args, **kwargs))


def moment(text: str, pointer: str) -> datetime:
    """An RFC 3339 instant (the models' pattern checked its shape) within years the clock can count in."""
    try:
        found = datetime.fromisoformat(text)
        if not 1970 <= found.year <= 2200:
            raise ValueError(found.year)
        found.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiProblem(422, "The request is not valid.", [ProblemField(
            pointer=pointer, detail="not a moment in the calendar between 1970 and 2200")]) from None
    return found


def _pointer(where: str, loc: tuple) -> str:
    return "#/" + "/".join(str(part) for part in (() if where == "body" else (where,)) + tuple(loc))


def _validated(model: type[BaseModel] | None, data: Any, where: str) -> Any:
    """A body as JSON strictly (`0` is no boolean, `"5"` no number); a query or path as the strings they are."""
    if model is None:
        return None
    try:
        if where == "body":
            return model.model_validate_json(json.dumps(data), strict=True)
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiProblem(422, f"The request's {where} is not valid.", [
            ProblemField(pointer=_pointer(where, tuple(e["loc"])), detail=e["msg"])
            for e in exc.errors(include_url=False)]) from None


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiProblem(401, "Send `Authorization: Bearer <token>` (`/incident api token create`).",
                         headers={"WWW-Authenticate": REALM})
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "Send the token as `Authorization: Bearer <token>`.",
                         headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'})
    return token.strip()


def _handler(route: Route, services: Services, db: repo.database.Database, settings: Settings):
    async def handle(request: web.Request) -> web.StreamResponse:
        actor = await db.run(services.api_tokens.actor_of, _bearer(request))
        if actor is None:
            raise ApiProblem(401, "This token is unknown or revoked.",
                             headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        if not actor.scope.allows(route.scope):
            raise ApiProblem(403, f"This needs a {route.scope.value} token; `{actor.name}` is {actor.scope.value}.",
                             headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", '
                                                          f'scope="{route.scope.value}"'})
        call = Call(request, actor, services, db, settings)
        given = request.headers.get("Idempotency-Key")
        if route.idempotent_key and given is not None and not IDEMPOTENCY_KEY.match(given):
            raise ApiProblem(422, "The request's headers are not valid.", [ProblemField(
                pointer="#/header/Idempotency-Key", detail="1 to 100 printable ASCII characters, no spaces")])
        call.params = _validated(route.params, {k: clean_text(v) for k, v in request.match_info.items()}, "path")
        call.query = _validated(route.query, {k: clean_text(v) for k, v in request.query.items()}, "query")
        if route.body is not None:
            data = await json_body(request, lambda status, message, _field=None: problem(status, message))
            if isinstance(data, web.Response):
                return data
            # As sent first (a title over its length is too long even if cleaning would shorten it), then as stored
            # (no control characters: PostgreSQL refuses NUL).
            _validated(route.body, json.loads(await request.read()), "body")
            call.body = _validated(route.body, data, "body")
            call.fingerprint = hashlib.sha256(f"{request.method} {request.path}\n".encode() + await request.read()
                                              ).hexdigest()[:16]
        try:
            answer, status = await route.handler(call), route.status
        except Invalid as exc:
            raise ApiProblem(422, str(exc)) from None
        except UserError as exc:  # refused by the state things are in (or not there at all)
            text = str(exc)
            raise ApiProblem(404 if text.startswith("There is no ") else 409, text) from None
        if isinstance(answer, tuple):
            answer, status = answer
        return web.Response(text=answer.model_dump_json(), status=status, content_type="application/json",
                            headers=call.headers)
    return handle


@web.middleware
async def problems(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Under PREFIX every answer that is not a success is a problem document — aiohttp's own too."""
    try:
        return await handler(request)
    except ApiProblem as exc:
        return problem(exc.status, exc.detail, exc.errors, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        detail = "No such route in this API; see /api/v1/openapi.json." if exc.status == 404 else exc.reason
        return problem(exc.status, detail, headers=headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return problem(500, "Something went wrong on our side; nothing you sent is the cause.")


def add_api_routes(app: web.Application, settings: Settings, services: Services, db: repo.database.Database,
                   routes: list[Route]) -> None:
    """A sub-application at PREFIX: its problem middleware runs for its requests only, never on Slack's hot path."""
    document = json.dumps(build_openapi(routes, settings.public_url))

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/json")

    api = web.Application(client_max_size=MAX_BODY, middlewares=[problems])
    api.router.add_get("/openapi.json", openapi)
    for route in routes:
        api.router.add_route(route.method, route.path, _handler(route, services, db, settings))
    app.add_subapp(PREFIX, api)
