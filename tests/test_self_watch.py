"""The bot watching itself: /healthz says the engine is late (503) when due work waits more than two ticks — the
tick stopped —, and ok again once it runs; each completed tick GETs HEARTBEAT_URL without waiting for it; /metrics
shows the tick's lag and duration."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot.http.tokens import page_token
from tests.test_paging import with_rotation


def details_link(bot) -> str:
    """/healthz with its details: behind the board's signed link (strangers see states only)."""
    return f"{bot.url}/healthz?token={page_token(bot.runtime.settings.web_secret, bot.clock.now())}"


async def health(bot) -> tuple[int, dict]:
    async with bot.slack.session.get(details_link(bot)) as response:
        return response.status, await response.json()


async def stranger_health(bot) -> tuple[int, dict, str]:
    async with bot.slack.session.get(f"{bot.url}/healthz") as response:
        return response.status, await response.json(), await response.text()


async def test_the_engine_is_late_when_the_tick_stops_and_ok_when_it_runs_again(bot):
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0", user="U0B")
    status, body = await health(bot)
    assert (status, body["engine"]) == (200, "ok"), body
    for _ in range(9):  # the tick runs every 30 s for four and a half minutes…
        await bot.tick(seconds=30)
    assert (await health(bot))[1]["engine"] == "ok"
    bot.clock.advance(minutes=1)  # …then stops: the page's 5 minutes are up, the tick should escalate it…
    assert (await health(bot))[1]["engine"] == "ok", "…within two ticks: not late yet"
    bot.clock.advance(minutes=1)  # …and no tick came
    status, body = await health(bot)
    assert status == 503 and body["engine"] == "late" and body["late"]["escalations"] == 1, body
    status, public, _ = await stranger_health(bot)  # strangers see the state; the count is on /metrics
    assert (status, public["engine"], "late" in public) == (503, "late", False), public
    async with bot.slack.session.get(f"{bot.url}/metrics") as response:
        assert 'firefighter_overdue_work{kind="escalations"} 1.0' in await response.text()
    await bot.tick()
    status, body = await health(bot)
    assert (status, body["engine"]) == (200, "ok"), body


async def test_a_change_not_yet_looked_at_is_late_only_after_two_ticks(bot):
    await with_rotation(bot)
    await bot.declare("Search is slow", priority="P1", user="U0B")
    status, body = await health(bot)
    assert (status, body["engine"]) == (200, "ok")
    bot.clock.advance(minutes=2)  # a whole tick… and more: no tick ran since the declaration
    status, body = await health(bot)
    assert status == 503 and body["late"]["reminders"] == 1, body


async def test_each_completed_tick_calls_heartbeat_url_without_waiting_for_it(make_bot):
    beats: list[str] = []
    release = asyncio.Event()

    async def beat(request: web.Request) -> web.Response:
        beats.append(request.path)
        await release.wait()  # a watchdog that hangs
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ping/{id}", beat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        bot = await make_bot(heartbeat_url=f"http://127.0.0.1:{port}/ping/abc")
        await asyncio.wait_for(bot.runtime.tick(), 5)  # returns while the watchdog still holds the request
        for _ in range(100):
            if beats:
                break
            await asyncio.sleep(0.02)
        assert beats == ["/ping/abc"]
        async with bot.slack.session.get(f"{bot.url}/metrics") as response:
            metrics = await response.text()
        assert "firefighter_tick_lag_seconds 0.0" in metrics and "firefighter_tick_duration_seconds" in metrics
        bot.clock.advance(seconds=90)
        async with bot.slack.session.get(f"{bot.url}/metrics") as response:
            assert "firefighter_tick_lag_seconds 90.0" in await response.text()
        release.set()
        await bot.settle()
    finally:
        release.set()
        await runner.cleanup()


async def test_a_bad_heartbeat_url_stops_start_up_and_each_tick_is_recorded(make_bot):
    import pytest

    from bot.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="HEARTBEAT_URL"):
        load_settings(_env_file=None, slack_bot_token="x", slack_signing_secret="y", heartbeat_url="not a url")
    bot = await make_bot()
    await bot.tick()
    assert bot.runtime.services.watch.last_tick_at == bot.clock.now()
    assert bot.runtime.services.watch.last_tick_seconds is not None


async def test_one_failing_tick_step_is_logged_and_counted_and_the_others_still_run(bot, monkeypatch, caplog):
    """SPEC §5: each step of a tick stands alone. The escalation step runs first; its query failing must not keep
    the P0 update reminder (a later step) from going out."""
    from sqlalchemy.exc import OperationalError

    from bot.db import repo
    from bot.runtime.scheduler import TickStepsFailed
    from tests.test_reminders import said, working_p0

    incident = await working_p0(bot)

    def broken(**_kwargs):
        raise OperationalError("SELECT … FROM page", {}, Exception("server closed the connection"))

    monkeypatch.setattr(repo.pages, "waiting_pages", broken)
    bot.clock.advance(hours=1)
    with pytest.raises(TickStepsFailed) as failed:  # the tests see it; the scheduler's job takes it as told
        await bot.tick()
    await bot.settle()
    assert [type(exc) for exc in failed.value.exceptions] == [OperationalError]
    assert len(said(bot, ":alarm_clock:", incident.channel_id)) == 1, "the reminder step ran after the failed one"
    assert "tick step 'escalations' failed" in caplog.text
    async with bot.slack.session.get(f"{bot.url}/metrics") as response:
        metrics = await response.text()
    assert 'firefighter_tick_step_failures_total{step="escalations"} 1.0' in metrics
    assert 'firefighter_tick_step_failures_total{step="reminders"} 0.0' in metrics
    monkeypatch.undo()
    await bot.tick()  # the step works again: a whole tick, nothing raised


async def test_a_tick_due_during_a_burst_of_requests_runs_its_steps_after_the_burst(bot):
    """Acks first: at full size a tick's reads took the interpreter lock from a burst's acks (p99 3-4 times a bare
    Bolt app's). A tick due then waits for the burst to be answered, then runs every step."""
    import asyncio

    from bot.runtime.background import ACKS_FIRST_BUSY

    background, watch = bot.runtime.background, bot.runtime.services.watch
    for _ in range(ACKS_FIRST_BUSY + 1):
        background.request_started()
    ticking = asyncio.ensure_future(bot.runtime.tick())
    await asyncio.sleep(0.3)
    assert not ticking.done() and watch.last_tick_at is None  # held back while the burst is answered
    for _ in range(ACKS_FIRST_BUSY + 1):
        background.request_finished()
    await asyncio.wait_for(ticking, 5)
    assert watch.last_tick_at == bot.clock.now()
