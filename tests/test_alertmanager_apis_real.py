"""The real Alertmanager sending through its own `pagerduty_configs` (url → our /v2/enqueue) and
`opsgenie_configs` (api_url → us): firing alerts open incidents, repeats dedupe, resolved alerts resolve — the
real client, not our idea of it (issue 36). Loopback only, as tests/test_alertmanager_real.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.incident import Priority
from tests.test_alertmanager_real import alert, running, until
from tests.test_alerts import TOKEN
from tests.test_paging import with_rotation


def config(bot_url: str) -> str:
    """Alerts with `via=pagerduty` to the PagerDuty receiver, the rest to the Opsgenie one; one-second intervals."""
    return ("route:\n"
            "  receiver: opsgenie\n"
            "  group_by: [alertname]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "  routes:\n"
            "    - receiver: pagerduty\n"
            "      matchers: ['via=\"pagerduty\"']\n"
            "receivers:\n"
            "  - name: pagerduty\n"
            "    pagerduty_configs:\n"
            f"      - routing_key: {TOKEN}\n"
            f"        url: {bot_url}/v2/enqueue\n"
            "        severity: critical\n"
            "        send_resolved: true\n"
            "  - name: opsgenie\n"
            "    opsgenie_configs:\n"
            f"      - api_key: {TOKEN}\n"
            f"        api_url: {bot_url}/\n"
            "        priority: P2\n"
            "        send_resolved: true\n")


@pytest.fixture
async def alertmanager(make_bot, tmp_path: Path):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    async with running(config(bot.url), tmp_path, bot.slack.session) as (manager, log):
        yield bot, manager, log


async def test_pagerduty_and_opsgenie_configs_open_dedupe_and_resolve(alertmanager):
    bot, manager, log = alertmanager
    paged = dict(alert("ReplicaLag", via="pagerduty", instance="db-3"))
    genie = dict(alert("CheckoutErrors", instance="web-1"))
    await manager.post(paged, genie)
    await until(lambda: len(bot.incidents()) == 2, "an incident from each receiver")
    by_source = {i.source: i for i in bot.incidents()}
    assert set(by_source) == {"pagerduty", "opsgenie"}, log.read_text()
    assert by_source["pagerduty"].priority is Priority.P0  # severity: critical
    assert by_source["opsgenie"].priority is Priority.P1  # priority: P2
    await manager.post(paged, genie)  # told again: the same incidents
    await manager.post(dict(paged, endsAt="2020-01-01T00:00:00Z"), dict(genie, endsAt="2020-01-01T00:00:00Z"))
    await until(lambda: all(i.status.value == "resolved" for i in bot.incidents()), "both resolved", timeout=30)
    assert len(bot.incidents()) == 2
