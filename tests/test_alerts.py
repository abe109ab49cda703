"""The alert endpoints over real HTTP with the senders' own body shapes: generic, Alertmanager v4, GitLab Pipeline
Hooks. Every refusal is checked to store nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time

import pytest
from sqlmodel import func, select

from bot.db.edge_models import StormAlert
from bot.db.models import Incident, Notice, Page, TimelineEvent
from tests.slack_requests import sample
from tests.test_paging import with_rotation

TOKEN = "alert-token-123"


async def post(bot, path: str, body, *, token: str | None = TOKEN, headers: dict | None = None,
               content_type: str = "application/json") -> tuple[int, dict]:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    sent = {"Content-Type": content_type, **(headers or {})}
    if token is not None and "X-Gitlab-Token" not in sent:
        sent["Authorization"] = f"Bearer {token}"
    async with bot.slack.session.post(f"{bot.url}{path}", data=raw, headers=sent) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {"text": text}


def stored(bot) -> tuple[int, int, int, int]:
    with bot.session() as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Incident, TimelineEvent, Page, Notice))


@pytest.fixture
async def alerting(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    return bot


async def test_no_token_configured_means_no_endpoints(bot):
    for path in ("/alerts/generic", "/alerts/alertmanager", "/alerts/gitlab"):
        status, body = await post(bot, path, {"title": "x"})
        assert status == 404 and "ALERTS_TOKEN" in body["error"], path
    assert stored(bot) == (0, 0, 0, 0)


async def test_generic_alert_opens_an_incident_through_the_declare_path(alerting):
    bot = alerting
    status, body = await post(bot, "/alerts/generic", {"title": "Checkout 5xx above 5%", "priority": "P0",
                                                       "description": "From Grafana", "fingerprint": "checkout-5xx",
                                                       "status": "firing", "url": "https://grafana.example.com/d/1"})
    assert status == 202 and body == {"incident": "INC-1", "created": True, "fingerprint": "checkout-5xx"}
    await bot.settle()
    incident = bot.incidents()[0]
    assert (incident.title, incident.priority, incident.source, incident.reporter_id) == (
        "Checkout 5xx above 5%", "P0", "generic", "")
    assert incident.channel_id and incident.summary_ts and incident.rotation_id is not None
    assert bot.fake.calls_to("chat.postEphemeral") == []  # nobody to answer
    announcement = next(p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "C0PAY" and
                        "INC-1" in p["text"])
    assert "Declared by a monitoring alert" in json.dumps(announcement["blocks"])
    assert any(p["channel"] == "U0A" and "paged" in p["text"] for p in bot.fake.calls_to("chat.postMessage"))
    assert bot.events(incident)[0].text == "P0: Checkout 5xx above 5% (opened by a generic webhook alert)"

    # A repeat is an event and a counter, not a second incident.
    status, body = await post(bot, "/alerts/generic", {"title": "Checkout 5xx above 5%", "fingerprint": "checkout-5xx",
                                                       "status": "firing"})
    assert status == 202 and body["incident"] == "INC-1" and body["created"] is False
    assert bot.incidents()[0].alert_count == 2 and len(bot.incidents()) == 1
    assert bot.events(incident)[-1].text.startswith("the alert fired again (2 times)")

    status, body = await post(bot, "/alerts/generic", {"title": "Checkout 5xx above 5%", "fingerprint": "checkout-5xx",
                                                       "status": "resolved"})
    assert status == 202 and body["incident"] == "INC-1"
    await bot.settle()
    resolved = bot.incidents()[0]
    assert resolved.status == "resolved" and resolved.resolution.startswith("The alert resolved at its source")
    said = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id]
    assert any(t.startswith(":white_check_mark: The alert that opened it resolved INC-1") for t in said)

    # Firing again after it was resolved is a new incident.
    status, body = await post(bot, "/alerts/generic", {"title": "Checkout 5xx above 5%", "fingerprint": "checkout-5xx"})
    assert body == {"incident": "INC-2", "created": True, "fingerprint": "checkout-5xx"}
    # A resolved alert with nothing open changes nothing.
    status, body = await post(bot, "/alerts/generic", {"title": "Other", "status": "resolved"})
    assert status == 202 and body["incident"] is None and body["created"] is False
    await bot.settle()


async def test_without_auto_resolve_the_resolved_alert_is_only_noted(make_bot):
    bot = await make_bot(alerts_token=TOKEN, alerts_auto_resolve="false")
    await post(bot, "/alerts/generic", {"title": "Disk almost full"})
    await post(bot, "/alerts/generic", {"title": "Disk almost full", "status": "resolved"})
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.status == "new" and incident.priority == "P1"
    assert bot.events(incident)[-1].text == "the alert resolved at its source: Disk almost full"


async def test_twenty_identical_alerts_at_once_open_one_incident(alerting):
    bot = alerting
    results = await asyncio.gather(*(post(bot, "/alerts/generic", {"title": "Login fails", "priority": "P0"})
                                     for _ in range(20)))
    await bot.settle()
    assert all(status == 202 for status, _ in results)
    assert sum(body["created"] for _, body in results) == 1
    assert {body["incident"] for _, body in results} == {"INC-1"}
    assert len(bot.incidents()) == 1 and bot.incidents()[0].alert_count == 20
    assert len(bot.fake.calls_to("conversations.create")) == 1


async def test_alertmanager_grouped_alerts_open_one_incident_per_fingerprint(alerting):
    bot = alerting
    body = sample("alertmanager_v4.json")
    status, answer = await post(bot, "/alerts/alertmanager", body)
    assert status == 202 and answer["incident"] == "INC-1" and answer["created"] is True
    assert [(r["incident"], r["fingerprint"]) for r in answer["incidents"]] == [("INC-1", "5f4e4a9d1c2b3a40"),
                                                                                ("INC-2", "a81c7e0f99d2b611")]
    await bot.settle()
    first, second = bot.incidents()
    assert first.title == "HighErrorRate: 5xx rate above 5% on checkout-1" and first.priority == "P0"
    assert "Error rate is 7.2%" in first.description and "instance=checkout-1:8080" in first.description
    assert first.source_url.startswith("http://prometheus.example.com:9090/graph")
    assert first.source == second.source == "alertmanager"
    assert bot.events(first)[0].text == ("P0: HighErrorRate: 5xx rate above 5% on checkout-1 (opened by an "
                                         "Alertmanager alert)")
    # The same group again (Alertmanager tells a group again at every group_interval and repeat_interval): the
    # same firings (same startsAt) are not counted again, and nothing is added to the timeline.
    events = [len(bot.events(i)) for i in (first, second)]
    for _ in range(3):
        status, answer = await post(bot, "/alerts/alertmanager", body)
        assert status == 202 and answer["created"] is False
    await bot.settle()
    assert [(i.alert_count, len(bot.events(i))) for i in bot.incidents()] == [(1, events[0]), (1, events[1])]
    # A new startsAt is a new firing: counted, once.
    again = copy.deepcopy(body)
    again["alerts"][1]["startsAt"] = "2026-11-25T12:30:00.000Z"
    await post(bot, "/alerts/alertmanager", again)
    await post(bot, "/alerts/alertmanager", again)
    await bot.settle()
    assert [e.text for e in bot.events(second)].count(
        "the alert fired again (2 times): HighErrorRate: 5xx rate above 5% on checkout-2 "
        "(http://prometheus.example.com:9090/graph?g0.expr=job%3Acheckout%3Aerrors)") == 1
    # Then Alertmanager says one of them is resolved.
    resolved = copy.deepcopy(body)
    resolved["status"] = "resolved"
    resolved["alerts"] = [dict(resolved["alerts"][0], status="resolved", endsAt="2026-11-25T12:20:00Z")]
    status, answer = await post(bot, "/alerts/alertmanager", resolved)
    assert status == 202 and answer == {"incident": "INC-1", "created": False, "fingerprint": "5f4e4a9d1c2b3a40"}
    await bot.settle()
    first, second = bot.incidents()
    assert (first.status, first.alert_count) == ("resolved", 1) and (second.status, second.alert_count) == ("new", 2)


async def test_gitlab_broken_main_opens_and_a_green_pipeline_resolves(alerting):
    bot = alerting
    failed = sample("gitlab_pipeline_failed.json")
    headers = {"X-Gitlab-Token": TOKEN, "X-Gitlab-Event": "Pipeline Hook"}
    status, answer = await post(bot, "/alerts/gitlab", failed, token=None, headers=headers)
    assert status == 202 and answer == {"incident": "INC-1", "created": True, "fingerprint": "gitlab:42:main"}
    await bot.settle()
    incident = bot.incidents()[0]
    assert (incident.title, incident.priority, incident.source) == ("broken main in acme/shop", "P1", "gitlab")
    assert incident.source_url == "https://gitlab.example.com/acme/shop/-/pipelines/31415"
    assert bot.events(incident)[0].text == "P1: broken main in acme/shop (opened by a failed GitLab pipeline)"
    assert "Bump the payment client" in incident.description

    feature = copy.deepcopy(failed)
    feature["object_attributes"]["ref"] = "feature/x"
    status, answer = await post(bot, "/alerts/gitlab", feature, token=None, headers=headers)
    assert status == 202 and answer["incident"] is None and "not the default branch" in answer["ignored"]
    running = copy.deepcopy(failed)
    running["object_attributes"]["status"] = "running"
    status, answer = await post(bot, "/alerts/gitlab", running, token=None, headers=headers)
    assert answer["ignored"] == "a `running` pipeline asks for nothing"
    assert len(bot.incidents()) == 1

    green = copy.deepcopy(failed)
    green["object_attributes"].update(id=31416, status="success",
                                      url="https://gitlab.example.com/acme/shop/-/pipelines/31416")
    status, answer = await post(bot, "/alerts/gitlab", green, token=None, headers=headers)
    assert status == 202 and answer["incident"] == "INC-1"
    await bot.settle()
    incident = bot.incidents()[0]
    assert incident.status == "resolved"
    texts = [e.text for e in bot.events(incident)]
    assert any("https://gitlab.example.com/acme/shop/-/pipelines/31416" in t for t in texts)
    status, _ = await post(bot, "/alerts/gitlab", failed, token=None,
                           headers={"X-Gitlab-Token": "wrong", "X-Gitlab-Event": "Pipeline Hook"})
    assert status == 401


@pytest.mark.parametrize(("path", "body", "kwargs", "status", "field"), [
    ("/alerts/generic", {"title": "x"}, {"token": "wrong"}, 401, None),
    ("/alerts/generic", {"title": "x"}, {"token": None}, 401, None),
    ("/alerts/generic", "title=x", {"content_type": "application/x-www-form-urlencoded"}, 415, "Content-Type"),
    ("/alerts/generic", "{not json", {}, 400, "body"),
    ("/alerts/generic", [1, 2], {}, 400, "body"),
    ("/alerts/generic", {"description": "no title"}, {}, 400, "title"),
    ("/alerts/generic", {"title": "   "}, {}, 400, "title"),
    ("/alerts/generic", {"title": "x", "priority": "P9"}, {}, 400, "priority"),
    ("/alerts/generic", {"title": "x", "status": "maybe"}, {}, 400, "status"),
    ("/alerts/generic", {"title": "x", "url": "javascript:alert(1)"}, {}, 400, "url"),
    ("/alerts/generic", {"title": ["x"]}, {}, 400, "title"),
    ("/alerts/alertmanager", {"version": "4", "alerts": []}, {}, 400, "alerts"),
    ("/alerts/alertmanager", {"version": "3", "alerts": [{"labels": {"a": "b"}}]}, {}, 400, "version"),
    ("/alerts/alertmanager", {"version": "4", "alerts": [{"status": "firing"}]}, {}, 400, "alerts[0].labels"),
    ("/alerts/gitlab", {"object_kind": "pipeline", "object_attributes": {"status": "failed"},
                        "project": {"name": "shop"}}, {}, 400, "object_attributes.ref"),
])
async def test_bad_requests_are_refused_and_store_nothing(alerting, path, body, kwargs, status, field):
    bot = alerting
    before = stored(bot)
    got, answer = await post(bot, path, body, **kwargs)
    assert got == status, answer
    if field:
        assert answer["field"] == field and answer["error"]
    await bot.settle()
    assert stored(bot) == before


async def test_a_body_over_one_mebibyte_is_413(alerting):
    bot = alerting
    before = stored(bot)
    huge = json.dumps({"title": "big", "description": "x" * (1024 * 1024)})
    status, answer = await post(bot, "/alerts/generic", huge)
    assert status == 413 and "1 MiB" in answer["error"]
    assert stored(bot) == before


def everything_sent(bot) -> str:
    """Every text and block the bot sent to Slack, as one string to search."""
    return json.dumps([c.args for c in bot.fake.calls if c.method.startswith(("chat.", "conversations.", "views."))])


async def test_an_alert_url_cannot_break_out_of_its_link(alerting):
    bot = alerting
    url = "https://g.example/x><!channel><https://evil.example/login|click>&a=<!here>"
    status, body = await post(bot, "/alerts/generic", {"title": "Disk full", "url": url})
    assert status == 202 and body["created"] is True
    await bot.settle()
    sent = everything_sent(bot)
    assert "<!channel>" not in sent and "<!here>" not in sent and "<https://evil" not in sent
    summary = next(p for p in bot.fake.calls_to("chat.postMessage") if "What the alert links to" in json.dumps(p))
    links = re.findall(r"<(https?://[^|>]*)\|", json.dumps(summary["blocks"]))
    assert links == ["https://g.example/x%3E%3C!channel%3E%3Chttps://evil.example/login%7Cclick%3E&amp;a=%3C!here%3E"]


def am_group(count: int, *, truncated: int = 0, **labels: str) -> dict:
    """An Alertmanager body of `count` alerts (distinct fingerprints) of one group."""
    group = sample("alertmanager_v4.json")
    template = group["alerts"][0]
    group["truncatedAlerts"] = truncated
    group["alerts"] = [dict(template, fingerprint=f"fp{n:04d}", labels={**template["labels"], "n": str(n), **labels},
                            annotations={"summary": f"node {n} is down"}) for n in range(count)]
    return group


async def test_a_thousand_alerts_in_one_body_are_taken_whole_and_the_left_out_ones_are_shown(alerting, capsys):
    """SPEC: a well-formed body is taken whole whatever its count (the storm folds it), and `truncatedAlerts` is
    shown on the storm or incident and counted in /metrics. (It was 413 for the whole group past 200 alerts.)"""
    from tests.test_metrics import scrape
    bot = alerting
    body = am_group(1000, truncated=2)
    started = time.perf_counter()
    status, answer = await post(bot, "/alerts/alertmanager", body)
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n1,000 alerts in one Alertmanager body answered in {took:.2f} s")
    assert status == 202 and len(answer["incidents"]) == 1000
    await bot.settle()
    incidents = bot.incidents()
    storm = next(i for i in incidents if i.source == "storm")
    with bot.session() as s:
        joined = s.exec(select(func.count()).select_from(StormAlert)).one()
    assert len(incidents) == 11 and joined == 990  # ten of their own, the other 990 folded in the storm
    note = "Alertmanager left out 2 alerts of this group (its receiver's max_alerts)"
    for incident in incidents:  # every incident the group reached says so, once, on its timeline and summary
        assert incident.alert_left_out == 2
        assert sum(e.text.startswith(note) for e in bot.events(incident)) == 1, incident.number
    summary = bot.fake.messages[(storm.channel_id, storm.summary_ts)]
    assert note in json.dumps(summary["blocks"])
    metrics = await scrape(bot)
    assert metrics[("firefighter_alerts_truncated_total", ())] == 2

    # Alertmanager tells the group again: counted again in /metrics, not said again on the timelines.
    status, _ = await post(bot, "/alerts/alertmanager", body)
    await bot.settle()
    assert status == 202 and (await scrape(bot))[("firefighter_alerts_truncated_total", ())] == 4
    assert sum(e.text.startswith(note) for e in bot.events(storm)) == 1
    # Whole again: the summary stops saying it.
    status, _ = await post(bot, "/alerts/alertmanager", am_group(1000))
    await bot.settle()
    assert all(i.alert_left_out == 0 for i in bot.incidents())
    summary = bot.fake.messages[(storm.channel_id, storm.summary_ts)]
    assert "left out" not in json.dumps(summary["blocks"])


async def test_max_alerts_left_out_shows_on_each_incident_of_the_group(alerting):
    bot = alerting
    status, answer = await post(bot, "/alerts/alertmanager", am_group(3, truncated=2))
    assert status == 202 and [r["created"] for r in answer["incidents"]] == [True] * 3
    await bot.settle()
    for incident in bot.incidents():
        assert any("left out 2 alerts" in e.text for e in bot.events(incident))
        summary = bot.fake.messages[(incident.channel_id, incident.summary_ts)]
        assert "Alertmanager left out 2 alerts of this group" in json.dumps(summary["blocks"])


async def test_severities_the_bot_does_not_know_still_open_their_incidents(alerting):
    """A severity the bot cannot map opens with the default (P1), the value as sent on the timeline; common words
    map. It was a 400 for the whole group, which Alertmanager never retries."""
    bot = alerting
    group = sample("alertmanager_v4.json")
    template = group["alerts"][0]
    severities = ["major", "minor", "sev1", "1", "SEV-2", "warning", "Sev_Banana", "critical"]
    group["alerts"] = [dict(template, fingerprint=f"sev{n}", labels={**template["labels"], "severity": sev,
                                                                      "n": str(n)})
                       for n, sev in enumerate(severities)]
    status, answer = await post(bot, "/alerts/alertmanager", group)
    assert status == 202 and [r["created"] for r in answer["incidents"]] == [True] * len(severities), answer
    await bot.settle()
    incidents = bot.incidents()
    assert [i.priority for i in incidents] == ["P1", "P2", "P0", "P0", "P1", "P1", "P1", "P0"]
    unknown = [e.text for e in bot.events(incidents[6]) if e.kind == "alert"]
    assert unknown == ["The alert's severity `Sev_Banana` is not one the bot knows: opened as P1, the default."]
    assert all(not any("not one the bot knows" in e.text for e in bot.events(i)) for i in incidents[:6])
    # and its resolution reaches it: the group is not refused later either
    resolved = copy.deepcopy(group)
    resolved["status"] = "resolved"
    resolved["alerts"] = [dict(a, status="resolved") for a in resolved["alerts"]]
    status, _ = await post(bot, "/alerts/alertmanager", resolved)
    await bot.settle()
    assert status == 202 and {i.status for i in bot.incidents()} == {"resolved"}


async def test_long_and_odd_generator_urls_are_kept_not_refused(alerting):
    """Prometheus makes a 976-character generatorURL for a burn-rate rule: a link (it was 400 past 500
    characters); past 2,000 characters, or not http(s), it is kept as text on the timeline."""
    bot = alerting
    long_link = "http://prometheus.example.com:9090/graph?g0.expr=" + "%28sum%28rate%28x%5B5m%5D%29%29%29" * 30
    long_link = long_link[:976]
    huge = "https://prometheus.example.com/graph?g0.expr=" + "y" * 5000
    group = sample("alertmanager_v4.json")
    template = group["alerts"][0]
    group["alerts"] = [dict(template, fingerprint=f"url{n}", generatorURL=url, labels={**template["labels"],
                                                                                        "n": str(n)})
                       for n, url in enumerate([long_link, huge, "ftp://prometheus.example.com/x"])]
    status, answer = await post(bot, "/alerts/alertmanager", group)
    assert status == 202 and [r["created"] for r in answer["incidents"]] == [True] * 3, answer
    await bot.settle()
    linked, too_long, other = bot.incidents()
    assert len(long_link) == 976 and linked.source_url == long_link
    summary = bot.fake.messages[(linked.channel_id, linked.summary_ts)]
    assert "What the alert links to" in json.dumps(summary["blocks"])
    assert too_long.source_url is None and other.source_url is None
    [note] = [e.text for e in bot.events(too_long) if e.kind == "alert"]
    assert note.startswith("The alert's generatorURL is 5,045 characters long, too long to keep as a link; kept as "
                           "text: https://prometheus.example.com/graph?g0.expr=yyy") and len(note) < 1200
    assert [e.text for e in bot.events(other) if e.kind == "alert"] == [
        "The alert's generatorURL is not an http(s) link; kept as text: ftp://prometheus.example.com/x"]
    # the generic endpoint takes as long a link (its own documented field: a bad one is still a 400)
    status, _ = await post(bot, "/alerts/generic", {"title": "Burn rate", "url": long_link})
    assert status == 202 and bot.incidents()[-1].source_url == long_link


async def test_control_characters_anywhere_in_a_gitlab_body_are_cleaned_not_fatal(alerting):
    bot = alerting
    failed = sample("gitlab_pipeline_failed.json")
    failed["commit"]["title"] = "Bump\x00 the\x07 client"
    failed["commit"]["author"]["name"] = "Ada\x00"
    status, answer = await post(bot, "/alerts/gitlab", failed, token=None,
                                headers={"X-Gitlab-Token": TOKEN, "X-Gitlab-Event": "Pipeline Hook"})
    assert status == 202 and answer["created"] is True
    incident = bot.incidents()[0]
    assert "Commit: Bump the client" in incident.description and "Author: Ada" in incident.description


async def test_a_dropped_connection_mid_body_receives_no_alert_twice(alerting, monkeypatch):
    """The database drops its connection while the third alert of a body is stored: that alert is tried again on a
    fresh connection (bot/db/repo/database.py: _reconnecting) — and only that one, not the two already stored
    (they would be told again: "fired again", `created: false`)."""
    import sqlalchemy as sa

    from bot.services.alerts import Alerts

    bot, real_open, calls = alerting, Alerts._open, []

    def drops_once(self, alert, key):
        calls.append(alert.fingerprint)
        if len(calls) == 3:
            raise sa.exc.DBAPIError("INSERT …", {}, Exception("server closed the connection"),
                                    connection_invalidated=True)
        return real_open(self, alert, key)

    monkeypatch.setattr(Alerts, "_open", drops_once)
    status, answer = await post(bot, "/alerts/alertmanager", am_group(3))
    await bot.settle()
    assert status == 202 and [a["created"] for a in answer["incidents"]] == [True, True, True]
    assert len(calls) == 4 and calls[2] == calls[3]  # the third, and only it, tried again
    assert [i.alert_count for i in bot.incidents()] == [1, 1, 1]
