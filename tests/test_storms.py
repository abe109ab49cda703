"""Alert storms through the real endpoints (SPEC §2 "Alerts"): past ALERT_STORM_THRESHOLD incidents from alerts
within ALERT_STORM_WINDOW, alerts join one storm incident; none is lost; the storm ends when the window passes
quietly."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db import repo
from bot.db.edge_models import AlertStorm, StormAlert
from bot.db.engine import normalize_url
from bot.db.models import Incident, TimelineEvent
from bot.domain.incident import Priority
from bot.domain.storms import joins_storm, raised_to, storm_priority
from bot.views.storms import news
from tests.slack_requests import sample
from tests.test_alerts import TOKEN, post
from tests.test_board import get, token
from tests.test_paging import with_rotation
from tests.test_replicas import postgres_database, replicas  # noqa: F401 (a fixture)

# -- the rules ----------------------------------------------------------------------------------------------


def test_the_first_threshold_alerts_open_their_own_incidents_the_next_joins_a_storm():
    assert [joins_storm(n, 10) for n in (0, 9, 10, 11)] == [False, False, True, True]


def test_a_storm_pages_as_a_p1_at_least_and_rises_with_a_more_urgent_alert():
    assert storm_priority(Priority.P2) is Priority.P1 and storm_priority(Priority.P0) is Priority.P0
    assert raised_to(Priority.P1, Priority.P0) is Priority.P0
    assert raised_to(Priority.P0, Priority.P1) is None and raised_to(Priority.P1, Priority.P2) is None


# -- end to end ---------------------------------------------------------------------------------------------

def group(fingerprints: list[str], status: str = "firing", severity: str = "warning") -> dict:
    body = sample("alertmanager_v4.json")
    template = body["alerts"][0]
    body["status"] = status
    body["alerts"] = [dict(template, status=status, fingerprint=fp, annotations={"summary": f"{fp} is down"},
                           labels={**template["labels"], "severity": severity, "instance": fp})
                      for fp in fingerprints]
    return body


async def storming(make_bot, **settings):
    bot = await make_bot(alerts_token=TOKEN, **settings)
    await with_rotation(bot)
    return bot


def storm_rows(bot) -> tuple[list[AlertStorm], list[StormAlert]]:
    with bot.session() as s:
        return list(s.exec(select(AlertStorm))), list(s.exec(select(StormAlert).order_by(StormAlert.id)))


def channel_texts(bot, channel_id: str) -> list[str]:
    """Everything said in a channel (text and blocks), oldest first."""
    found = []
    for (channel, _ts), message in sorted(bot.fake.messages.items(), key=lambda item: float(item[0][1])):
        if channel == channel_id:
            found.append((message.get("text") or "") + str(message.get("blocks") or ""))
    return found


async def test_a_thousand_alerts_in_bursts_make_ten_incidents_and_one_storm_and_lose_none(make_bot):
    bot = await storming(make_bot)
    fingerprints = [f"node-{n:04d}" for n in range(1000)]
    bursts = [fingerprints[i:i + 100] for i in range(0, 1000, 100)]
    for wave in (bursts[:5], bursts[5:]):  # five Alertmanager bodies at once, twice
        answers = await asyncio.gather(*(post(bot, "/alerts/alertmanager", group(b)) for b in wave))
        assert all(status == 202 for status, _ in answers), answers
        bot.clock.advance(seconds=20)
    await bot.settle()

    incidents = bot.incidents()
    storms, joined = storm_rows(bot)
    assert len(storms) == 1 and len(incidents) == 11
    storm = next(i for i in incidents if i.source == "storm")
    assert storm.id == storms[0].incident_id and storm.priority == "P1"
    # every alert is kept: ten opened their own incident, the other 990 are in the storm, each once
    own = {i.alert_fingerprint for i in incidents if i.source == "alertmanager"}
    assert len(own) == 10 and len(joined) == 990
    assert own | {a.fingerprint for a in joined} == {f"alertmanager:{fp}" for fp in fingerprints}
    # at most threshold + 1 channels were asked of Slack
    assert len(bot.fake.calls_to("conversations.create")) == 11
    # the storm's channel lists every alert that joined, once, and its summary counts them
    said = "\n".join(channel_texts(bot, storm.channel_id))
    listed = re.findall(r"HighErrorRate: (node-\d{4}) is down", said)
    assert sorted(listed) == sorted(a.fingerprint.split(":")[1] for a in joined)  # each once, in text or blocks
    summary = bot.fake.messages[(storm.channel_id, storm.summary_ts)]
    assert "990 alerts in the storm: 990 firing, 0 resolved" in str(summary["blocks"])
    assert all(a.told == "firing" for a in storm_rows(bot)[1])

    # The same firing told again (same startsAt) is not counted; a new firing of an alert already in the storm
    # counts up; neither is listed again.
    before = len(channel_texts(bot, storm.channel_id))
    status, body = await post(bot, "/alerts/alertmanager", group([joined[0].fingerprint.split(":")[1]]))
    assert status == 202 and body["incident"] == f"INC-{storm.number}" and body["storm"] is True
    await bot.settle()
    assert storm_rows(bot)[1][0].times == 1
    again = group([joined[0].fingerprint.split(":")[1]])
    again["alerts"][0]["startsAt"] = "2026-11-25T12:40:00.000Z"
    for _ in range(2):
        status, body = await post(bot, "/alerts/alertmanager", again)
        assert status == 202 and body["storm"] is True
    await bot.settle()
    assert storm_rows(bot)[1][0].times == 2 and len(channel_texts(bot, storm.channel_id)) == before

    # The window passes with no alert: the storm ends, said once; the next alert opens its own incident again.
    await bot.tick(minutes=6)
    await bot.tick(minutes=1)
    assert sum("The storm is over" in t for t in channel_texts(bot, storm.channel_id)) == 1
    assert storm_rows(bot)[0][0].ended_at is not None
    status, body = await post(bot, "/alerts/alertmanager", group(["after-the-storm"]))
    assert status == 202 and body["created"] is True and "storm" not in body
    await bot.settle()
    assert len(bot.incidents()) == 12


async def test_resolved_alerts_are_marked_and_the_storm_resolves_with_its_last_alert(make_bot):
    bot = await storming(make_bot, alert_storm_threshold=2)
    status, _ = await post(bot, "/alerts/alertmanager", group([f"a{n}" for n in range(6)]))
    assert status == 202
    await bot.settle()
    storm = next(i for i in bot.incidents() if i.source == "storm")
    assert len(storm_rows(bot)[1]) == 4

    status, body = await post(bot, "/alerts/alertmanager", group(["a2", "a3"], status="resolved"))
    assert status == 202 and all(r["storm"] for r in body["incidents"])
    await bot.settle()
    states = {a.fingerprint: (a.state, a.told) for a in storm_rows(bot)[1]}
    assert states["alertmanager:a2"] == ("resolved", "resolved") and states["alertmanager:a4"][0] == "firing"
    said = channel_texts(bot, storm.channel_id)
    assert any("2 resolved" in t and ":white_check_mark:" in t for t in said)
    assert sum("a2 is down" in t for t in said) == 2  # listed when it joined, and when it resolved
    summary = bot.fake.messages[(storm.channel_id, storm.summary_ts)]
    assert "4 alerts in the storm: 2 firing, 2 resolved" in str(summary["blocks"])
    # the web page of the storm lists every alert, with its state
    status, _, html = await get(bot, f"/incidents/{storm.number}?token={token(bot)}")
    assert status == 200 and "Alerts in the storm (4)" in html
    assert all(f"HighErrorRate: a{n} is down" in html for n in range(2, 6)) and html.count(">resolved<") == 2

    # The last ones resolve; once the storm is over (its window passed with no new alert), the storm incident
    # resolves too (ALERTS_AUTO_RESOLVE), with a resolution saying why.
    await post(bot, "/alerts/alertmanager", group(["a4", "a5"], status="resolved"))
    await bot.settle()
    with bot.session() as s:
        assert s.get(Incident, storm.id).status == "new"
    await bot.tick(minutes=6)
    with bot.session() as s:
        stored = s.get(Incident, storm.id)
    assert stored.status == "resolved" and "Every alert of the storm resolved" in stored.resolution
    assert sum("The storm is over" in t for t in channel_texts(bot, storm.channel_id)) == 1
    # the two alerts that opened their own incidents are untouched by the storm
    assert [i.status for i in bot.incidents() if i.source == "alertmanager"] == ["new", "new"]


async def test_a_p0_alert_joining_a_p1_storm_raises_it_to_p0(make_bot):
    bot = await storming(make_bot, alert_storm_threshold=1)
    await post(bot, "/alerts/alertmanager", group(["w1", "w2"]))
    await bot.settle()
    storm = next(i for i in bot.incidents() if i.source == "storm")
    assert storm.priority == "P1"
    status, body = await post(bot, "/alerts/alertmanager", group(["c1"], severity="critical"))
    assert status == 202 and body["storm"] is True
    await bot.settle()
    with bot.session() as s:
        assert s.get(Incident, storm.id).priority == "P0"
        events = [e.text for e in s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == storm.id))]
    assert "P1 → P0" in events


async def test_twenty_new_alerts_at_once_past_the_threshold_start_one_storm(make_bot):
    """The count of incidents in the window and the opening are one decision (the alert gate): twenty requests
    at once never open more than the threshold, nor two storms."""
    bot = await storming(make_bot, alert_storm_threshold=3)
    answers = await asyncio.gather(*(post(bot, "/alerts/generic", {"title": f"Disk full on db-{n}"})
                                     for n in range(20)))
    assert all(status == 202 for status, _ in answers)
    await bot.settle()
    incidents = bot.incidents()
    storms, joined = storm_rows(bot)
    assert len(storms) == 1 and len(incidents) == 4 and len(joined) == 17
    assert sum(body["created"] for _, body in answers) == 4


async def test_two_processes_on_postgresql_open_the_threshold_and_one_storm(tmp_path, fake_slack,
                                                                            postgres_database):  # noqa: F811
    """Two real replicas take alerts at once: together they open exactly the threshold's incidents and one storm
    (the alert gate is an advisory lock in PostgreSQL, held across processes)."""
    async with replicas(tmp_path, fake_slack, postgres_database, ALERTS_TOKEN=TOKEN,
                        ALERT_STORM_THRESHOLD="4") as senders:
        async def alert(n: int) -> dict:
            sender = senders[n % 2]
            async with sender.session.post(f"{sender.base_url}/alerts/generic", json={"title": f"Node {n} down"},
                                           headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                assert response.status == 202
                return await response.json()

        answers = await asyncio.gather(*(alert(n) for n in range(40)))
        assert sum(a["created"] for a in answers) == 5 and sum(a.get("storm", False) for a in answers) == 36
        for _ in range(200):
            if len(fake_slack.calls_to("conversations.create")) >= 5:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # more ticks on both processes: nothing more may go out
        assert len(fake_slack.calls_to("conversations.create")) == 5
        engine = sa.create_engine(normalize_url(postgres_database))
        try:
            with Session(engine) as s:
                assert len(list(s.exec(select(AlertStorm)))) == 1
                assert len(list(s.exec(select(StormAlert)))) == 36
                assert len(list(s.exec(select(Incident)))) == 5
        finally:
            engine.dispose()


async def test_a_flapping_storm_stays_one_incident_and_a_resolved_storm_is_reopened_by_its_next_alert(make_bot):
    bot = await storming(make_bot, alert_storm_threshold=1)
    assert (await post(bot, "/alerts/alertmanager", group(["a0"])))[0] == 202
    for _ in range(4):  # within a minute, one alert flapping: fires, resolves
        assert (await post(bot, "/alerts/alertmanager", group(["a1"])))[0] == 202
        bot.clock.advance(seconds=5)
        assert (await post(bot, "/alerts/alertmanager", group(["a1"], status="resolved")))[0] == 202
        bot.clock.advance(seconds=5)
    await bot.settle()
    (storm,) = [i for i in bot.incidents() if i.source == "storm"]
    assert len(bot.fake.calls_to("conversations.create")) == 2
    # Someone resolves the storm incident while alerts still come in: the next one reopens it, no new storm.
    _, body, _ = await bot.slack.command(f"status INC-{storm.number} resolved the upstream came back", user="U0A")
    assert "resolved" in body.lower(), body
    await bot.settle()
    with bot.session() as s:
        assert s.get(Incident, storm.id).status == "resolved"
    status, answer = await post(bot, "/alerts/alertmanager", group(["a2"]))
    assert status == 202 and answer["incident"] == f"INC-{storm.number}" and answer["storm"] is True
    await bot.settle()
    with bot.session() as s:
        assert s.get(Incident, storm.id).status == "in_progress"
        reopened = s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == storm.id,
                                                      TimelineEvent.kind == "reopened")).one()
    assert "a new alert joined the storm" in reopened.text
    assert len([i for i in bot.incidents() if i.source == "storm"]) == 1


async def test_a_refused_news_message_does_not_silence_the_storm_channel(make_bot):
    bot = await storming(make_bot, alert_storm_threshold=1)
    await post(bot, "/alerts/alertmanager", group(["a0", "a1"]))
    await bot.settle()
    storm = next(i for i in bot.incidents() if i.source == "storm")
    bot.fake.fail("chat.postMessage", "invalid_blocks", channel=storm.channel_id)
    await post(bot, "/alerts/alertmanager", group(["refused"]))
    await bot.settle()
    assert not any("refused is down" in t for t in channel_texts(bot, storm.channel_id))
    assert storm_rows(bot)[0][0].news_owed is False
    await post(bot, "/alerts/alertmanager", group(["later"]))
    await bot.settle()
    assert any("later is down" in t for t in channel_texts(bot, storm.channel_id))


def test_a_news_message_keeps_to_block_kits_limits_and_says_how_many_it_lists():
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    alerts = [StormAlert(id=n, storm_id=1, fingerprint=f"f{n}", title=f"Disk <full> & slow {n} " + "x" * 150,
                         priority="P1", url="https://g.example/d?" + "a=1&" * 120, first_at=now, last_at=now)
              for n in range(100)]
    _, blocks, listed = news(alerts, {"firing": 100})
    assert len(blocks) <= 50 and all(len(b["text"]["text"]) <= 3000 for b in blocks)
    shown = "\n".join(b["text"]["text"] for b in blocks[1:])
    assert shown.count(":large_orange_circle: P1") == listed and 0 < listed <= 100
    assert "Disk &lt;full&gt; &amp; slow 0" in shown and "&amp;lt;" not in shown  # escaped once
    rest = news(alerts[listed:], {"firing": 100})
    assert rest[2] == min(100 - listed, rest[2]) and rest[2] > 0


async def test_a_repeat_during_the_news_of_its_storm_waits_its_turn_instead_of_deadlocking(make_bot, monkeypatch):
    """The storm's news records what it listed (the storm's row, then its alerts' rows) while the same alert comes
    again (its row, then the storm's): both take the incident's row first, so one waits for the other."""
    bot = await storming(make_bot, alert_storm_threshold=1)
    await post(bot, "/alerts/alertmanager", group(["a0", "a1"]))
    await bot.settle()
    recording, real_told = threading.Event(), repo.storms.storm_told

    def slow_told(*, session, told):
        if told and any(state == "firing" for _, state in told) and not recording.is_set():
            recording.set()
            time.sleep(0.5)  # the news holds its locks while the repeat arrives
        return real_told(session=session, told=told)

    monkeypatch.setattr(repo.storms, "storm_told", slow_told)
    monkeypatch.setattr(repo.database, "retry_on_deadlock", lambda work, *args: work(*args))  # a deadlock would show
    first = asyncio.create_task(post(bot, "/alerts/alertmanager", group(["x"])))
    assert await asyncio.to_thread(recording.wait, 10)
    status, body = await post(bot, "/alerts/alertmanager", group(["x"], status="resolved"))
    assert status == 202 and body["storm"] is True, body
    assert (await first)[0] == 202
    await bot.settle()
    x = next(a for a in storm_rows(bot)[1] if a.fingerprint == "alertmanager:x")
    assert (x.state, x.told) == ("resolved", "resolved")


async def test_one_body_during_a_storm_does_what_its_alerts_would_do_one_at_a_time(make_bot):
    """During a storm a body's new alerts join it together, and its alerts firing again are told again together
    (bot/services/alerts.py: receive_alerts): each alert still gets what it would alone — new ones join, one told
    twice in the body is a repeat, one resolved that nobody knows changes nothing, a more urgent one raises the
    storm's priority, and the first of a body reopens a resolved storm once."""
    bot = await storming(make_bot, alert_storm_threshold=1)
    assert (await post(bot, "/alerts/alertmanager", group(["own"])))[0] == 202  # its own incident; the next storm
    body = group(["s1", "s2", "s1", "gone", "s3"])
    body["alerts"][1]["labels"]["severity"] = "critical"
    body["alerts"][3]["status"] = "resolved"
    status, answer = await post(bot, "/alerts/alertmanager", body)
    await bot.settle()
    storm = next(i for i in bot.incidents() if i.source == "storm")
    assert status == 202 and [a["incident"] for a in answer["incidents"]] == [f"INC-{storm.number}"] * 3 + [
        None, f"INC-{storm.number}"]
    assert [a.get("storm", False) for a in answer["incidents"]] == [True, True, True, False, True]
    assert [(a.fingerprint, a.times) for a in storm_rows(bot)[1]] == [
        ("alertmanager:s1", 1), ("alertmanager:s2", 1), ("alertmanager:s3", 1)]  # s1 told twice: counted once
    assert storm.priority is Priority.P0  # raised by s2
    # Resolved by someone; the same alerts fire again (a new firing each) with one new: reopened once, counted.
    _, said, _ = await bot.slack.command(f"status INC-{storm.number} resolved the upstream came back", user="U0A")
    assert "resolved" in said.lower(), said
    again = group(["s1", "s2", "s3", "s4"])
    for alert in again["alerts"]:
        alert["startsAt"] = "2026-11-25T12:40:00.000Z"
    status, answer = await post(bot, "/alerts/alertmanager", again)
    await bot.settle()
    assert status == 202 and all(a["storm"] for a in answer["incidents"])
    assert [(a.fingerprint, a.times) for a in storm_rows(bot)[1]] == [
        ("alertmanager:s1", 2), ("alertmanager:s2", 2), ("alertmanager:s3", 2), ("alertmanager:s4", 1)]
    with bot.session() as s:
        assert s.get(Incident, storm.id).status == "in_progress"
        assert len(s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == storm.id,
                                                      TimelineEvent.kind == "reopened")).all()) == 1
