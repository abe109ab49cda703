"""The real Alertmanager (Debian's `prometheus-alertmanager`, installed by `.ci/run`) sending to the running bot:
what it really sends — an unknown severity in a group, a long generatorURL, `truncatedAlerts` from `max_alerts`,
the same firing told again when its group changes, resolutions — reaches incidents (issue 32, items 12-15).

Loopback only: Alertmanager listens on 127.0.0.1 with clustering off and posts to the bot's own test server. Its
intervals are one second, and the test polls for what it waits for."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bench.processes import free_port
from tests.conftest import cannot_run
from tests.test_alerts import TOKEN
from tests.test_paging import with_rotation

BINARY = "prometheus-alertmanager"


def config(bot_url: str) -> str:
    """Group by alertname, one-second group_wait and group_interval; `max_alerts: 3` for the `test=truncate` route."""
    def receiver(name: str, extra: str = "") -> str:
        return (f"  - name: {name}\n"
                f"    webhook_configs:\n"
                f"      - url: {bot_url}/alerts/alertmanager\n"
                f"        send_resolved: true\n{extra}"
                f"        http_config:\n"
                f"          authorization:\n"
                f"            credentials: {TOKEN}\n")
    return ("route:\n"
            "  receiver: firefighter\n"
            "  group_by: [alertname]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "  routes:\n"
            "    - receiver: firefighter-3\n"
            "      matchers: ['test=\"truncate\"']\n"
            "receivers:\n"
            + receiver("firefighter") + receiver("firefighter-3", "        max_alerts: 3\n"))


class Alertmanager:
    def __init__(self, process: subprocess.Popen, url: str, session) -> None:
        self.process, self.url, self.session = process, url, session

    async def post(self, *alerts: dict) -> None:
        async with self.session.post(f"{self.url}/api/v2/alerts", json=list(alerts)) as response:
            assert response.status == 200, await response.text()


@contextlib.asynccontextmanager
async def running(config_text: str, tmp_path: Path, session) -> AsyncIterator[tuple[Alertmanager, Path]]:
    """Debian's Alertmanager on a free loopback port with this configuration, until the block ends: (it, its log)."""
    if shutil.which(BINARY) is None:
        cannot_run(f"{BINARY} is not installed (Debian/Ubuntu package prometheus-alertmanager)")
    (tmp_path / "alertmanager.yml").write_text(config_text)
    port = free_port()
    log = tmp_path / "alertmanager.log"
    process = subprocess.Popen(
        [BINARY, f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        await until(lambda: process.poll() is not None or ready(port), "Alertmanager to start", timeout=15)
        assert process.poll() is None, log.read_text()
        yield Alertmanager(process, f"http://127.0.0.1:{port}", session), log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def alertmanager(make_bot, tmp_path: Path) -> AsyncIterator[tuple]:
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    async with running(config(bot.url), tmp_path, bot.slack.session) as (manager, _):
        yield bot, manager


def ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as connection:
            connection.sendall(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return b" 200 " in connection.recv(64)
    except OSError:
        return False


async def until(check: Callable[[], object], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.1)


def alert(name: str, **labels: str) -> dict:
    return {"labels": {"alertname": name, **labels}, "annotations": {"summary": f"{name} {labels}"},
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up"}


def by_instance(bot) -> dict:
    """The incidents by their alert's `instance` label (in the description's label line)."""
    return {found.group(1): i for i in bot.incidents() if (found := re.search(r"instance=([\w-]+)", i.description))}


async def test_the_real_alertmanager_loses_nothing(alertmanager):
    bot, manager = alertmanager

    # (a) an unknown severity and a known one in one group: both open (it was a 400 for the whole group, and
    # Alertmanager does not retry a 4xx).
    major, warning = alert("DiskFull", severity="major", instance="db-1"), alert("DiskFull", severity="warning",
                                                                                 instance="db-2")
    # (b) a 976-character generatorURL, as Prometheus makes for a burn-rate rule (it was a 400).
    long_link = ("http://prometheus.example.com:9090/graph?g0.expr="
                 + "%28sum%28rate%28http_requests_total%5B1h%5D%29%29%29" * 20)[:976]
    burn = dict(alert("BurnRate", severity="critical", instance="api-1"), generatorURL=long_link)
    await manager.post(major, warning, burn)
    await until(lambda: len(bot.incidents()) == 3, "three incidents")
    opened = by_instance(bot)
    assert (opened["db-1"].priority, opened["db-2"].priority, opened["api-1"].priority) == ("P1", "P1", "P0")
    assert opened["api-1"].source_url == long_link
    assert bot.events(opened["db-1"])[0].text.endswith("(opened by an Alertmanager alert)")

    # The group changes (a third disk): Alertmanager tells the whole group again, the first two with the same
    # startsAt — the same firings, not counted again (it read "fired again (3 times)" within 14 s).
    await manager.post(alert("DiskFull", severity="minor", instance="db-3"))
    await until(lambda: len(bot.incidents()) == 4, "the third disk's incident")
    await asyncio.sleep(1.5)  # a group_interval more, for any re-notification to arrive
    again = by_instance(bot)
    assert again["db-3"].priority == "P2"
    assert (again["db-1"].alert_count, again["db-2"].alert_count) == (1, 1)
    assert not any("fired again" in e.text for i in again.values() for e in bot.events(i))

    # Their resolution reaches the bot and resolves them.
    gone = "2000-01-01T00:00:00Z"
    await manager.post(*(dict(a, endsAt=gone) for a in (major, warning)))
    await until(lambda: all(by_instance(bot)[i].status == "resolved" for i in ("db-1", "db-2")),
                "the resolutions")
    assert by_instance(bot)["db-3"].status != "resolved"

    # (c) max_alerts: 3 and five firing: three incidents, each saying two were left out.
    await manager.post(*(alert("NodeDown", test="truncate", severity="critical", instance=f"node-{n}")
                         for n in range(5)))
    await until(lambda: sum(i.title.startswith("NodeDown") for i in bot.incidents()) == 3, "three NodeDown")
    nodes = [i for i in bot.incidents() if i.title.startswith("NodeDown")]
    await until(lambda: all(i.alert_left_out == 2 for i in bot.incidents() if i.title.startswith("NodeDown")),
                "truncatedAlerts on the incidents")
    for incident in nodes:
        assert any(e.text.startswith("Alertmanager left out 2 alerts of this group") for e in bot.events(incident))
