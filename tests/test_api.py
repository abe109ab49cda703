"""`/api/v1` driven over HTTP as a client would (SPEC § HTTP API and configuration as code): tokens made and
revoked by ADMINS with `/incident api token`, scopes, RFC 9457 problems for every error, incidents declared and
worked through the same services (paged, named on the timeline as the token), private incidents only for admin
tokens, cursor pages, who is on call. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.db.edge_models import ApiToken
from bot.db.models import Incident, Page
from bot.domain.api import encode_cursor
from tests.api_client import ADMIN, call, new_token
from tests.test_paging import with_rotation

PROBLEM = "application/problem+json"


@pytest.fixture
async def api_bot(make_bot):
    bot = await make_bot(admins=ADMIN)
    bot.fake.add_user(ADMIN)
    await with_rotation(bot)
    return bot


def is_problem(status: int, headers: dict, body, expected: int) -> None:
    assert status == expected, (status, body)
    assert headers["Content-Type"].startswith(PROBLEM), headers
    assert body["status"] == expected and body["title"] and body["type"] == "about:blank", body


async def test_tokens_are_made_by_admins_shown_once_kept_hashed_and_revoked(api_bot):
    bot = api_bot
    status, body, _ = await bot.slack.command("api token create ci write", user="U0A")
    assert "Only ADMINS" in body
    token = await new_token(bot, "ci", "write")
    with bot.session() as session:
        rows = session.exec(select(ApiToken)).all()
    assert [(r.name, r.scope, r.created_by) for r in rows] == [("ci", "write", ADMIN)]
    assert rows[0].key_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(rows[0])
    _, body, _ = await bot.slack.command("api token create ci read", user=ADMIN)
    assert "already" in body
    _, body, _ = await bot.slack.command("api token create ci superuser", user=ADMIN)
    assert "not a scope" in body
    _, listing, _ = await bot.slack.command("api token list", user=ADMIN)
    assert "`ci` write" in listing and "never used" in listing and token not in listing
    assert (await call(bot, "GET", "/incidents", token))[0] == 200
    _, listing, _ = await bot.slack.command("api token list", user=ADMIN)
    assert "last used" in listing
    _, body, _ = await bot.slack.command("api token revoke ci", user=ADMIN)
    assert body.startswith("Revoked `ci`")
    status, headers, problem = await call(bot, "GET", "/incidents", token)
    is_problem(status, headers, problem, 401)
    assert 'error="invalid_token"' in headers["WWW-Authenticate"]


async def test_with_admins_empty_nobody_makes_tokens(make_bot):
    bot = await make_bot()
    _, body, _ = await bot.slack.command("api token create ci admin", user="U0REPORTER")
    assert "Set ADMINS first" in body
    with bot.session() as session:
        assert session.exec(select(ApiToken)).all() == []


async def test_every_error_is_a_problem_document(api_bot):
    bot = api_bot
    reader = await new_token(bot, "dashboard", "read")
    status, headers, body = await call(bot, "GET", "/incidents")
    is_problem(status, headers, body, 401)
    assert headers["WWW-Authenticate"] == 'Bearer realm="firefighter"'
    is_problem(*await call(bot, "GET", "/incidents", headers={"Authorization": "Basic abc"}), 401)
    is_problem(*await call(bot, "GET", "/incidents", "ff_not-a-token"), 401)
    status, headers, body = await call(bot, "POST", "/incidents", reader, {"title": "x"})
    is_problem(status, headers, body, 403)
    assert 'error="insufficient_scope", scope="write"' in headers["WWW-Authenticate"]
    is_problem(*await call(bot, "GET", "/nothing-here", reader), 404)
    status, headers, body = await call(bot, "DELETE", "/incidents", reader)
    is_problem(status, headers, body, 405)
    assert "GET" in headers["Allow"]
    is_problem(*await call(bot, "GET", "/incidents/99", reader), 404)
    is_problem(*await call(bot, "GET", "/incidents/nine", reader), 422)
    status, headers, body = await call(bot, "GET", "/incidents?limit=500&colour=red", reader)
    is_problem(status, headers, body, 422)
    assert {e["pointer"] for e in body["errors"]} == {"#/query/limit", "#/query/colour"}
    is_problem(*await call(bot, "GET", "/incidents?cursor=bm90LWEta2V5", reader), 400)
    is_problem(*await call(bot, "GET", f"/incidents?cursor={encode_cursor(10**30)}", reader), 400)
    is_problem(*await call(bot, "GET", "/oncall?at=9999-12-31T23:59:00Z", reader), 422)
    is_problem(*await call(bot, "GET", "/oncall?at=0001-01-01T00:00:00%2B14:00", reader), 422)
    is_problem(*await call(bot, "GET", "/rotations/a%00b", reader), 404)
    raw = {"Authorization": b"Bearer ff_\xff\xfe".decode("latin-1")}
    is_problem(*await call(bot, "GET", "/incidents", headers=raw), 401)


async def test_a_write_token_declares_and_works_an_incident_as_itself(api_bot):
    bot = api_bot
    token = await new_token(bot, "ci", "write")
    key = {"Idempotency-Key": "deploy-4711"}
    declaration = {"title": "Deploy <!here> broke checkout", "priority": "P1", "rotation": "payments",
                   "description": "from the pipeline"}
    status, headers, body = await call(bot, "POST", "/incidents", token, declaration, key)
    assert status == 201, body
    number = body["number"]
    assert headers["Location"] == f"/api/v1/incidents/{number}"
    assert body["rotation"] == "payments" and body["status"] == "new" and body["source"] == "api"
    again = await call(bot, "POST", "/incidents", token, declaration, key)
    assert again[0] == 200 and again[2]["number"] == number  # a retried request: the same incident
    other = await call(bot, "POST", "/incidents", token, declaration | {"title": "Search is slow"}, key)
    assert other[0] == 201 and other[2]["number"] == number + 1  # the key again with another request: a new one
    await bot.settle()
    with bot.session() as session:
        assert len(session.exec(select(Incident)).all()) == 2
        assert session.exec(select(Page)).first().target_user_id == "U0A"  # paged as from Slack
    assert (await call(bot, "POST", "/incidents", token, {"title": "Keys leaked", "type": "security"}))[0] == 422
    status, _, body = await call(bot, "POST", f"/incidents/{number}/acknowledge", token, {})
    assert status == 200 and body["acknowledged_at"] and body["commander"] is None, body
    with bot.session() as session:
        first = session.exec(select(Incident).where(Incident.number == number)).one()
        assert {p.state for p in session.exec(select(Page).where(Page.incident_id == first.id))} == {"done"}
    status, _, body = await call(bot, "POST", f"/incidents/{number}/updates", token, {"text": "rolled back <@U0B>"},
                                 {"Idempotency-Key": "u1"})
    assert status == 200
    assert (await call(bot, "POST", f"/incidents/{number}/updates", token, {"text": "rolled back <@U0B>"},
                       {"Idempotency-Key": "u1"}))[0] == 200
    assert (await call(bot, "POST", f"/incidents/{number}/status", token, {"status": "in_progress"}))[0] == 200
    status, _, body = await call(bot, "POST", f"/incidents/{number}/priority", token, {"priority": "P0"})
    assert status == 200 and body["priority"] == "P0"
    status, _, body = await call(bot, "POST", f"/incidents/{number}/resolve", token,
                                 {"summary": "Rolled back the deploy", "follow_ups": ["add a canary"]})
    assert status == 200 and body["status"] == "resolved" and body["resolution"] == "Rolled back the deploy"
    status, headers, body = await call(bot, "POST", f"/incidents/{number}/resolve", token, {"summary": "again"})
    is_problem(status, headers, body, 409)
    await bot.settle()
    status, _, detail = await call(bot, "GET", f"/incidents/{number}", token)
    assert status == 200
    timeline = [(e["kind"], e["text"]) for e in detail["timeline"]]
    assert ("declared", "P1: Deploy <!here> broke checkout (API token ci)") in timeline
    assert [k for k, _ in timeline].count("update") == 1  # the retried update applied once
    for kind in ("acknowledged", "update", "status", "priority", "resolved"):
        assert any(k == kind and t.endswith("(API token ci)") for k, t in timeline), (kind, timeline)
    said = " ".join(c["text"] for c in bot.fake.calls_to("chat.postMessage"))
    assert "*API token ci*" in said  # named as itself
    ours = [c["text"] for c in bot.fake.calls_to("chat.postMessage") if "rolled back" in c["text"] or
            "Deploy" in c["text"]]
    assert ours and not any("<!here>" in text or "<@U0B>" in text for text in ours)  # outside text never pings
    assert "rolled back &lt;@U0B&gt;" in said
    assert ("update", "rolled back <@U0B> (API token ci)") in timeline  # shown as written


async def test_a_private_incident_exists_only_for_admin_tokens(api_bot):
    bot = api_bot
    writer, reader = await new_token(bot, "ci", "write"), await new_token(bot, "dash", "read")
    admin = await new_token(bot, "ops", "admin")
    await bot.slack.command("type add breach private", user=ADMIN)
    status, _, body = await call(bot, "POST", "/incidents", admin, {"title": "Keys leaked", "type": "breach"})
    assert status == 201 and body["private"] is True
    number = body["number"]
    public = (await call(bot, "POST", "/incidents", writer, {"title": "Slow search"}))[2]["number"]
    for token in (reader, writer):
        listed = (await call(bot, "GET", "/incidents", token))[2]
        assert [i["number"] for i in listed["items"]] == [public]
        status, headers, body = await call(bot, "GET", f"/incidents/{number}", token)
        is_problem(status, headers, body, 404)
        assert body["detail"] == f"There is no INC-{number}."  # what a number never used gets
    status, headers, body = await call(bot, "POST", f"/incidents/{number}/updates", writer, {"text": "peek"})
    is_problem(status, headers, body, 404)
    assert [i["number"] for i in (await call(bot, "GET", "/incidents", admin))[2]["items"]] == [public, number]
    assert (await call(bot, "POST", f"/incidents/{number}/updates", admin, {"text": "rotating keys"}))[0] == 200


async def test_lists_come_a_page_at_a_time_with_cursors_and_filters(api_bot):
    bot = api_bot
    token = await new_token(bot, "ci", "write")
    for n in range(7):
        await call(bot, "POST", "/incidents", token, {"title": f"Incident {n}", "priority": "P2" if n % 2 else "P1"})
    seen, cursor, pages = [], None, 0
    while True:
        status, _, body = await call(bot, "GET", "/incidents?limit=3" + (f"&cursor={cursor}" if cursor else ""), token)
        assert status == 200
        seen += [i["number"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 7 and pages == 3
    p2 = (await call(bot, "GET", "/incidents?priority=P2&status=open", token))[2]["items"]
    assert len(p2) == 3 and {i["priority"] for i in p2} == {"P2"}
    await call(bot, "POST", f"/incidents/{seen[0]}/resolve", token, {"summary": "fixed"})
    assert [i["number"] for i in (await call(bot, "GET", "/incidents?status=resolved", token))[2]["items"]] == \
        [seen[0]]
    assert (await call(bot, "GET", "/incidents?rotation=nobody", token))[2] == {"items": [], "next_cursor": None}


async def test_who_is_on_call_now_and_later_as_the_bot_answers(api_bot):
    bot = api_bot
    token = await new_token(bot, "dash", "read")
    status, _, body = await call(bot, "GET", "/oncall", token)
    assert status == 200
    (now,) = body["rotations"]
    assert now["rotation"] == "payments" and now["shift"]["primary"]["slack_id"] == "U0A"
    later = (bot.clock.now() + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    body = (await call(bot, "GET", f"/oncall?rotation=payments&at={later}", token))[2]
    rotations = bot.runtime.services.rotations
    with bot.session() as session:
        rotation = rotations.named_rotation("payments")
        expected = rotations.on_call(session, rotation, bot.clock.now() + timedelta(days=7))
    shift = body["rotations"][0]["shift"]
    assert (shift["primary"]["slack_id"], shift["secondary"]["slack_id"]) == (expected.primary, expected.secondary)
    assert expected.primary != "U0A"  # a handoff in between: the answer moved
    is_problem(*await call(bot, "GET", "/oncall?rotation=nobody", token), 404)
    is_problem(*await call(bot, "GET", "/oncall?at=2026-12-01T10:00:00", token), 422)
    detail = (await call(bot, "GET", "/rotations/payments", token))[2]
    assert [p["slack_id"] for p in detail["roster"]] == ["U0A", "U0B", "U0C"]
    assert len(detail["shifts"]) == 9 and detail["shifts"][0]["primary"]["slack_id"] == "U0A"
    assert [p["priority"] for p in detail["policies"]] == ["P0", "P1"] and detail["policies"][0]["default"]
    listed = (await call(bot, "GET", "/rotations", token))[2]["items"]
    assert [r["name"] for r in listed] == ["payments"]


async def test_a_retried_write_sent_at_once_is_applied_once(api_bot):
    """A client that times out and retries (or two CI jobs with one key) sends the same request side by side: the
    unique keys settle it, not a look-up first."""
    bot = api_bot
    token = await new_token(bot, "ci", "write")
    key = {"Idempotency-Key": "pipeline-981"}
    answers = await asyncio.gather(*(call(bot, "POST", "/incidents", token, {"title": "Checkout is down"}, key)
                                     for _ in range(6)))
    assert sorted(status for status, _, _ in answers)[0] in (200, 201)
    assert {status for status, _, _ in answers} <= {200, 201} and [s for s, _, _ in answers].count(201) == 1
    assert len({body["number"] for _, _, body in answers}) == 1 and len(bot.incidents()) == 1
    number = answers[0][2]["number"]
    updates = await asyncio.gather(*(call(bot, "POST", f"/incidents/{number}/updates", token, {"text": "rolled back"},
                                          {"Idempotency-Key": "update-1"}) for _ in range(6)))
    assert {status for status, _, _ in updates} == {200}
    assert [e.kind for e in bot.events(bot.incidents()[0])].count("update") == 1
    blank = await call(bot, "POST", f"/incidents/{number}/updates", token, {"text": "   "})
    is_problem(*blank, 422)  # a rule of the request, not the incident's state
    second = (await call(bot, "POST", "/incidents", token, {"title": "Search is slow"}))[2]["number"]
    status, _, body = await call(bot, "POST", f"/incidents/{second}/acknowledge", token, {},
                                 {"Idempotency-Key": "update-1"})  # a key used before, for another request
    assert status == 200 and body["acknowledged_at"]
    await bot.slack.command("api token revoke ci", user=ADMIN)
    again = await new_token(bot, "ci", "write")  # the same name, another token: its retries are its own
    status, _, body = await call(bot, "POST", "/incidents", again, {"title": "Checkout is down"}, key)
    assert status == 201 and body["number"] not in (number, second)
