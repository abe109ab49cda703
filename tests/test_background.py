"""Work after an ack: forms open at once even while requests keep arriving; the rest waits for a quiet moment,
pages first, a bounded number at a time — never one flood that stalls the next burst's acks."""

from __future__ import annotations

import asyncio
import gc

from bot.runtime.background import (
    ACKS_FIRST_BUSY,
    ACKS_FIRST_LIGHT_WAIT,
    ACKS_FIRST_MAX_WAIT,
    ACKS_FIRST_PARALLEL,
    Background,
    Turn,
)


async def _until(condition, limit: float = 5.0) -> None:
    """Polls the loop until `condition()` holds (the gate runs on the loop's own time)."""
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.005)


async def test_forms_go_while_requests_arrive_pages_before_the_rest_once_quiet():
    background = Background()
    started: list[str] = []
    hold = asyncio.Event()

    async def job(name: str) -> None:
        started.append(name)
        await hold.wait()

    background.request_started()  # a burst is being answered
    background.spawn_after_acks(job("set-up"), name="set-up")
    background.spawn_after_acks(job("page"), name="page", turn=Turn.PAGE)
    background.spawn_after_acks(job("form"), name="form", turn=Turn.FORM)
    await _until(lambda: started == ["form"])
    await asyncio.sleep(0.05)
    assert started == ["form"]  # still answering: set-up and page wait
    background.request_finished()
    await _until(lambda: len(started) == 3)
    assert started == ["form", "page", "set-up"]
    hold.set()
    await background.drain()


async def test_at_most_a_few_run_at_once_and_a_cancelled_one_frees_its_place():
    background = Background()
    running, most = 0, 0
    hold = asyncio.Event()

    async def job() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await hold.wait()
        running -= 1

    tasks = [background.spawn_after_acks(job(), name=f"job-{i}", turn=Turn.PAGE)
             for i in range(3 * ACKS_FIRST_PARALLEL)]
    await _until(lambda: running == ACKS_FIRST_PARALLEL)
    await asyncio.sleep(0.05)
    assert running == most == ACKS_FIRST_PARALLEL
    tasks[-1].cancel()  # waiting, never started: takes no place
    hold.set()
    await background.drain()
    assert running == 0 and most == ACKS_FIRST_PARALLEL
    assert sum(t.cancelled() for t in tasks) == 1


async def test_the_rest_waits_as_bare_coroutines_and_a_process_going_drops_them_unrun(recwarn):
    """A burst's answers wait by the thousand: as tasks each held ~26 objects the cyclic collector walked again and
    again during the burst; they become tasks only when their turn comes."""
    background = Background()
    ran: list[int] = []

    async def answer(i: int) -> None:
        ran.append(i)

    background.request_started()  # a burst is being answered
    before = len(asyncio.all_tasks())
    for i in range(1000):
        assert background.spawn_after_acks(answer(i), name=f"answer-{i}") is None
    await asyncio.sleep(0.05)
    assert len(asyncio.all_tasks()) - before == 1  # the gate alone
    background.request_finished()
    await background.drain()
    assert sorted(ran) == list(range(1000))
    assert background._running[Turn.PAGE] == 0  # every place given back

    ran.clear()
    background.request_started()
    for i in range(10):
        background.spawn_after_acks(answer(i), name=f"answer-{i}")
    for task in list(background._tasks):  # the process dies while they wait
        task.cancel()
    await background.drain()
    background.request_finished()
    await asyncio.sleep(0.05)
    assert ran == [] and not background._waiting[Turn.REST]
    gc.collect()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


async def test_a_light_load_delays_work_a_little_and_a_burst_holds_it_back_longer():
    background = Background()
    loop = asyncio.get_running_loop()
    started: dict[str, float] = {}

    async def job(name: str) -> None:
        started[name] = loop.time()

    background.request_started()  # one request in flight: a light load
    asked = loop.time()
    background.spawn_after_acks(job("light"), name="light")
    await _until(lambda: "light" in started)
    assert ACKS_FIRST_LIGHT_WAIT <= started["light"] - asked < ACKS_FIRST_MAX_WAIT
    for _ in range(ACKS_FIRST_BUSY):  # a burst
        background.request_started()
    background.spawn_after_acks(job("burst"), name="burst")
    await asyncio.sleep(2 * ACKS_FIRST_LIGHT_WAIT)
    assert "burst" not in started  # held back while the burst is being answered
    for _ in range(ACKS_FIRST_BUSY + 1):
        background.request_finished()
    await _until(lambda: "burst" in started)
    await background.drain()


async def test_a_burst_of_quick_acks_holds_work_back_though_few_are_in_flight_at_once():
    """At full size a burst is thousands of requests whose acks take a millisecond each: few are ever inside the
    handler at once, yet work after them must wait for the burst's end (it took the acks' interpreter lock)."""
    background = Background()
    loop = asyncio.get_running_loop()
    started: dict[str, float] = {}

    async def job() -> None:
        started["job"] = loop.time()

    background.spawn_after_acks(job(), name="job")
    burst_until = loop.time() + 3 * ACKS_FIRST_LIGHT_WAIT
    while loop.time() < burst_until:  # one request at a time, 500 a second
        background.request_started()
        await asyncio.sleep(0.002)
        background.request_finished()
    assert "job" not in started  # held back for the whole burst, not let go after the light wait
    ended = loop.time()
    await _until(lambda: "job" in started)
    assert started["job"] - ended < ACKS_FIRST_LIGHT_WAIT + 0.1  # then it goes at once (quiet)
    await background.drain()


async def test_burst_over_waits_for_the_burst_to_end_and_no_longer_than_it_is_told():
    background = Background()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await background.burst_over(started + 1)
    assert loop.time() - started < 0.05  # no burst: at once
    for _ in range(ACKS_FIRST_BUSY + 1):
        background.request_started()
    waiting = asyncio.ensure_future(background.burst_over(loop.time() + 5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    for _ in range(ACKS_FIRST_BUSY + 1):
        background.request_finished()
    await asyncio.wait_for(waiting, 1)
    for _ in range(ACKS_FIRST_BUSY + 1):  # a burst that goes on: the wait ends at `until`
        background.request_started()
    started = loop.time()
    await background.burst_over(started + 0.2)
    assert 0.2 <= loop.time() - started < 0.4
