"""The importer's readers against fake Opsgenie and PagerDuty servers (tests/fake_sources.py): every page read,
429s waited out by the source's own header, a wrong key said once (SPEC § Moving in; issue 36)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.importers.client import SourceRefused, wait_of
from bot.importers.opsgenie import Opsgenie
from bot.importers.pagerduty import PagerDuty
from tests.fake_sources import FakeOpsgenie, FakePagerDuty

AT = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


@pytest.fixture
async def opsgenie():
    fake = await FakeOpsgenie().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def pagerduty():
    fake = await FakePagerDuty().start()
    yield fake
    await fake.stop()


def test_waits_follow_the_sources_headers():
    assert wait_of({"ratelimit-reset": "3"}, 0) == 3.0
    assert wait_of({"X-RateLimit-Period-In-Sec": "2"}, 0) == 2.0
    assert wait_of({"Retry-After": "999"}, 0) == 60.0
    assert [wait_of({}, n) for n in range(3)] == [0.5, 1.0, 2.0]


async def test_opsgenie_pages_waits_out_429s_and_reads_every_list(opsgenie):
    opsgenie.users = [{"id": f"u{n}", "username": f"user{n}@example.com", "fullName": f"User {n}"}
                      for n in range(250)]
    opsgenie.schedules = [{"id": "s1", "name": "Payments", "timezone": "Europe/Berlin", "rotations": []}]
    opsgenie.on_call = {"s1": ["user1@example.com"]}
    opsgenie.heartbeats = [{"name": "nightly", "interval": 1, "intervalUnit": "days", "enabled": True}]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    source = Opsgenie("og-key", opsgenie.url, sleep=sleep)
    opsgenie.throttle = 2
    users = await source.users()
    assert [u["id"] for u in users] == [f"u{n}" for n in range(250)] and waits == [0.0, 0.0]
    assert [q.get("offset") for path, q in opsgenie.seen if path == "/v2/users"][-3:] == ["0", "100", "200"]
    assert (await source.schedules())[0]["name"] == "Payments"
    assert await source.on_call("s1", AT) == ["user1@example.com"]
    assert opsgenie.seen[-1][1]["date"] == "2026-12-08T09:30:00.000Z" and opsgenie.seen[-1][1]["flat"] == "true"
    assert (await source.heartbeats())[0]["name"] == "nightly"
    with pytest.raises(SourceRefused, match=r"Opsgenie refused the key \(401\)"):
        await Opsgenie("wrong", opsgenie.url, sleep=sleep).users()


async def test_pagerduty_pages_waits_out_429s_and_reads_the_final_schedule(pagerduty):
    pagerduty.users.extend({"id": f"P{n:05d}", "name": f"User {n}", "email": f"user{n}@example.com"}
                           for n in range(130))
    pagerduty.schedules.append({"id": "PS1", "name": "Payments", "time_zone": "UTC", "schedule_layers": []})
    pagerduty.final["PS1"] = [{"start": "2026-12-08T00:00:00Z", "end": "2026-12-09T00:00:00Z",
                               "user": {"id": "P00001", "type": "user_reference"}}]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    source = PagerDuty("pd-key", pagerduty.url, sleep=sleep)
    pagerduty.throttle = 1
    assert len(await source.users()) == 130 and waits == [0.0]
    schedules = await source.schedules()
    assert schedules[0]["id"] == "PS1"
    assert ("include[]", "schedule_layers") in [(k, v) for path, q in pagerduty.seen if path == "/schedules"
                                                 for k, v in q.items()]
    assert await source.on_call("PS1", AT, AT) == [(datetime(2026, 12, 8, tzinfo=UTC),
                                                    datetime(2026, 12, 9, tzinfo=UTC), "P00001")]
    with pytest.raises(SourceRefused, match="has no /schedules/NOPE"):
        await source.on_call("NOPE", AT, AT)
    with pytest.raises(SourceRefused, match=r"PagerDuty refused the key \(401\)"):
        await PagerDuty("wrong", pagerduty.url, sleep=sleep).users()
    pagerduty.throttle = 10
    with pytest.raises(SourceRefused, match="kept answering 429"):
        await source.escalation_policies()
