"""One table of `/api/v1`'s routes, and the OpenAPI 3.1 document written from it: the server registers the same
table (bot/http/api.py), so every route, parameter, body and answer in the document is the one served."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.domain.api import Scope
from bot.http.api_models import Problem

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
_PROBLEMS = {"400": "The request cannot be read (not JSON, a bad cursor).",
             "401": "No token, or one that is unknown or revoked.",
             "403": "The token's scope does not allow this.",
             "404": "Nothing there (a private incident is answered so to a token that may not see it).",
             "409": "The current state refuses this change (see `detail`): nothing was changed.",
             "413": "The body is over 1 MiB.",
             "415": "The body is not sent as `application/json`.",
             "422": "The request breaks a rule; `errors` points at each part."}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under PREFIX, with `{name}` parameters as aiohttp and OpenAPI both write them
    scope: Scope
    operation: str
    summary: str
    handler: Callable[..., Awaitable[Any]]
    answer: type[BaseModel]
    query: type[BaseModel] | None = None
    params: type[BaseModel] | None = None  # the path's parameters
    body: type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses (a declaration made before: 200)
    idempotent_key: bool = False  # takes an `Idempotency-Key` header


def _parameters(model: type[BaseModel], where: str) -> list[dict]:
    schema = model.model_json_schema(mode="validation", ref_template=REF)
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema["properties"].items():
        described = {k: v for k, v in prop.items() if k not in ("title", "description", "anyOf")}
        # A query string has no null: an optional parameter is one left out, so `X | None` is documented as X.
        described |= next((branch for branch in prop.get("anyOf", ()) if branch.get("type") != "null"), {})
        if described.get("default", 0) is None:
            del described["default"]
        found.append({"name": name, "in": where, "required": where == "path" or name in required,
                      "schema": described, **({"description": prop["description"]} if "description" in prop
                                               else {})})
    return found


def _json(schema: dict, kind: str = "application/json") -> dict:
    return {"content": {kind: {"schema": schema}}}


def build_openapi(routes: list[Route], server_url: str | None = None) -> dict:
    pairs = [(r.body, "validation") for r in routes if r.body] + [(r.answer, "serialization") for r in routes]
    refs, defs = models_json_schema([*pairs, (Problem, "serialization")], ref_template=REF)
    problem = _json(refs[(Problem, "serialization")], "application/problem+json")
    paths: dict[str, dict] = {}
    for route in routes:
        ok = {"description": route.summary, **_json(refs[(route.answer, "serialization")])}
        if route.status == 201:
            ok["headers"] = {"Location": {"description": "The incident's URL.", "schema": {"type": "string"}}}
        responses = {str(status): ok for status in (route.status, *route.also)}
        named = route.params or route.query  # (a name that is not there: 404)
        wrong = ["401", "403", "422"] + (["404"] if named else []) + (["400"] if route.query or route.body else []) \
            + (["409"] if route.method != "GET" else []) + (["413", "415"] if route.body else [])
        responses.update({code: {"description": _PROBLEMS[code], **problem} for code in sorted(set(wrong))})
        operation: dict[str, Any] = {"operationId": route.operation, "summary": route.summary,
                                     "security": [{"bearer": [route.scope.value]}], "responses": responses,
                                     "x-scope": route.scope.value}
        parameters = (_parameters(route.params, "path") if route.params else []) + \
            (_parameters(route.query, "query") if route.query else [])
        if route.idempotent_key:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "description": "The same key again within the token applies the request once.",
                               "schema": {"type": "string", "minLength": 1, "maxLength": 100,
                                          "pattern": "^[!-~]+$"}})
        if parameters:
            operation["parameters"] = parameters
        if route.body:
            operation["requestBody"] = {"required": True, **_json(refs[(route.body, "validation")])}
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Firefighter API", "version": "1.0.0",
                 "description": "Incidents and who is on call, over the same rules as `/incident`. Send "
                                "`Authorization: Bearer <token>` (`/incident api token create`). Errors are RFC 9457 "
                                "problem details. Lists are paged with `cursor` and `next_cursor`."},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "A token from `/incident api token create`."}}},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
