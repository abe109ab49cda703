"""`python -m bot import pagerduty` against a fake PagerDuty (tests/fake_sources.py, in its documented shapes): the
plan lists every object ✓/✗ with its reason and changes nothing; --apply imports what the plan said and a second
run changes nothing; --compare asks PagerDuty's final schedule — here computed by PagerDuty's own rule (lowest layer
wins, restrictions, overrides on top) — and finds every disagreement. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import select

from bot.db.edge_models import ImportedObject
from bot.db.models import Rotation, RotationMember, RotationOverride
from bot.db.schedule_models import EscalationPolicy, RotationLayer
from bot.importers.cli import parser, run_import
from tests.test_replicas import postgres_database  # noqa: F401 (a fixture)

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 3, 9, tzinfo=BERLIN)  # a Tuesday: the layers' virtual start
WEEK = 7 * 86400
PEOPLE = {"P1": "ana", "P2": "bo", "P3": "cy", "P4": "di", "P5": "eve", "P9": "ghost"}


def ref(user: str) -> dict:
    return {"user": {"id": user, "type": "user_reference", "summary": PEOPLE[user]}}


def layer(name: str, users: list[str], restrictions: list[dict] | None = None, start=START) -> dict:
    return {"id": f"L-{name}", "name": name, "start": start.isoformat(), "end": None,
            "rotation_virtual_start": start.isoformat(), "rotation_turn_length_seconds": WEEK,
            "users": [ref(u) for u in users], "restrictions": restrictions or []}


WEEKDAYS_9_TO_5 = [{"type": "weekly_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 8 * 3600,
                    "start_day_of_week": d} for d in range(1, 6)]
PAYMENTS = {"id": "PS1", "name": "Payments Primary", "time_zone": "Europe/Berlin", "teams": [{"summary": "Payments"}],
            "schedule_layers": [layer("Business hours", ["P4", "P5"], WEEKDAYS_9_TO_5),  # the lowest layer wins:
                                layer("Base", ["P1", "P2", "P3"])]}                     # listed first
NIGHTS = {"id": "PS2", "name": "Nights", "time_zone": "UTC", "teams": [], "schedule_layers": [layer("Night", ["P1"], [
    {"type": "daily_restriction", "start_time_of_day": "20:00:00", "duration_seconds": 6 * 3600},
    {"type": "daily_restriction", "start_time_of_day": "02:00:00", "duration_seconds": 4 * 3600}])]}
GHOSTS = {"id": "PS3", "name": "Ghosts", "time_zone": "UTC", "teams": [], "schedule_layers": [layer("L", ["P9"])]}


def covers(restriction: dict, local: datetime) -> bool:
    """PagerDuty's restriction rule, on the schedule's wall clock."""
    start = datetime.combine(local.date(), datetime.strptime(restriction["start_time_of_day"], "%H:%M:%S").time(),
                             tzinfo=local.tzinfo)
    for back in range(8):
        begin = start - timedelta(days=back)
        if restriction["type"] == "weekly_restriction" and begin.isoweekday() != restriction["start_day_of_week"]:
            continue
        if begin <= local < begin + timedelta(seconds=restriction["duration_seconds"]):
            return True
    return False


def pagerduty_says(schedule: dict, overrides: list[dict], at: datetime) -> str | None:
    """Who PagerDuty pages at `at`: an override, else the lowest layer on call then (its turn from its start)."""
    for override in overrides:
        if datetime.fromisoformat(override["start"]) <= at < datetime.fromisoformat(override["end"]):
            return override["user"]["id"]
    local = at.astimezone(ZoneInfo(schedule["time_zone"]))
    for item in schedule["schedule_layers"]:
        if item["restrictions"] and not any(covers(r, local) for r in item["restrictions"]):
            continue
        turns = int((at - datetime.fromisoformat(item["rotation_virtual_start"])).total_seconds() // WEEK)
        return item["users"][turns % len(item["users"])]["user"]["id"]
    return None


def final_schedule(schedule: dict, overrides: list[dict]):
    """PagerDuty's rendered final schedule: hour by hour (every boundary here is on the hour), merged."""
    def render(since: datetime, until: datetime) -> list[dict]:
        entries: list[dict] = []
        at = since.replace(minute=0, second=0, microsecond=0)
        while at < until:
            user = pagerduty_says(schedule, overrides, at)
            if entries and entries[-1]["user"]["id"] == user:
                entries[-1]["end"] = (at + timedelta(hours=1)).isoformat()
            elif user:
                entries.append({"start": at.isoformat(), "end": (at + timedelta(hours=1)).isoformat(),
                                "user": {"id": user, "type": "user_reference"}})
            at += timedelta(hours=1)
        return entries
    return render


def imported(bot, *argv: str) -> tuple[list[str], object]:
    lines: list[str] = []
    return lines, run_import(parser().parse_args(["pagerduty", "--token", "pd-key", *argv]), bot.runtime,
                             lines.append)


async def run(bot, pagerduty, *argv: str) -> tuple[int, list[str]]:
    lines, job = imported(bot, "--api-url", pagerduty.url, *argv)
    return await job, lines


def rows(bot, model) -> list:
    with bot.session() as session:
        return list(session.exec(select(model)))


NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def seeded(fake_slack, pagerduty, now: datetime) -> dict:
    """Three schedules (one imports), six people (one without Slack), an override (returned), two policies."""
    for user, name in PEOPLE.items():
        pagerduty.users.append({"id": user, "type": "user", "name": name, "email": f"{name}@example.com"})
        if user != "P9":
            fake_slack.add_user(f"U0{name.upper()}", email=f"{name.capitalize()}@Example.com")
    fake_slack.add_channel("C0PAY", "payments")
    cover = {"id": "PO1", "start": (now + timedelta(days=2)).isoformat(), "end": (now + timedelta(days=3)).isoformat(),
             "user": {"id": "P2", "type": "user_reference"}}
    pagerduty.schedules += [PAYMENTS, NIGHTS, GHOSTS]
    pagerduty.overrides["PS1"] = [cover]
    pagerduty.final["PS1"] = final_schedule(PAYMENTS, [cover])
    pagerduty.policies += [
        {"id": "EP1", "name": "Payments EP", "num_loops": 2, "escalation_rules": [
            {"escalation_delay_in_minutes": 15, "targets": [{"id": "PS1", "type": "schedule_reference"}]},
            {"escalation_delay_in_minutes": 10, "targets": [{"id": "P4", "type": "user_reference"}]}]},
        {"id": "EP2", "name": "Nights EP", "num_loops": 0, "escalation_rules": [
            {"escalation_delay_in_minutes": 30, "targets": [{"id": "PS2", "type": "schedule_reference"}]}]}]
    return cover


async def test_plan_apply_again_and_compare(make_bot, pagerduty):
    bot = await make_bot(admins="U0ADMIN")
    bot.clock.set(NOW)
    now, cover = NOW, seeded(bot.fake, pagerduty, NOW)
    pagerduty.throttle = 1  # the first request is told to wait (ratelimit-reset): the import waits and goes on

    code, out = await run(bot, pagerduty, "--plan", "--channel", "payments=#payments")
    assert code == 0, out
    assert "✗ user ghost@example.com: no Slack account with this email" in out
    assert ("✓ schedule \"Payments Primary\" → rotation payments-primary in #payments, handoff Tuesday 09:00 "
            "Europe/Berlin, every week, 1 role, from 2026-11-03: bo@example.com, cy@example.com, ana@example.com; "
            "layer business-hours mon-fri 09:00–17:00 Europe/Berlin: di@example.com, eve@example.com") in out
    assert "✗ schedule \"Nights\": layer 'Night' has restrictions of different hours; no channel: say --channel " \
           "\"Nights=#channel\"" in out
    assert "✗ schedule \"Ghosts\": 1 user(s) without a Slack account found by their email: P9; no channel: say " \
           "--channel \"Ghosts=#channel\"" in out
    assert any(line.startswith("✓ override PO1 (") and "bo@example.com holds the pager of payments-primary" in line
               for line in out)
    assert "✓ policy \"Payments EP\" → the P0 and P1 escalation policy of payments-primary: primary 15m → " \
           "di@example.com 10m, repeat 2" in out
    assert "✗ policy \"Nights EP\": it pages the schedule PS2, which is not imported" in out
    assert out[-1] == "Plan: 3 to import, 0 imported already, 3 refused (✗); 5 of 6 people found in Slack. " \
                      "Nothing was changed."
    assert rows(bot, Rotation) == [] and rows(bot, ImportedObject) == []

    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert code == 0 and out[-1] == "Imported 3, 0 imported already, 3 refused (✗). Check it with --compare " \
                                    "before you switch.", out
    [rotation] = rows(bot, Rotation)
    assert (rotation.name, rotation.channel_id, rotation.created_by) == ("payments-primary", "C0PAY", "U0ADMIN")
    assert [m.user_id for m in sorted(rows(bot, RotationMember), key=lambda m: m.position)] == \
        ["U0BO", "U0CY", "U0ANA"]  # bo's turn now (the fifth week from PagerDuty's start)
    assert [(x.name, x.days, x.start, x.end) for x in rows(bot, RotationLayer)] == \
        [("business-hours", "0,1,2,3,4", "09:00", "17:00")]
    [override] = rows(bot, RotationOverride)
    assert (override.user_id, override.starts_at, override.ends_at) == ("U0BO", now + timedelta(days=2),
                                                                        now + timedelta(days=3))
    assert {p.priority for p in rows(bot, EscalationPolicy)} == {"P0", "P1"}
    await bot.tick()  # the running bot says it in the rotation's channel
    said = [m.get("text") or "" for (channel, _), m in bot.fake.messages.items() if channel == "C0PAY"]
    assert any("imported from PagerDuty" in text and "<@U0BO>, <@U0CY>, <@U0ANA>" in text for text in said), said

    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert code == 0 and out[-1].startswith("Imported 0, 3 imported already"), out
    assert len(rows(bot, ImportedObject)) == 3 and len(rows(bot, RotationOverride)) == 1

    code, out = await run(bot, pagerduty, "--compare")
    assert code == 0 and out[-2:] == ["✓ payments-primary: PagerDuty and Firefighter agree at 20 moments over 56 "
                                      "days", "0 disagreements. The import answers as the source does."], out
    code, out = await run(bot, pagerduty, "--compare", "--days", "14", "--samples", "300")
    assert code == 0, out  # every 67 minutes for two weeks: evenings, weekends, the override, a handoff

    late = {"id": "PO2", "start": (now + timedelta(days=9)).isoformat(), "end": (now + timedelta(days=10)).isoformat(),
            "user": {"id": "P5", "type": "user_reference"}}  # made at PagerDuty after the import
    pagerduty.final["PS1"] = final_schedule(PAYMENTS, [cover, late])
    code, out = await run(bot, pagerduty, "--compare")
    wrong = [line for line in out if line.startswith("✗ payments-primary at ")]
    assert code == 1 and wrong and all("PagerDuty says eve@example.com, Firefighter says" in w for w in wrong), out
    assert out[-1] == f"{len(wrong)} disagreement{'s' if len(wrong) > 1 else ''}."


async def test_a_wrong_token_is_one_line_and_changes_nothing(bot, pagerduty):
    lines, job = imported(bot, "--api-url", pagerduty.url, "--apply")
    pagerduty.key = "another"
    assert await job == 2
    assert lines == ["✗ PagerDuty refused the key (401): check it and its permissions (read access to users, "
                     "schedules, escalations)."]
    assert rows(bot, ImportedObject) == []


async def test_the_command_line_as_an_operator_runs_it(tmp_path, fake_slack, pagerduty):
    """(One database: the processes' start-up is what is tested; PostgreSQL's runs are the two processes below.)"""
    database_url = f"sqlite:///{tmp_path / 'operator.db'}"
    from tests.conftest import SECRET
    from tests.conftest import TOKEN as SLACK_TOKEN
    from tests.test_cli import run as process

    pagerduty.users.append({"id": "P1", "type": "user", "name": "ana", "email": "ana@example.com"})
    fake_slack.add_user("U0ANA", email="ana@example.com")
    fake_slack.add_channel("C0PAY", "payments")
    pagerduty.schedules.append({**GHOSTS, "name": "Payments", "schedule_layers": [layer("L", ["P1"])]})
    env = {"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
           "DATABASE_URL": database_url}
    argv = ("-m", "bot", "import", "pagerduty", "--token", "pd-key", "--api-url", pagerduty.url)
    code, out, err = await process(tmp_path, *argv, "--plan", "--channel", "Payments=#payments", **env)
    assert (code, err) == (0, []), err  # no progress bar when the output is not a terminal
    assert out == ["✓ user ana@example.com → Slack user U0ANA",
                   "✓ schedule \"Payments\" → rotation payments in #payments, handoff Tuesday 08:00 UTC, every "
                   "week, 1 role, from 2026-11-03: ana@example.com",
                   "Plan: 1 to import, 0 imported already, 0 refused (✗); 1 of 1 people found in Slack. Nothing "
                   "was changed."]
    code, out, err = await process(tmp_path, *argv, "--apply", "--channel", "Payments=#payments", **env)
    assert code == 0 and out[-1].startswith("Imported 1, 0 imported already"), (out, err)
    code, out, _ = await process(tmp_path, "-m", "bot", "import", "pagerduty", "--token", "x", "--api-url",
                                 pagerduty.url, "--plan", **env)
    assert (code, out) == (2, ["✗ PagerDuty refused the key (401): check it and its permissions (read access to "
                               "users, schedules, escalations)."])
    code, _, err = await process(tmp_path, *argv, **env)
    assert code == 2 and "one of the arguments --plan --apply --compare is required" in err[-1]
    code, out, err = await process(tmp_path, *argv, "--plan", **{**env, "DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"})
    assert (code, out, len(err)) == (2, [], 1) and err[0].startswith("firefighter: setting DATABASE_URL: cannot use "
                                                                      "postgresql://u:***@127.0.0.1:1/x:"), err


async def test_a_failure_leaves_nothing_half_imported_and_the_next_run_finishes(bot, pagerduty, monkeypatch):
    from bot.db.models import RosterVersion
    from bot.db.schedule_models import ShiftChange

    bot.clock.set(NOW)
    seeded(bot.fake, pagerduty, NOW)
    outbox = bot.runtime.services.outbox
    real = outbox.queue_post

    def fails(*args, **kwargs):  # the schedule's announcement is the last thing its transaction does
        raise OSError("disk full")
    monkeypatch.setattr(outbox, "queue_post", fails)
    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert code == 1 and out[-1].startswith("Imported 0, 0 imported already, 3 refused (✗), 3 failed"), out
    assert "✗ schedule \"Payments Primary\": not imported (OSError: disk full); nothing of it was stored, run " \
           "--apply again" in out
    assert any(line.startswith("✗ override PO1 (") and "(LookupError: the rotation payments-primary is not here)"
               in line for line in out)  # what hangs on the rotation waits for it
    for model in (Rotation, RotationMember, RosterVersion, ShiftChange, RotationLayer, EscalationPolicy,
                  RotationOverride, ImportedObject):
        assert rows(bot, model) == [], model
    monkeypatch.setattr(outbox, "queue_post", real)
    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert code == 0 and out[-1].startswith("Imported 3, 0 imported already"), out
    assert len(rows(bot, Rotation)) == 1 and len(rows(bot, RotationOverride)) == 1


async def test_two_applies_at_once_on_postgresql_import_each_object_once(tmp_path, fake_slack, pagerduty,
                                                                         postgres_database):  # noqa: F811
    import asyncio

    from tests.conftest import SECRET
    from tests.conftest import TOKEN as SLACK_TOKEN
    from tests.test_cli import run as process

    seeded(fake_slack, pagerduty, datetime.now(UTC))  # the processes run on the system clock
    env = {"SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
           "DATABASE_URL": postgres_database}
    assert (await process(tmp_path, "-m", "bot", "migrate", **env))[0] == 0
    argv = ("-m", "bot", "import", "pagerduty", "--token", "pd-key", "--api-url", pagerduty.url, "--apply",
            "--channel", "payments=#payments")
    first, second = await asyncio.gather(process(tmp_path, *argv, **env), process(tmp_path, *argv, **env))
    assert first[0] == second[0] == 0, (first, second)
    made = [line for line in first[1] + second[1] if line.startswith("✓ ")]
    assert len(made) == 3, (first[1], second[1])  # the schedule, its override, its policy: each by one of them
    engine = sa.create_engine(postgres_database.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        count = {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                 for table in ("rotation", "rotation_member", "rotation_override", "escalation_policy",
                               "imported_object", "shift_change")}
    engine.dispose()
    assert count == {"rotation": 1, "rotation_member": 3, "rotation_override": 1, "escalation_policy": 2,
                     "imported_object": 3, "shift_change": 1}


async def test_two_applies_that_both_saw_nothing_imported_store_each_object_once(bot, pagerduty, monkeypatch):
    """The race the two processes above may or may not hit, every time: both runs read "not imported" for each
    object before either writes it; the unique keys let one store it, the other says it was imported already."""
    import asyncio
    import threading

    from bot.db import repo
    from bot.importers.apply import Applier

    bot.clock.set(NOW)
    seeded(bot.fake, pagerduty, NOW)
    from tests.test_import_edges import planned
    runtime, plan = bot.runtime, await planned(bot, pagerduty, NOW)
    both_read = threading.Barrier(2, timeout=20)
    read = repo.imports.imported

    def imported_then_wait(**kwargs):
        found = read(**kwargs)
        both_read.wait()
        return found
    monkeypatch.setattr(repo.imports, "imported", imported_then_wait)
    said: list[str] = []
    runs = [Applier(runtime.db, bot.clock, runtime.services.outbox, None, lambda items, _: items) for _ in range(2)]
    results = await asyncio.gather(*(asyncio.to_thread(run.apply, plan, said.append) for run in runs))
    assert sorted(results) == [(0, 3, 0), (3, 0, 0)] or (sum(r[0] for r in results) == 3 and \
        all(r[2] == 0 for r in results)), (results, said)
    assert len(rows(bot, Rotation)) == 1 and len(rows(bot, RotationOverride)) == 1
    assert len(rows(bot, ImportedObject)) == 3 and len(rows(bot, EscalationPolicy)) == 2


async def test_names_from_the_source_are_shown_never_resolved_in_slack(bot, pagerduty):
    bot.clock.set(NOW)
    pagerduty.users.append({"id": "P1", "type": "user", "name": "ana", "email": "ana@example.com"})
    bot.fake.add_user("U0ANA", email="ana@example.com")
    bot.fake.add_channel("C0PAY", "payments")
    hostile = "<!here> Payments <@U0BOSS> <!subteam^S0ALL>"
    pagerduty.schedules.append({**GHOSTS, "id": "PS7", "name": hostile, "schedule_layers": [layer("L", ["P1"])]})
    pagerduty.policies.append({"id": "EP7", "name": "<!channel> policy", "escalation_rules": [
        {"escalation_delay_in_minutes": 5, "targets": [{"id": "PS7", "type": "schedule_reference"}]}]})
    code, out = await run(bot, pagerduty, "--apply", "--channel", f"{hostile}=#payments")
    assert code == 0 and out[-1].startswith("Imported 2,"), out
    [rotation] = rows(bot, Rotation)
    assert rotation.name == "here-payments-u0boss-subteam-s0all"
    await bot.tick()
    said = " ".join(m.get("text") or "" for (channel, _), m in bot.fake.messages.items() if channel == "C0PAY")
    assert "&lt;!here&gt; Payments &lt;@U0BOSS&gt; &lt;!subteam^S0ALL&gt;" in said and "&lt;!channel&gt; policy" in said
    assert "<!" not in said and "<@U0BOSS>" not in said and "<@U0ANA>" in said  # the matched person is mentioned
