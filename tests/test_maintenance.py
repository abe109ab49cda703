"""Maintenance windows (`/incident maintenance add|list|remove`): matching alerts are kept — no incident, no page —
and those still firing when the window ends open then, once; by rotation or by labels; permissions, bad input and
replays change nothing (SPEC § Moving in from Opsgenie and PagerDuty)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from bot.db.edge_models import HeldAlert, MaintenanceWindow
from tests.test_alerts import TOKEN, post
from tests.test_board import get
from tests.test_paging import dms_to, with_rotation
from tests.test_rotations import say, sent_twice


def held(bot) -> dict[str, tuple[bool, int]]:
    with bot.session() as s:
        return {row.title: (row.firing, row.count) for row in s.exec(select(HeldAlert))}


async def test_a_rotations_window_keeps_its_alerts_and_opens_the_firing_ones_at_its_end(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)  # Wednesday noon
    answer = (await say(bot, "maintenance add payments now tomorrow database upgrade", user="U0A"))["text"]
    assert answer.startswith("Maintenance #1: alerts for `payments` from "), answer
    status, body = await post(bot, "/alerts/generic", {"title": "Replica lag", "priority": "P0"})
    assert status == 202 and body["incident"] is None and body["maintenance"] == 1, body
    await post(bot, "/alerts/generic", {"title": "Replica lag", "priority": "P0"})
    await post(bot, "/alerts/generic", {"title": "Disk busy", "fingerprint": "disk"})
    await post(bot, "/alerts/generic", {"title": "Disk busy", "fingerprint": "disk", "status": "resolved"})
    await bot.settle()
    assert bot.incidents() == [] and dms_to(bot, "U0A") == []
    assert held(bot) == {"Replica lag": (True, 2), "Disk busy": (False, 1)}
    listed = (await say(bot, "maintenance list", user="U0B"))["text"]
    assert "• #1 `payments` from " in listed and "_(going on)_ — database upgrade · 2 alerts kept, 1 still firing" \
        in listed, listed
    link = re.search(r"<(http[^|>]+/maintenance\?token=[^|>]+)\|", listed).group(1)
    status, _, html = await get(bot, link.removeprefix("http://localhost:3000"))
    assert status == 200 and "Replica lag" in html and "database upgrade" in html and ">firing<" in html, html[-800:]
    assert ">resolved<" in html and (await get(bot, "/maintenance"))[0] != 200  # no link, no page
    await bot.tick(seconds=1)
    assert bot.incidents() == []  # still going on
    bot.clock.set(bot.clock.now() + timedelta(days=1, minutes=1))
    await bot.tick(seconds=1)
    await bot.tick(seconds=1)  # a second tick opens nothing more
    await bot.settle()
    assert [(i.title, i.priority.value) for i in bot.incidents()] == [("Replica lag", "P0")]
    assert len(dms_to(bot, "U0A")) == 1


async def test_a_window_by_labels_and_ending_it_early(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    assert (await say(bot, "maintenance add env=staging now 2026-11-30"))["text"].startswith("Maintenance #1")
    body = {"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "Slow", "env": "staging"}, "fingerprint": "s-1"},
        {"status": "firing", "labels": {"alertname": "Slow", "env": "prod"}, "fingerprint": "p-1"}]}
    status, answer = await post(bot, "/alerts/alertmanager", body)
    assert status == 202 and [r.get("maintenance") for r in answer["incidents"]] == [1, None], answer
    await bot.settle()
    assert [i.description.count("env=prod") for i in bot.incidents()] == [1]
    assert (await say(bot, "maintenance remove 1"))["text"].startswith("Maintenance #1 ended now")
    await bot.tick(seconds=1)
    await bot.settle()
    assert len(bot.incidents()) == 2


async def test_who_may_keep_alerts_and_bad_input_or_a_replay_changes_nothing(make_bot):
    bot = await make_bot(alerts_token=TOKEN, admins="U0ADMIN")
    await with_rotation(bot)
    assert "Only ADMINS keep alerts by their labels" in (await say(bot, "maintenance add env=prod now tomorrow",
                                                                   user="U0A"))["text"]
    assert (await say(bot, "maintenance add payments now tomorrow", user="U0STRANGER"))["text"].startswith(
        "Only the members of `payments`")
    for text, says in [("maintenance add nosuch now tomorrow", "There is no rotation `nosuch`"),
                       ("maintenance add payments 2026-11-01 2026-11-02", "already be over"),
                       ("maintenance add payments now 2027-06-01", "30 days"),
                       ("maintenance add payments whenever", "Use `/incident maintenance add"),
                       ("maintenance remove 7", "There is no maintenance window #7")]:
        assert says in (await say(bot, text, user="U0A"))["text"], text
    with bot.session() as s:
        assert list(s.exec(select(MaintenanceWindow))) == []
    answers = await sent_twice(bot, "maintenance add payments now tomorrow", user="U0A")
    assert answers[0].startswith("Maintenance #1") and answers[1].startswith("Already done:"), answers


async def test_the_same_alert_at_once_and_a_storm_during_a_window(make_bot):
    import asyncio
    bot = await make_bot(alerts_token=TOKEN, alert_storm_threshold=1)
    await with_rotation(bot)
    await say(bot, "maintenance add env=staging now tomorrow")
    results = await asyncio.gather(*(post(bot, "/alerts/generic", {"title": "Flaky", "fingerprint": "f",
                                                                    "labels": {"env": "staging"}})
                                     for _ in range(12)))
    assert {status for status, _ in results} == {202} and held(bot) == {"Flaky": (True, 12)}
    await post(bot, "/alerts/generic", {"title": "One", "fingerprint": "one"})
    await post(bot, "/alerts/generic", {"title": "Two", "fingerprint": "two"})  # a storm now
    body = {"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "Prod", "env": "prod"}, "fingerprint": "p"},
        {"status": "firing", "labels": {"alertname": "Stage1", "env": "staging"}, "fingerprint": "s1"},
        {"status": "firing", "labels": {"alertname": "Stage2", "env": "staging"}, "fingerprint": "s2"}]}
    status, answer = await post(bot, "/alerts/alertmanager", body)
    assert status == 202 and [r.get("maintenance") for r in answer["incidents"]] == [None, 1, 1], answer
