"""The admin scope of `/api/v1`: the configuration as code over HTTP (the same file and apply as `python -m bot
config`) and overrides, as the ADMIN who made the token and only while they are in ADMINS. On both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.config_io.cli import export_text
from bot.config_io.model import ConfigFile, parse
from bot.db.edge_models import MaintenanceWindow
from bot.db.models import RotationOverride
from bot.db.schedule_models import TimeOff
from tests.api_client import ADMIN, call, new_token
from tests.test_api import is_problem
from tests.test_paging import with_rotation


async def admin_bot(make_bot):
    bot = await make_bot(admins=ADMIN)
    bot.fake.add_user(ADMIN)
    await with_rotation(bot)
    return bot


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_the_configuration_over_http_is_the_files(make_bot):
    bot = await admin_bot(make_bot)
    admin, writer = await new_token(bot, "terraform", "admin"), await new_token(bot, "ci", "write")
    is_problem(*await call(bot, "GET", "/config", writer), 403)
    status, _, body = await call(bot, "GET", "/config", admin)
    assert status == 200
    exported = ConfigFile.model_validate(body)
    assert exported == parse(export_text(bot.runtime.engine, bot.runtime.settings))
    assert [r.name for r in exported.rotations] == ["payments"]
    changed = body | {"rotations": [body["rotations"][0] | {"handoff": body["rotations"][0]["handoff"] | {
        "time": "11:00"}}], "types": [{"name": "database", "private": False, "rotation": "payments",
                                       "priority": "P1"}]}
    status, _, plan = await call(bot, "PUT", "/config?dry_run=true", admin, changed)
    assert status == 200 and plan["applied"] is False and len(plan["changes"]) == 2, plan
    assert ConfigFile.model_validate((await call(bot, "GET", "/config", admin))[2]) == exported  # nothing changed
    status, _, done = await call(bot, "PUT", "/config", admin, changed)
    assert status == 200 and done == {"changes": plan["changes"], "applied": True}
    assert (await call(bot, "PUT", "/config", admin, changed))[2] == {"changes": [], "applied": False}
    now = ConfigFile.model_validate((await call(bot, "GET", "/config", admin))[2])
    assert now.rotations[0].handoff.time == "11:00" and [t.name for t in now.types] == ["database"]
    status, headers, problem = await call(bot, "PUT", "/config", admin, body | {"rotations": [
        body["rotations"][0] | {"roster": [{"email": "nobody@example.com"}]}]})
    is_problem(status, headers, problem, 422)
    assert "nobody@example.com" in problem["errors"][0]["detail"]
    status, _, _ = await call(bot, "PUT", "/config?prune=true", admin, {"version": 1})
    assert status == 200
    assert (await call(bot, "GET", "/config", admin))[2]["rotations"] == []


async def test_an_override_through_the_api_changes_who_is_on_call(make_bot):
    bot = await admin_bot(make_bot)
    admin = await new_token(bot, "ops", "admin")
    start, end = bot.clock.now() + timedelta(hours=1), bot.clock.now() + timedelta(hours=5)
    body = {"slack_id": "U0C", "role": "primary", "start": iso(start), "end": iso(end)}
    status, _, made = await call(bot, "POST", "/rotations/payments/overrides", admin, body)
    assert status == 201 and made["slack_id"] == "U0C" and made["rotation"] == "payments", made
    shift = (await call(bot, "GET", f"/oncall?rotation=payments&at={iso(start + timedelta(hours=1))}",
                        admin))[2]["rotations"][0]["shift"]
    assert shift["primary"]["slack_id"] == "U0C" and shift["overridden"] == ["primary"]
    is_problem(*await call(bot, "POST", "/rotations/payments/overrides", admin, body | {"slack_id": "U0B"}), 409)
    is_problem(*await call(bot, "POST", "/rotations/nobody/overrides", admin, body), 404)
    is_problem(*await call(bot, "POST", "/rotations/payments/overrides", admin, body | {"end": iso(start)}), 422)
    with bot.session() as session:
        assert [o.created_by for o in session.exec(select(RotationOverride))] == [ADMIN]


async def test_a_token_does_not_outlive_its_makers_rights(make_bot, database_url):
    bot = await admin_bot(make_bot)
    admin = await new_token(bot, "ops", "admin")
    later = await make_bot(admins="U0SOMEONEELSE")  # ADMIN left ADMINS; the same database
    later.clock.set(bot.clock.now())
    status, headers, problem = await call(later, "PUT", "/config", admin, {"version": 1})
    is_problem(status, headers, problem, 403)
    assert "no longer in ADMINS" in problem["detail"]
    is_problem(*await call(later, "GET", "/config", admin), 403)
    assert (await call(later, "GET", "/oncall", admin))[0] == 200  # reading asks nobody's rights
    await later.slack.command("type add breach private", user="U0SOMEONEELSE")
    fresh = await new_token(later, "new-ops", "admin", user="U0SOMEONEELSE")
    number = (await call(later, "POST", "/incidents", fresh, {"title": "Keys leaked", "type": "breach"}))[2]["number"]
    is_problem(*await call(later, "GET", f"/incidents/{number}", admin), 404)  # no private incident any more
    assert (await call(later, "GET", "/incidents", admin))[2]["items"] == []


async def test_time_off_and_maintenance_through_the_api(make_bot):
    bot = await admin_bot(make_bot)
    admin = await new_token(bot, "ops", "admin")
    start, end = bot.clock.now() + timedelta(hours=1), bot.clock.now() + timedelta(days=2)
    status, _, away = await call(bot, "POST", "/time-off", admin, {"slack_id": "U0A", "start": iso(start),
                                                                   "end": iso(end), "reason": "dentist"})
    assert status == 201 and away["slack_id"] == "U0A" and away["reason"] == "dentist", away
    shift = (await call(bot, "GET", f"/oncall?rotation=payments&at={iso(start + timedelta(hours=2))}",
                        admin))[2]["rotations"][0]["shift"]
    assert shift["primary"]["slack_id"] != "U0A"  # away: the next person stands in
    status, _, window = await call(bot, "POST", "/maintenance", admin, {"match": {"env": "staging"},
                                                                        "start": iso(start), "end": iso(end)})
    assert status == 201 and window["match"] == {"env": "staging"} and window["rotation"] is None, window
    status, _, window = await call(bot, "POST", "/maintenance", admin, {"rotation": "payments",
                                                                        "start": iso(start), "end": iso(end)})
    assert status == 201 and window["rotation"] == "payments"
    with bot.session() as session:
        assert [(w.matchers, w.created_by) for w in session.exec(select(MaintenanceWindow))] == \
            [("env=staging", ADMIN), ("", ADMIN)]
        assert [t.created_by for t in session.exec(select(TimeOff))] == [ADMIN]
    is_problem(*await call(bot, "POST", "/maintenance", admin, {"rotation": "payments", "match": {"a": "b"},
                                                                 "start": iso(start), "end": iso(end)}), 422)
    is_problem(*await call(bot, "POST", "/maintenance", admin, {"rotation": "nobody", "start": iso(start),
                                                                 "end": iso(end)}), 404)
    is_problem(*await call(bot, "POST", "/time-off", admin, {"slack_id": "U0A", "start": iso(start),
                                                              "end": iso(start)}), 422)
