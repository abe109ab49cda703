"""The PagerDuty Events API v2 and the Opsgenie Alert API as the bot answers them (SPEC § Moving in): the shapes
their clients send (from their public documentation), their answers, the mappings, dedupe, resolve and
acknowledge through the one alert path; refusals store nothing."""

from __future__ import annotations

import json

from bot.domain.alert_apis import parse_opsgenie, parse_pagerduty
from bot.domain.incident import Priority
from tests.test_alerts import TOKEN, stored
from tests.test_paging import dms_to, pages, with_rotation


async def send(bot, path: str, body, *, auth: str | None = None, method: str = "POST") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    async with bot.slack.session.request(method, f"{bot.url}{path}", data=json.dumps(body) if body is not None
                                         else None, headers=headers) as response:
        return response.status, json.loads(await response.text() or "{}")


def trigger(summary: str, severity: str = "critical", dedup_key: str | None = "db-lag", **extra) -> dict:
    body = {"routing_key": TOKEN, "event_action": "trigger",
            "payload": {"summary": summary, "source": "db-3", "severity": severity,
                        "custom_details": {"team": "db", "lag_seconds": 42}}, **extra}
    return {**body, "dedup_key": dedup_key} if dedup_key else body


def test_the_mappings():
    assert parse_pagerduty(trigger("x", "critical"))[1].priority is Priority.P0
    assert parse_pagerduty(trigger("x", "error"))[1].priority is Priority.P1
    assert parse_pagerduty(trigger("x", "info"))[1].priority is Priority.P2
    assert parse_pagerduty(trigger("x"))[1].labels == {"team": "db", "lag_seconds": "42", "source": "db-3"}
    assert [parse_opsgenie({"message": "m", "priority": p}).priority for p in ("P1", "P2", "P3", "P5")] == [
        Priority.P0, Priority.P1, Priority.P2, Priority.P2]
    assert parse_opsgenie({"message": "m", "tags": ["env:prod", "critical"]}).labels == {"env": "prod",
                                                                                       "critical": "true"}


async def test_pagerduty_trigger_dedupe_acknowledge_and_resolve(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    status, answer = await send(bot, "/v2/enqueue", trigger("Replica lag over 30 s"))
    assert (status, answer) == (202, {"status": "success", "message": "Event processed", "dedup_key": "db-lag"})
    status, _ = await send(bot, "/v2/enqueue", trigger("Replica lag over 30 s"))  # the same dedup_key again
    await bot.settle()
    [incident] = bot.incidents()
    assert (incident.title, incident.priority, incident.alert_count) == ("Replica lag over 30 s", Priority.P0, 2)
    assert len(dms_to(bot, "U0A")) == 1
    status, _ = await send(bot, "/v2/enqueue", {"routing_key": TOKEN, "event_action": "acknowledge",
                                                "dedup_key": "db-lag"})
    await bot.settle()
    assert status == 202 and {p.state for p in pages(bot)} == {"done"}
    events = [e.text for e in bot.events(incident)]
    assert "acknowledged at its source (the PagerDuty Events API)" in events, events
    await bot.tick(minutes=10)
    assert len(pages(bot)) == 1  # acknowledged: nothing escalates
    status, _ = await send(bot, "/v2/enqueue", {"routing_key": TOKEN, "event_action": "resolve", "dedup_key": "db-lag"})
    await bot.settle()
    assert status == 202 and bot.incidents()[0].status.value == "resolved"
    status, answer = await send(bot, "/v2/enqueue", trigger("Disk full", dedup_key=None))
    assert status == 202 and len(answer["dedup_key"]) == 32  # made up, and returned for the resolve


async def test_pagerduty_refusals_store_nothing(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    before = stored(bot)
    for body, says in [({**trigger("x"), "routing_key": "wrong"}, "routing_key: unknown routing_key"),
                       ({**trigger("x"), "event_action": "snooze"}, "event_action: must be trigger"),
                       ({"routing_key": TOKEN, "event_action": "resolve"}, "dedup_key: is required"),
                       ({**trigger("x"), "payload": {"summary": "x", "source": "y", "severity": "bad"}},
                        "payload.severity: must be critical"), ([1, 2], "body: must be a JSON object")]:
        status, answer = await send(bot, "/v2/enqueue", body)
        assert status == 400 and answer["status"] == "invalid event" and answer["errors"][0].startswith(says), answer
    assert stored(bot) == before


async def test_opsgenie_create_alias_acknowledge_close_and_heartbeat(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    key = f"GenieKey {TOKEN}"
    body = {"message": "Checkout error rate above 5%", "alias": "checkout-5xx", "priority": "P2",
            "description": "5xx on /checkout", "tags": ["env:prod"], "details": {"region": "eu-west"},
            "source": "grafana"}
    status, answer = await send(bot, "/v2/alerts", body, auth=key)
    assert status == 202 and answer["result"] == "Request will be processed" and answer["requestId"], answer
    await send(bot, "/v2/alerts", body, auth=key)
    await bot.settle()
    [incident] = bot.incidents()
    assert (incident.priority, incident.alert_count) == (Priority.P1, 2)
    status, _ = await send(bot, "/v2/alerts/checkout-5xx/acknowledge?identifierType=alias",
                           {"user": "grafana-bot", "source": "grafana"}, auth=key)
    await bot.settle()
    assert status == 202 and {p.state for p in pages(bot)} == {"done"}
    assert "acknowledged at its source (the Opsgenie Alert API, by grafana-bot)" in [e.text for e in
                                                                                     bot.events(incident)]
    status, _ = await send(bot, "/v2/alerts/checkout-5xx/close?identifierType=alias", {"source": "grafana"},
                           auth=key)
    await bot.settle()
    assert status == 202 and bot.incidents()[0].status.value == "resolved"

    status, answer = await send(bot, "/v2/heartbeats/nightly-backup/ping", None, auth=key, method="GET")
    assert status == 404 and "doesn't exist" in answer["message"]
    await bot.slack.command("heartbeat create nightly-backup 1d payments", user="U0A")
    status, answer = await send(bot, "/v2/heartbeats/nightly-backup/ping", None, auth=key, method="GET")
    assert status == 202 and answer["result"] == "PONG - Heartbeat received", answer


async def test_opsgenie_refusals_store_nothing(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    before = stored(bot)
    assert (await send(bot, "/v2/alerts", {"message": "x"}, auth=f"Bearer {TOKEN}"))[0] == 401
    assert (await send(bot, "/v2/alerts", {"message": "x"}, auth="GenieKey wrong"))[0] == 401
    for body, says in [({}, "message: is required"), ({"message": "x" * 131}, "message: must be at most 130"),
                       ({"message": "x", "priority": "P9"}, "priority: must be P1")]:
        status, answer = await send(bot, "/v2/alerts", body, auth=f"GenieKey {TOKEN}")
        assert status == 422 and answer["message"].startswith(says), answer
    status, _ = await send(bot, "/v2/alerts/x/close?identifierType=bogus", {}, auth=f"GenieKey {TOKEN}")
    assert status == 422
    assert stored(bot) == before
    bare = await make_bot()
    assert (await send(bare, "/v2/alerts", {"message": "x"}, auth=f"GenieKey {TOKEN}"))[0] == 404
    assert (await send(bare, "/v2/enqueue", trigger("x")))[0] == 404


async def test_a_rotations_own_routing_key_sends_its_alerts_to_it(make_bot):
    import re

    from tests.test_alert_routes import two_rotations
    from tests.test_rotations import say
    bot = await make_bot(alerts_token=TOKEN, admins="U0ADMIN")
    await two_rotations(bot)
    refused = (await say(bot, "rotation key db", user="U0STRANGER"))["text"]
    assert refused.startswith("Only the members of `db`"), refused
    answer = (await say(bot, "rotation key db", user="U0A"))["text"]
    first = re.search(r"is `([0-9a-f]{32})`", answer).group(1)
    status, _ = await send(bot, "/v2/enqueue", {**trigger("Replica lag"), "routing_key": first})
    await bot.settle()
    rotations = {r.id: r.name for r in bot.runtime.services.rotations.all()}
    assert status == 202 and [rotations[i.rotation_id] for i in bot.incidents()] == ["db"]
    again = re.search(r"is `([0-9a-f]{32})`", (await say(bot, "rotation key db", user="U0A"))["text"]).group(1)
    assert again != first
    status, answer = await send(bot, "/v2/enqueue", {**trigger("Other", dedup_key="other"), "routing_key": first})
    assert status == 400 and answer["errors"] == ["routing_key: unknown routing_key"]  # the old key is gone
    assert (await send(bot, "/v2/enqueue", {**trigger("Other", dedup_key="other"), "routing_key": again}))[0] == 202


async def test_long_keys_odd_identifiers_and_a_resolve_with_a_partial_payload(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    long_key = "k" * 255
    status, answer = await send(bot, "/v2/enqueue", trigger("Long key", dedup_key=long_key))
    assert (status, answer["dedup_key"]) == (202, long_key)  # answered as sent, kept by its hash
    status, _ = await send(bot, "/v2/enqueue", {"routing_key": TOKEN, "event_action": "resolve",
                                                "dedup_key": long_key, "payload": {}})
    await bot.settle()
    assert status == 202 and [i.status.value for i in bot.incidents()] == ["resolved"]
    key = f"GenieKey {TOKEN}"
    status, _ = await send(bot, "/v2/alerts", {"message": "Long alias", "alias": "a" * 512}, auth=key)
    assert status == 202
    status, _ = await send(bot, f"/v2/alerts/{'a' * 512}/close?identifierType=alias", {}, auth=key)
    await bot.settle()
    assert status == 202 and [i.status.value for i in bot.incidents()] == ["resolved", "resolved"]
    assert (await send(bot, "/v2/alerts/ab%00cd/close?identifierType=alias", {}, auth=key))[0] == 422


async def test_a_rotation_key_reaches_only_its_own_alerts_and_wins_over_routes(make_bot):
    import re

    from tests.test_alert_routes import two_rotations
    from tests.test_rotations import say
    bot = await make_bot(alerts_token=TOKEN)
    await two_rotations(bot)
    await say(bot, "route add team=db payments", user="U0A")
    db_key = re.search(r"is `([0-9a-f]{32})`", (await say(bot, "rotation key db", user="U0A"))["text"]).group(1)
    await send(bot, "/v2/enqueue", trigger("Payments DB slow", dedup_key="pay-db"))  # ALERTS_TOKEN: routed
    await send(bot, "/v2/enqueue", {**trigger("Replica lag", dedup_key="lag"), "routing_key": db_key})
    await bot.settle()
    rotations = {r.id: r.name for r in bot.runtime.services.rotations.all()}
    got = {i.title: rotations[i.rotation_id] for i in bot.incidents()}
    assert got == {"Payments DB slow": "payments", "Replica lag": "db"}, got  # the key wins over team=db
    await send(bot, "/v2/enqueue", {"routing_key": db_key, "event_action": "resolve", "dedup_key": "pay-db"})
    await bot.settle()
    assert {i.title: i.status.value for i in bot.incidents()}["Payments DB slow"] != "resolved"
    await send(bot, "/v2/enqueue", {"routing_key": db_key, "event_action": "resolve", "dedup_key": "lag"})
    await bot.settle()
    assert {i.title: i.status.value for i in bot.incidents()}["Replica lag"] == "resolved"
