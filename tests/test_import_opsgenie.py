"""`python -m bot import opsgenie` against a fake Opsgenie (tests/fake_sources.py): a day and a night rotation that
tile the day become one rotation with a layer; rotations that are on call together (Opsgenie's cumulative
rotations), hourly turns, team recipients and a disabled heartbeat are refused with their reason; the escalation's
delays (from the alert's creation there) become each step's wait; the heartbeat keeps its ping URL working. The
compare asks Opsgenie's who-is-on-call at each moment, answered by Opsgenie's own rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.db.edge_models import Heartbeat, ImportedObject
from bot.db.models import Rotation, RotationOverride
from bot.db.schedule_models import EscalationPolicy, RotationLayer
from bot.domain.escalation import policy_from_json
from bot.importers.cli import parser, run_import
from tests.fake_sources import FakeOpsgenie
from tests.test_alert_apis import send
from tests.test_alerts import TOKEN

PEOPLE = {"og1": "ana", "og2": "bo", "og3": "cy", "og4": "di", "og5": "eve"}
START = "2026-11-02T08:00:00Z"  # a Monday, 08:00 in London (GMT until March)


def user(key: str) -> dict:
    return {"type": "user", "id": key, "username": f"{PEOPLE[key]}@example.com"}


def rotation(name: str, users: list[str], restriction: dict | None = None, kind: str = "weekly") -> dict:
    return {"id": f"R-{name}", "name": name, "startDate": START, "type": kind, "length": 1,
            "participants": [user(u) for u in users], **({"timeRestriction": restriction} if restriction else {})}


def hours(start: int, end: int) -> dict:
    return {"type": "time-of-day", "restriction": {"startHour": start, "startMin": 0, "endHour": end, "endMin": 0}}


PLATFORM = {"id": "SCH1", "name": "Platform", "timezone": "Europe/London", "enabled": True,
            "ownerTeam": {"id": "T1", "name": "Platform"},
            "rotations": [rotation("Days", ["og1", "og2"], hours(8, 20)), rotation("Nights", ["og3", "og4"],
                                                                                  hours(20, 8))]}
OVERLAP = {"id": "SCH2", "name": "Overlap", "timezone": "UTC", "enabled": True, "ownerTeam": {"name": "Web"},
           "rotations": [rotation("A", ["og1"]), rotation("B", ["og2"])]}
HOURLY = {"id": "SCH3", "name": "Hourly", "timezone": "UTC", "enabled": True, "ownerTeam": {"name": "Web"},
          "rotations": [rotation("H", ["og1", "og2"], kind="hourly")]}


def on(restriction: dict | None, local: datetime) -> bool:
    if restriction is None:
        return True
    inner = restriction["restriction"]
    start, end, at = inner["startHour"], inner["endHour"], local.hour
    return start <= at < end if start < end else at >= start or at < end


def opsgenie_says(schedule: dict, overrides: list[dict]):
    """Who Opsgenie notifies at a moment: an override's user, else everyone on call in any rotation (cumulative)."""
    def who(at: datetime) -> list[str]:
        for override in overrides:
            if datetime.fromisoformat(override["startDate"]) <= at < datetime.fromisoformat(override["endDate"]):
                return [override["user"]["username"]]
        found = []
        for item in schedule["rotations"]:
            if on(item.get("timeRestriction"), at.astimezone(ZoneInfo(schedule["timezone"]))):
                turns = (at - datetime.fromisoformat(item["startDate"])) // timedelta(weeks=1)
                found.append(item["participants"][turns % len(item["participants"])]["username"])
        return found
    return who


@pytest.fixture
async def opsgenie():
    fake = await FakeOpsgenie().start()
    yield fake
    await fake.stop()


async def run(bot, opsgenie, *argv: str, key: str = "og-key") -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await run_import(parser().parse_args(["opsgenie", "--api-key", key, "--api-url", opsgenie.url, *argv]),
                            bot.runtime, lines.append)
    return code, lines


def rows(bot, model) -> list:
    with bot.session() as session:
        return list(session.exec(select(model)))


async def test_plan_apply_again_compare_and_the_heartbeat_still_answers(make_bot, opsgenie):
    bot = await make_bot(alerts_token=TOKEN)
    bot.clock.set(datetime(2026, 12, 6, 12, tzinfo=UTC))
    now = bot.clock.now()
    for key, name in PEOPLE.items():
        opsgenie.users.append({"id": key, "username": f"{name}@example.com", "fullName": name.title()})
        bot.fake.add_user(f"U0{name.upper()}", email=f"{name}@example.com")
    opsgenie.users.append({"id": "og9", "username": "left@example.com", "fullName": "Left"})
    bot.fake.add_channel("C0PLAT", "platform")
    cover = {"alias": "cover-1", "user": user("og2"), "startDate": (now + timedelta(days=3)).isoformat(),
             "endDate": (now + timedelta(days=3, hours=20)).isoformat(), "rotations": []}
    opsgenie.schedules += [PLATFORM, OVERLAP, HOURLY]
    opsgenie.overrides["SCH1"] = [cover]
    opsgenie.on_call["SCH1"] = opsgenie_says(PLATFORM, [cover])
    opsgenie.escalations += [
        {"id": "E1", "name": "Platform_escalation", "repeat": {"waitInterval": 5, "count": 1}, "rules": [
            {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0, "timeUnit": "minutes"},
             "recipient": {"type": "schedule", "id": "SCH1", "name": "Platform"}},
            {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 10,
                                                                            "timeUnit": "minutes"},
             "recipient": user("og5")}]},
        {"id": "E2", "name": "Web_escalation", "rules": [
            {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0},
             "recipient": {"type": "team", "id": "T2", "name": "Web"}}]}]
    opsgenie.heartbeats += [
        {"name": "nightly-backup", "interval": 25, "intervalUnit": "hours", "enabled": True,
         "ownerTeam": {"name": "Platform"}, "alertPriority": "P2"},
        {"name": "Old Cron", "interval": 1, "intervalUnit": "days", "enabled": False}]
    opsgenie.throttle = 2  # X-RateLimit-Period-In-Sec twice: waited out

    code, out = await run(bot, opsgenie, "--plan", "--channel", "Platform=#platform", "--channel", "web=#general")
    assert code == 0, out
    assert "✗ user left@example.com: no Slack account with this email" in out
    assert ("✓ schedule \"Platform\" → rotation platform in #platform, handoff Monday 08:00 Europe/London, every "
            "week, 1 role, from 2026-11-02: cy@example.com, di@example.com; layer days daily 08:00–20:00 "
            "Europe/London: ana@example.com, bo@example.com") in out
    assert "✗ schedule \"Overlap\": its rotations are on call together (from Monday 00:00): Opsgenie notifies all " \
           "of them at once, here one person holds the pager; #general is the workspace's general channel: its " \
           "pages would reach everyone" in out
    assert "✗ schedule \"Hourly\": rotation 'H' turns hourly: here a shift is whole days; #general is the " \
           "workspace's general channel: its pages would reach everyone" in out
    assert "✓ policy \"Platform_escalation\" → the P0 and P1 escalation policy of platform: primary 10m → " \
           "eve@example.com 5m, repeat 1" in out
    assert "✗ policy \"Web_escalation\": rule 1 pages a team (here a step pages a role or a person); it pages no " \
           "schedule (a policy here belongs to a rotation)" in out
    assert "✓ heartbeat \"nightly-backup\" → heartbeat nightly-backup every 1d 1h (P1, pages platform)" in out
    assert "✗ heartbeat \"Old Cron\": its name cannot be a heartbeat's here (lowercase letters, digits, -, _ or .); " \
           "it is disabled at Opsgenie" in out
    assert out[-1].startswith("Plan: 4 to import, 0 imported already, 4 refused (✗); 5 of 6 people found")
    assert rows(bot, Rotation) == [] and rows(bot, Heartbeat) == []

    code, out = await run(bot, opsgenie, "--apply", "--channel", "Platform=#platform")
    assert code == 0 and out[-1].startswith("Imported 4, 0 imported already, 4 refused"), out
    [here] = rows(bot, Rotation)
    assert [(x.name, x.start, x.end) for x in rows(bot, RotationLayer)] == [("days", "08:00", "20:00")]
    [override] = rows(bot, RotationOverride)
    assert (override.user_id, override.ends_at) == ("U0BO", now + timedelta(days=3, hours=20))
    policy = policy_from_json(next(p.policy for p in rows(bot, EscalationPolicy) if p.priority == "P0"))
    assert [(s.kind, s.ref, s.seconds) for s in policy.steps] == [("primary", None, 600), ("person", "U0EVE", 300)]
    assert policy.repeat == 1
    [beat] = rows(bot, Heartbeat)
    assert (beat.name, beat.interval_seconds, beat.rotation_id, beat.priority) == ("nightly-backup", 90000, here.id,
                                                                                   "P1")
    status, answer = await send(bot, "/v2/heartbeats/nightly-backup/ping", None, auth=f"GenieKey {TOKEN}")
    assert (status, answer["result"]) == (202, "PONG - Heartbeat received")  # the job's URL changes host only

    code, out = await run(bot, opsgenie, "--apply", "--channel", "Platform=#platform")
    assert code == 0 and out[-1].startswith("Imported 0, 4 imported already"), out
    assert len(rows(bot, ImportedObject)) == 4 and len(rows(bot, Heartbeat)) == 1

    code, out = await run(bot, opsgenie, "--compare", "--days", "21", "--samples", "250")
    assert code == 0, out
    assert "✓ platform: Opsgenie and Firefighter agree at 250 moments over 21 days" in out
    assert "· schedule \"Overlap\" is not imported: not compared" in out

    opsgenie.on_call["SCH1"] = opsgenie_says(PLATFORM, [])  # the cover was deleted at Opsgenie after the import
    code, out = await run(bot, opsgenie, "--compare", "--days", "21", "--samples", "250")
    wrong = [line for line in out if line.startswith("✗ platform at ")]
    assert code == 1 and wrong and all("Firefighter says bo@example.com" in line for line in wrong), out


async def test_a_wrong_key_and_a_missing_scope_are_said_once(bot, opsgenie):
    code, out = await run(bot, opsgenie, "--plan", key="wrong")
    assert (code, out) == (2, ["✗ Opsgenie refused the key (401): check it and its permissions (read access to "
                               "users, schedules, escalations)."])
    opsgenie.users.append({"id": "og1", "username": "ana@example.com"})
    bot.fake.scopes.remove("users:read.email")
    code, out = await run(bot, opsgenie, "--plan")
    assert (code, out) == (2, ["✗ Slack refused a look-up: missing_scope (add users:read.email to the app: "
                               "manifest.yml asks for it)"])
