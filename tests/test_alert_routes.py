"""Alert routes (`/incident route add|list|remove|test`): labels send an alert to a rotation and a priority, from
any source; the first match wins; no match keeps the source's own rules; only ADMINS change them; bad input and
replays change nothing (SPEC § Moving in from Opsgenie and PagerDuty)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.db.edge_models import AlertRoute
from bot.domain.errors import UserError
from bot.domain.incident import Priority
from bot.domain.routes import Route, first_match, parse_matchers
from tests.test_alerts import TOKEN, post
from tests.test_paging import with_rotation
from tests.test_rotations import say, sent_twice


def test_matchers_read_sorted_and_the_first_route_that_matches_wins():
    assert parse_matchers("team=db, env=prod") == (("env", "prod"), ("team", "db"))
    for bad in ("", "env", "env=", "=prod", "env=prod,env=dev", "a b=c"):
        with pytest.raises(UserError):
            parse_matchers(bad)
    routes = [Route((("env", "prod"), ("team", "db")), "db", Priority.P0), Route((("env", "prod"),), "payments")]
    assert first_match(routes, {"env": "prod", "team": "db", "x": "y"})[0] == 1
    assert first_match(routes, {"env": "prod", "team": "web"})[0] == 2
    assert first_match(routes, {"env": "dev"}) is None


def stored(bot) -> list[AlertRoute]:
    with bot.session() as s:
        return list(s.exec(select(AlertRoute)))


async def two_rotations(bot) -> None:
    await with_rotation(bot)  # payments, bound to C0PAY
    bot.fake.add_channel("C0DB", "db-oncall", members=("U0A",))
    answer = (await say(bot, "rotation create db <#C0DB|db-oncall>", user="U0A"))["text"]
    assert answer.startswith("Created the rotation `db`"), answer
    await say(bot, "rotation add db <@U0B|b>", user="U0A")


async def test_labels_route_alerts_from_alertmanager_and_generic_to_a_rotation_and_priority(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await two_rotations(bot)
    assert (await say(bot, "route add team=db,env=prod db P0"))["text"] == (
        "Route 1 added: `env=prod,team=db` → `db` as P0.")
    assert (await say(bot, "route add env=prod payments"))["text"].startswith("Route 2 added")
    body = {"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "ReplicaLag", "team": "db", "env": "prod", "severity": "warning"},
         "annotations": {"summary": "replica 3 behind"}, "fingerprint": "lag-3"},
        {"status": "firing", "labels": {"alertname": "Slow", "env": "prod", "severity": "warning"},
         "annotations": {}, "fingerprint": "slow-1"},
        {"status": "firing", "labels": {"alertname": "Odd", "env": "dev", "severity": "critical"},
         "annotations": {}, "fingerprint": "odd-1"}]}
    status, _ = await post(bot, "/alerts/alertmanager", body)
    assert status == 202
    status, _ = await post(bot, "/alerts/generic", {"title": "Backups late", "labels": {"team": "db", "env": "prod"}})
    assert status == 202
    await bot.settle()
    rotations = {r.id: r.name for r in bot.runtime.services.rotations.all()}
    got = {i.title: (rotations[i.rotation_id], i.priority.value) for i in bot.incidents()}
    assert got == {"ReplicaLag: replica 3 behind": ("db", "P0"), "Slow": ("payments", "P1"),
                   "Odd": ("payments", "P0"), "Backups late": ("db", "P0")}, got
    assert (await say(bot, "route test env=prod team=db"))["text"] == (
        "Route 1 matches: `env=prod,team=db` → `db` as P0.")
    assert (await say(bot, "route test env=dev"))["text"].startswith("No route matches")
    listed = (await say(bot, "route list"))["text"]
    assert "1. `env=prod,team=db` → `db` as P0\n2. `env=prod` → `payments`" in listed, listed
    assert (await say(bot, "route remove 1"))["text"].startswith("Route 1 removed")
    assert (await say(bot, "route test env=prod team=db"))["text"].startswith("Route 1 matches: `env=prod` →")


async def test_only_admins_change_routes_and_bad_input_or_a_replay_changes_nothing(make_bot):
    bot = await make_bot(alerts_token=TOKEN, admins="U0ADMIN")
    await two_rotations(bot)
    assert (await say(bot, "route add env=prod db", user="U0A"))["text"].startswith("Only ADMINS change")
    for text, says in [("route add env=prod nosuch", "There is no rotation `nosuch`"),
                       ("route add env= db", "is not `label=value`"), ("route add db", "Use `/incident route add"),
                       ("route remove 3", "There is no route 3"), ("route frobnicate", "Use `/incident route")]:
        assert says in (await say(bot, text, user="U0ADMIN"))["text"], text
    assert stored(bot) == []
    answers = await sent_twice(bot, "route add env=prod db P1", user="U0ADMIN")
    assert answers[0].startswith("Route 1 added") and answers[1].startswith("Already done:"), answers
    assert len(stored(bot)) == 1
