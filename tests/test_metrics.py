"""`/metrics` in Prometheus text format, counted from stored state."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.test_paging import with_rotation


async def scrape(bot) -> dict[tuple[str, tuple], float]:
    async with bot.slack.session.get(f"{bot.url}/metrics") as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_incidents_pages_reminders_outbox_and_latency(bot):
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER")
    await bot.declare("Docs typo", priority="P2")
    await bot.tick(minutes=5)
    await bot.slack.command("update INC-1 rolled back", user="U0COMMANDER")
    await bot.settle()
    await bot.tick(minutes=40)  # INC-1 triage reminder is due by now
    metrics = await scrape(bot)
    assert metrics[("firefighter_open_incidents", (("priority", "P0"),))] == 1
    assert metrics[("firefighter_open_incidents", (("priority", "P1"),))] == 0
    assert metrics[("firefighter_open_incidents", (("priority", "P2"),))] == 1
    assert metrics[("firefighter_incidents_declared_total", (("source", "slack"),))] == 2
    assert metrics[("firefighter_pages_sent_total", (("role", "primary"),))] == 1
    assert metrics[("firefighter_pages_sent_total", (("role", "secondary"),))] == 1
    assert metrics[("firefighter_reminders_sent_total", (("kind", "triage"),))] == 1
    assert metrics[("firefighter_outbox_messages", (("state", "queued"),))] == 0
    assert metrics[("firefighter_outbox_messages", (("state", "sent"),))] >= 1
    assert metrics[("firefighter_request_duration_seconds_count", (("path", "/slack/events"),))] >= 3
