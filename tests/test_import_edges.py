"""What happens to an import between its plan and its apply, and around objects already here: a handoff in between
keeps the source's answer, a rotation made by hand with the same name fails the object (exit 1, nothing stored)
rather than passing for 'imported already', and a second policy for an imported rotation is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db.models import Rotation
from bot.db.schedule_models import EscalationPolicy
from bot.importers.apply import Applier
from bot.importers.pagerduty import PagerDuty
from bot.importers.plan import Planner
from bot.importers.sources import read_pagerduty
from tests.test_import_pagerduty import GHOSTS, layer, rows, run

TUESDAY_0858 = datetime(2026, 12, 8, 8, 58, tzinfo=UTC)
START = datetime(2026, 11, 3, 9, tzinfo=UTC)  # a Tuesday: the turns change at 09:00 UTC
USERS = ["P1", "P2", "P3"]


def seed(bot, pagerduty) -> None:
    for n, user in enumerate(USERS, start=1):
        pagerduty.users.append({"id": user, "type": "user", "email": f"p{n}@example.com"})
        bot.fake.add_user(f"U0P{n}", email=f"p{n}@example.com")
    bot.fake.add_channel("C0PAY", "payments")
    pagerduty.schedules.append({**GHOSTS, "id": "PS1", "name": "Payments", "schedule_layers": [
        layer("L", USERS, start=START)]})


async def planned(bot, pagerduty, now: datetime):
    """What `--plan` finds in the fake PagerDuty at `now`, as `--apply` takes it."""
    runtime = bot.runtime
    data = await read_pagerduty(PagerDuty("pd-key", pagerduty.url), now)
    return await Planner(runtime.settings, runtime.db, runtime.slack, lambda items, _: items).plan(
        data, ["payments=#payments"], now)


def pagerduty_holder(at: datetime) -> str:
    return f"U0P{USERS.index(USERS[((at - START) // timedelta(weeks=1)) % 3]) + 1}"


async def test_a_handoff_between_plan_and_apply_keeps_the_sources_answer(bot, pagerduty):
    seed(bot, pagerduty)
    bot.clock.set(TUESDAY_0858)
    runtime, plan = bot.runtime, await planned(bot, pagerduty, TUESDAY_0858)
    bot.clock.advance(minutes=4)  # the Slack look-ups and pages of a big account took a while: 09:02
    said: list[str] = []
    assert Applier(runtime.db, bot.clock, runtime.services.outbox, None, lambda items, _: items).apply(
        plan, said.append) == (1, 0, 0), said
    with runtime.db.reading() as session:
        [rotation] = [r for r in rows(bot, Rotation)]
        for hours in (0, 1, 24 * 7, 24 * 7 - 1, 24 * 30):
            at = bot.clock.now() + timedelta(hours=hours)
            assert runtime.services.rotations.on_call(session, rotation, at).primary == pagerduty_holder(at), at


async def test_a_rotation_made_here_meanwhile_fails_the_object_and_stores_nothing(bot, pagerduty):
    seed(bot, pagerduty)
    bot.clock.set(TUESDAY_0858)
    runtime, plan = bot.runtime, await planned(bot, pagerduty, TUESDAY_0858)
    bot.add_rotation("payments", "C0OTHER")  # someone ran `rotation create payments` since the plan
    said: list[str] = []
    assert Applier(runtime.db, bot.clock, runtime.services.outbox, None, lambda items, _: items).apply(
        plan, said.append) == (0, 0, 1)
    assert said[0].startswith("✗ schedule \"Payments\": not imported (IntegrityError: ") and \
        said[0].endswith("nothing of it was stored, run --apply again"), said
    assert [r.channel_id for r in rows(bot, Rotation)] == ["C0OTHER"]
    _, out = await run(bot, pagerduty, "--plan", "--channel", "payments=#payments")  # planned again: said why
    assert "✗ schedule \"Payments\": there is a rotation called payments here already" in out


async def test_a_second_policy_for_an_imported_rotation_is_refused(bot, pagerduty):
    seed(bot, pagerduty)
    bot.clock.set(TUESDAY_0858)

    def policy(key: str, minutes: int) -> dict:
        return {"id": key, "name": key, "escalation_rules": [
            {"escalation_delay_in_minutes": minutes, "targets": [{"id": "PS1", "type": "schedule_reference"}]}]}
    pagerduty.policies.append(policy("EP1", 5))
    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert code == 0 and out[-1].startswith("Imported 2,"), out
    pagerduty.policies.append(policy("EP2", 45))
    code, out = await run(bot, pagerduty, "--apply", "--channel", "payments=#payments")
    assert "✗ policy \"EP2\": the rotation payments takes the policy imported before already" in out
    assert {p.policy for p in rows(bot, EscalationPolicy)} == {'{"steps":[{"kind":"primary","seconds":300}],'
                                                                '"repeat":0}'}
