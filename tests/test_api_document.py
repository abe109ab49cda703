"""The OpenAPI 3.1 document of `/api/v1` (SPEC § HTTP API): served at /api/v1/openapi.json, valid
(openapi-spec-validator), written from the route table the server registers — so every route the server answers
under /api/v1 is in it with its method, and nothing in it is unserved — and schemathesis, generating requests from
it against the running server, finds no 5xx and no answer that differs from the document.

`API_FUZZ_EXAMPLES` sets the examples per operation (a few in `make test`; more for a deeper run)."""

from __future__ import annotations

import asyncio
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import positive_data_acceptance

from bot.http.api_routes import ROUTES
from bot.http.api_spec import PREFIX, build_openapi
from tests.api_client import ADMIN, call, new_token
from tests.test_paging import with_rotation

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
schema = schemathesis.openapi.from_dict(build_openapi(ROUTES))


async def test_the_document_is_served_valid_and_names_every_route(make_bot):
    bot = await make_bot(admins=ADMIN)
    status, headers, document = await call(bot, "GET", "/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert document == build_openapi(ROUTES, bot.runtime.settings.public_url)
    validate(document)
    assert document["openapi"] == "3.1.0"
    served = {(route.method, route.resource.canonical) for route in bot.runtime.web.router.routes()
              if route.resource is not None and route.resource.canonical.startswith(PREFIX + "/")
              and route.method != "HEAD" and not route.resource.canonical.endswith("/openapi.json")}
    described = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert served == described
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
            assert operation["security"][0]["bearer"][0] in ("read", "write", "admin")


@pytest.fixture
async def fuzzed(make_bot, request):
    """A bot with a rotation, an incident and an admin token, on SQLite (the same rules run on both databases)."""
    if "postgresql" in request.node.name:
        pytest.skip("the fuzz run needs one database")
    bot = await make_bot(admins=ADMIN)
    bot.fake.add_user(ADMIN)
    await with_rotation(bot)
    token = await new_token(bot, "fuzz", "admin")
    status, _, _ = await call(bot, "POST", "/incidents", token, {"title": "Checkout is down", "rotation": "payments"})
    assert status == 201
    return bot, token


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
async def test_the_server_answers_as_the_document_says(case, fuzzed):
    bot, token = fuzzed
    # Names in bodies (a rotation, a type) cannot be guessed by a generator: a 422 for one that is not there is the
    # document's own answer, so "schema-valid data accepted" is not asked; every other check is.
    # A negative case may leave the token out on purpose (the document says it is required): then it is not added.
    # (Fuzzing names the parameter it broke; the coverage phase only describes it: either way it says so in meta.)
    headers = {} if "Authorization" in repr(getattr(case.meta, "phase", "")) else \
        {"Authorization": f"Bearer {token}"}
    await asyncio.to_thread(case.call_and_validate, base_url=bot.url, headers=headers,
                            excluded_checks=[positive_data_acceptance])
