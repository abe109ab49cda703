"""The public status page (SPEC § Status page), driven as customers and the team use it: components by ADMINS, an
incident published from Slack with the form (by its commander — not by a firefighter who is not on it, never a
private one), public updates, a public resolution asked by the resolve form; /status readable without script,
/status.json in Statuspage's summary shape, /status.atom read by feedparser as a feed reader would. Internal updates
never reach it. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import feedparser
import pytest

from tests.test_board import get
from tests.test_paging import with_rotation
from tests.test_private_doors import said

INTERNAL = "the primary DB in eu-west-1 ran out of connections"


@pytest.fixture
async def status_bot(make_bot):
    bot = await make_bot(admins="U0ADMIN", status_page=True, status_page_title="Acme")
    await with_rotation(bot)
    for text in ("status component add API group Core", "status component add Checkout group Core",
                 "status component add Docs"):
        assert (await said(bot, text, "U0ADMIN")).startswith("Added the component")
    return bot


async def publish(bot, incident, user: str = "U0COMMANDER", components=("API",), state="partial_outage") -> str:
    before = len(bot.fake.calls_to("views.open"))
    status, body, _ = await bot.slack.command(f"status publish INC-{incident.number}", user=user)
    assert status == 200
    if body:  # refused before any form: the answer says why
        return body
    await bot.fake.wait_for("views.open", before + 1)
    view = list(bot.fake.views.values())[-1]
    status, body, _ = await bot.slack.submit(view, {"public_title": "Payments are failing for some customers",
                                                    "public_components": list(components), "public_state": state,
                                                    "public_message": "We are investigating failed payments."},
                                             user=user)
    await bot.settle()
    return body


async def page(bot, path: str = "/status") -> tuple[int, str]:
    status, _, body = await get(bot, path)
    return status, body


async def test_publish_update_and_resolve_as_customers_see_it(status_bot):
    bot = status_bot
    incident = await bot.declare("Checkout 500s from the EU cluster", priority="P1", commander="U0COMMANDER")
    await bot.slack.command(f"update {INTERNAL}", user="U0COMMANDER", channel=incident.channel_id)
    status, html = await page(bot)
    assert status == 200 and "All Systems Operational" in html and "API" in html
    assert await publish(bot, incident) == ""
    assert [e.kind for e in bot.events(incident)].count("published") == 1
    status, html = await page(bot)
    assert "Partial System Outage" in html and "Payments are failing for some customers" in html
    assert "We are investigating failed payments." in html and "Partial outage" in html
    assert INTERNAL not in html and "Checkout 500s" not in html  # nothing internal, not even its title
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert set(summary) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    states = {c["name"]: c["status"] for c in summary["components"]}
    assert states == {"Core": "partial_outage", "API": "partial_outage", "Checkout": "operational",
                      "Docs": "operational"}
    [public] = summary["incidents"]
    assert (public["name"], public["impact"], public["status"]) == ("Payments are failing for some customers",
                                                                   "major", "investigating")
    assert [u["body"] for u in public["incident_updates"]] == ["We are investigating failed payments."]
    answer = await said(bot, f"status update INC-{incident.number} A fix is rolling out.", "U0COMMANDER")
    assert answer.startswith("Posted a public update")
    feed = feedparser.parse((await page(bot, "/status.atom"))[1])
    assert not feed.bozo and feed.feed.title == "Acme: status"
    assert [e.summary for e in feed.entries] == ["A fix is rolling out.", "We are investigating failed payments."]
    assert all(e.link.endswith(f"/status#incident-{public['id']}") for e in feed.entries)
    opened = len(bot.fake.calls_to("views.open"))
    await bot.slack.command("resolve", user="U0COMMANDER", channel=incident.channel_id)
    await bot.fake.wait_for("views.open", opened + 1)
    form = list(bot.fake.views.values())[-1]
    assert "public_message" in [b.get("block_id") for b in form["blocks"]]  # it asks for the public resolution
    status, _, _ = await bot.slack.submit(form, {"resolve_summary": "rolled back", "rollback": "yes",
                                                    "public_message": "Payments work again."}, user="U0COMMANDER")
    await bot.settle()
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"
    status, html = await page(bot)
    assert "All Systems Operational" in html and "Payments work again." in html
    assert "Resolved in the last 90 days" in html
    feed = feedparser.parse((await page(bot, "/status.atom"))[1])
    assert feed.entries[0].summary == "Payments work again." and "(resolved)" in feed.entries[0].title


async def test_who_may_publish_and_what_never_can(status_bot):
    bot = status_bot
    incident = await bot.declare("Checkout 500s", priority="P2", commander="U0COMMANDER")
    body = await publish(bot, incident, user="U0B")  # a firefighter of its rotation, not on it
    assert "Only INC-1's commander, its communications lead, its responders or an admin publish it" in body
    secret = await bot.declare("Leaked keys", priority="P2", commander="U0COMMANDER", incident_type="security")
    assert "is private: a private incident is never published" in await publish(bot, secret)
    assert json.loads((await page(bot, "/status.json"))[1])["incidents"] == []
    await said(bot, f"role INC-{incident.number} comms <@U0COMMS>", "U0COMMANDER")
    assert await publish(bot, incident, user="U0COMMS") == ""  # the communications lead publishes
    assert "is on the status page already" in await publish(bot, incident, user="U0ADMIN")
    assert "Only ADMINS change the status page's components" in await said(bot, "status component add X", "U0B")
    assert "is named by a published incident still open" in await said(bot, "status component remove API",
                                                                       "U0ADMIN")
    assert json.loads((await page(bot, "/status.json"))[1])["incidents"]
    await said(bot, f"private INC-{incident.number}", "U0COMMANDER")  # made private: off the page at once
    assert json.loads((await page(bot, "/status.json"))[1])["incidents"] == []  # (no tick, no minute turned)
    assert not bot.runtime.services.status_page.is_published(incident.id)  # its resolve form asks nothing public


async def test_maintenance_naming_a_component_is_on_the_page_and_the_bars_remember(status_bot):
    bot = status_bot
    await said(bot, "maintenance add component=Docs 2026-11-25 13:00 2026-11-25 15:00 Moving the docs", "U0ADMIN")
    summary = json.loads((await page(bot, "/status.json"))[1])
    [window] = summary["scheduled_maintenances"]
    assert (window["name"], window["status"], [c["name"] for c in window["components"]]) == (
        "Moving the docs", "scheduled", ["Docs"])
    bot.clock.advance(hours=1, minutes=30)  # 13:30: under way
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert {c["name"]: c["status"] for c in summary["components"]}["Docs"] == "under_maintenance"
    incident = await bot.declare("API down", priority="P2", commander="U0COMMANDER")
    await publish(bot, incident, state="major_outage")
    _, html = await page(bot, "/status?tz=Europe/Berlin")  # (the server speaks UTC: the script localises)
    assert 'class="bar major_outage"' in html and "Major Service Outage" in html and "Times in" in html


async def test_without_status_page_there_is_none(bot):
    assert (await page(bot))[0] == 404 and (await page(bot, "/status.json"))[0] == 404


async def test_any_query_is_a_page_never_an_error(status_bot):
    for query in ("?tz=../../etc/passwd", "?tz=" + "A" * 5000, "?tz=%00", "?tz=Mars/Olympus", "?x=1&tz=UTC&tz=UTC"):
        for path in ("/status", "/status.json", "/status.atom"):
            status, _ = await page(status_bot, path + query)
            assert status == 200, (path, query)


async def test_the_page_is_named_after_the_workspace_unless_told(make_bot):
    bot = await make_bot(status_page=True)  # auth.test said the workspace is "Fake" at start-up
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert summary["page"]["name"] == "Fake" and summary["status"]["indicator"] == "none"


async def test_an_open_incident_naming_no_component_is_not_all_operational(status_bot):
    bot = status_bot
    incident = await bot.declare("Everything is slow", priority="P1", commander="U0COMMANDER")
    await publish(bot, incident, components=(), state="major_outage")
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert summary["status"]["indicator"] == "critical"


async def test_a_reopened_incident_shows_again_and_a_closed_one_is_not_updated(status_bot):
    bot = status_bot
    closed = await bot.declare("A false alarm", priority="P2", commander="U0COMMANDER")
    await publish(bot, closed)
    await said(bot, f"close INC-{closed.number} not an incident", "U0COMMANDER")
    refused = await said(bot, f"status update INC-{closed.number} more", "U0COMMANDER")
    assert "closed" in refused and not refused.startswith("Posted"), refused
    summary = json.loads((await page(bot, "/status.json"))[1])
    assert summary["incidents"] == [] and summary["status"]["indicator"] == "none"  # ended by another door
    reopened = await bot.declare("Checkout 500s", priority="P2", commander="U0COMMANDER")
    await publish(bot, reopened)
    opened = len(bot.fake.calls_to("views.open"))
    await bot.slack.command("resolve", user="U0COMMANDER", channel=reopened.channel_id)
    await bot.fake.wait_for("views.open", opened + 1)
    await bot.slack.submit(list(bot.fake.views.values())[-1], {"resolve_summary": "rolled back", "rollback": "no",
                                                               "public_message": "Fixed."}, user="U0COMMANDER")
    await bot.settle()
    assert json.loads((await page(bot, "/status.json"))[1])["incidents"] == []
    await said(bot, "reopen it came back", "U0COMMANDER", channel=reopened.channel_id)
    await said(bot, f"status update INC-{reopened.number} It is back; we are on it.", "U0COMMANDER")
    [again] = json.loads((await page(bot, "/status.json"))[1])["incidents"]
    assert again["incident_updates"][0]["body"] == "It is back; we are on it."
